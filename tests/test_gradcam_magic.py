"""%gradcam in a real IPython InteractiveShell: load, reload, options, refusals."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from ipyviz.gradcam.magic import parse  # noqa: E402
from ipyviz.gradcam.widget import GradCamViewer  # noqa: E402

L = keras.layers


@pytest.fixture(scope="module")
def shell():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10, 10, 1)), L.Conv2D(3, 3, activation="relu", name="conv"),
                              L.Flatten(), L.Dense(4, activation="softmax", name="head")])
    ip = InteractiveShell.instance()
    ip.user_ns.update(model=model, x=np.random.default_rng(0).random((20, 10, 10, 1), dtype=np.float32),
                      y=np.arange(20) % 4, names=["zero", "one", "two", "<three>"])
    ip.run_line_magic("load_ext", "ipyviz")
    return ip


def _magic(ip, line):
    return ip.run_line_magic("gradcam", line)


def test_parse_keeps_expressions_whole():
    assert parse("model x[y == 3][:4] --layer conv -n 2") == {
        "model": "model", "images": "x[y == 3][:4]", "layer": "conv", "n": "2"}
    assert parse("m data['a b'] --method=gradcam++")["images"] == "data['a b']"
    with pytest.raises(UsageError, match="needs a model and images"):
        parse("model")
    with pytest.raises(UsageError, match="unknown option '--colour'"):
        parse("model x --colour red")
    with pytest.raises(UsageError, match="unbalanced"):
        parse("model x[:3")


def test_magic_shows_a_viewer_with_options(shell, capsys):
    viewer = _magic(shell, "model x --method layercam -n 5 --labels y --names names")
    assert isinstance(viewer, GradCamViewer)
    assert "first 5 of 20 images" in capsys.readouterr().out  # explicit, never silent
    assert viewer.image_shape[0] == 5 and viewer.method == "layercam" and viewer.layer == "conv"
    assert viewer.labels == [0, 1, 2, 3, 0] and viewer.class_names[3] == "<three>"


def test_classes_option_picks_maps(shell):
    viewer = _magic(shell, "model x[:3] --classes 2,None,1")
    assert sorted(viewer.picked) == ["0", "2"]
    assert viewer.picked["0"]["class"] == 2 and viewer.picked["2"]["class"] == 1
    viewer = _magic(shell, "model x[:3] --classes y[:3]")  # an expression works too
    assert [viewer.picked[str(i)]["class"] for i in range(3)] == [0, 1, 2]
    with pytest.raises(UsageError, match="classes has 2 entries for 3 images"):
        _magic(shell, "model x[:3] --classes 1,2")


def test_wrong_layer_is_refused_naming_it_and_the_layers_that_serve(shell):
    with pytest.raises(UsageError, match=r"'nope' is not in model.*Layers that would serve.*'conv'"):
        _magic(shell, "model x[:2] --layer nope")
    with pytest.raises(UsageError, match="unknown Grad-CAM method 'nope'"):
        _magic(shell, "model x[:2] --method nope")
    with pytest.raises(UsageError, match="could not evaluate the images 'missing'"):
        _magic(shell, "model missing")


def test_reload_ext_is_harmless(shell):
    shell.run_line_magic("reload_ext", "ipyviz")
    shell.run_line_magic("reload_ext", "ipyviz")
    assert "gradcam" in shell.magics_manager.magics["line"]
    assert isinstance(_magic(shell, "model x[:2]"), GradCamViewer)
    result = shell.run_cell("v = %gradcam model x[:2] -n 1")
    assert result.success and shell.user_ns["v"].image_shape[0] == 1
