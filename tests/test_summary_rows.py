import keras
import numpy as np
import pytest
from keras import layers as L

import ipyviz
from ipyviz.summary.formulas import evaluate


def seed_cnn():
    return keras.Sequential(
        [
            keras.Input((30, 30, 1)),
            L.Conv2D(64, 7), L.MaxPooling2D(),
            L.Conv2D(128, 5), L.MaxPooling2D(),
            L.Conv2D(256, 3), L.MaxPooling2D(),
            L.Flatten(), L.Dense(128),
        ],
        name="seed_cnn",
    )


def seed_rnn():
    a, b = keras.Input((256,), name="a"), keras.Input((256,), name="b")
    branches = []
    for x in (a, b):
        h = L.SimpleRNN(128)(L.Reshape((1, 256))(x))
        branches.append(L.Dense(128)(h))
    return keras.Model([a, b], L.Concatenate()(branches))


def test_seed_cnn_shapes_params_formulas():
    s = ipyviz.summarize(seed_cnn())
    assert [r.output_shape for r in s.rows] == [
        (None, 24, 24, 64), (None, 12, 12, 64), (None, 8, 8, 128), (None, 4, 4, 128),
        (None, 2, 2, 256), (None, 1, 1, 256), (None, 256), (None, 128),
    ]
    assert [r.params for r in s.rows if r.params] == [3200, 204928, 295168, 32896]
    assert s.rows[2].formula == "128 × (5·5·64 + 1)"
    assert s.total_params == s.trainable_params == 3200 + 204928 + 295168 + 32896
    assert s.non_trainable_params == 0
    assert all(evaluate(r.formula) == r.params for r in s.rows)
    assert s.weight_bytes == 4 * s.total_params
    # MACs: a conv costs one multiply-add per weight per output position
    assert s.rows[0].macs == 24 * 24 * 7 * 7 * 1 * 64
    assert s.rows[1].macs is None  # pooling: no MAC count claimed


def test_seed_rnn_branches():
    s = ipyviz.summarize(seed_rnn())
    rnn = [r for r in s.rows if r.class_name == "SimpleRNN"]
    assert [r.params for r in rnn] == [49280, 49280]
    assert rnn[0].formula == "(256 + 1) × 128 + 128²"
    assert s.rows[-1].class_name == "Concatenate" and s.rows[-1].output_shape == (None, 256)


def test_totals_match_keras_count_params_and_optimizer_variables():
    model = seed_rnn()
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    s = ipyviz.summarize(model)
    assert s.total_params == model.count_params()
    assert s.optimizer_params == sum(int(np.prod(v.shape)) for v in model.optimizer.variables)
    assert s.optimizer_params >= 2 * s.trainable_params


def test_nested_model_rows_follow_their_parent():
    inner = keras.Sequential([keras.Input((8,)), L.Dense(4, name="d1"), L.BatchNormalization(name="bn")],
                             name="backbone")
    x = keras.Input((8,))
    model = keras.Model(x, L.Dense(2, name="head")(inner(x)))
    s = ipyviz.summarize(model)
    names = [(r.path, r.depth) for r in s.rows]
    assert names == [(model.layers[0].name, 0), ("backbone", 0), ("backbone/d1", 1), ("backbone/bn", 1),
                     ("head", 0)]
    backbone = s.rows[1]
    assert backbone.is_container and backbone.params == 36 + 16
    assert s.rows[3].params == 16 and s.rows[3].trainable_params == 8
    assert s.non_trainable_params == 8
    assert s.total_params == model.count_params()


def test_shared_layer_and_tied_weights_count_once():
    shared = L.Dense(3, name="shared")
    a, b = keras.Input((3,)), keras.Input((3,))
    model = keras.Model([a, b], L.Add()([shared(a), shared(b)]))
    s = ipyviz.summarize(model)
    assert [r.name for r in s.rows].count("shared") == 1
    assert s.total_params == 12 == model.count_params()


def test_frozen_layer_is_non_trainable():
    model = seed_cnn()
    model.layers[0].trainable = False
    s = ipyviz.summarize(model)
    assert s.rows[0].trainable is False and s.rows[0].trainable_params == 0
    assert s.non_trainable_params == 3200


def test_unbuilt_model_has_explicit_state():
    s = ipyviz.summarize(keras.Sequential([L.Dense(3)], name="lazy"))
    assert s.state == "unbuilt" and s.total_params is None
    assert "keras.Input" in s.message and "model.build" in s.message
    assert s.rows[0].params is None
    assert "not built" in s.to_text()


def test_subclassed_model_unknown_shapes_but_exact_counts():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.a = L.Dense(4)
            self.b = L.Dense(2)

        def call(self, x):
            return self.b(self.a(x))

    net = Net()
    net(np.zeros((1, 3), "float32"))
    s = ipyviz.summarize(net)
    assert [r.params for r in s.rows] == [16, 10]
    assert s.rows[0].output_shape is None


def test_multi_output_shapes_are_a_list():
    x = keras.Input((4,))
    split = L.Lambda(lambda t: [t[:, :2], t[:, 2:]], name="split")
    model = keras.Model(x, split(x))
    row = [r for r in ipyviz.summarize(model).rows if r.name == "split"][0]
    assert row.output_shape == [(None, 2), (None, 2)]


@pytest.mark.parametrize(
    "thing, words",
    [
        (np.zeros(3), "expects a keras.Model, got numpy.ndarray"),
        ("model", "got builtins.str"),
        (L.Dense(3), "Wrap it: keras.Sequential"),
    ],
)
def test_bad_inputs_say_what_is_wrong(thing, words):
    with pytest.raises(TypeError, match=words.replace(".", r"\.").replace("(", r"\(")):
        ipyviz.summarize(thing)


def test_keras2_object_is_named():
    Keras2Model = type("Model", (), {"__module__": "tf_keras.src.engine.training"})
    with pytest.raises(TypeError, match="Keras 3"):
        ipyviz.summarize(Keras2Model())


def test_text_and_markdown():
    s = ipyviz.summarize(seed_cnn())
    text = s.to_text()
    assert "128 × (5·5·64 + 1)" in text and "Total params: 536,192" in text
    md = s.to_markdown()
    assert md.splitlines()[0].startswith("| Layer (type) |")
    assert "| 204,928 |" in md
