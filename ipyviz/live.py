"""The callback core shared by every widget: schedule, throttle, coalesce, isolate errors.

A widget's ``callback()`` returns a subclass of :class:`LiveCallback`. The subclass only says how to
*record* what happened (cheap, runs at every scheduled event) and how to *flush* the recorded state to
the widget's traits (costly: a message to the browser). The core decides when to flush:

* epoch ends (every ``every`` epochs, and the last epoch) always flush;
* per-batch recording happens only when ``batch_interval`` is given, and flushes at most once per
  ``batch_interval`` seconds; whatever was recorded in between is coalesced into the next flush
  (the latest state wins, nothing is lost because the state itself is cumulative);
* every callback in the process draws its per-batch flushes from one :class:`MessageBudget`
  (default 20 messages/s, the rate a browser front end keeps up with): a per-batch flush waits
  while the budget is spent, epoch-end flushes always go (and count), so 1,000 batches an epoch
  with ``batch_interval=0`` stay near 20 messages/s and the last state is always sent;
* an ``Exception`` raised by the subclass is caught, reported once in the widget, and training goes
  on; ``KeyboardInterrupt`` (not an ``Exception``) still stops training.

Backends (TensorFlow, JAX, torch): subclasses read the model through ``self.model``. On JAX, Keras's
trainer keeps the training state outside the model's variables during an epoch (mid-epoch a
variable holds no value, and reading it gives its *initial* value); ``self.model`` syncs the state
back (``jax_state_sync``, a no-op once synced, e.g. at epoch ends), so a per-batch read must go
through it. On torch, ``self.model`` is the Keras model even when a ``torch.nn.DataParallel`` /
``DistributedDataParallel`` wrapper was handed in (:func:`unwrap_model`).

Example::

    import keras, numpy as np
    from ipyviz.live import LiveCallback

    class PrintLoss(LiveCallback):
        def record_epoch(self, epoch, logs):
            self.last = logs["loss"]
        def flush(self):
            print(self.last)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, verbose=0, callbacks=[PrintLoss(None)])
"""

from __future__ import annotations

import sys
import time
import traceback

import keras

from ipyviz._busy_kernel import serve_widget_state_while_busy

__all__ = ["LiveCallback", "MessageBudget", "message_budget", "report_error", "unwrap_model"]


def unwrap_model(model):
    """The Keras model inside a ``torch.nn.DataParallel`` / ``DistributedDataParallel`` wrapper
    (torch backend); any other object is returned as it is.

    Example::

        import keras, torch
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])   # KERAS_BACKEND=torch
        unwrap_model(torch.nn.DataParallel(model)) is model                   # True
    """
    torch = sys.modules.get("torch")  # never import torch here: a TF or JAX user may not have it
    if torch is None:
        return model
    wrappers = (torch.nn.DataParallel, torch.nn.parallel.DistributedDataParallel)
    while isinstance(model, wrappers):
        model = model.module
    return model


class MessageBudget:
    """A token bucket of widget messages shared by every :class:`LiveCallback` in the process.

    ``rate`` messages a second refill it, up to ``burst`` seconds' worth. ``flush()`` of a callback
    returns how many messages it sent (``None`` counts as one); a per-batch flush only happens when
    the bucket holds as many as that callback's last flush cost.
    """

    def __init__(self, rate: float = 20.0, burst: float = 0.5):
        if not rate > 0 or not burst > 0:
            raise ValueError(f"rate and burst must be > 0, got rate={rate!r}, burst={burst!r}")
        self.rate, self.burst = float(rate), float(burst)
        self._tokens = self.rate * self.burst
        self._at = time.monotonic()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.rate * self.burst, self._tokens + max(now - self._at, 0.0) * self.rate)
        self._at = max(now, self._at)

    def allows(self, cost: float, now: float | None = None) -> bool:
        """True when ``cost`` messages (capped at the burst size) can go now."""
        self._refill(time.monotonic() if now is None else now)
        return self._tokens >= min(cost, self.rate * self.burst)

    def spend(self, cost: float, now: float | None = None) -> None:
        """Count ``cost`` messages sent (the bucket may go below zero: it then refills first)."""
        self._refill(time.monotonic() if now is None else now)
        self._tokens -= cost


message_budget = MessageBudget()  # ipyviz.live.message_budget.rate = 10 to be gentler still


def report_error(widget, where: str, error: BaseException) -> None:
    """Show ``error`` inside ``widget`` (its ``error`` trait) as plain text, or print it if it has none."""
    text = f"ipyviz: {where} failed and was switched off for this run: {type(error).__name__}: {error}"
    if widget is not None and hasattr(widget, "error"):
        try:
            widget.error = text
            return
        except Exception:  # the widget itself is broken: fall through to printing
            pass
    print(text)


class LiveCallback(keras.callbacks.Callback):
    """Base class of the ipyviz callbacks (see the module docstring).

    Args:
        widget: the widget updated by this callback (may be ``None`` in tests).
        every: flush at the end of every ``every``-th epoch (the last epoch always flushes).
        batch_interval: seconds between per-batch flushes; ``None`` (default) records nothing per
            batch, which keeps Keras's asynchronous batch dispatch on.
    """

    def __init__(self, widget, *, every: int = 1, batch_interval: float | None = None):
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer (epochs between updates), got {every!r}")
        if batch_interval is not None and batch_interval < 0:
            raise ValueError(f"batch_interval must be >= 0 seconds or None, got {batch_interval!r}")
        self.widget = widget
        self.every = every
        self.batch_interval = batch_interval
        self.failed = False
        self.errors = 0
        self._last_flush = 0.0
        self._last_cost = 1
        self._dirty = False
        self._total_epochs = None
        if batch_interval is not None:
            # Only bound here: overriding on_train_batch_end on the class would switch off Keras 3's
            # async dispatch for every user, including those who never asked for batch updates.
            self.on_train_batch_end = self._on_train_batch_end

    @property
    def model(self):
        """The Keras model being trained: state synced on JAX, torch wrappers unwrapped (see the
        module docstring). Each access costs a host sync on JAX mid-epoch: read it on a schedule."""
        return unwrap_model(super().model)

    # -- what subclasses implement -------------------------------------------------------------
    def record_begin(self) -> None:
        """Called once at ``on_train_begin`` (``self.model`` is set)."""

    def record_batch(self, batch: int, logs: dict) -> None:
        """Called after each training batch when ``batch_interval`` is set; keep it cheap."""

    def observe_epoch(self, epoch: int, logs: dict) -> None:
        """Called at every epoch end, scheduled or not (keep it cheap: e.g. append the logs)."""

    def record_epoch(self, epoch: int, logs: dict) -> None:
        """Called at each scheduled epoch end, before the flush."""

    def flush(self) -> int | None:
        """Send the recorded state to the widget; return how many messages that took (None: one)."""

    # -- the Keras side ----------------------------------------------------------------------------
    def _guard(self, where, fn, *args) -> bool:
        if self.failed:
            return False
        try:
            fn(*args)
            return True
        except Exception as error:  # noqa: BLE001 -- a visualisation must never stop training
            self.failed = True
            self.errors += 1
            traceback.print_exc()
            report_error(self.widget, where, error)
            return False

    def _flush(self):
        sent = []
        if self._guard("update", lambda: sent.append(self.flush())):
            self._dirty = False
            self._last_cost = max(int(sent[0] if sent[0] is not None else 1), 1)
            message_budget.spend(self._last_cost)
        self._last_flush = time.monotonic()

    def on_train_begin(self, logs=None):
        serve_widget_state_while_busy()  # a page reloaded mid-fit gets the widgets back at once
        self.failed = False
        self._total_epochs = self.params.get("epochs") if self.params else None
        if self._guard("setup", self.record_begin):
            self._flush()

    def _on_train_batch_end(self, batch, logs=None):
        if self._guard("batch update", self.record_batch, batch, dict(logs or {})):
            self._dirty = True
        now = time.monotonic()
        if now - self._last_flush >= self.batch_interval and message_budget.allows(self._last_cost, now):
            self._flush()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self._guard("epoch update", self.observe_epoch, epoch, logs):
            self._dirty = True
        last = self._total_epochs is not None and epoch + 1 >= self._total_epochs
        if (epoch + 1) % self.every and not last:
            return
        if self._guard("epoch update", self.record_epoch, epoch, logs):
            self._dirty = True
        self._flush()

    def on_train_end(self, logs=None):
        if self._dirty:
            self._flush()
