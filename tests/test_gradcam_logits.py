"""The logits tap (JAX and torch read scores before the softmax this way): found, nested, removed."""

import importlib
import os
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from ipyviz.gradcam._logits import tap  # noqa: E402

L = keras.layers
to_numpy = keras.ops.convert_to_numpy


def _nn():
    return importlib.import_module("keras.src.backend").nn


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), L.Dense(3, name="dense"), L.Activation("softmax")])


def test_the_input_of_the_final_softmax_is_found_and_nothing_stays_wrapped():
    model, x = _model(), np.ones((2, 4), "float32")
    with tap() as logits_of:
        y = model(x, training=False)
        logits = logits_of(y)
    expected = to_numpy(model.get_layer("dense")(x))
    np.testing.assert_allclose(to_numpy(logits), expected, rtol=1e-6)
    assert logits_of(logits) is None  # not a softmax output
    assert not hasattr(_nn().softmax, "__wrapped__") and not hasattr(_nn().sigmoid, "__wrapped__")


def test_nested_taps_and_other_threads_are_kept_apart():
    model, x = _model(), np.ones((2, 4), "float32")
    other = []
    with tap() as outer:
        thread = threading.Thread(target=lambda: other.append(model(x, training=False)))
        thread.start()
        thread.join()
        with tap() as inner:
            y = model(x, training=False)
        assert inner(y) is not None and outer(y) is None  # the innermost tap records
        assert outer(other[0]) is None  # another thread's pass is not recorded
        z = keras.ops.softmax(keras.ops.ones((1, 3)))
        assert outer(z) is not None  # the outer tap records again after the inner one closed
    assert not hasattr(_nn().softmax, "__wrapped__")
