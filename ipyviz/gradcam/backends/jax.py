"""The JAX step: ``jax.grad`` over ``model.stateless_call`` inside ``jax.jit`` (see ``backends/__init__.py``).

* The trainable and non-trainable variables' current values are *arguments* of every call, never
  constants of the compiled function, so weights updated by ``fit()`` are seen without recompiling.
* d score / d activation: the target layer's hook returns ``output + delta``, with ``delta`` a zeros
  array of the output's shape and dtype (found by ``jax.eval_shape``, which costs no FLOPs), and
  ``jax.grad`` differentiates with respect to ``delta``. A layer called more than once gets ``delta``
  on its last call only (the call whose output the map explains, as on TensorFlow).
* Logits: Keras's softmax/sigmoid are tapped while the pass is traced (:mod:`ipyviz.gradcam._logits`).
* ``jit`` compiles once per input shape, so a batch is zero-padded up to the next power of two: at most
  ~log2(batch_size) + 1 compilations whatever the numbers of images asked for.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np

from ipyviz.gradcam._hooks import wrap_call
from ipyviz.gradcam._logits import tap

__all__ = ["Step"]


def _inference_kwargs(model) -> dict:
    # stateless_call passes keywords straight to ``call`` (no filtering like ``__call__``): a subclassed
    # ``call(self, x)`` would refuse ``training=``; its layers then run in their default inference mode.
    parameters = inspect.signature(model.call).parameters.values()
    accepts = any(p.name == "training" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    return {"training": False} if accepts else {}


def _bucket(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


class Step:
    """``step(images, classes)`` -> numpy (maps, empty, classes, probabilities); compiled per bucket."""

    def __init__(self, plan):
        self._plan = plan
        self.traces = 0
        self._compiled = jax.jit(self._run)
        image = jax.ShapeDtypeStruct((1, *plan.image_shape), jnp.float32)
        # Trace now (abstractly: nothing is compiled or run) to fill plan.info and surface errors early.
        jax.eval_shape(self._run, *self._variables(), image, jax.ShapeDtypeStruct((1,), jnp.int32))
        self.traces = 0

    def _variables(self):
        model = self._plan.model
        return [v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables]

    def _forward(self, trainable, non_trainable, x, hook=None):
        """``(outputs, logits_of)`` of one inference pass, with the target layer's output through ``hook``."""
        plan = self._plan
        with tap() as logits_of, wrap_call(plan.layer, hook):
            model = plan.model
            outputs, _ = model.stateless_call(trainable, non_trainable, x, **_inference_kwargs(model))
        return outputs, logits_of

    def _layer_outputs(self, trainable, non_trainable, images):
        """Shape/dtype of the target layer's output at each of its calls (abstract evaluation)."""
        seen = []

        def note(output):
            seen.append(jax.ShapeDtypeStruct(output.shape, output.dtype) if hasattr(output, "shape") else output)
            return output

        jax.eval_shape(lambda t, n, x: self._forward(t, n, x, note)[0], trainable, non_trainable, images)
        return seen

    def _run(self, trainable, non_trainable, images, classes):
        self.traces += 1  # Python side effect: runs once per compilation
        plan, wrt = self._plan, self._plan.method.gradients

        def scores_of(x, hook=None):
            outputs, logits_of = self._forward(trainable, non_trainable, x, hook)
            return plan.scores(outputs, classes, logits_of)

        activations = gradients = None
        if wrt == "layer":
            calls = self._layer_outputs(trainable, non_trainable, images)
            spec = plan.activation(calls)  # checks rank, channels, top_k before any maths

            def score_of_delta(delta):
                seen = []

                def add_delta(output):
                    seen.append(output)
                    return output + delta if len(seen) == len(calls) else output

                scores = scores_of(images, add_delta)
                return scores.total, (seen[len(calls) - 1], scores)

            gradients, (activations, scores) = jax.grad(score_of_delta, has_aux=True)(jnp.zeros(spec.shape, spec.dtype))
        elif wrt == "input":

            def score_of_images(x):
                scores = scores_of(x)
                return scores.total, scores

            gradients, scores = jax.grad(score_of_images, has_aux=True)(images)
        else:  # Score-CAM: activations only
            seen = []
            scores = scores_of(images, lambda output: seen.append(output) or output)
            activations = plan.activation(seen)

        def probability(batch):
            outputs, logits_of = self._forward(trainable, non_trainable, batch)
            return plan.class_probability(outputs, scores.classes, logits_of)

        return plan.finish(activations, gradients, images, scores, probability, jax.lax.map)

    def __call__(self, images, classes):
        n = len(images)
        size = _bucket(n)
        if size != n:  # zeros: in inference mode padded rows change nothing for the others
            images = np.concatenate([images, np.zeros((size - n, *images.shape[1:]), images.dtype)])
            classes = np.concatenate([classes, np.zeros(size - n, classes.dtype)])
        outputs = self._compiled(*self._variables(), images, classes)
        return [np.asarray(t)[:n] for t in outputs]
