"""The shared Grad-CAM pipeline: one compiled, batched function per (model, layer, method).

``gradcam(model, images)`` returns one heatmap per image, ``(N, H, W)`` float32 in ``[0, 1]``.

How it stays fast and leaves the model alone:

* The target layer's output is captured by wrapping its ``call`` while the function is *traced*
  (``_hooks.wrap_call``), then unwrapped in a ``finally``: no sub-model is built (so nested backbones and
  never-called Sequential models work) and nothing stays patched. The traced graph keeps reading the
  model's variables, so the same function serves every epoch of a ``fit()``.
* Scores are logits when the chosen output comes from a softmax or sigmoid: the traced graph is walked
  back from the output to the activation op and its input is used (a saturated softmax has zero
  gradients). No layer's activation is swapped, no weight is touched.
* The compiled function is cached in a ``WeakKeyDictionary`` keyed by the model (it holds only a weak
  reference to the model, so the cache never keeps a model alive); batch size is a ``None`` dimension,
  so every batch size reuses one trace.
* Inference mode (``training=False``); gradients and maps in float32 even under mixed precision;
  non-finite values become 0; a map with no spatial variation (all zero, e.g. a dead layer) is returned
  as zeros and reported empty (``details=True`` or :func:`is_empty`), never NaN.

Example::

    import keras, numpy as np
    import ipyviz

    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    images = np.random.rand(5, 16, 16, 3).astype("float32")
    maps = ipyviz.gradcam(model, images)                  # (5, 16, 16) in [0, 1]
    result = ipyviz.gradcam(model, images, method="gradcam++", classes=[0, 1, 2, 0, 1], details=True)
    result.layer, result.empty, result.confidence         # 'conv2d', per-image flags, probabilities
"""

from __future__ import annotations

import dataclasses
import weakref

import keras
import numpy as np
import tensorflow as tf

from ipyviz.gradcam._hooks import wrap_call
from ipyviz.gradcam.methods import CamInputs, get_method
from ipyviz.gradcam.targets import resolve_layer

__all__ = ["gradcam", "CamResult", "is_empty", "compiled_plan"]

_EMPTY_TOLERANCE = 1e-6  # relative spread below float32 noise: no spatial information


@dataclasses.dataclass
class CamResult:
    """Everything one ``gradcam(..., details=True)`` call learned.

    Attributes:
        maps: ``(N, H, W)`` float32 in [0, 1] (``(N, h, w)`` when ``resize=False``).
        empty: ``(N,)`` bool, True where the map had no spatial variation (returned as zeros).
        classes: ``(N,)`` int, the class each map explains (the predicted one where none was given).
        probabilities: ``(N, num_classes)`` float32, the model's class probabilities (a softmax of the
            outputs when the model outputs logits).
        layer: path of the layer used (``None`` for saliency); method: the method name.
        from_logits: True when scores were read before the model's softmax/sigmoid.
    """

    maps: np.ndarray
    empty: np.ndarray
    classes: np.ndarray
    probabilities: np.ndarray
    layer: str | None
    method: str
    from_logits: bool

    @property
    def confidence(self) -> np.ndarray:
        """``(N,)`` probability of the explained class of each image."""
        return self.probabilities[np.arange(len(self.classes)), self.classes]

    @property
    def predicted(self) -> np.ndarray:
        """``(N,)`` the model's predicted class of each image."""
        return np.argmax(self.probabilities, axis=-1)


def is_empty(maps) -> np.ndarray:
    """``(N,)`` True for maps that are all zero (what ``gradcam`` returns for an empty map)."""
    maps = np.asarray(maps)
    return ~np.any(maps > 0, axis=tuple(range(1, maps.ndim)))


def _activation_input(tensor):
    """The input of the softmax/sigmoid that produced ``tensor`` (through Identity/Cast), or None."""
    logits = getattr(tensor, "_keras_logits", None)  # Keras's TF backend tags its softmax/sigmoid
    if logits is not None:
        return logits
    for _ in range(8):
        op = getattr(tensor, "op", None)
        if op is None:
            return None
        if op.type in ("Softmax", "Sigmoid"):
            return op.inputs[0]
        if op.type not in ("Identity", "Cast", "IdentityN"):
            return None
        tensor = op.inputs[0]
    return None


def _as_classes(tensor):
    """(N, ..., C) -> (N, C): outputs with extra dims (e.g. per-pixel) are averaged per class."""
    tensor = tf.cast(tensor, tf.float32)
    if tensor.shape.rank > 2:
        tensor = tf.reduce_mean(tensor, axis=tuple(range(1, tensor.shape.rank - 1)))
    return tensor


def _normalise(cam):
    """Per-image min-max to [0, 1]; maps with no spread become zeros and are flagged empty."""
    cam = tf.where(tf.math.is_finite(cam), cam, tf.zeros_like(cam))
    lo = tf.reduce_min(cam, axis=(1, 2), keepdims=True)
    hi = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
    span = hi - lo
    ok = span > _EMPTY_TOLERANCE * tf.maximum(tf.abs(hi), tf.abs(lo))  # False for an all-zero map
    maps = tf.where(ok, (cam - lo) / tf.where(ok, span, tf.ones_like(span)), tf.zeros_like(cam))
    return tf.clip_by_value(maps, 0.0, 1.0), tf.logical_not(ok[:, 0, 0])


class _Plan:
    """One compiled pipeline for (model, layer, method, output, image shape, resize)."""

    def __init__(self, model, layer_path, layer, method, output, image_shape, resize):
        self._model = weakref.ref(model)  # the cache must not keep the model alive
        self.layer_path, self.layer, self.method = layer_path, layer, method
        self.output, self.resize = output, resize
        self.image_shape = tuple(image_shape)
        self.info = {}
        signature = [tf.TensorSpec((None, *self.image_shape), tf.float32), tf.TensorSpec((None,), tf.int32)]
        self.function = tf.function(self._run, input_signature=signature)
        self.function.get_concrete_function()  # trace now: fills self.info, surfaces errors early

    # -- traced once ------------------------------------------------------------------------------
    def _select(self, outputs):
        if isinstance(outputs, dict):
            names = list(outputs)
        elif isinstance(outputs, (list, tuple)):
            names = list(getattr(self._model(), "output_names", None) or range(len(outputs)))
            outputs = dict(zip(names, outputs))
        else:
            return outputs
        self.info["outputs"] = names
        if self.output is None:
            if len(names) == 1:
                return outputs[names[0]]
            raise ValueError(f"the model has {len(names)} outputs {names}: pick one with output= (a name or index)")
        if isinstance(self.output, int) and not isinstance(self.output, bool) and -len(names) <= self.output < len(names):
            return outputs[names[self.output]]
        if self.output in outputs:
            return outputs[self.output]
        raise ValueError(f"output={self.output!r} is not one of the model's outputs {names} (or 0..{len(names) - 1})")

    def _scores(self, outputs):
        """(logits (N, C), probabilities (N, C), from_logits) of the selected output."""
        y = self._select(outputs)
        logits = _activation_input(y)
        if logits is not None:
            return _as_classes(logits), _as_classes(y), True
        y = _as_classes(y)
        probabilities = tf.nn.softmax(y) if y.shape[-1] != 1 else tf.sigmoid(y)
        return y, probabilities, False

    def _run(self, images, classes):
        model, method = self._model(), self.method
        captured = []
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            if method.gradients == "input":
                tape.watch(images)

            def capture(output):
                if method.gradients == "layer":
                    tape.watch(output)
                captured.append(output)
                return output

            if method.needs_layer:
                with wrap_call(self.layer, capture):
                    outputs = model(images, training=False)
            else:
                outputs = model(images, training=False)
            logits, probabilities, from_logits = self._scores(outputs)
            predicted = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
            classes = tf.where(classes < 0, predicted, classes)
            score = tf.gather(logits, classes, axis=1, batch_dims=1)
            total = tf.reduce_sum(score)  # images are independent in inference mode
        self.info.update(num_classes=int(logits.shape[-1]), from_logits=from_logits)

        activations = None
        if method.needs_layer:
            activations = self._activations(captured)
        gradients = None
        if method.gradients is not None:
            source = captured[-1] if method.gradients == "layer" else images
            gradients = tf.cast(tape.gradient(total, source, unconnected_gradients="zero"), tf.float32)

        def probability(batch):
            _, p, _ = self._scores(model(batch, training=False))
            return tf.gather(p, classes, axis=1, batch_dims=1)

        self._check_options(activations)
        cam = method(CamInputs(activations, gradients, images, classes, probability))
        if self.resize and method.needs_layer:
            cam = tf.image.resize(cam[..., None], self.image_shape[:2], method="bilinear")[..., 0]
        maps, empty = _normalise(cam)
        self.info["map_shape"] = tuple(maps.shape[1:])
        return maps, empty, classes, probabilities

    def _activations(self, captured):
        if not captured:
            raise ValueError(f"layer {self.layer_path!r} did not run in the model's forward pass")
        a = captured[-1]
        if not tf.is_tensor(a) or a.shape.rank != 4:
            raise ValueError(
                f"layer {self.layer_path!r} outputs {getattr(a, 'shape', type(a).__name__)}; Grad-CAM needs a "
                "(batch, height, width, channels) output"
            )
        if getattr(self.layer, "data_format", "channels_last") == "channels_first":
            raise ValueError(f"layer {self.layer_path!r} is channels_first; ipyviz Grad-CAM supports channels_last")
        self.info["channels"] = int(a.shape[-1])
        return tf.cast(a, tf.float32)

    def _check_options(self, activations):
        top_k = dict(self.method.options).get("top_k")
        if top_k is not None and top_k > activations.shape[-1]:
            raise ValueError(f"top_k={top_k} is more than the {activations.shape[-1]} channels of {self.layer_path!r}")

    # -- called per batch -------------------------------------------------------------------------
    def __call__(self, images, classes):
        return [t.numpy() for t in self.function(images, classes)]


_PLANS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compiled_plan(model, image_shape, layer=None, method="gradcam", output=None, top_k=None, resize=True):
    """The cached compiled pipeline for these settings (made on first use). Mostly for tests/tools."""
    unit = get_method(method, top_k=top_k)
    image_shape = tuple(int(d) for d in image_shape)
    if unit.needs_layer:
        layer_path, layer_obj = resolve_layer(model, layer, input_shape=image_shape)
    else:
        _ensure_built(model, image_shape)
        layer_path, layer_obj = None, None
    key = (layer_path, unit.name, unit.options, output, image_shape, bool(resize))
    plans = _PLANS.setdefault(model, {})
    plan = plans.get(key)
    if plan is None or plan.layer is not layer_obj:
        plan = plans[key] = _Plan(model, layer_path, layer_obj, unit, output, image_shape, resize)
    return plan


def _ensure_built(model, image_shape):
    if not model.built:
        model(np.zeros((1, *image_shape), dtype="float32"), training=False)


def _prepare_images(model, images):
    images = np.asarray(images, dtype="float32")
    try:
        inputs = model.inputs
        rank = len(inputs[0].shape)
    except (AttributeError, ValueError, TypeError, IndexError):
        inputs, rank = None, 4
    if inputs and len(inputs) > 1:
        raise ValueError(f"ipyviz Grad-CAM needs a model with one image input; {model.name!r} has {len(inputs)}")
    if images.ndim == rank - 1:
        images = images[None]  # one image
    if images.ndim != 4:
        raise ValueError(
            f"images must be a batch (N, height, width, channels) or one image (height, width, channels); "
            f"got shape {images.shape}"
        )
    if len(images) == 0:
        raise ValueError("images is empty: pass at least one image")
    return images


def _prepare_classes(classes, n, num_classes):
    if classes is None:
        return np.full(n, -1, dtype="int32")
    if np.ndim(classes) == 0:
        classes = [classes] * n
    classes = list(classes)
    if len(classes) != n:
        raise ValueError(
            f"classes has {len(classes)} entries for {n} images: give one class per image "
            "(None in a slot means that image's predicted class), a single int for all, or classes=None"
        )
    out = np.array([-1 if c is None else int(c) for c in classes], dtype="int32")
    bad = [int(c) for c in out if c >= num_classes or c < -1]
    if bad:
        raise ValueError(f"classes {bad} are out of range: the model's output has classes 0..{num_classes - 1}")
    return out


def gradcam(model, images, layer=None, method="gradcam", classes=None, output=None, *,
            top_k=None, resize=True, batch_size=128, details=False):
    """Class activation maps of ``images`` for ``model``.

    Args:
        model: a Keras 3 model (Functional, Sequential, subclassed, nested backbones) with one image input.
        images: ``(N, H, W, C)`` or one ``(H, W, C)`` image, values as the model expects them.
        layer: the layer to explain: a path like ``"backbone/top_conv"``, a unique layer name, a Layer, or
            ``None`` for :func:`~ipyviz.gradcam.targets.find_target_layer`. Ignored by ``"saliency"``.
        method: ``"gradcam"``, ``"gradcam++"``, ``"layercam"``, ``"scorecam"`` or ``"saliency"``.
        classes: ``None`` (each image's predicted class), one int for all images, or one per image
            (``None`` entries mean predicted). A list of the wrong length raises ``ValueError``.
        output: which output of a multi-output model (name or index).
        top_k: Score-CAM only: use the k channels with the largest spatial spread (faster).
        resize: upsample maps to the images' size (bilinear); ``False`` keeps the layer's resolution.
        batch_size: images per compiled call (memory bound; every batch reuses the same trace).
        details: return a :class:`CamResult` (maps, empty flags, classes, probabilities, layer).

    Returns:
        ``(N, H, W)`` float32 in [0, 1], or a :class:`CamResult` when ``details=True``.
    """
    if keras.backend.backend() != "tensorflow":
        raise NotImplementedError(
            f"ipyviz.gradcam runs on Keras's TensorFlow backend; this Keras uses {keras.backend.backend()!r} "
            "(set KERAS_BACKEND=tensorflow)"
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    images = _prepare_images(model, images)
    plan = compiled_plan(model, images.shape[1:], layer, method, output, top_k, resize)
    wanted = _prepare_classes(classes, len(images), plan.info["num_classes"])
    parts = [plan(images[i : i + batch_size], wanted[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    maps, empty, chosen, probabilities = (np.concatenate(p) for p in zip(*parts))
    if not details:
        return maps
    return CamResult(maps, empty, chosen.astype("int64"), probabilities, plan.layer_path, plan.method.name,
                     plan.info["from_logits"])
