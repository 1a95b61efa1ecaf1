"""The torch step: eager ``torch.autograd.grad`` (see ``backends/__init__.py``).

* Layer methods: the target layer's hook returns its output *detached* and marked ``requires_grad``,
  and switches grad mode on from that point (it is off before), so autograd records only the layers
  after the target, frozen backbones work (their outputs would not require grad), and
  ``autograd.grad(total, activation)`` is d score / d activation. A layer called more than once:
  the last call's output is the one explained, as on TensorFlow.
* Saliency: ``autograd.grad`` with respect to a copy of the images that requires grad.
* Grad mode is set explicitly, so a call from inside ``torch.no_grad()`` works; everything after the
  gradients (the CAM maths, Score-CAM's forward passes) runs under ``torch.no_grad()``.
* Logits: Keras's softmax/sigmoid are tapped during the pass (:mod:`ipyviz.gradcam._logits`).
* Inference mode: ``training=False`` (Keras also puts wrapped torch modules in ``eval()`` for it).
"""

from __future__ import annotations


import keras
import numpy as np
import torch

from ipyviz.gradcam._hooks import wrap_call
from ipyviz.gradcam._logits import tap

__all__ = ["Step"]


def _map(fn, xs):
    return torch.stack([fn(x) for x in xs])


class Step:
    """``step(images, classes)`` -> numpy (maps, empty, classes, probabilities); eager, nothing compiled."""

    traces = None  # eager: nothing is traced

    def __init__(self, plan):
        self._plan = plan
        # One real call on a zero image fills plan.info and surfaces errors early (as a trace would).
        self(np.zeros((1, *plan.image_shape), "float32"), np.full(1, -1, "int32"))

    def _forward(self, x, hook=None):
        plan = self._plan
        with tap() as logits_of, wrap_call(plan.layer, hook):
            outputs = plan.model(x, training=False)
        return outputs, logits_of

    def _run(self, images, classes):
        plan, wrt = self._plan, self._plan.method.gradients
        captured = []
        activations = gradients = None
        if wrt == "layer":

            def from_here(output):
                torch.set_grad_enabled(True)  # record from the target layer on (restored by the block below)
                if isinstance(output, torch.Tensor) and output.is_floating_point():
                    output = output.detach().requires_grad_(True)
                captured.append(output)
                return output

            with torch.set_grad_enabled(False):
                outputs, logits_of = self._forward(images, from_here)
                scores = plan.scores(outputs, classes, logits_of)
                activations = plan.activation(captured)
                gradients = self._grad(scores.total, activations)
        elif wrt == "input":
            with torch.enable_grad():
                source = images.detach().clone().requires_grad_(True)
                outputs, logits_of = self._forward(source)
                scores = plan.scores(outputs, classes, logits_of)
                gradients = self._grad(scores.total, source)
        else:  # Score-CAM: activations only
            with torch.no_grad():
                outputs, logits_of = self._forward(images, lambda output: captured.append(output) or output)
                scores = plan.scores(outputs, classes, logits_of)
                activations = plan.activation(captured)

        def probability(batch):
            outputs, logits_of = self._forward(batch)
            return plan.class_probability(outputs, scores.classes, logits_of)

        with torch.no_grad():
            scores = type(scores)(*(t.detach() for t in scores))
            if activations is not None:
                activations = activations.detach()
            return plan.finish(activations, gradients, images, scores, probability, _map)

    @staticmethod
    def _grad(total, source):
        if not total.requires_grad:  # the score does not depend on the layer at all
            return torch.zeros_like(source)
        (gradient,) = torch.autograd.grad(total, source, allow_unused=True)
        return torch.zeros_like(source) if gradient is None else gradient

    def __call__(self, images, classes):
        images = keras.ops.convert_to_tensor(images, "float32")
        classes = keras.ops.convert_to_tensor(classes, "int32")
        return [keras.ops.convert_to_numpy(t) for t in self._run(images, classes)]
