"""The Grad-CAM engine on every model kind, on every backend; against tf-keras-vis (TensorFlow only) and a
numpy two-stage reference (every backend). The CI runs this file under each KERAS_BACKEND."""

import gc
import importlib
import os
import weakref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ipyviz.gradcam.engine import compiled_plan, gradcam, is_empty  # noqa: E402
from ipyviz.gradcam.targets import layer_paths  # noqa: E402

L = keras.layers
METHODS = ["gradcam", "gradcam++", "layercam", "scorecam", "saliency"]
BACKEND = keras.backend.backend()
tensorflow_only = pytest.mark.skipif(BACKEND != "tensorflow", reason="tf-keras-vis, the anchor, runs on TensorFlow only")
to_numpy = keras.ops.convert_to_numpy


def _images(n=4, size=16, channels=3, seed=0):
    return np.random.default_rng(seed).random((n, size, size, channels), dtype=np.float32)


def _same_weights(model, seed):
    """Weights from numpy, so every backend tests the same model (Keras's seeded initialisers differ)."""
    rng = np.random.default_rng(seed)
    model.set_weights([
        rng.normal(0, 1 / np.sqrt(np.prod(w.shape[:-1])), w.shape) if w.ndim > 1 else rng.uniform(0, 0.1, w.shape)
        for w in model.get_weights()
    ])
    return model


def _functional(head_activation="softmax", padding="valid", seed=1):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(4, 3, padding=padding, activation="relu", name="c1")(inp)
    x = L.Conv2D(6, 3, padding=padding, activation="relu", name="top")(x)
    x = L.GlobalAveragePooling2D()(x)
    return _same_weights(keras.Model(inp, L.Dense(3, activation=head_activation, name="head")(x)), seed)


def _nested(seed=2):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(4, 3, activation="relu", name="c1")(inp)
    x = L.Conv2D(6, 3, activation="relu", name="top_conv")(x)
    x = L.Conv2D(5, 1, activation="relu", name="after")(x)
    backbone = keras.Model(inp, x, name="backbone")
    outer = keras.Input((16, 16, 3))
    y = L.Dense(3, activation="softmax", name="head")(L.GlobalAveragePooling2D()(backbone(outer)))
    return _same_weights(keras.Model(outer, y, name="classifier"), seed)


def _reference_gradcam(activations, gradients):
    weights = gradients.mean(axis=(1, 2), keepdims=True)
    cam = np.maximum((weights * activations).sum(-1), 0)
    lo, hi = cam.min(axis=(1, 2), keepdims=True), cam.max(axis=(1, 2), keepdims=True)
    return np.where(hi > lo, (cam - lo) / np.where(hi > lo, hi - lo, 1), 0)  # empty -> zeros


def _renorm(maps):
    """Min-max again: tf-keras-vis divides by (max - min + 1e-7), visible on maps of small spread."""
    maps = np.asarray(maps, np.float64)
    lo, hi = maps.min(axis=(1, 2), keepdims=True), maps.max(axis=(1, 2), keepdims=True)
    return (maps - lo) / np.where(hi > lo, hi - lo, 1)


def _no_wrappers_left(model):
    return all("call" not in vars(layer) for layer in layer_paths(model).values())


@pytest.fixture(scope="module")
def functional():
    return _functional()


@pytest.fixture(scope="module")
def nested():
    return _nested()


# -- shapes, ranges, model kinds -----------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_normalised_maps_on_a_nested_model(nested, method):
    result = gradcam(nested, _images(3), method=method, details=True)
    assert result.maps.shape == (3, 16, 16) and result.maps.dtype == np.float32
    assert np.isfinite(result.maps).all() and result.maps.min() >= 0 and result.maps.max() <= 1
    assert not result.empty.any() and np.allclose(result.maps.max(axis=(1, 2)), 1)
    assert result.layer == (None if method == "saliency" else "backbone/after")
    assert _no_wrappers_left(nested)


def test_sequential_built_with_input_but_never_called():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((16, 16, 3)), L.Conv2D(3, 3, activation="relu", name="conv"),
                              L.Flatten(), L.Dense(4, activation="softmax")])
    result = gradcam(_same_weights(model, 3), _images(2), details=True)
    assert result.layer == "conv" and result.maps.shape == (2, 16, 16) and not result.empty.any()


def test_sequential_without_input_is_built_from_the_images():
    keras.utils.set_random_seed(4)
    model = keras.Sequential([L.Conv2D(3, 3, activation="relu"), L.GlobalAveragePooling2D(), L.Dense(2)])
    assert gradcam(model, _images(2, size=10, channels=1)).shape == (2, 10, 10)


def test_subclassed_model_and_a_single_image():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = L.Conv2D(4, 3, activation="relu", name="conv")
            self.head = L.Dense(3)

        def call(self, x):
            return keras.ops.softmax(self.head(keras.ops.mean(self.conv(x), axis=(1, 2))))

    keras.utils.set_random_seed(5)
    model = Net()
    result = gradcam(model, _images(1)[0], details=True)  # (H, W, C): one image
    assert result.maps.shape == (1, 16, 16) and result.layer == "conv"
    assert result.from_logits  # ops.softmax inside call() is seen through as well


def test_multi_output_model_needs_output_and_uses_it():
    keras.utils.set_random_seed(6)
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(4, 3, activation="relu", name="conv")(inp)
    g = L.GlobalAveragePooling2D()(x)
    model = keras.Model(inp, [L.Dense(3, activation="softmax", name="kind")(g), L.Dense(5, name="box")(g)])
    with pytest.raises(ValueError, match="2 outputs.*output="):
        gradcam(model, _images(2))
    kind = gradcam(model, _images(2), output="kind", classes=1, details=True)
    assert kind.probabilities.shape == (2, 3) and kind.from_logits
    box = gradcam(model, _images(2), output=1, classes=4, details=True)
    assert box.probabilities.shape == (2, 5) and not box.from_logits
    with pytest.raises(ValueError, match="not one of the model's outputs"):
        gradcam(model, _images(2), output="nope")


# -- correctness against oracles ------------------------------------------------------------------
def _tf_keras_vis(cls, model, images, classes, **kw):
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    return _renorm(cls(model, model_modifier=ReplaceToLinear(), clone=True)(CategoricalScore(classes), images, **kw))


@tensorflow_only
@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "layercam"])
def test_agrees_with_tf_keras_vis(functional, method):
    from tf_keras_vis.gradcam import Gradcam, GradcamPlusPlus
    from tf_keras_vis.layercam import Layercam

    cls = {"gradcam": Gradcam, "gradcam++": GradcamPlusPlus, "layercam": Layercam}[method]
    images, classes = _images(4), [0, 1, 2, 1]
    ref = _tf_keras_vis(cls, functional, images, classes, penultimate_layer="top", expand_cam=False)
    ours = gradcam(functional, images, layer="top", method=method, classes=classes, resize=False)
    np.testing.assert_allclose(ours, ref, atol=2e-4)
    # Upsampled: tf-keras-vis zooms with aligned corners, we resize with half-pixel centres (like
    # OpenCV/pytorch-grad-cam), so the full-size maps agree closely but not to the last digit.
    ref = _tf_keras_vis(cls, functional, images, classes, penultimate_layer="top")
    ours = gradcam(functional, images, layer="top", method=method, classes=classes)
    assert min(np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(ref, ours)) > 0.98


@tensorflow_only
def test_agrees_with_tf_keras_vis_at_full_resolution_and_for_saliency_and_scorecam():
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.scorecam import Scorecam
    from tf_keras_vis.utils.scores import CategoricalScore

    model = _functional(padding="same")  # target keeps 16x16: no resampling difference
    images, classes = _images(3), [2, 0, 1]
    ref = _tf_keras_vis(Gradcam, model, images, classes, penultimate_layer="top")
    np.testing.assert_allclose(gradcam(model, images, layer="top", classes=classes), ref, atol=2e-4)
    ref = _tf_keras_vis(Saliency, model, images, classes)
    np.testing.assert_allclose(gradcam(model, images, method="saliency", classes=classes), ref, atol=2e-4)
    # tf-keras-vis applies a softmax to Score-CAM predictions, so compare on a model that outputs logits.
    logits_model = _functional(head_activation=None, padding="same")
    ref = _renorm(Scorecam(logits_model)(CategoricalScore(classes), images, penultimate_layer="top"))
    ours = gradcam(logits_model, images, layer="top", method="scorecam", classes=classes)
    np.testing.assert_allclose(ours, ref, atol=2e-4)
    ref = _renorm(Scorecam(logits_model)(CategoricalScore(classes[:1]), images[:1], penultimate_layer="top", max_N=3))
    ours = gradcam(logits_model, images[:1], layer="top", method="scorecam", classes=classes[:1], top_k=3)
    np.testing.assert_allclose(ours, ref, atol=2e-4)


def test_nested_backbone_matches_a_two_stage_numpy_reference(nested):
    backbone = nested.get_layer("backbone")
    top = backbone.get_layer("top_conv")
    # The recipe the keras.io example and tf-keras-vis rely on fails here:
    with pytest.raises(ValueError):
        keras.Model(nested.inputs, [top.output, nested.output])
    # A plain two-stage reference: image -> top_conv (a Keras sub-model of the backbone), then the
    # gradient of the pre-softmax logits through "after" (1x1 conv + ReLU), pooling and the head, by hand.
    stage1 = keras.Model(backbone.inputs, top.output)
    after, head = backbone.get_layer("after"), nested.get_layer("head")
    w_after = to_numpy(after.kernel)[0, 0]  # (6, 5)
    w_head = to_numpy(head.kernel)  # (5, 3)
    images, classes = _images(4), np.array([0, 2, 1, 0])
    activations = to_numpy(stage1(images, training=False))  # (4, 12, 12, 6)
    active = (activations @ w_after + to_numpy(after.bias)) > 0  # ReLU's gradient
    height, width = activations.shape[1:3]
    d_pooled = w_head[:, classes].T[:, None, None, :] / (height * width)  # d logit / d after-output
    gradients = (active * d_pooled) @ w_after.T
    ref = _reference_gradcam(activations, gradients)
    ours = gradcam(nested, images, layer="backbone/top_conv", classes=classes, resize=False)
    assert (ref.max(axis=(1, 2)) > 0).sum() >= 3  # the comparison is not between empty maps
    np.testing.assert_allclose(ours, ref, atol=2e-4)


# -- the model is left as it was ------------------------------------------------------------------
def test_softmax_weights_and_layers_unchanged(functional):
    head = functional.get_layer("head")
    before = [w.copy() for w in functional.get_weights()]
    probs_before = to_numpy(functional(_images(2), training=False))
    for method in METHODS:
        gradcam(functional, _images(2), method=method)
    assert head.activation is keras.activations.softmax
    assert all(np.array_equal(a, b) for a, b in zip(before, functional.get_weights()))
    np.testing.assert_allclose(to_numpy(functional(_images(2), training=False)), probs_before, rtol=1e-6)
    assert _no_wrappers_left(functional)
    nn = importlib.import_module("keras.src.backend").nn  # the logits tap (JAX, torch) is gone as well
    assert not hasattr(nn.softmax, "__wrapped__") and not hasattr(nn.sigmoid, "__wrapped__")


def test_scores_come_from_logits_when_softmax_saturates():
    keras.utils.set_random_seed(7)
    inp = keras.Input((16, 16, 3))
    x = L.GlobalAveragePooling2D()(L.Conv2D(4, 3, activation="relu", name="conv")(inp))
    model = _same_weights(keras.Model(inp, L.Dense(3, activation="softmax", name="head")(x)), 7)
    head = model.get_layer("head")
    head.kernel.assign(to_numpy(head.kernel) * 1e4)  # probabilities 0/1: softmax gradients underflow
    for method in METHODS:
        result = gradcam(model, _images(3), method=method, details=True)
        assert result.from_logits and result.confidence.min() > 0.999, method
        assert not result.empty.any(), method


@pytest.mark.parametrize("head", ["activation_layer", "softmax_layer", "sigmoid"])
def test_logits_are_found_behind_activation_and_softmax_layers_and_sigmoid(head):
    keras.utils.set_random_seed(11)
    inp = keras.Input((16, 16, 3))
    x = L.GlobalAveragePooling2D()(L.Conv2D(4, 3, activation="relu", name="conv")(inp))
    if head == "sigmoid":
        out = L.Dense(1, activation="sigmoid", name="head")(x)
    else:
        out = L.Dense(3, name="head")(x)
        out = L.Activation("softmax")(out) if head == "activation_layer" else L.Softmax()(out)
    model = _same_weights(keras.Model(inp, out), 11)
    dense = model.get_layer("head")
    dense.kernel.assign(to_numpy(dense.kernel) * 1e4)  # saturated
    result = gradcam(model, _images(3), details=True)
    assert result.from_logits and not result.empty.any()
    probabilities = to_numpy(model(_images(3), training=False))
    np.testing.assert_allclose(result.probabilities, probabilities, atol=1e-6)  # the model's own outputs


def test_a_cached_plan_follows_weight_updates():
    model = _functional(seed=12)
    images = _images(3)
    before = gradcam(model, images, method="layercam")
    plan = compiled_plan(model, (16, 16, 3), None, "layercam")
    top = model.get_layer("top")
    rng = np.random.default_rng(0)
    top.kernel.assign(rng.normal(size=top.kernel.shape).astype("float32"))  # as fit() would
    after = gradcam(model, images, method="layercam")
    assert compiled_plan(model, (16, 16, 3), None, "layercam") is plan  # same compiled function ...
    assert not np.allclose(before, after)  # ... that reads the new weights, never baked-in constants
    fresh = _functional(seed=12)
    fresh.set_weights(model.get_weights())
    np.testing.assert_allclose(after, gradcam(fresh, images, method="layercam"), atol=1e-5)


def test_wrappers_removed_even_when_tracing_fails(functional):
    with pytest.raises(ValueError, match="top_k=99 is more than the 6 channels"):
        gradcam(functional, _images(1), layer="top", method="scorecam", top_k=99)
    assert _no_wrappers_left(functional)


# -- classes -----------------------------------------------------------------------------------
def test_classes_default_to_prediction_and_are_validated(functional):
    images = _images(3)
    result = gradcam(functional, images, details=True)
    np.testing.assert_array_equal(result.classes, np.argmax(functional.predict(images, verbose=0), -1))
    with pytest.raises(ValueError, match="classes has 2 entries for 3 images"):
        gradcam(functional, images, classes=[0, 1])
    with pytest.raises(ValueError, match=r"out of range.*0\.\.2"):
        gradcam(functional, images, classes=[0, 1, 3])
    mixed = gradcam(functional, images, classes=[None, 2, None], details=True)
    assert mixed.classes[1] == 2 and mixed.classes[0] == result.classes[0]
    assert gradcam(functional, images, classes=1, details=True).classes.tolist() == [1, 1, 1]
    other = (result.classes + 1) % 3
    assert not np.allclose(gradcam(functional, images, classes=other), result.maps)  # class matters


# -- empty maps, inference mode, mixed precision -----------------------------------------------------
def test_dead_layer_gives_zeros_flagged_empty_never_nan():
    inp = keras.Input((16, 16, 3))
    dead = L.Conv2D(4, 3, activation="relu", kernel_initializer="zeros", name="dead")(inp)
    model = keras.Model(inp, L.Dense(3, activation="softmax")(L.GlobalAveragePooling2D()(dead)))
    for method in METHODS[:4]:
        result = gradcam(model, _images(2), method=method, details=True)
        assert np.isfinite(result.maps).all(), method
        assert (result.maps == 0).all() and result.empty.all(), method
        assert is_empty(result.maps).all()


def test_is_empty_helper():
    maps = np.zeros((2, 4, 4), np.float32)
    maps[1, 0, 0] = 1.0
    assert is_empty(maps).tolist() == [True, False]


def test_inference_mode_dropout_off_batchnorm_uses_moving_stats():
    keras.utils.set_random_seed(8)
    inp = keras.Input((16, 16, 3))
    x = L.BatchNormalization()(L.Conv2D(4, 3, name="conv")(inp))
    x = L.Dropout(0.9)(L.Activation("relu", name="act")(x))
    model = keras.Model(inp, L.Dense(3)(L.GlobalAveragePooling2D()(x)))
    images = _images(4)
    first, second = gradcam(model, images), gradcam(model, images)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(gradcam(model, images[:1]), first[:1], atol=1e-5)  # no batch statistics


def test_float32_maths_under_mixed_precision():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(9)
        inp = keras.Input((16, 16, 3))
        x = L.Conv2D(4, 3, activation="relu", name="conv")(inp)
        out = L.Dense(3, activation="softmax", dtype="float32")(L.GlobalAveragePooling2D()(x))
        model = _same_weights(keras.Model(inp, out), 9)
    finally:
        keras.config.set_dtype_policy("float32")
    for method in METHODS:
        result = gradcam(model, _images(2), method=method, details=True)
        assert result.maps.dtype == np.float32 and np.isfinite(result.maps).all()
        assert result.probabilities.dtype == np.float32 and not result.empty.any()


# -- compiled once, cached, never rebuilt -------------------------------------------------------------
def test_one_compiled_function_reused_and_no_model_built(functional, monkeypatch):
    built = []
    original = keras.Model.__init__

    def counting_init(self, *args, **kwargs):
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "__init__", counting_init)
    gradcam(functional, _images(5), layer="c1", method="layercam")
    plan = compiled_plan(functional, (16, 16, 3), "c1", "layercam")
    gradcam(functional, _images(2), layer="c1", method="layercam")  # another batch size
    gradcam(functional, _images(7), layer="c1", method="layercam", batch_size=3)  # chunks 3, 3, 1
    assert compiled_plan(functional, (16, 16, 3), "c1", "layercam") is plan
    assert built == []
    traces = plan.traces
    if BACKEND == "tensorflow":
        assert traces == 1  # a None batch dimension: one trace for every batch size
    elif BACKEND == "jax":
        assert traces == 4  # one per power-of-two bucket: 8 (5 images), 2, 4 (3 images), 1
    else:
        assert traces is None  # torch runs eagerly
    for n in (5, 2, 3, 1, 8):
        gradcam(functional, _images(n), layer="c1", method="layercam")
    assert plan.traces == traces  # nothing recompiled for sizes seen before


def test_cache_does_not_keep_the_model_alive():
    model = _functional(seed=10)
    gradcam(model, _images(1))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


def test_bad_arguments_are_refused_with_choices(functional):
    with pytest.raises(ValueError, match="'nope' is not in model.*'top', 'c1'"):
        gradcam(functional, _images(1), layer="nope")
    with pytest.raises(ValueError, match=r"unknown Grad-CAM method 'gradcam\+\+\+'.*scorecam"):
        gradcam(functional, _images(1), method="gradcam+++")
    with pytest.raises(ValueError, match="top_k only applies"):
        gradcam(functional, _images(1), top_k=2)
    with pytest.raises(ValueError, match="images must be"):
        gradcam(functional, np.zeros((16, 16)))
    with pytest.raises(ValueError, match="batch_size"):
        gradcam(functional, _images(1), batch_size=0)


def test_package_is_callable_like_the_function(functional):
    import ipyviz
    import ipyviz.gradcam as package

    np.testing.assert_array_equal(package(functional, _images(2)), gradcam(functional, _images(2)))
    assert ipyviz.gradcam(functional, _images(2)).shape == (2, 16, 16)


# -- backend details ------------------------------------------------------------------------------
@pytest.mark.skipif(BACKEND != "torch", reason="torch's DataParallel and no_grad")
def test_torch_data_parallel_is_unwrapped_and_no_grad_is_overridden(functional):
    import torch

    images = _images(3)
    expected = gradcam(functional, images, method="gradcam++")
    wrapped = torch.nn.DataParallel(functional)
    np.testing.assert_array_equal(gradcam(wrapped, images, method="gradcam++"), expected)
    with torch.no_grad():  # a caller's no_grad must not silence the gradients
        np.testing.assert_array_equal(gradcam(functional, images, method="gradcam++"), expected)
        assert not gradcam(functional, images, method="saliency", details=True).empty.any()


def test_frozen_layers_still_get_gradients():
    model = _nested(seed=13)
    model.get_layer("backbone").trainable = False  # transfer learning: no weight needs a gradient
    result = gradcam(model, _images(3), layer="backbone/top_conv", details=True)
    assert not result.empty.any()
    model.get_layer("backbone").trainable = True


def test_resize_is_bilinear_with_half_pixel_centres():
    from ipyviz.gradcam._resize import interpolation_matrix, resize_maps

    matrix = interpolation_matrix(3, 6)
    np.testing.assert_allclose(matrix.sum(axis=1), 1)  # weights of each output pixel sum to 1
    ramp = np.arange(4, dtype="float32")[None, None, :].repeat(2, axis=1)  # (1, 2, 4): 0 1 2 3
    out = to_numpy(resize_maps(ramp, (2, 8)))[0, 0]
    np.testing.assert_allclose(out, [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3], atol=1e-6)  # edges clamped


@tensorflow_only
def test_resize_matches_tf_image_resize():
    import tensorflow as tf

    from ipyviz.gradcam._resize import resize_maps

    maps = np.random.default_rng(0).random((2, 7, 5), dtype=np.float32)
    for size in [(28, 28), (16, 11), (3, 4)]:
        ref = tf.image.resize(maps[..., None], size, method="bilinear")[..., 0].numpy()
        np.testing.assert_allclose(to_numpy(resize_maps(maps, size)), ref, atol=1e-6)
