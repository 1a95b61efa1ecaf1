"""GradCamViewer: traits as binary, frames appended during fit(), class picker, errors isolated."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ipyviz._binary import from_bytes  # noqa: E402
from ipyviz.gradcam import frames as frames_module  # noqa: E402
from ipyviz.gradcam.frames import as_labels, display_rgb  # noqa: E402
from ipyviz.gradcam.widget import GradCamViewer  # noqa: E402

L = keras.layers


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu", name="conv"),
                              L.MaxPooling2D(name="pool"), L.Flatten(), L.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    return model


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 12, 12, 1), dtype=np.float32), rng.integers(0, 3, n)


def test_traits_are_compact_binary_and_consistent():
    model, (x, y) = _model(), _data()
    viewer = GradCamViewer(model, x[:4], labels=y[:4], class_names=["a", "<b>b</b>", "c"])
    n, height, width = viewer.image_shape
    assert (n, height, width) == (4, 12, 12)
    assert isinstance(viewer.images, bytes) and len(viewer.images) == 4 * 12 * 12 * 3
    np.testing.assert_array_equal(from_bytes(viewer.images, (4, 12, 12, 3), "uint8")[..., 0],
                                  np.rint(x[:4, ..., 0] * 255).astype(np.uint8))
    frame = viewer.frames[0]
    assert frame["epoch"] == 0 and viewer.layer == "pool" == frame["layer"]  # found by shape
    h, w = frame["map_shape"]
    assert (h, w) == (5, 5) and isinstance(frame["maps"], bytes) and len(frame["maps"]) == 4 * h * w
    assert len(frame["predicted"]) == len(frame["confidence"]) == len(frame["empty"]) == 4
    assert viewer.labels == [int(v) for v in y[:4]] and viewer.class_names[1] == "<b>b</b>"
    # ipywidgets sends every bytes value, even nested in the frames list, as a binary buffer.
    from ipywidgets.widgets.widget import _remove_buffers

    state, paths, _ = _remove_buffers(viewer.get_state())
    assert ["images"] in paths and ["frames", 0, "maps"] in paths
    assert "maps" not in state["frames"][0]


def test_bad_arguments_are_refused_clearly():
    model, (x, y) = _model(), _data()
    with pytest.raises(ValueError, match="'nope' is not in model.*'pool', 'conv'"):
        GradCamViewer(model, x[:2], layer="nope")
    with pytest.raises(ValueError, match="labels has 3 entries for 2 images"):
        GradCamViewer(model, x[:2], labels=y[:3])
    with pytest.raises(ValueError, match="class_names has 2 names for a model with 3 classes"):
        GradCamViewer(model, x[:2], class_names=["a", "b"])
    with pytest.raises(ValueError, match="unknown Grad-CAM method"):
        GradCamViewer(model, x[:2], method="magic")


def test_callback_appends_one_frame_per_epoch_during_fit_and_maps_change():
    model, (x, y) = _model(), _data()
    viewer = GradCamViewer(model, x[:4], labels=y[:4], layer="conv")
    seen = []
    viewer.observe(lambda change: seen.append((len(change["new"]), viewer.training)), "frames")
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[viewer.callback()])
    assert [f["epoch"] for f in viewer.frames] == [0, 1, 2, 3]
    assert seen == [(2, True), (3, True), (4, True)]  # live: each epoch's frame arrives during fit()
    assert viewer.training is False and viewer.error == ""
    assert viewer.frames[0]["maps"] != viewer.frames[-1]["maps"]  # training moved the attention


def test_callback_every_and_max_frames():
    model, (x, y) = _model(), _data()
    viewer = GradCamViewer(model, x[:2], max_frames=3)
    model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[viewer.callback(every=2)])
    assert [f["epoch"] for f in viewer.frames] == [0, 4, 5]  # epochs 2, 4, the last; first frame kept


def test_errors_inside_the_callback_are_reported_and_training_continues(monkeypatch):
    model, (x, y) = _model(), _data()
    viewer = GradCamViewer(model, x[:2])

    def broken(*args, **kwargs):
        raise RuntimeError("heatmap exploded")

    monkeypatch.setattr("ipyviz.gradcam.widget.make_frame", broken)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[viewer.callback()])
    assert len(history.history["loss"]) == 2
    assert "heatmap exploded" in viewer.error and viewer.training is False
    assert len(viewer.frames) == 1


def test_class_picker_round_trip_and_reset():
    model, (x, _) = _model(), _data()
    viewer = GradCamViewer(model, x[:3])
    viewer._on_message(viewer, {"type": "pick", "image": 1, "class": 2}, [])
    pick = viewer.picked["1"]
    assert pick["class"] == 2 and len(pick["maps"]) == 25 and 0 <= pick["confidence"] <= 1
    direct = frames_module.pick_map(model, viewer._x[1], 2, **viewer._options)
    assert direct["maps"] == pick["maps"]
    viewer._on_message(viewer, {"type": "pick", "image": 1, "class": None}, [])
    assert viewer.picked == {}
    viewer._on_message(viewer, {"type": "pick", "image": 1, "class": 7}, [])  # no such class
    assert "class picker" in viewer.error and "out of range" in viewer.error
    viewer.refresh()  # new frame: stale picks are dropped
    assert len(viewer.frames) == 2 and viewer.picked == {}


def test_empty_maps_are_flagged_in_the_frame():
    model = keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(2, 3, activation="relu", kernel_initializer="zeros"),
                              L.Flatten(), L.Dense(3, activation="softmax")])
    viewer = GradCamViewer(model, _data(2)[0])
    assert viewer.frames[0]["empty"] == [True, True]
    assert set(viewer.frames[0]["maps"]) == {0}


def test_display_images_and_label_helpers():
    assert display_rgb(np.full((1, 2, 2), 200.0)).max() == 200  # already 0..255
    standardised = display_rgb(np.array([[[[-1.0], [1.0]]]]))
    assert standardised.min() == 0 and standardised.max() == 255
    assert display_rgb(np.zeros((1, 2, 2, 4), np.uint8)).shape == (1, 2, 2, 3)
    assert as_labels(np.eye(3)[[2, 0]], 2) == [2, 0]
    with pytest.raises(ValueError, match="0..2"):
        as_labels([5], 1, num_classes=3)
    model, (x, _) = _model(), _data()
    shown = np.zeros((2, 12, 12, 3), np.uint8)
    assert GradCamViewer(model, x[:2], display_images=shown).images == shown.tobytes()
    with pytest.raises(ValueError, match="must match"):
        GradCamViewer(model, x[:2], display_images=shown[:1])
