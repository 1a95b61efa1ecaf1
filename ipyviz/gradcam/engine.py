"""The shared Grad-CAM pipeline: one compiled, batched function per (model, layer, method), any backend.

``gradcam(model, images)`` returns one heatmap per image, ``(N, H, W)`` float32 in ``[0, 1]``, with
``KERAS_BACKEND`` set to ``tensorflow``, ``jax`` or ``torch``.

How it stays fast and leaves the model alone:

* The target layer's output is captured by wrapping its ``call`` for the duration of the forward pass
  (``_hooks.wrap_call``), then unwrapped in a ``finally``: no sub-model is built (so nested backbones and
  never-called Sequential models work) and nothing stays patched.
* The gradients come from the backend's own machinery (:mod:`ipyviz.gradcam.backends`): a
  ``GradientTape`` in a ``tf.function`` on TensorFlow, ``jax.grad`` over ``model.stateless_call`` in a
  ``jax.jit`` on JAX (the weights are arguments, so the function follows them through ``fit()``), eager
  ``torch.autograd.grad`` on torch. Everything else (scores, the CAM maths in :mod:`~ipyviz.gradcam.methods`,
  resizing, normalising) is written once here in ``keras.ops`` and runs inside that compiled function.
* Scores are logits when the chosen output comes from a softmax or sigmoid (a saturated softmax has
  zero gradients): TensorFlow walks its traced graph back to the activation op, JAX and torch tap
  Keras's softmax/sigmoid during the pass (:mod:`ipyviz.gradcam._logits`). No layer's activation is
  swapped, no weight is touched.
* The compiled function is cached in a ``WeakKeyDictionary`` keyed by the model (it holds only a weak
  reference to the model, so the cache never keeps a model alive). TensorFlow traces once for every
  batch size; JAX compiles once per power-of-two batch bucket (a batch is zero-padded up to it).
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

import numpy as np
from keras import ops

from ipyviz.gradcam._resize import resize_maps
from ipyviz.gradcam.backends import Scores, compile_step
from ipyviz.live import unwrap_model
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


def _as_classes(tensor):
    """(N, ..., C) -> (N, C) float32: outputs with extra dims (e.g. per-pixel) are averaged per class."""
    tensor = ops.cast(tensor, "float32")
    if len(tensor.shape) > 2:
        tensor = ops.mean(tensor, axis=tuple(range(1, len(tensor.shape) - 1)))
    return tensor


def _normalise(cam):
    """Per-image min-max to [0, 1]; maps with no spread become zeros and are flagged empty."""
    cam = ops.where(ops.isfinite(cam), cam, ops.zeros_like(cam))
    lo = ops.min(cam, axis=(1, 2), keepdims=True)
    hi = ops.max(cam, axis=(1, 2), keepdims=True)
    span = hi - lo
    ok = ops.greater(span, _EMPTY_TOLERANCE * ops.maximum(ops.abs(hi), ops.abs(lo)))  # False when all zero
    maps = ops.where(ok, (cam - lo) / ops.where(ok, span, ops.ones_like(span)), ops.zeros_like(cam))
    return ops.clip(maps, 0.0, 1.0), ops.logical_not(ok[:, 0, 0])


class _Plan:
    """One compiled pipeline for (model, layer, method, output, image shape, resize).

    The backend step (``self.step``, see :mod:`ipyviz.gradcam.backends`) runs the model and takes the
    gradients; it calls back into :meth:`scores`, :meth:`activation` and :meth:`finish`, the parts that
    are the same on every backend. Those run while the step is traced (TF, JAX) or on every call (torch)
    and note what they learn in ``self.info``.
    """

    def __init__(self, model, layer_path, layer, method, output, image_shape, resize):
        self._model = weakref.ref(model)  # the cache must not keep the model alive
        self.layer_path, self.layer, self.method = layer_path, layer, method
        self.output, self.resize = output, resize
        self.image_shape = tuple(image_shape)
        self.info = {}
        self.step = compile_step(self)  # traces (or runs) once now: fills self.info, surfaces errors early

    @property
    def model(self):
        return self._model()

    @property
    def traces(self):
        """How many times the pipeline was traced for compilation (``None`` on eager torch)."""
        return self.step.traces

    # -- the backend-neutral parts, called by the backend step -------------------------------------
    def _select(self, outputs):
        if isinstance(outputs, dict):
            names = list(outputs)
        elif isinstance(outputs, (list, tuple)):
            names = list(getattr(self.model, "output_names", None) or range(len(outputs)))
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

    def _logits(self, outputs, logits_of):
        """(logits (N, C), probabilities (N, C)) of the selected output; notes ``from_logits``."""
        y = self._select(outputs)
        logits = logits_of(y)
        self.info["from_logits"] = logits is not None
        if logits is not None:
            return _as_classes(logits), _as_classes(y)
        y = _as_classes(y)
        return y, (ops.softmax(y) if y.shape[-1] != 1 else ops.sigmoid(y))

    def scores(self, outputs, classes, logits_of) -> Scores:
        """The score of each image's class (``classes`` -1: its predicted class) and their sum.

        ``logits_of(y)`` is the backend's way to find the input of the softmax/sigmoid that made ``y``
        (``None`` when there is none). Images are independent in inference mode, so the gradient of the
        sum gives every image its own gradient in one backward pass.
        """
        logits, probabilities = self._logits(outputs, logits_of)
        self.info["num_classes"] = int(logits.shape[-1])
        predicted = ops.cast(ops.argmax(probabilities, axis=-1), "int32")
        classes = ops.where(ops.less(classes, 0), predicted, ops.cast(classes, "int32"))
        score = ops.take_along_axis(logits, ops.expand_dims(classes, 1), axis=1)[:, 0]
        return Scores(logits, probabilities, classes, ops.sum(score))

    def class_probability(self, outputs, classes, logits_of):
        """(N,) probability of ``classes`` (Score-CAM's weight of one masked batch)."""
        probabilities = self._logits(outputs, logits_of)[1]
        return ops.take_along_axis(probabilities, ops.expand_dims(classes, 1), axis=1)[:, 0]

    def activation(self, captured):
        """The target layer's output from its last call (``captured``), checked for Grad-CAM."""
        if not captured:
            raise ValueError(f"layer {self.layer_path!r} did not run in the model's forward pass")
        a = captured[-1]
        shape = getattr(a, "shape", None)
        if shape is None or len(shape) != 4:
            raise ValueError(
                f"layer {self.layer_path!r} outputs {shape if shape is not None else type(a).__name__}; Grad-CAM "
                "needs a (batch, height, width, channels) output"
            )
        if getattr(self.layer, "data_format", "channels_last") == "channels_first":
            raise ValueError(f"layer {self.layer_path!r} is channels_first; ipyviz Grad-CAM supports channels_last")
        self.info["channels"] = int(shape[-1])
        top_k = dict(self.method.options).get("top_k")
        if top_k is not None and top_k > shape[-1]:
            raise ValueError(f"top_k={top_k} is more than the {shape[-1]} channels of {self.layer_path!r}")
        return a

    def finish(self, activations, gradients, images, scores, probability, map_fn):
        """The method's map, resized and normalised: ``(maps, empty, classes, probabilities)``."""
        if activations is not None:
            activations = ops.cast(activations, "float32")
        if gradients is not None:
            gradients = ops.cast(gradients, "float32")
        cam = self.method(CamInputs(activations, gradients, images, scores.classes, probability, map_fn))
        if self.resize and self.method.needs_layer:
            cam = resize_maps(cam, self.image_shape[:2])
        maps, empty = _normalise(cam)
        self.info["map_shape"] = tuple(int(d) for d in maps.shape[1:])
        return maps, empty, scores.classes, scores.probabilities

    # -- called per batch -------------------------------------------------------------------------
    def __call__(self, images, classes):
        """numpy ``(maps, empty, classes, probabilities)`` of one batch (``classes`` -1: predicted)."""
        return self.step(np.asarray(images, "float32"), np.asarray(classes, "int32"))


_PLANS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compiled_plan(model, image_shape, layer=None, method="gradcam", output=None, top_k=None, resize=True):
    """The cached compiled pipeline for these settings (made on first use). Mostly for tests/tools.

    ``plan(images, classes)`` runs one batch; ``plan.traces`` counts compilations; ``plan.info`` holds
    ``num_classes``, ``from_logits``, ``map_shape`` (and ``channels`` for layer methods).
    """
    model = unwrap_model(model)
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
        model: a Keras 3 model (Functional, Sequential, subclassed, nested backbones) with one image input,
            on the TensorFlow, JAX or torch backend (a torch ``DataParallel`` wrapper is unwrapped).
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
    model = unwrap_model(model)
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
