"""The Grad-CAM family as small units over one shared pipeline (engine.py does everything else).

A method says where it wants gradients (``"layer"``: d score / d activations, ``"input"``: d score /
d image, or ``None``) and turns a :class:`CamInputs` into a raw map of shape ``(N, h, w)``. The pipeline
then removes non-finite values, resizes and normalises, identically for every method.

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
from typing import Callable

import tensorflow as tf

__all__ = ["CamInputs", "Method", "METHODS", "get_method"]


@dataclasses.dataclass
class CamInputs:
    """What the pipeline hands a method (all float32; N images)."""

    activations: tf.Tensor | None  # (N, h, w, K) output of the target layer
    gradients: tf.Tensor | None  # d score / d activations, or d score / d images for "input" methods
    images: tf.Tensor  # (N, H, W, C)
    classes: tf.Tensor  # (N,) int32, the class each map explains
    probability: Callable  # images (N, H, W, C) -> (N,) probability of ``classes`` (Score-CAM)


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

    def __call__(self, inputs: CamInputs) -> tf.Tensor:
        return self.compute(inputs, **dict(self.options))


def _spatial_sum(x):
    return tf.reduce_sum(x, axis=(1, 2), keepdims=True)


def _gradcam(c: CamInputs):
    weights = tf.reduce_mean(c.gradients, axis=(1, 2), keepdims=True)
    return tf.nn.relu(tf.reduce_sum(weights * c.activations, axis=-1))


def _gradcam_pp(c: CamInputs):
    g, a = c.gradients, c.activations
    g2 = g * g
    g3 = g2 * g
    denom = 2.0 * g2 + g3 * _spatial_sum(a)
    alphas = g2 / tf.where(g2 == 0.0, tf.ones_like(denom), denom)  # 0 where the gradient is 0
    norm = _spatial_sum(alphas)
    alphas = alphas / tf.where(norm == 0.0, tf.ones_like(norm), norm)
    weights = _spatial_sum(tf.nn.relu(g) * alphas)
    return tf.nn.relu(tf.reduce_sum(weights * a, axis=-1))


def _layercam(c: CamInputs):
    return tf.nn.relu(tf.reduce_sum(tf.nn.relu(c.gradients) * c.activations, axis=-1))


def _scorecam(c: CamInputs, top_k=None):
    a = c.activations
    if top_k is not None:
        spread = tf.math.reduce_std(a, axis=(1, 2))  # (N, K)
        keep = tf.math.top_k(spread, k=top_k).indices  # per image
        a = tf.gather(a, keep, axis=3, batch_dims=1)
    size = tf.shape(c.images)[1:3]

    def weight_of(k):
        mask = tf.image.resize(a[..., k : k + 1], size, method="bilinear")
        lo = tf.reduce_min(mask, axis=(1, 2), keepdims=True)
        hi = tf.reduce_max(mask, axis=(1, 2), keepdims=True)
        mask = (mask - lo) / (hi - lo + 1e-7)
        return c.probability(c.images * mask)

    # One forward pass per channel, each over the whole batch; map_fn keeps memory at one batch.
    weights = tf.map_fn(weight_of, tf.range(tf.shape(a)[-1]), fn_output_signature=tf.float32)  # (K, N)
    weights = tf.transpose(weights)[:, None, None, :]
    return tf.nn.relu(tf.reduce_sum(weights * a, axis=-1))


def _saliency(c: CamInputs):
    return tf.reduce_max(tf.abs(c.gradients), axis=-1)


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
