"""Every widget's callback: a closed widget, or an update that raises, never stops ``fit()``.

For each of the four widgets: (1) the widget is closed before training (the user closed the
output, or called ``close()``): training runs every epoch and nothing is reported; (2) the widget's
update raises: training still runs every epoch, the error is shown once, escaped, in the widget's
``error`` text, and later epochs do not retry (one report, not one per batch).
"""

import keras
import numpy as np
import pytest

import ipyviz

L = keras.layers
EPOCHS = 3


def _cnn():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(3, 3, activation="relu", name="conv"),
                              L.GlobalAveragePooling2D(), L.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((32, 8, 8, 1), dtype=np.float32)
    return model, x, (x.mean(axis=(1, 2, 3)) > 0.5).astype("int32")


def _embedding_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,), dtype="int32"), L.Embedding(12, 4, name="emb"),
                              L.Flatten(), L.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = (np.arange(32) % 12).reshape(-1, 1).astype("int32")
    return model, x, (x[:, 0] % 2).astype("int32")


# name -> (make model and data, make the widget, what its callback's update goes through: a method of
# the widget, or "module:function" the callback calls)
WIDGETS = {
    "summary": (_cnn, lambda m, x: ipyviz.ModelSummaryTable(m), "ipyviz.summary.widget:summarize"),
    "plot": (_cnn, lambda m, x: ipyviz.TrainingPlot(), "_render"),
    "gradcam": (_cnn, lambda m, x: ipyviz.GradCamViewer(m, x[:2]), "_append"),
    "embedding": (_embedding_model, lambda m, x: ipyviz.EmbeddingScatter(m, [f"w{i}" for i in range(12)]),
                  "set_embeddings"),
}


def _fit(model, x, y, callback):
    return model.fit(x, y, epochs=EPOCHS, batch_size=8, verbose=0, callbacks=[callback])


@pytest.mark.parametrize("name", list(WIDGETS))
def test_a_closed_widget_never_stops_training(name):
    make_model, make_widget, _ = WIDGETS[name]
    model, x, y = make_model()
    widget = make_widget(model, x)
    callback = widget.callback()
    widget.close()
    history = _fit(model, x, y, callback)
    assert len(history.history["loss"]) == EPOCHS
    assert not callback.failed and widget.error == ""


@pytest.mark.parametrize("name", list(WIDGETS))
def test_an_update_that_raises_is_reported_once_and_training_goes_on(name, monkeypatch):
    make_model, make_widget, method = WIDGETS[name]
    model, x, y = make_model()
    widget = make_widget(model, x)
    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("<img src=x onerror=alert(1)> broke")

    if ":" in method:
        monkeypatch.setattr(method.replace(":", "."), broken)
    else:
        assert hasattr(widget, method), f"{type(widget).__name__} has no {method}: update the test's table"
        monkeypatch.setattr(widget, method, broken)
    callback = widget.callback()
    history = _fit(model, x, y, callback)
    assert len(history.history["loss"]) == EPOCHS
    assert callback.failed and callback.errors == 1 and len(calls) == 1
    assert widget.error.count("broke") == 1 and "RuntimeError" in widget.error
