"""Gradients of a class score with respect to an inner layer, from each Keras backend's own machinery.

One small interface, one module per backend (``tensorflow.py``, ``jax.py``, ``torch.py``)::

    step = compile_step(plan)                  # made once per (model, layer, method, ...), cached on the plan
    maps, empty, classes, probabilities = step(images, classes)     # numpy in, numpy out
    step.traces                                # compilations so far (None where nothing is compiled)

A step runs the model in inference mode with ``plan.layer`` hooked (``_hooks.wrap_call``), gets
:class:`Scores` from ``plan.scores(outputs, classes, logits_of)``, differentiates ``Scores.total`` with
respect to the layer's output (``plan.method.gradients == "layer"``) or the images (``"input"``), and
hands (activations, gradients, scores) to ``plan.finish``, the backend-neutral ``keras.ops`` part
(the CAM maths, resizing, normalising). What differs per backend:

============  ==================================================================================
tensorflow    ``tf.GradientTape`` watching the captured output, inside one ``tf.function`` with a
              ``None`` batch dimension (one trace for every batch size); logits found by walking the
              traced graph back from the output to its Softmax/Sigmoid op
jax           ``jax.grad`` over ``model.stateless_call(trainable, non_trainable, x, training=False)``
              inside ``jax.jit``; the variables' current values are arguments of every call (never
              constants), so weights updated by ``fit()`` are seen. The layer's hook returns
              ``output + delta`` for a zeros ``delta``: d score / d delta is d score / d activation
jax, torch    logits: Keras's softmax/sigmoid are tapped during the pass (:mod:`.._logits`)
torch         eager ``torch.autograd.grad`` on the captured output (detached, so autograd records
              only the layers after it) or on the images; grad mode enabled even under
              ``torch.no_grad()``; ``DataParallel``/``DistributedDataParallel`` models are unwrapped
============  ==================================================================================

Example::

    import keras, numpy as np
    from ipyviz.gradcam.engine import compiled_plan

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv"),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    plan = compiled_plan(model, (8, 8, 1), "conv")      # plan.step is this backend's step
    maps, empty, classes, probabilities = plan(np.random.rand(4, 8, 8, 1), np.full(4, -1))
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import keras

__all__ = ["Scores", "compile_step", "SUPPORTED"]

SUPPORTED = ("tensorflow", "jax", "torch")


class Scores(NamedTuple):
    """What ``plan.scores`` returns (a NamedTuple, so JAX can carry it out of ``jax.grad``)."""

    logits: Any  # (N, C) float32, the scores that are differentiated
    probabilities: Any  # (N, C) float32
    classes: Any  # (N,) int32, the class each map explains
    total: Any  # scalar, the sum over the batch of each image's class score


def compile_step(plan):
    """This Keras backend's step for ``plan`` (see the module docstring)."""
    name = keras.backend.backend()
    if name not in SUPPORTED:
        raise NotImplementedError(
            f"ipyviz Grad-CAM needs gradients, which Keras's {name!r} backend does not have; "
            f"set KERAS_BACKEND to one of {', '.join(SUPPORTED)}"
        )
    return importlib.import_module(f"{__name__}.{name}").Step(plan)
