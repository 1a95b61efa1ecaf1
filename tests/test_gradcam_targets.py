"""find_target_layer / spatial_layers / resolve_layer: the layer is found by output shape, by path."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

from ipyviz.gradcam.targets import find_target_layer, layer_paths, resolve_layer, spatial_layers  # noqa: E402

L = keras.layers


def _nested():
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(4, 3, name="c1")(inp)
    x = L.SeparableConv2D(4, 3, name="top_conv")(x)
    backbone = keras.Model(inp, x, name="backbone")
    outer = keras.Input((16, 16, 3))
    y = L.Dense(3, activation="softmax", name="head")(L.GlobalAveragePooling2D()(backbone(outer)))
    return keras.Model(outer, y, name="classifier")


def _no_wrappers_left(model):
    return all("call" not in vars(layer) for layer in layer_paths(model).values())


def test_functional_last_spatial_layer_before_pooling():
    inp = keras.Input((16, 16, 1))
    x = L.Conv2D(3, 3, name="a")(inp)
    x = L.DepthwiseConv2D(3, name="dw")(x)
    x = L.Activation("relu", name="act")(x)
    x = L.GlobalMaxPooling2D()(x)
    model = keras.Model(inp, L.Dense(2)(x))
    assert find_target_layer(model) == "act"
    assert [c.path for c in spatial_layers(model)] == ["act", "dw", "a"]
    assert _no_wrappers_left(model)


def test_nested_backbone_gives_a_path_and_separable_conv_counts():
    model = _nested()
    assert find_target_layer(model) == "backbone/top_conv"
    assert resolve_layer(model, "top_conv")[0] == "backbone/top_conv"  # unique short name
    path, layer = resolve_layer(model, "backbone/top_conv")
    assert layer is model.get_layer("backbone").get_layer("top_conv")
    assert resolve_layer(model, layer)[0] == path  # a Layer object works too
    assert _no_wrappers_left(model)


def test_sequential_never_built_needs_a_shape_or_gets_one():
    model = keras.Sequential([L.Conv2D(2, 3), L.Conv2D(2, 3, name="last"), L.Flatten(), L.Dense(2)])
    with pytest.raises(ValueError, match="input_shape"):
        find_target_layer(model)
    assert find_target_layer(model, input_shape=(12, 12, 1)) == "last"


def test_subclassed_uses_call_order_not_attribute_order():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.late = L.Conv2D(3, 3, name="late")  # defined first, runs second
            self.early = L.Conv2D(3, 3, name="early")
            self.head = L.Dense(2)

        def call(self, x):
            return self.head(keras.ops.mean(self.late(self.early(x)), axis=(1, 2)))

    assert find_target_layer(Net(), input_shape=(10, 10, 1)) == "late"


def test_stops_at_the_first_flatten_even_if_a_decoder_follows():
    inp = keras.Input((8, 8, 1))
    x = L.Conv2D(2, 3, padding="same", name="enc")(inp)
    code = L.Dense(4)(L.Flatten()(x))
    y = L.Conv2DTranspose(1, 3, padding="same", name="dec")(L.Reshape((2, 2, 1))(code))
    model = keras.Model(inp, [L.Dense(2)(code), y])
    assert find_target_layer(model) == "enc"


def test_one_by_one_outputs_do_not_serve():
    inp = keras.Input((4, 4, 1))
    x = L.Conv2D(2, 3, name="c")(inp)  # 2x2
    x = L.Conv2D(2, 2, name="to_1x1")(x)  # 1x1: no spatial information
    model = keras.Model(inp, L.Dense(2)(L.Flatten()(x)))
    assert find_target_layer(model) == "c"


def test_unknown_and_non_spatial_names_list_the_layers_that_would_serve():
    model = _nested()
    with pytest.raises(ValueError, match=r"'nope' is not in model.*'backbone/top_conv', 'backbone/c1'"):
        resolve_layer(model, "nope")
    with pytest.raises(ValueError, match=r"no spatial dims.*'backbone/top_conv'"):
        resolve_layer(model, "head")
    with pytest.raises(TypeError):
        resolve_layer(model, 3)


def test_ambiguous_short_name_asks_for_the_path():
    def block(name):
        inp = keras.Input((8, 8, 1))
        return keras.Model(inp, L.Conv2D(1, 3, name="conv")(inp), name=name)

    inp = keras.Input((8, 8, 1))
    x = L.Concatenate()([block("left")(inp), block("right")(inp)])
    model = keras.Model(inp, L.Dense(2)(L.Flatten()(x)))
    with pytest.raises(ValueError, match="ambiguous.*left/conv.*right/conv"):
        resolve_layer(model, "conv")
    assert resolve_layer(model, "right/conv")[0] == "right/conv"


def test_a_model_without_spatial_layers_says_to_use_saliency():
    model = keras.Sequential([keras.Input((5,)), L.Dense(2)])
    with pytest.raises(ValueError, match="saliency"):
        find_target_layer(model)
