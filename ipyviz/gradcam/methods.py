"""The Grad-CAM family as small units over one shared pipeline, written once in ``keras.ops``.

A method says where it wants gradients (``"layer"``: d score / d activations, ``"input"``: d score /
d image, or ``None``) and turns a :class:`CamInputs` into a raw map of shape ``(N, h, w)``. The pipeline
(engine.py) then removes non-finite values, resizes and normalises, identically for every method. The
maths here is backend-neutral: the same code runs inside TensorFlow's ``tf.function``, JAX's ``jit`` and
eagerly on torch (the gradients themselves come from :mod:`ipyviz.gradcam.backends`).

=============  ===================================================================================
gradcam        channel weights = spatial mean of the gradients; ReLU(sum_k w_k A_k)
gradcam++      weights from 2nd/3rd-order terms (the authors' code, as tf-keras-vis), without the
               ``exp(score)`` factor: it cancels in normalisation and overflows for large logits
layercam       ReLU(sum_k ReLU(grad_k) * A_k), per position
scorecam       each channel, upsampled and min-max scaled, masks the image; its weight is the class
               probability of the masked image (batched: one forward pass per channel for the whole
               batch; ``top_k`` keeps the k channels of largest spatial std, as Faster-Score-CAM)
saliency       max over colour channels of |d score / d image|; needs no layer
=============  ===================================================================================

Example::

    from ipyviz.gradcam.methods import get_method
    get_method("scorecam", top_k=8).name        # 'scorecam'
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from keras import ops

from ipyviz.gradcam._resize import resize_maps

__all__ = ["CamInputs", "Method", "METHODS", "get_method"]


@dataclasses.dataclass
class CamInputs:
    """What the pipeline hands a method (backend tensors, float32; N images)."""

    activations: Any  # (N, h, w, K) output of the target layer, or None
    gradients: Any  # d score / d activations, or d score / d images for "input" methods, or None
    images: Any  # (N, H, W, C)
    classes: Any  # (N,) int32, the class each map explains
    probability: Callable  # images (N, H, W, C) -> (N,) probability of ``classes`` (Score-CAM)
    map: Callable  # map(fn, xs) -> stacked fn(x) over xs' first axis, the backend's loop (Score-CAM)


@dataclasses.dataclass(frozen=True)
class Method:
    """One CAM method: ``compute(inputs, **options) -> (N, h, w)`` plus where it needs gradients."""

    name: str
    gradients: str | None  # "layer", "input" or None
    compute: Callable
    options: tuple = ()  # sorted (name, value) pairs; part of the compiled-function cache key

    @property
    def needs_layer(self) -> bool:
        return self.gradients != "input"

    def __call__(self, inputs: CamInputs):
        return self.compute(inputs, **dict(self.options))


def _spatial_sum(x):
    return ops.sum(x, axis=(1, 2), keepdims=True)


def _safe_divide(x, y):
    """x / y, and 0 where y == 0 (no NaN, no warnings)."""
    zero = ops.equal(y, 0.0)
    return ops.where(zero, ops.zeros_like(x), x / ops.where(zero, ops.ones_like(y), y))


def _gradcam(c: CamInputs):
    weights = ops.mean(c.gradients, axis=(1, 2), keepdims=True)
    return ops.relu(ops.sum(weights * c.activations, axis=-1))


def _gradcam_pp(c: CamInputs):
    g, a = c.gradients, c.activations
    g2 = g * g
    g3 = g2 * g
    alphas = _safe_divide(g2, 2.0 * g2 + g3 * _spatial_sum(a))  # 0 where the gradient is 0
    alphas = _safe_divide(alphas, _spatial_sum(alphas))
    weights = _spatial_sum(ops.relu(g) * alphas)
    return ops.relu(ops.sum(weights * a, axis=-1))


def _layercam(c: CamInputs):
    return ops.relu(ops.sum(ops.relu(c.gradients) * c.activations, axis=-1))


def _scorecam(c: CamInputs, top_k=None):
    a = c.activations
    if top_k is not None:
        spread = ops.std(a, axis=(1, 2))  # (N, K)
        _, keep = ops.top_k(spread, k=top_k)  # per image
        a = ops.take_along_axis(a, ops.expand_dims(ops.expand_dims(keep, 1), 1), axis=3)
    size = tuple(int(d) for d in c.images.shape[1:3])

    def weight_of(channel):  # (N, h, w, 1) -> (N,)
        mask = resize_maps(channel, size)
        lo = ops.min(mask, axis=(1, 2), keepdims=True)
        hi = ops.max(mask, axis=(1, 2), keepdims=True)
        return c.probability(c.images * ((mask - lo) / (hi - lo + 1e-7)))

    # One forward pass per channel, each over the whole batch; the backend's loop keeps memory at one batch.
    channels = ops.expand_dims(ops.transpose(a, (3, 0, 1, 2)), -1)  # (K, N, h, w, 1)
    weights = ops.transpose(c.map(weight_of, channels))  # (N, K)
    return ops.relu(ops.sum(weights[:, None, None, :] * a, axis=-1))


def _saliency(c: CamInputs):
    return ops.max(ops.abs(c.gradients), axis=-1)


METHODS = {
    "gradcam": Method("gradcam", "layer", _gradcam),
    "gradcam++": Method("gradcam++", "layer", _gradcam_pp),
    "layercam": Method("layercam", "layer", _layercam),
    "scorecam": Method("scorecam", None, _scorecam),
    "saliency": Method("saliency", "input", _saliency),
}
_ALIASES = {"grad-cam": "gradcam", "gradcampp": "gradcam++", "gradcamplusplus": "gradcam++",
            "score-cam": "scorecam", "layer-cam": "layercam"}


def get_method(name: str, top_k: int | None = None) -> Method:
    """The :class:`Method` called ``name`` (case-insensitive); ``top_k`` applies to ``"scorecam"`` only."""
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in METHODS:
        raise ValueError(f"unknown Grad-CAM method {name!r}; choose one of {', '.join(METHODS)}")
    method = METHODS[key]
    if top_k is not None:
        if key != "scorecam":
            raise ValueError(f"top_k only applies to method='scorecam', not {key!r}")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive number of channels, got {top_k!r}")
        method = dataclasses.replace(method, options=(("top_k", top_k),))
    return method
