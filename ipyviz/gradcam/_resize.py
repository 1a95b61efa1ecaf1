"""Bilinear resizing of maps as two small matrix products, the same on every backend.

``tf.image.resize``'s bilinear rule (half-pixel centres, edges clamped, no antialiasing), as constant
interpolation matrices built with numpy once per size: ``out = Ry @ map @ Rx.T``. On JAX this compiles
in a fraction of the time of ``jax.image.resize`` (which also antialiases when shrinking, so the
backends would disagree), and it is as fast as any resize kernel for Grad-CAM's small maps.

Example::

    import numpy as np
    from ipyviz.gradcam._resize import resize_maps

    resize_maps(np.eye(2, dtype="float32")[None], (4, 4)).shape      # (1, 4, 4)
"""

from __future__ import annotations

import functools

import numpy as np
from keras import ops

__all__ = ["resize_maps", "interpolation_matrix"]


@functools.lru_cache(maxsize=64)
def interpolation_matrix(source: int, target: int) -> np.ndarray:
    """``(target, source)`` float32 rows of bilinear weights (half-pixel centres, clamped at the edges)."""
    position = (np.arange(target) + 0.5) * (source / target) - 0.5
    below = np.floor(position)
    fraction = (position - below).astype("float32")
    low = np.clip(below, 0, source - 1).astype(int)
    high = np.clip(below + 1, 0, source - 1).astype(int)
    matrix = np.zeros((target, source), "float32")
    rows = np.arange(target)
    np.add.at(matrix, (rows, low), 1 - fraction)
    np.add.at(matrix, (rows, high), fraction)
    return matrix


def resize_maps(maps, size):
    """``(N, h, w)`` or ``(N, h, w, 1)`` -> the same rank at ``size = (H, W)``, bilinear."""
    height, width = (int(d) for d in size)
    squeeze = len(maps.shape) == 4
    x = maps[..., 0] if squeeze else maps
    rows = ops.convert_to_tensor(interpolation_matrix(int(x.shape[1]), height))
    cols = ops.convert_to_tensor(interpolation_matrix(int(x.shape[2]), width))
    out = ops.einsum("Hh,nhw,Ww->nHW", rows, x, cols)
    return out[..., None] if squeeze else out
