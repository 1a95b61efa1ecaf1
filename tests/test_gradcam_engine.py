"""The Grad-CAM engine on every model kind, against tf-keras-vis and a two-stage GradientTape reference."""

import gc
import os
import weakref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from ipyviz.gradcam.engine import compiled_plan, gradcam, is_empty  # noqa: E402
from ipyviz.gradcam.targets import layer_paths  # noqa: E402

L = keras.layers
METHODS = ["gradcam", "gradcam++", "layercam", "scorecam", "saliency"]


def _images(n=4, size=16, channels=3, seed=0):
    return np.random.default_rng(seed).random((n, size, size, channels), dtype=np.float32)


def _functional(head_activation="softmax", padding="valid", seed=1):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(4, 3, padding=padding, activation="relu", name="c1")(inp)
    x = L.Conv2D(6, 3, padding=padding, activation="relu", name="top")(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Dense(3, activation=head_activation, name="head")(x))


def _nested(seed=2):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(4, 3, activation="relu", name="c1")(inp)
    x = L.Conv2D(6, 3, activation="relu", name="top_conv")(x)
    x = L.Conv2D(5, 1, activation="relu", name="after")(x)
    backbone = keras.Model(inp, x, name="backbone")
    outer = keras.Input((16, 16, 3))
    y = L.Dense(3, activation="softmax", name="head")(L.GlobalAveragePooling2D()(backbone(outer)))
    return keras.Model(outer, y, name="classifier")


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
    result = gradcam(model, _images(2), details=True)
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


def test_nested_backbone_matches_a_two_stage_gradient_tape(nested):
    backbone = nested.get_layer("backbone")
    top = backbone.get_layer("top_conv")
    # The recipe the keras.io example and tf-keras-vis rely on fails here:
    with pytest.raises(ValueError):
        keras.Model(nested.inputs, [top.output, nested.output])
    # A plain two-stage reference: image -> top_conv, then top_conv -> logits (pre-softmax).
    stage1 = keras.Model(backbone.inputs, top.output)
    stage2 = keras.Model(top.output, backbone.output)
    head = nested.get_layer("head")
    pool = nested.layers[2]
    images, classes = _images(4), np.array([0, 2, 1, 0])
    activations = stage1(images, training=False)
    with tf.GradientTape() as tape:
        tape.watch(activations)
        logits = keras.ops.matmul(pool(stage2(activations)), head.kernel) + head.bias
        score = tf.gather(logits, classes, axis=1, batch_dims=1)
    gradients = tape.gradient(score, activations).numpy()
    ref = _reference_gradcam(activations.numpy(), gradients)
    ours = gradcam(nested, images, layer="backbone/top_conv", classes=classes, resize=False)
    assert (ref.max(axis=(1, 2)) > 0).sum() >= 3  # the comparison is not between empty maps
    np.testing.assert_allclose(ours, ref, atol=2e-4)


# -- the model is left as it was ------------------------------------------------------------------
def test_softmax_weights_and_layers_unchanged(functional):
    head = functional.get_layer("head")
    before = [w.copy() for w in functional.get_weights()]
    probs_before = functional(_images(2), training=False).numpy()
    for method in METHODS:
        gradcam(functional, _images(2), method=method)
    assert head.activation is keras.activations.softmax
    assert all(np.array_equal(a, b) for a, b in zip(before, functional.get_weights()))
    np.testing.assert_allclose(functional(_images(2), training=False).numpy(), probs_before, rtol=1e-6)
    assert _no_wrappers_left(functional)


def test_scores_come_from_logits_when_softmax_saturates():
    keras.utils.set_random_seed(7)
    inp = keras.Input((16, 16, 3))
    x = L.GlobalAveragePooling2D()(L.Conv2D(4, 3, activation="relu", name="conv")(inp))
    model = keras.Model(inp, L.Dense(3, activation="softmax", name="head")(x))
    head = model.get_layer("head")
    head.kernel.assign(head.kernel.numpy() * 1e4)  # probabilities 0/1: softmax gradients underflow
    result = gradcam(model, _images(3), details=True)
    assert result.from_logits and result.confidence.min() > 0.999
    assert not result.empty.any()


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
        model = keras.Model(inp, out)
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
    assert plan.function.experimental_get_tracing_count() == 1
    assert built == []


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
