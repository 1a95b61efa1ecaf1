"""Shared test setup: quiet TensorFlow, and the Keras backend chosen from outside.

``KERAS_BACKEND=jax pytest tests`` (or ``make test-jax`` / ``make test-torch``) runs the suite on that
backend; unset, it is TensorFlow. Tests that only make sense on TensorFlow carry
``pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason=...)`` and say why.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # only a default: an exported choice wins


def pytest_report_header(config):
    import keras

    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


def pytest_collection_modifyitems(config, items):
    # `once`: the test starts its own kernel or subprocesses (each picking its backend itself) or
    # checks something no backend touches, so the JAX and torch passes of `make test` skip it.
    import keras
    import pytest

    if keras.backend.backend() == "tensorflow":
        return
    skip = pytest.mark.skip(reason="backend-independent (own kernel / subprocesses): runs in the TensorFlow pass")
    for item in items:
        if item.get_closest_marker("once"):
            item.add_marker(skip)
