import html
import types

import ipywidgets as widgets
import keras
import numpy as np
import pytest

import ipyviz
from ipyviz import live
from ipyviz.training.history import TrainingHistory, split_key
from ipyviz.training.plot import TrainingPlot, TrainingPlotCallback, metric_direction

EVIL = "<script>alert(1)</script>&"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.random((40, 4)).astype("float32"), rng.integers(0, 3, 40)


@pytest.fixture
def model():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def panel_marks(plot, group):
    """{(key, level): linear-figure Lines} of one metric's figure."""
    return {k: pair[0] for k, pair in plot._panels[group].lines.items()}


class Recorder(keras.callbacks.Callback):
    """Drives a fake clock one second per batch and keeps every batch's logs (placed before the plot)."""

    def __init__(self, clock):
        super().__init__()
        self.clock, self.batch_logs = clock, []

    def on_train_batch_end(self, batch, logs=None):
        self.clock.t += 1.0
        self.batch_logs.append(dict(logs))


def count_renders(plot, monkeypatch):
    calls = []
    real = plot._render

    def render():
        calls.append((plot.history.epochs_done, len(plot.history.batch_series("loss")[0])))
        real()

    monkeypatch.setattr(plot, "_render", render)
    return calls


def test_public_name_and_history_matches_keras(model, data):
    plot = ipyviz.TrainingPlot()
    assert isinstance(plot, widgets.VBox)
    keras_history = model.fit(*data, validation_split=0.25, epochs=3, batch_size=10, verbose=0,
                              callbacks=[plot.callback()])
    assert plot.history.to_dict() == keras_history.history  # exact floats, every key
    # train and val_ grouped per metric, loss first, one container updated in place
    assert [box.children[0].children[0].value for box in plot._grid.children] == ["<b>loss</b>", "<b>accuracy</b>"]
    for group in ("loss", "accuracy"):
        marks = panel_marks(plot, group)
        assert set(marks) == {(group, "epoch"), ("val_" + group, "epoch")}  # no batch line unless asked
        for key in (group, "val_" + group):
            np.testing.assert_array_equal(marks[(key, "epoch")].x, [1, 2, 3])
            np.testing.assert_array_equal(marks[(key, "epoch")].y, keras_history.history[key])
        labels = sorted(m.labels[0] for m in marks.values())
        assert labels == ["train", "validation"] and all(m.display_legend for m in marks.values())
    stats = plot._panels["loss"].stats.value
    best = min(keras_history.history["val_loss"])
    assert f"best {best:.4g}" in stats and "lowest" in stats
    assert "highest" in plot._panels["accuracy"].stats.value
    assert plot.error == ""


def test_every_draws_less_but_records_every_epoch(model, data, monkeypatch):
    plot = TrainingPlot()
    renders = count_renders(plot, monkeypatch)
    keras_history = model.fit(*data, epochs=5, batch_size=20, verbose=0, callbacks=[plot.callback(every=2)])
    assert [epochs for epochs, _ in renders] == [0, 2, 4, 5]  # setup, epochs 2 and 4, the last epoch
    assert plot.history.to_dict() == keras_history.history
    np.testing.assert_array_equal(panel_marks(plot, "loss")[("loss", "epoch")].x, [1, 2, 3, 4, 5])


@pytest.mark.parametrize("interval", [0, 3])
def test_batch_points_throttled_and_final_state_exact(model, data, monkeypatch, interval):
    clock = types.SimpleNamespace(t=0.0)
    monkeypatch.setattr(live, "time", types.SimpleNamespace(monotonic=lambda: clock.t))
    # The schedule alone: a budget this large never holds a flush back (test_message_rate covers it).
    monkeypatch.setattr(live, "message_budget", live.MessageBudget(rate=1e9))
    plot = TrainingPlot()
    renders = count_renders(plot, monkeypatch)
    recorder = Recorder(clock)
    epochs, steps = 2, 10  # 40 samples, batch 4
    keras_history = model.fit(*data, epochs=epochs, batch_size=4, verbose=0,
                              callbacks=[recorder, plot.callback(batch_interval=interval)])
    # The clock ticks one second per batch. Batches recorded at each draw:
    drawn_at = [batches for _, batches in renders]
    if interval == 0:  # setup, every batch, every epoch end
        assert drawn_at == [0, *range(1, 11), 10, *range(11, 21), 20]
    else:  # setup, then at most once per 3 s (an epoch-end draw restarts the wait), every epoch end
        assert drawn_at == [0, 3, 6, 9, 10, 13, 16, 19, 20]
    # Whatever was not drawn was coalesced: the final widget state holds every batch, exactly.
    line = panel_marks(plot, "loss")[("loss", "batch")]
    expected_x = [e + (b + 1) / steps for e in range(epochs) for b in range(steps)]
    np.testing.assert_allclose(line.x, expected_x, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(line.y, [logs["loss"] for logs in recorder.batch_logs])
    # Keras's batch logs are running means: the last batch of an epoch is that epoch's value.
    np.testing.assert_array_equal(line.y[steps - 1::steps], keras_history.history["loss"])
    assert line.opacities[0] < 1 and line.labels == ["train (per batch)"]


def test_no_batch_hook_without_batch_interval(model):
    cb = TrainingPlot().callback()
    assert "on_train_batch_end" not in vars(cb)  # Keras keeps its async dispatch
    assert "on_train_batch_end" in vars(TrainingPlot().callback(batch_interval=1.0))


def test_long_history_is_decimated(model, data):
    plot = TrainingPlot(max_points=12)
    model.fit(*data, epochs=3, batch_size=2, verbose=0, callbacks=[plot.callback(batch_interval=0)])
    full_x, full_y = plot.history.batch_series("loss")
    assert len(full_x) == 60
    line = panel_marks(plot, "loss")[("loss", "batch")]
    assert len(line.x) <= 12
    assert (line.x[0], line.x[-1]) == (full_x[0], full_x[-1])
    assert line.y.min() == full_y.min() and line.y.max() == full_y.max()


def test_error_in_update_is_shown_once_escaped_and_training_goes_on(model, data, monkeypatch, capsys):
    plot = TrainingPlot()
    calls = []

    def broken():
        calls.append(1)
        if len(calls) == 2:
            raise ValueError(f"bad {EVIL}")

    monkeypatch.setattr(plot, "_render", broken)
    keras_history = model.fit(*data, epochs=4, batch_size=20, verbose=0, callbacks=[plot.callback()])
    assert len(keras_history.history["loss"]) == 4  # training not stopped
    assert len(calls) == 2  # switched off after the failure, reported once
    assert "ValueError" in plot.error and EVIL in plot.error
    shown = plot._error_box.value
    assert html.escape(EVIL) in shown and "<script>" not in shown
    assert plot._error_box.layout.display != "none"
    plot.reset()
    assert plot.error == "" and plot._error_box.layout.display == "none"


def test_keyboard_interrupt_still_stops_training(model, data, monkeypatch):
    plot = TrainingPlot()

    def interrupt():
        if plot.history.epochs_done == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(plot, "_render", interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.fit(*data, epochs=5, batch_size=20, verbose=0, callbacks=[plot.callback()])
    assert plot.history.epochs_done == 2 and plot.error == ""


def test_several_fits_continue_the_x_axis_and_reset(model, data):
    plot = TrainingPlot()
    cb = plot.callback(batch_interval=0)
    first = model.fit(*data, epochs=2, batch_size=20, verbose=0, callbacks=[cb])
    second = model.fit(*data, epochs=3, batch_size=20, verbose=0, callbacks=[cb])  # same callback again
    third = model.fit(*data, epochs=1, batch_size=20, verbose=0, callbacks=[plot.callback()])  # a new one
    assert plot.history.to_dict()["loss"] == first.history["loss"] + second.history["loss"] + third.history["loss"]
    marks = panel_marks(plot, "loss")
    np.testing.assert_array_equal(marks[("loss", "epoch")].x, [1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(marks[("loss", "batch")].x, np.arange(1, 11) / 2)  # 2 batches an epoch
    grid_before, old_figure = plot._grid, plot._panels["loss"].figures[0]
    plot.reset()
    assert plot._grid is grid_before and plot._grid.children == () and plot.history.to_dict() == {}
    assert old_figure.comm is None  # the old figures were closed, not leaked
    model.fit(*data, epochs=1, batch_size=20, verbose=0, callbacks=[plot.callback()])
    np.testing.assert_array_equal(panel_marks(plot, "loss")[("loss", "epoch")].x, [1])


def test_metrics_restriction_and_late_metrics_added_in_place(model, data):
    plot = TrainingPlot(metrics=["accuracy", "nope"])
    model.fit(*data, epochs=1, batch_size=20, verbose=0, callbacks=[plot.callback()])
    assert list(plot._panels) == ["accuracy"]
    assert set(panel_marks(plot, "accuracy")) == {("accuracy", "epoch")}
    assert "not in the training logs: nope" in plot._note.value
    grid = plot._grid
    figure = plot._panels["accuracy"].figures[0]
    # validation appears in a later fit: its line joins the existing figure, nothing is rebuilt
    model.fit(*data, validation_split=0.5, epochs=1, batch_size=20, verbose=0, callbacks=[plot.callback()])
    assert plot._grid is grid and plot._panels["accuracy"].figures[0] is figure
    assert set(panel_marks(plot, "accuracy")) == {("accuracy", "epoch"), ("val_accuracy", "epoch")}
    np.testing.assert_array_equal(panel_marks(plot, "accuracy")[("val_accuracy", "epoch")].x, [2])

    only_val = TrainingPlot(metrics="val_loss")
    model.fit(*data, validation_split=0.5, epochs=1, batch_size=20, verbose=0, callbacks=[only_val.callback()])
    assert set(panel_marks(only_val, "loss")) == {("val_loss", "epoch")}
    assert "train" not in only_val._panels["loss"].stats.value.replace("(per batch)", "")


def drive(plot, epochs, make_logs, steps=2):
    """Feed a callback by hand, the way Keras would (no model needed)."""
    cb = plot.callback()
    cb.set_params({"epochs": epochs, "steps": steps})
    cb.on_train_begin()
    for epoch in range(epochs):
        cb.on_epoch_end(epoch, make_logs(epoch))
    cb.on_train_end()
    return cb


def test_metric_names_are_escaped_everywhere():
    plot = TrainingPlot(metrics=[EVIL, "val_" + EVIL, "<b>missing</b>"])
    drive(plot, 2, lambda e: {EVIL: 1.0 / (e + 1), "val_" + EVIL: 2.0, "loss": 0.5, "vec<i>": np.ones(3)})
    assert list(plot._panels) == [EVIL]
    panel = plot._panels[EVIL]
    every_html = [panel.title.value, panel.stats.value, plot._note.value, plot._error_box.value]
    assert panel.title.value == f"<b>{html.escape(EVIL)}</b>"
    assert html.escape("<b>missing</b>") in plot._note.value
    for text in every_html:
        assert "<script" not in text and "<b>missing" not in text and "<i>" not in text


def test_one_message_per_changed_line_per_update(monkeypatch):
    plot = TrainingPlot()
    sent = []
    monkeypatch.setattr(widgets.Widget, "_send", lambda self, msg, buffers=None: sent.append((self, msg)))
    cb = plot.callback()
    cb.set_params({"epochs": 3, "steps": 1})
    cb.on_train_begin()
    logs = {"loss": 1.0, "val_loss": 1.5, "accuracy": 0.5, "val_accuracy": 0.4}
    cb.on_epoch_end(0, logs)  # creates the figures
    sent.clear()
    cb.on_epoch_end(1, {k: v / 2 for k, v in logs.items()})
    lines = [msg for widget, msg in sent if widget.__class__.__name__ == "Lines"]
    # 2 metrics x (train, validation) x (linear, log figure), each x and y in one message, + 2 stats texts
    assert len(lines) == 8 and all({"x", "y"} <= set(msg["state"]) for msg in lines)
    assert len(sent) == 10
    sent.clear()
    cb.on_train_end()  # nothing new: nothing sent
    assert sent == []


def test_log_toggle_is_front_end_only_and_log_data_is_positive():
    plot = TrainingPlot(log_y=["loss"])
    drive(plot, 3, lambda e: {"loss": [0.0, 1.0, np.inf][e], "accuracy": 0.5})
    loss = plot._panels["loss"]
    assert loss.toggle.index == 1 and loss.stack.selected_index == 1
    assert plot._panels["accuracy"].toggle.index == 0
    assert type(loss.link).__name__ == "Link"  # a front-end link model, not a Python observer
    assert loss.link.source == (loss.toggle, "index") and loss.link.target == (loss.stack, "selected_index")
    linear, log = loss.lines[("loss", "epoch")]
    assert np.isnan(log.y[0]) and log.y[1] == 1.0 and np.isnan(log.y[2])  # y <= 0 and inf cannot be drawn
    assert linear.y[0] == 0.0 and np.isnan(linear.y[2])
    assert plot.history.to_dict()["loss"][2] == np.inf  # the record itself is untouched
    assert "now inf" in loss.stats.value


def test_directions():
    assert metric_direction("loss") == "min" and metric_direction("val_loss".removeprefix("val_")) == "min"
    assert metric_direction("sparse_categorical_accuracy") == "max"
    assert metric_direction("auc") == "max" and metric_direction("mean_absolute_error") == "min"
    assert metric_direction("learning_rate") is None
    assert metric_direction("accuracy", {"accuracy": "min"}) == "min"
    plot = TrainingPlot(directions={"score": "max"})
    drive(plot, 3, lambda e: {"score": [3.0, 1.0, 2.0][e], "learning_rate": [0.1, 0.3, 0.2][e]})
    assert "best 3 (epoch 1, highest)" in plot._panels["score"].stats.value
    lr = plot._panels["learning_rate"].stats.value
    assert "min 0.1" in lr and "max 0.3" in lr and "best" not in lr


def test_direction_from_the_models_metric_objects(data):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=[keras.metrics.R2Score(name="fit_quality")])
    assert metric_direction("fit_quality") is None  # the name alone says nothing
    plot = TrainingPlot()
    model.fit(data[0], data[1].astype("float32"), epochs=2, batch_size=20, verbose=0, callbacks=[plot.callback()])
    assert plot._panels["fit_quality"].direction == "max"


def test_non_scalar_metrics_are_noted_not_plotted():
    plot = TrainingPlot()
    drive(plot, 1, lambda e: {"loss": 1.0, "f1": np.array([0.1, 0.2])})
    assert "f1" not in plot._panels and "not a single number" in plot._note.value


def test_bad_arguments_say_what_to_do():
    with pytest.raises(TypeError, match="metric name or a list"):
        TrainingPlot(metrics=3)
    with pytest.raises(TypeError, match="non-empty strings"):
        TrainingPlot(metrics=["loss", 1])
    with pytest.raises(ValueError, match="'min', 'max' or None"):
        TrainingPlot(directions={"loss": "down"})
    with pytest.raises(TypeError, match="dict"):
        TrainingPlot(directions=["loss"])
    with pytest.raises(ValueError, match="max_points"):
        TrainingPlot(max_points=7)
    with pytest.raises(ValueError, match="every"):
        TrainingPlot().callback(every=0)
    with pytest.raises(ValueError, match="batch_interval"):
        TrainingPlot().callback(batch_interval=-1)
    with pytest.raises(TypeError, match="needs a TrainingPlot"):
        TrainingPlotCallback(widgets.VBox())


def test_history_unknown_steps_and_split_key():
    assert split_key("val_loss") == ("loss", "validation") and split_key("loss") == ("loss", "train")
    assert split_key("val_") == ("val_", "train")
    h = TrainingHistory()
    h.begin_fit(steps=None)  # a generator of unknown length
    for b in range(4):
        h.add_batch(b, {"loss": float(b)})
    np.testing.assert_allclose(h.batch_series("loss")[0], [0.25, 0.5, 0.75, 1.0])  # so far: 4 batches seen
    h.add_epoch({"loss": 3.0})
    h.add_batch(0, {"loss": 9.0})  # the next epoch is assumed as long as the last one
    np.testing.assert_allclose(h.batch_series("loss")[0], [0.25, 0.5, 0.75, 1.0, 1.25])
    assert h.to_dict() == {"loss": [3.0]} and h.epochs_done == 1
