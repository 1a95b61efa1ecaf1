"""What GradCamViewer sends to the browser, computed without Jupyter: display images and frames.

A *frame* is one snapshot of the model: a heatmap per image (uint8, at the layer's resolution: the
browser upsamples with smoothing, so a 7x7 map costs 49 bytes, not H*W), the explained class, the
predicted class and its probability, and an empty flag. ``GradCamViewer`` keeps one frame per recorded
epoch in a trait; the bytes travel as binary buffers, never as JSON lists.

Example::

    import keras, numpy as np
    from ipyviz.gradcam.frames import display_rgb, make_frame

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    images = np.random.rand(4, 8, 8, 1).astype("float32")
    display_rgb(images).shape                     # (4, 8, 8, 3) uint8
    frame = make_frame(model, images, epoch=0)
    frame["map_shape"], len(frame["maps"])        # [6, 6], 4 * 6 * 6 bytes
"""

from __future__ import annotations

import numpy as np

from ipyviz.gradcam.engine import gradcam

__all__ = ["display_rgb", "make_frame", "pick_map", "pick_maps", "as_labels"]


def display_rgb(images) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 for display, from uint8 or float, gray, RGB or RGBA images.

    Floats in [0, 1] are scaled by 255, floats in [0, 255] are kept, anything else (e.g. standardised
    inputs) is min-max scaled per image. Pass ``display_images=`` to the viewer to choose yourself.
    """
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"display images must be (N, H, W) or (N, H, W, 1|3|4), got shape {x.shape}")
    x = x[..., :3]
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x)
    x = np.nan_to_num(x.astype("float32"))
    lo, hi = float(x.min()), float(x.max())
    if lo >= 0 and hi <= 1:
        x = x * 255
    elif not (lo >= 0 and hi <= 255):
        low = x.min(axis=(1, 2, 3), keepdims=True)
        span = x.max(axis=(1, 2, 3), keepdims=True) - low
        x = (x - low) / np.where(span > 0, span, 1) * 255
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def as_labels(labels, n, num_classes=None) -> list:
    """One int per image (-1 = unknown) from ints, one-hot rows, or ``None``; wrong length refused."""
    if labels is None:
        return [-1] * n
    y = np.asarray(labels)
    if y.ndim == 2:  # one-hot / probabilities
        y = np.argmax(y, axis=-1)
    y = y.reshape(-1)
    if len(y) != n:
        raise ValueError(f"labels has {len(y)} entries for {n} images: give one label per image")
    out = [int(v) for v in y]
    if num_classes is not None and any(v >= num_classes or v < -1 for v in out):
        raise ValueError(f"labels must be class indices 0..{num_classes - 1} (or -1 for unknown), got {sorted(set(out))}")
    return out


def _to_uint8(maps) -> bytes:
    return np.ascontiguousarray(np.rint(np.clip(maps, 0, 1) * 255), dtype=np.uint8).tobytes()


def make_frame(model, images, *, epoch=0, layer=None, method="gradcam", output=None, top_k=None) -> dict:
    """One frame for the viewer: heatmaps of each image's predicted class, with the prediction."""
    result = gradcam(model, images, layer=layer, method=method, output=output, top_k=top_k,
                     resize=False, details=True)
    return {
        "epoch": int(epoch),
        "maps": _to_uint8(result.maps),
        "map_shape": [int(d) for d in result.maps.shape[1:]],
        "classes": [int(c) for c in result.classes],
        "predicted": [int(c) for c in result.predicted],
        "confidence": [round(float(p), 5) for p in result.probabilities.max(axis=-1)],
        "empty": [bool(e) for e in result.empty],
        "layer": result.layer or "input (saliency)",
        "num_classes": int(result.probabilities.shape[-1]),
    }


def pick_maps(model, images, classes, *, layer=None, method="gradcam", output=None, top_k=None) -> list:
    """The map of ``classes[i]`` for each image (the viewer's class picker), one batched call."""
    result = gradcam(model, images, layer=layer, method=method, classes=[int(c) for c in classes], output=output,
                     top_k=top_k, resize=False, details=True)
    shape = [int(d) for d in result.maps.shape[1:]]
    return [
        {"class": int(c), "maps": _to_uint8(m), "map_shape": shape, "empty": bool(e), "confidence": round(float(p), 5)}
        for c, m, e, p in zip(result.classes, result.maps, result.empty, result.confidence)
    ]


def pick_map(model, image, cls, **options) -> dict:
    """The map of class ``cls`` for one image."""
    return pick_maps(model, image[None], [cls], **options)[0]
