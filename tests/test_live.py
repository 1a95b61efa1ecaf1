import keras
import numpy as np
import pytest

from ipyviz import live
from ipyviz.live import LiveCallback


class Recorder(LiveCallback):
    def record_begin(self):
        self.batches, self.epochs, self.flushes = [], [], []

    def record_batch(self, batch, logs):
        self.batches.append(batch)

    def record_epoch(self, epoch, logs):
        self.epochs.append(epoch)

    def flush(self):
        self.flushes.append((len(self.batches), len(self.epochs)))


class FakeWidget:
    error = ""


def fit(callback, epochs=3, samples=64, batch_size=4):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((samples, 2), "float32")
    return model.fit(x, x[:, :1], epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[callback])


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 0.01  # every look at the clock is 10 ms later
        return self.now


def test_epoch_ends_always_flush_and_nothing_per_batch_by_default():
    cb = Recorder(FakeWidget())
    fit(cb)
    assert cb.epochs == [0, 1, 2] and cb.batches == []
    assert [e for _, e in cb.flushes] == [0, 1, 2, 3]  # begin + one per epoch


def test_batches_are_throttled_and_coalesced(monkeypatch):
    monkeypatch.setattr(live.time, "monotonic", Clock())
    monkeypatch.setattr(live, "message_budget", live.MessageBudget(rate=1e9))  # the interval alone
    cb = Recorder(FakeWidget(), batch_interval=0.1)
    fit(cb, epochs=2, samples=400)
    assert len(cb.batches) == 200  # every batch recorded ...
    batch_flushes = len(cb.flushes) - 1 - 2
    assert 0 < batch_flushes < 200 / 5  # ... but sent at most every 0.1 s of (fake) time
    assert cb.flushes[-1] == (200, 2)  # the final state is exact


def test_every_n_epochs_keeps_the_last():
    cb = Recorder(FakeWidget(), every=2)
    fit(cb, epochs=5)
    assert cb.epochs == [1, 3, 4]


def test_an_exception_is_reported_once_and_training_goes_on():
    class Broken(Recorder):
        def record_epoch(self, epoch, logs):
            raise ValueError(f"bad epoch {epoch}")

    widget = FakeWidget()
    cb = Broken(widget)
    history = fit(cb, epochs=4)
    assert len(history.history["loss"]) == 4
    assert widget.error.count("bad epoch") == 1 and "bad epoch 0" in widget.error
    assert cb.errors == 1


def test_keyboard_interrupt_stops_training():
    class Interrupt(Recorder):
        def record_epoch(self, epoch, logs):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(Interrupt(FakeWidget()), epochs=3)


def test_widget_without_error_trait_prints(capsys):
    class Broken(Recorder):
        def flush(self):
            raise RuntimeError("no trait")

    fit(Broken(object()), epochs=1)
    assert "no trait" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs", [{"every": 0}, {"every": 1.5}, {"batch_interval": -1}])
def test_bad_schedule_is_refused(kwargs):
    with pytest.raises(ValueError):
        Recorder(None, **kwargs)
