"""What a training run logged, per epoch and per batch, on one x axis that continues across ``fit()`` calls.

Pure bookkeeping (no widgets, no Keras): :class:`TrainingHistory` is fed the ``logs`` dicts Keras hands to
callbacks and gives back numpy ``(x, y)`` series. The x axis is in epochs, counted over the whole life of
the history: epoch ``k`` (1-based) ends at ``x = k``, and batch ``b`` of that epoch sits at
``x = k - 1 + (b + 1) / steps``, so the last batch of an epoch lands on its epoch point (Keras's batch logs
are running means over the epoch, so the two values agree there). A second ``fit()`` continues from the
last epoch instead of starting again at 1.

Example::

    from ipyviz.training.history import TrainingHistory, split_key

    h = TrainingHistory()
    h.begin_fit(steps=2)
    h.add_batch(0, {"loss": 0.9})
    h.add_batch(1, {"loss": 0.7})
    h.add_epoch({"loss": 0.7, "val_loss": 0.8})
    h.to_dict()                       # {'loss': [0.7], 'val_loss': [0.8]}
    h.batch_series("loss")[0]         # array([0.5, 1. ])
    split_key("val_loss")             # ('loss', 'validation')
"""

from __future__ import annotations

from array import array

import numpy as np

from ipyviz.training.decimate import MinMaxStream

__all__ = ["TrainingHistory", "split_key", "to_scalar"]

VAL_PREFIX = "val_"


def split_key(key: str) -> tuple[str, str]:
    """``"val_loss" -> ("loss", "validation")``, ``"loss" -> ("loss", "train")``: the figure and the line."""
    if key.startswith(VAL_PREFIX) and len(key) > len(VAL_PREFIX):
        return key[len(VAL_PREFIX):], "validation"
    return key, "train"


def to_scalar(value):
    """``float(value)`` for a number or a one-element array/tensor; ``None`` for anything else."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return float(arr.reshape(())) if arr.size == 1 else None


class _BatchSeries:
    """One metric's per-batch points: global epoch index, batch number (1-based), value, and a running
    decimation so that reading a long series for display costs O(max_points), not O(batches)."""

    __slots__ = ("epoch", "num", "y", "stream")

    def __init__(self, max_points: int):
        self.epoch, self.num, self.y = array("q"), array("d"), array("d")
        self.stream = MinMaxStream(max_points)


class TrainingHistory:
    """Epoch and batch values of every logged metric, in the order they first appeared.

    Args:
        max_points: the most points :meth:`batch_series` returns with ``decimated=True``.

    Attributes:
        epochs_done: epochs completed over all ``fit()`` calls fed to this history.
        skipped: log keys whose values were not scalars (e.g. ``F1Score(average=None)``), never plotted.
        version: ``{key: int}`` bumped whenever that key gets a new point (lets a view resend only what
            changed).
    """

    def __init__(self, max_points: int = 1500):
        self.max_points = max_points
        MinMaxStream(max_points)  # validates now rather than at the first batch
        self.reset()

    def reset(self) -> None:
        """Forget everything; the x axis starts again at epoch 0."""
        self.epochs_done = 0
        self.skipped: set[str] = set()
        self.version: dict[str, int] = {}
        self._epoch: dict[str, tuple[array, array]] = {}
        self._batch: dict[str, _BatchSeries] = {}
        self._fit_steps: int | None = None
        self._epoch_steps: list[float] = []  # batches in each completed epoch (denominator of batch x)
        self._running_max = 0.0  # highest batch number seen in the running epoch

    # -- feeding ----------------------------------------------------------------------------------
    def begin_fit(self, steps: int | None = None) -> None:
        """Start a ``fit()``: ``steps`` is Keras's ``params["steps"]`` (``None`` when unknown)."""
        self._fit_steps = int(steps) if steps else None
        self._running_max = 0.0

    def _values(self, logs: dict):
        for key, value in logs.items():
            number = to_scalar(value)
            if number is None:
                self.skipped.add(str(key))
            else:
                yield str(key), number

    def add_batch(self, batch: int, logs: dict) -> None:
        """Record the logs of training batch ``batch`` (0-based, as Keras numbers it) of the running epoch."""
        num = float(batch) + 1.0
        self._running_max = max(self._running_max, num)
        for key, number in self._values(logs):
            series = self._batch.get(key)
            if series is None:
                series = self._batch[key] = _BatchSeries(self.max_points)
            series.epoch.append(self.epochs_done)
            series.num.append(num)
            series.y.append(number)
            series.stream.append(number)
            self.version[key] = self.version.get(key, 0) + 1

    def add_epoch(self, logs: dict) -> None:
        """Record the logs of the epoch that just ended and move the x axis on by one epoch."""
        self._epoch_steps.append(self._fit_steps or self._running_max or 1.0)
        self._running_max = 0.0
        self.epochs_done += 1
        for key, number in self._values(logs):
            xs, ys = self._epoch.setdefault(key, (array("d"), array("d")))
            xs.append(float(self.epochs_done))
            ys.append(number)
            self.version[key] = self.version.get(key, 0) + 1

    # -- reading ----------------------------------------------------------------------------------
    def keys(self) -> list[str]:
        """Every plotted key (epoch or batch level), in order of first appearance."""
        return list(dict.fromkeys([*self._epoch, *self._batch]))

    def to_dict(self) -> dict[str, list[float]]:
        """Epoch values per key, like ``keras.callbacks.History.history`` (over all fits)."""
        return {key: list(ys) for key, (_, ys) in self._epoch.items()}

    def epoch_series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of the epoch-end values of ``key`` (empty arrays when it has none)."""
        xs, ys = self._epoch.get(key, (array("d"), array("d")))
        return np.frombuffer(xs, dtype=float).copy(), np.frombuffer(ys, dtype=float).copy()

    def batch_series(self, key: str, decimated: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of the per-batch values of ``key``, x in fractional epochs (see the module docstring).

        ``decimated=True`` returns at most ``max_points`` of them (endpoints and every bucket's extrema,
        :class:`~ipyviz.training.decimate.MinMaxStream`), in time independent of the series' length.
        """
        series = self._batch.get(key)
        if series is None or not series.y:
            return np.zeros(0), np.zeros(0)
        epoch = np.frombuffer(series.epoch, dtype=np.int64)
        num = np.frombuffer(series.num, dtype=float)
        y = np.frombuffer(series.y, dtype=float)
        if decimated:
            keep = series.stream.indices()
            epoch, num, y = epoch[keep], num[keep], y[keep]
        return self._x(epoch, num), y.copy()

    def last_batch(self, key: str) -> tuple[float, float] | None:
        """``(x, y)`` of the latest per-batch value of ``key``, or ``None`` when it has none."""
        series = self._batch.get(key)
        if series is None or not series.y:
            return None
        x = self._x(np.asarray(series.epoch[-1:]), np.asarray(series.num[-1:]))
        return float(x[0]), series.y[-1]

    def _x(self, epoch: np.ndarray, num: np.ndarray) -> np.ndarray:
        # The running epoch's length: known from Keras, else the previous epoch's, else what we saw so far.
        running = self._fit_steps or (self._epoch_steps[-1] if self._epoch_steps else 0) or self._running_max
        steps = np.asarray([*self._epoch_steps, max(running, 1.0)], dtype=float)
        return epoch + np.minimum(num / steps[epoch], 1.0)
