import keras
import pytest
from keras import layers as L

from ipyviz.summary.formulas import evaluate, formula, generic_formula


def built(layer, *inputs):
    layer(*inputs)
    return layer


seq = keras.Input((10, 16))
img = keras.Input((16, 16, 4))
ids = keras.Input((5,), dtype="int32")

CASES = [
    (lambda: built(L.Dense(128), keras.Input((256,))), "128 × (256 + 1)"),
    (lambda: built(L.Dense(3, use_bias=False), seq), "16 × 3"),
    (lambda: built(L.Conv2D(64, 7), keras.Input((30, 30, 1))), "64 × (7·7·1 + 1)"),
    (lambda: built(L.Conv2D(128, 5), keras.Input((12, 12, 64))), "128 × (5·5·64 + 1)"),
    (lambda: built(L.Conv2D(8, 3, groups=2), img), "8 × (3·3·2 + 1)"),
    (lambda: built(L.Conv1D(4, 3), seq), "4 × (3·16 + 1)"),
    (lambda: built(L.Conv3D(2, 3), keras.Input((6, 6, 6, 2))), "2 × (3·3·3·2 + 1)"),
    (lambda: built(L.Conv2DTranspose(8, 3), img), "8 × (3·3·4 + 1)"),
    (lambda: built(L.SeparableConv2D(8, 3, depth_multiplier=2), img), "3·3·4·2 + 8 × (4·2 + 1)"),
    (lambda: built(L.DepthwiseConv2D(3, depth_multiplier=2), img), "4·2 × (3·3 + 1)"),
    (lambda: built(L.Embedding(50, 8), ids), "50 × 8"),
    (lambda: built(L.SimpleRNN(128), keras.Input((1, 256))), "(256 + 1) × 128 + 128²"),
    (lambda: built(L.LSTM(8), seq), "4 × ((16 + 1) × 8 + 8²)"),
    (lambda: built(L.GRU(8), seq), "3 × ((16 + 2) × 8 + 8²)"),
    (lambda: built(L.GRU(8, reset_after=False), seq), "3 × ((16 + 1) × 8 + 8²)"),
    (lambda: built(L.Bidirectional(L.LSTM(4)), seq), "2 × 4 × ((16 + 1) × 4 + 4²)"),
    (lambda: built(L.BatchNormalization(), img), "4 × 4"),
    (lambda: built(L.LayerNormalization(), seq), "2 × 16"),
    (lambda: built(L.MultiHeadAttention(2, 4), seq, seq), "3 × 2·4 × (16 + 1) + 16 × (2·4 + 1)"),
]


@pytest.mark.parametrize("make, expected", CASES, ids=[c[1] for c in CASES])
def test_formula_text_and_value(make, expected):
    layer = make()
    assert formula(layer) == expected
    assert evaluate(expected) == layer.count_params()


def test_unknown_layer_falls_back_to_sum_of_weight_shapes():
    class Odd(L.Layer):
        def build(self, shape):
            self.a = self.add_weight(shape=(3, 4))
            self.b = self.add_weight(shape=(4,))
            self.c = self.add_weight(shape=(4,))

        def call(self, x):
            return x

    layer = built(Odd(), keras.Input((4,)))
    assert formula(layer) == "3·4 + 2 × 4"
    assert evaluate(formula(layer)) == layer.count_params() == 20


def test_subclass_with_extra_weight_keeps_an_exact_formula():
    class DenseWithScale(L.Dense):
        def build(self, shape):
            super().build(shape)
            self.scale = self.add_weight(shape=(self.units,))

    layer = built(DenseWithScale(5), keras.Input((3,)))
    assert evaluate(formula(layer)) == layer.count_params() == 25


def test_weightless_layer():
    assert generic_formula(built(L.Flatten(), img)) == "0"


@pytest.mark.parametrize("text, value", [("2 × (3·4 + 1)", 26), ("5²", 25), ("(1 + 2)²", 9), ("7", 7)])
def test_evaluate(text, value):
    assert evaluate(text) == value


@pytest.mark.parametrize("text", ["2 - 1", "(2 + 1", "2 +", "import os"])
def test_evaluate_refuses_anything_else(text):
    with pytest.raises((ValueError, IndexError)):
        evaluate(text)
