"""The same model, the same weights: TensorFlow, JAX and torch give the same Grad-CAM maps.

The weights are drawn once with numpy, saved, and loaded by three subprocesses, one per
``KERAS_BACKEND``, which each compute every method (``resize=False``: the raw maps, normalised) on a
plain CNN and on a model with a nested backbone. The backends share no code below ``keras.ops``, so
this checks each backend's gradient machinery (tape, ``jax.grad`` over ``stateless_call``, torch
autograd) and the logits found behind the softmax, against the others.

Tolerance: maps are min-max normalised to [0, 1]; float32 convolutions on the three backends sum in
different orders (relative differences ~1e-6 per op), so a few 1e-6 is typical and 1e-4 leaves room for
the normalisation dividing by a map's spread (each map here has a spread of at least 1e-2 before
normalising, so 1e-6-level differences stay far below 1e-4), while any real error (a wrong class, a
saturated softmax, a missed ReLU, weights not loaded) moves maps by 1e-2 or more.

It runs once, in the TensorFlow test run (it starts all three backends itself).
"""

import importlib.util
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

L = keras.layers
BACKENDS = ("tensorflow", "jax", "torch")
CLASSES = [0, 2, 1, 2]
CASES = {  # label -> gradcam() keywords
    "gradcam": dict(method="gradcam"),
    "gradcam++": dict(method="gradcam++"),
    "layercam": dict(method="layercam"),
    "scorecam": dict(method="scorecam"),
    "scorecam_top3": dict(method="scorecam", top_k=3),
    "saliency": dict(method="saliency"),
}
TOLERANCE = 1e-4

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow" or any(importlib.util.find_spec(b) is None for b in BACKENDS),
    reason="runs once, in the TensorFlow run, and needs tensorflow, jax and torch installed",
)


# Zeros initialisers: the weights are loaded anyway, and JAX would compile a random initialiser per shape.
Z = dict(kernel_initializer="zeros")


def _cnn():
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(4, 3, activation="relu", name="c1", **Z)(inp)
    x = L.MaxPooling2D()(x)
    x = L.Conv2D(6, 3, padding="same", activation="relu", name="top", **Z)(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Dense(3, activation="softmax", name="head", **Z)(x), name="cnn")


def _nested():
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(4, 3, activation="relu", name="c1", **Z)(inp)
    x = L.SeparableConv2D(6, 3, activation="relu", name="top_conv", depthwise_initializer="zeros",
                          pointwise_initializer="zeros")(x)
    backbone = keras.Model(inp, x, name="backbone")
    outer = keras.Input((16, 16, 3))
    y = L.Dense(3, activation="softmax", name="head", **Z)(L.GlobalAveragePooling2D()(backbone(outer)))
    return keras.Model(outer, y, name="classifier")


MODELS = {"cnn": _cnn, "nested": _nested}
NESTED_CASES = ("gradcam", "gradcam++", "scorecam", "saliency")  # fewer: each costs JAX a compilation


def _cases(name):
    return [label for label in CASES if name == "cnn" or label in NESTED_CASES]


def _worker(data_path, out_path):
    """Run in a subprocess: every case on every model, under this process's KERAS_BACKEND."""
    from ipyviz.gradcam.engine import gradcam

    data = np.load(data_path)
    images, results = data["images"], {}
    for name, build in MODELS.items():
        model = build()
        model.set_weights([data[f"{name}/{i}"] for i in range(len(model.weights))])
        for label in _cases(name):
            result = gradcam(model, images, classes=CLASSES, resize=False, details=True, **CASES[label])
            results[f"{name}/{label}"] = result.maps
            results[f"{name}/{label}/layer"] = np.array(str(result.layer))
        results[f"{name}/probabilities"] = result.probabilities
        results[f"{name}/from_logits"] = np.array(result.from_logits)
        results[f"{name}/resized"] = gradcam(model, images, classes=CLASSES)
    np.savez(out_path, **results)


def _weights(path):
    rng = np.random.default_rng(0)
    arrays = {"images": rng.random((len(CLASSES), 16, 16, 3), dtype=np.float32)}
    for name, build in MODELS.items():
        for i, w in enumerate(build().get_weights()):
            scale = 1 / np.sqrt(np.prod(w.shape[:-1])) if w.ndim > 1 else 0.1
            arrays[f"{name}/{i}"] = (rng.normal(0, scale, w.shape) + (0.05 if w.ndim == 1 else 0)).astype("float32")
        arrays[f"{name}/{len(build().weights) - 2}"] *= 1000  # a head that saturates the softmax: logits needed
    np.savez(path, **arrays)


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backends")
    data = folder / "weights.npz"
    _weights(data)
    code = "import sys; sys.path.insert(0, sys.argv[1]); from test_gradcam_backends import _worker; _worker(*sys.argv[2:])"
    here = os.path.dirname(os.path.abspath(__file__))
    runs = {}
    for backend in BACKENDS:  # in parallel: each is mostly import and compile time
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        out = folder / f"{backend}.npz"
        runs[backend] = (out, subprocess.Popen([sys.executable, "-c", code, here, str(data), str(out)], env=env,
                                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    found = {}
    for backend, (out, process) in runs.items():
        log, _ = process.communicate(timeout=600)
        assert process.returncode == 0, f"{backend} worker failed:\n{log[-4000:]}"
        found[backend] = dict(np.load(out))
    return found


def _keys():
    return [f"{name}/{label}" for name in MODELS for label in _cases(name)] + [f"{name}/resized" for name in MODELS]


@pytest.mark.parametrize("backend", ["jax", "torch"])
@pytest.mark.parametrize("key", _keys())
def test_maps_agree_with_tensorflow(maps, backend, key):
    ref, ours = maps["tensorflow"][key], maps[backend][key]
    assert ref.shape == ours.shape
    assert (ref.max(axis=(1, 2)) > 0).sum() >= len(ref) // 2  # mostly non-empty: the comparison means something
    assert np.abs(ref - ours).max() < TOLERANCE, f"{key}: max |{backend} - tensorflow| = {np.abs(ref - ours).max():.2e}"


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_layers_probabilities_and_logits_agree(maps, backend):
    for name in MODELS:
        for label in _cases(name):
            assert maps[backend][f"{name}/{label}/layer"] == maps["tensorflow"][f"{name}/{label}/layer"]
        np.testing.assert_allclose(maps[backend][f"{name}/probabilities"], maps["tensorflow"][f"{name}/probabilities"],
                                   atol=1e-5)
        assert maps[backend][f"{name}/from_logits"] and maps["tensorflow"][f"{name}/from_logits"]
        explained = maps["tensorflow"][f"{name}/probabilities"][np.arange(len(CLASSES)), CLASSES]
        assert explained.min() < 1e-4  # a class the softmax has saturated away: only logits give it a map
