import keras
import numpy as np
import pytest
from keras import layers as L

import ipyviz


def small_model():
    inner = keras.Sequential([keras.Input((6,)), L.Dense(5, name="d1")], name="inner")
    x = keras.Input((6,))
    model = keras.Model(x, L.Dense(2, name="head")(inner(x)))
    model.compile(optimizer="sgd", loss="mse")
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 6)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")


def test_traits_hold_the_summary():
    model = small_model()
    table = ipyviz.ModelSummaryTable(model)
    paths = [r["path"] for r in table.summary["rows"]]
    assert "inner/d1" in paths and table.summary["total_params"] == model.count_params()
    assert table.summary["optimizer_params"] == 0  # not built before the first step


def test_callback_records_norm_and_relative_change_per_epoch():
    model = small_model()
    table = ipyviz.ModelSummaryTable(model)
    x, y = data()
    before = np.linalg.norm(model.get_layer("head").kernel.numpy())
    model.fit(x, y, epochs=3, verbose=0, callbacks=[table.callback()])
    head = table.weight_stats["head"]
    assert table.epoch == 3 and len(head["norm"]) == 3
    kernel, bias = (w.numpy() for w in model.get_layer("head").weights)
    assert head["norm"][-1] == pytest.approx(np.sqrt((kernel**2).sum() + (bias**2).sum()), rel=1e-6)
    assert head["norm"][0] != pytest.approx(before)  # recorded after the first epoch, not before
    assert head["change"][0] is None and head["change"][1] > 0
    assert "inner/d1" in table.weight_stats
    assert table.summary["optimizer_params"] > 0  # counted once the optimizer exists


def test_every_n_epochs_and_last_epoch():
    model = small_model()
    table = ipyviz.ModelSummaryTable(model)
    x, y = data()
    model.fit(x, y, epochs=5, verbose=0, callbacks=[table.callback(every=2)])
    assert table.epoch == 3  # epochs 2, 4 and the last one


def test_error_inside_callback_is_reported_and_training_goes_on(monkeypatch):
    model = small_model()
    table = ipyviz.ModelSummaryTable(model)
    callback = table.callback()

    def broken(*args):
        raise RuntimeError("boom <b>")

    monkeypatch.setattr(callback, "record_epoch", broken)
    history = model.fit(*data(), epochs=3, verbose=0, callbacks=[callback])
    assert len(history.history["loss"]) == 3
    assert "boom <b>" in table.error and "RuntimeError" in table.error


def test_keyboard_interrupt_still_stops_training(monkeypatch):
    model = small_model()
    callback = ipyviz.ModelSummaryTable(model).callback()

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(callback, "record_epoch", interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.fit(*data(), epochs=3, verbose=0, callbacks=[callback])


def test_unbuilt_model_widget_shows_state_and_refresh_builds():
    model = keras.Sequential([L.Dense(3)])
    table = ipyviz.ModelSummaryTable(model)
    assert table.summary["state"] == "unbuilt" and "build" in table.summary["message"]
    model.build((None, 4))
    table.refresh()
    assert table.summary["state"] == "built" and table.summary["total_params"] == 15


@pytest.mark.parametrize("thing", [None, np.zeros(3), "model"])
def test_bad_input_is_refused(thing):
    with pytest.raises(TypeError, match="keras.Model"):
        ipyviz.ModelSummaryTable(thing)


def test_epoch_callback_keeps_keras_async_dispatch():
    callback = ipyviz.ModelSummaryTable(small_model()).callback()
    from keras.src import utils

    assert utils.is_default(callback.on_train_batch_end)
