"""GradCamViewer: a grid of images with their Grad-CAM heatmaps, live during ``fit()``.

Everything the view shows lives in traits (``images``, ``frames``, ``picked``, ...), so a page reload
or a static export redraws it. Opacity, colormap, overlay / side by side, enlarging an image and the
epoch slider run in the browser alone: they work while ``fit()`` keeps the kernel busy. Picking another
class for an image is a round trip (a message to the kernel), so it works once ``fit()`` is done.

Example (in a notebook)::

    import keras, numpy as np, ipyviz
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = np.random.rand(64, 28, 28, 1).astype("float32"), np.random.randint(0, 10, 64)
    viewer = ipyviz.GradCamViewer(model, x[:8], labels=y[:8], class_names=[str(d) for d in range(10)])
    viewer                                                 # shows the grid
    model.fit(x, y, epochs=3, callbacks=[viewer.callback()])  # one frame per epoch; slider replays them
"""

from __future__ import annotations

import traitlets

from ipyviz._widget import Widget, bundle
from ipyviz.gradcam.engine import _prepare_images
from ipyviz.gradcam.frames import as_labels, display_rgb, make_frame, pick_map, pick_maps
from ipyviz.gradcam.methods import get_method
from ipyviz.gradcam.targets import resolve_layer
from ipyviz.live import LiveCallback, report_error, unwrap_model

__all__ = ["GradCamViewer", "GradCamCallback"]


class GradCamViewer(Widget):
    """Grid of images with Grad-CAM overlays, the predicted class and confidence, the true label.

    Args:
        model: a Keras 3 image model, on the TensorFlow, JAX or torch backend (see :func:`ipyviz.gradcam`).
        images: ``(N, H, W, C)`` inputs as the model expects them (keep N small: 4-32).
        labels: true class per image (ints or one-hot rows), optional.
        class_names: a name per class, optional (shown as text, never as HTML).
        layer, method, output, top_k: as for :func:`ipyviz.gradcam`.
        display_images: what to show instead of ``images`` (e.g. before preprocessing), same N, H, W.
        max_frames: frames kept (the first and the latest ones); each is N*h*w bytes.

    Traits (what the view draws): ``images`` (N*H*W*3 uint8 bytes) and ``image_shape`` ([N, H, W]),
    ``labels``, ``class_names``, ``layer``, ``method``, ``frames`` (list of frames, see
    :func:`ipyviz.gradcam.frames.make_frame`), ``picked`` ({image index: class map}), ``training``.
    """

    _esm = bundle("gradcam")
    _css = bundle("gradcam", ".css")
    images = traitlets.Bytes(b"").tag(sync=True)
    image_shape = traitlets.List(traitlets.Int(), [0, 0, 0]).tag(sync=True)
    labels = traitlets.List(traitlets.Int()).tag(sync=True)
    class_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    layer = traitlets.Unicode("").tag(sync=True)
    method = traitlets.Unicode("gradcam").tag(sync=True)
    frames = traitlets.List(traitlets.Dict()).tag(sync=True)
    picked = traitlets.Dict().tag(sync=True)
    training = traitlets.Bool(False).tag(sync=True)

    def __init__(self, model, images, labels=None, class_names=None, layer=None, method="gradcam", *,
                 output=None, top_k=None, display_images=None, max_frames=100, **kwargs):
        unit = get_method(method, top_k=top_k)  # unknown method: ValueError listing the choices
        model = unwrap_model(model)
        x = _prepare_images(model, images)
        shown = display_rgb(x if display_images is None else display_images)
        if shown.shape[:3] != x.shape[:3]:
            raise ValueError(f"display_images has shape {shown.shape[:3]}, images {x.shape[:3]}: they must match")
        if not isinstance(max_frames, int) or max_frames < 2:
            raise ValueError(f"max_frames must be an int >= 2 (the first and the latest frame), got {max_frames!r}")
        path = resolve_layer(model, layer, input_shape=x.shape[1:])[0] if unit.needs_layer else None
        self.model, self.max_frames = model, max_frames
        self._x = x
        self._options = dict(layer=path, method=unit.name, output=output, top_k=top_k)
        first = make_frame(model, x, epoch=0, **self._options)
        names = [str(n) for n in class_names] if class_names is not None else []
        if names and len(names) != first["num_classes"]:
            raise ValueError(f"class_names has {len(names)} names for a model with {first['num_classes']} classes")
        super().__init__(
            images=shown.tobytes(), image_shape=list(shown.shape[:3]),
            labels=as_labels(labels, len(x), first["num_classes"]), class_names=names,
            layer=first["layer"], method=unit.name, frames=[first], **kwargs,
        )
        self.on_msg(self._on_message)

    # -- Python API ------------------------------------------------------------------------------
    def callback(self, every: int = 1) -> "GradCamCallback":
        """A Keras callback recomputing the heatmaps every ``every`` epochs (one frame each)."""
        return GradCamCallback(self, every=every)

    def refresh(self, epoch=None) -> dict:
        """Recompute the heatmaps with the model's current weights and append them as a frame."""
        last = self.frames[-1]["epoch"] if self.frames else 0
        frame = make_frame(self.model, self._x, epoch=last if epoch is None else epoch, **self._options)
        self._append(frame)
        return frame

    def show_class(self, index: int, cls) -> None:
        """Show class ``cls``'s map for image ``index`` (``None`` goes back to the predicted class)."""
        n = len(self._x)
        if not 0 <= int(index) < n:
            raise ValueError(f"image index {index} out of range 0..{n - 1}")
        picked = dict(self.picked)
        if cls is None or int(cls) < 0:
            picked.pop(str(int(index)), None)
        else:
            picked[str(int(index))] = pick_map(self.model, self._x[int(index)], int(cls), **self._options)
        self.picked = picked

    def show_classes(self, classes) -> None:
        """Show one class's map per image (``None`` entries keep the predicted class); one batched call."""
        classes = list(classes)
        if len(classes) != len(self._x):
            raise ValueError(f"classes has {len(classes)} entries for {len(self._x)} images: give one per image")
        chosen = [i for i, c in enumerate(classes) if c is not None and int(c) >= 0]
        picked = {}
        if chosen:
            maps = pick_maps(self.model, self._x[chosen], [int(classes[i]) for i in chosen], **self._options)
            picked = {str(i): m for i, m in zip(chosen, maps)}
        self.picked = picked

    # -- internals -------------------------------------------------------------------------------
    def _append(self, frame) -> None:
        frames = self.frames + [frame]
        if len(frames) > self.max_frames:  # keep the first (the starting point) and the latest
            frames = frames[:1] + frames[len(frames) - self.max_frames + 1 :]
        with self.hold_sync():  # new weights: maps picked for the old ones are stale
            self.frames = frames
            self.picked = {}

    def _on_message(self, _widget, content, _buffers):
        if not isinstance(content, dict) or content.get("type") != "pick":
            return
        try:
            self.show_class(int(content["image"]), content.get("class"))
            if self.error.startswith("ipyviz: class picker"):
                self.error = ""
        except Exception as error:  # noqa: BLE001 -- shown in the widget, not lost in a log
            report_error(self, "class picker", error)


class GradCamCallback(LiveCallback):
    """Appends one frame to a :class:`GradCamViewer` every ``every`` epochs (and at the last one)."""

    def __init__(self, viewer, *, every: int = 1):
        super().__init__(viewer, every=every)
        self._frame = None

    def record_begin(self):
        self.widget.training = True

    def record_epoch(self, epoch, logs):
        self._frame = make_frame(self.widget.model, self.widget._x, epoch=epoch + 1, **self.widget._options)

    def flush(self):
        if self._frame is not None:
            frame, self._frame = self._frame, None
            self.widget._append(frame)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        try:
            self.widget.training = False
        except Exception:  # noqa: BLE001 -- never raise into fit()
            pass
