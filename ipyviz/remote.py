"""Follow a run that trains somewhere else: a JSON-lines file written by ``RunWriter``, read by ``follow``.

**Remote kernels** (JupyterHub, a kernel on a server, Binder): nothing to do. Widgets talk to the page
over the kernel's own comm channel (the websocket the notebook already uses), so every ipyviz widget and
``callback()`` behaves exactly as with a local kernel: no port is opened, no server is started (unlike
``%tensorboard``), and the page may be closed and reopened (widgets come back from their traits).

**Training elsewhere** (a batch job, a cluster node, another machine or container, a script): add
``RunWriter(path)`` to that ``fit()``; in the notebook, ``follow(path, plot)`` tails the file in a
background thread and feeds the same widgets the live callbacks feed. ``path`` must be readable from
the kernel: a shared file system (NFS, a mounted bucket), or a copy you refresh (``rsync``, ``scp``).

* The writer appends whole lines, one ``os.write`` per flush on a file opened with ``O_APPEND`` and
  closed again (so log rotation and NFS close-to-open visibility both work). Epoch records are written
  at every epoch end; per-batch records only with ``batch_interval=`` (buffered, written at most every
  ``batch_interval`` seconds, so they cost a list append per batch). ``weights=True`` adds each layer's
  weight norm and relative change per epoch (the numbers ``ModelSummaryTable.callback()`` shows). Any
  error (disk full, permissions) is printed once and the writer switches off: training goes on. Under
  multi-worker training only the chief writes.
* The follower reads only complete lines (a half-written last line waits for its ``\\n``), skips lines
  that are not records, notices a truncated, replaced or rotated file (it drains the old file first,
  then starts on the new one from the top) and skips records it has already fed (each record carries
  its run id and a sequence number), so re-copying the whole file never doubles a curve.
  ``stop()`` ends the thread; nothing is fed after it returns. A file it may not read, or a widget
  that fails to draw, stops it with the error shown in the widgets (``error``).

Record format, one JSON object a line: ``{"run": id, "seq": n, "type": "begin" | "batch" | "epoch" |
"end", ...}``; ``begin`` has ``epochs`` and ``steps`` (Keras's ``params``), ``batch`` has ``batch`` and
``logs``, ``epoch`` has ``epoch``, ``logs`` and with ``weights=True`` ``weights`` (``{layer path:
{"norm", "change"}}``). Non-finite values are written as ``NaN`` / ``Infinity`` (Python's ``json``).

Example (both sides in one process here; normally the first half runs on the training machine)::

    import keras, numpy as np, ipyviz
    from ipyviz.remote import RunWriter, follow

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, name="d")])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((32, 3)), np.ones((32, 1)), epochs=3, verbose=0,
              callbacks=[RunWriter("run.jsonl", weights=True, batch_interval=0.5)])

    plot, table = ipyviz.TrainingPlot(), ipyviz.ModelSummaryTable(model)   # same architecture
    follower = follow("run.jsonl", plot, table)     # polls twice a second in a background thread
    follower.wait(timeout=30)                       # here only: until the run's end has been read
    follower.stop()
    plot.history.to_dict()["loss"]                  # the 3 epoch losses, as History had them
    table.weight_stats["d"]["norm"]                 # 3 norms of layer d's weights
"""

from __future__ import annotations

import json
import os
import threading
import time
import traceback
import uuid

import keras
import numpy as np

from ipyviz.live import report_error
from ipyviz.summary.weights import weight_stats
from ipyviz.training.history import to_scalar

__all__ = ["RunWriter", "Follower", "follow"]


def _jsonable(value):
    """A log value as JSON: a float for a scalar, nested lists for an array, else its text."""
    number = to_scalar(value)
    if number is not None:
        return number
    try:
        return np.asarray(value, dtype=float).tolist()  # e.g. F1Score(average=None): the plot skips it
    except (TypeError, ValueError):
        return str(value)


def _logs(logs) -> dict:
    return {str(k): _jsonable(v) for k, v in (logs or {}).items()}


def _is_chief(model) -> bool:
    """False on the non-chief workers of a multi-worker run (they train too, but must not write)."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.process_index() == 0
    # tf.distribute's own answer to "should this worker save?" (True for one device and MirroredStrategy).
    extended = getattr(getattr(model, "distribute_strategy", None), "extended", None)
    return bool(getattr(extended, "should_checkpoint", True))


class RunWriter(keras.callbacks.Callback):
    """A Keras callback appending this run's logs (and optionally weight statistics) to ``path``.

    Args:
        path: the JSON-lines file; appended to (several ``fit()`` calls, several runs, one file).
        batch_interval: also write every batch's logs, in one write at most every ``batch_interval``
            seconds; ``None`` (default) writes epoch ends only and keeps Keras's async batch dispatch.
        weights: add each layer's L2 weight norm and relative change to the epoch records.

    Not a widget callback (:class:`~ipyviz.live.LiveCallback`): it sends no widget messages, so it
    neither waits for nor spends the widgets' message budget; it shares their rule that an error is
    reported once and never stops training.
    """

    def __init__(self, path, *, batch_interval: float | None = None, weights: bool = False):
        super().__init__()
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"RunWriter: the folder {folder!r} does not exist; create it first "
                                    f"(os.makedirs({folder!r}, exist_ok=True)) or pick another path")
        if os.path.isdir(path):
            raise IsADirectoryError(f"RunWriter: {path!r} is a folder; give a file name such as "
                                    f"{os.path.join(path, 'run.jsonl')!r}")
        if batch_interval is not None and not batch_interval >= 0:
            raise ValueError(f"batch_interval must be >= 0 seconds or None, got {batch_interval!r}")
        self.path, self.batch_interval, self.weights = path, batch_interval, bool(weights)
        self.failed = False
        self._lines: list[str] = []
        self._previous: dict[str, np.ndarray] = {}
        self._chief, self._last_write = True, 0.0
        if batch_interval is not None:
            # Bound on the instance only: a class method would switch off Keras's async batch dispatch.
            self.on_train_batch_end = self._on_train_batch_end

    # -- the Keras side: every step guarded, the first error printed and the writer switched off -----
    def _safely(self, fn, *args) -> None:
        if self.failed:
            return
        try:
            fn(*args)
        except Exception as error:  # noqa: BLE001 -- a log file must never stop training
            self.failed = True
            traceback.print_exc()
            report_error(None, f"RunWriter({self.path!r})", error)

    def on_train_begin(self, logs=None):
        self.failed = False
        self._safely(self._begin)
        self._safely(self._write)

    def _on_train_batch_end(self, batch, logs=None):
        self._safely(self._batch, batch, logs)
        if time.monotonic() - self._last_write >= self.batch_interval:
            self._safely(self._write)

    def on_epoch_end(self, epoch, logs=None):
        self._safely(self._epoch, epoch, logs)
        self._safely(self._write)

    def on_train_end(self, logs=None):
        self._safely(self._add, "end")
        self._safely(self._write)

    # -- records ---------------------------------------------------------------------------------
    def _add(self, kind: str, **fields) -> None:
        self._seq += 1
        record = {"run": self._run, "seq": self._seq, "type": kind, **fields}
        self._lines.append(json.dumps(record, separators=(",", ":")))

    def _begin(self):
        self._chief = _is_chief(self.model)
        self._run, self._seq, self._lines = uuid.uuid4().hex, 0, []
        params = self.params or {}
        self._add("begin", time=time.time(), epochs=params.get("epochs"), steps=params.get("steps"))

    def _batch(self, batch, logs):
        self._add("batch", batch=int(batch), logs=_logs(logs))

    def _epoch(self, epoch, logs):
        fields = {"epoch": int(epoch), "logs": _logs(logs)}
        if self.weights:
            fields["weights"] = weight_stats(self.model, self._previous)  # self.model: synced on JAX
        self._add("epoch", **fields)

    def _write(self):
        self._last_write = time.monotonic()
        lines, self._lines = self._lines, []
        if not lines or not self._chief:
            return
        data = ("\n".join(lines) + "\n").encode("utf-8")
        # One O_APPEND write of whole lines: a concurrent reader sees at most a partial *last* line.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)


class Follower:
    """Tails a ``RunWriter`` file and feeds widgets (made by :func:`follow`; see the module docstring).

    Attributes: ``records`` (records fed), ``skipped`` (lines that were not records), ``runs_ended``
    (``end`` records read), ``error`` (text of the error that stopped it, or ``""``).
    """

    def __init__(self, path, widgets, *, interval: float = 0.5):
        if not widgets:
            raise ValueError("follow() needs at least one widget: a TrainingPlot or a ModelSummaryTable")
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds between polls, got {interval!r}")
        self.path, self.interval = os.fspath(path), float(interval)
        self._sinks = [_sink(w) for w in widgets]
        self.widgets = list(widgets)
        self.records = self.skipped = self.runs_ended = 0
        self.error = ""
        self._file = None  # (file, (st_dev, st_ino)) of the open file
        self._offset, self._head, self._tail = 0, b"", b""
        self._last_seq: dict[str, int] = {}
        self._lock = threading.Lock()
        self._ended = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- control -----------------------------------------------------------------------------------
    def start(self) -> Follower:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"ipyviz follow {self.path}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 10) -> None:
        """Stop polling; once this returns nothing more is fed to the widgets."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        with self._lock:
            self._close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, runs: int = 1, timeout: float | None = None) -> bool:
        """Block until ``runs`` runs have ended in the file (all their records fed); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ended:
            while self.runs_ended < runs:
                if not self.running and self._thread is not None:
                    return False  # stopped (or failed): it will never get there
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._ended.wait(min(left, 0.2) if left is not None else 0.2)
            return True

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception as error:  # noqa: BLE001 -- shown in the widgets; the kernel goes on
                self.error = f"{type(error).__name__}: {error}"
                for widget in self.widgets:
                    report_error(widget, f"following {self.path}", error)
                break
            self._stop.wait(self.interval)
        with self._ended:
            self._ended.notify_all()

    # -- reading -----------------------------------------------------------------------------------
    def poll(self) -> int:
        """Read what is new in the file and feed it to the widgets now; returns the records fed."""
        with self._lock:
            if self._stop.is_set() and threading.current_thread() is self._thread:
                return 0
            fed, ended = 0, 0
            for line in self._complete_lines():
                record = self._parse(line)
                if record is None:
                    continue
                for sink in self._sinks:
                    sink.feed(record)
                fed += 1
                ended += record["type"] == "end"
            if fed:
                for sink in self._sinks:
                    sink.draw()
            self.records += fed
        if ended:
            with self._ended:
                self.runs_ended += ended
                self._ended.notify_all()
        return fed

    def _close(self):
        if self._file is not None:
            self._file[0].close()
        self._file, self._offset, self._head, self._tail = None, 0, b"", b""

    def _read(self) -> bytes:
        handle = self._file[0]
        handle.seek(self._offset)
        data = handle.read()  # an unbuffered file: each poll sees what is on disk now
        self._offset += len(data)
        if len(self._head) < 256:
            self._head = (self._head + data)[:256]
        return data

    def _rewritten(self, size: int) -> bool:
        """Truncated, or written again from the top (its first bytes are not the ones we read)."""
        if size < self._offset:
            return True
        handle = self._file[0]
        handle.seek(0)
        return handle.read(len(self._head)) != self._head

    def _complete_lines(self) -> list[bytes]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            stat = None  # not written yet, or between a rotation's rename and the new file
        lines = []
        if self._file is not None:
            if stat is None or (stat.st_dev, stat.st_ino) != self._file[1]:
                # Rotated, replaced or removed: finish the old file first, its last lines count.
                lines = self._split(self._read(), final=True)
                self._close()
            elif self._rewritten(stat.st_size):
                self._close()  # and read it again from the start (records already fed are skipped)
        if self._file is None and stat is not None:
            try:
                handle = open(self.path, "rb", buffering=0)
            except FileNotFoundError:
                return lines
            opened = os.fstat(handle.fileno())
            self._file = (handle, (opened.st_dev, opened.st_ino))
        if self._file is not None:
            lines += self._split(self._read())
        return lines

    def _split(self, data: bytes, final: bool = False) -> list[bytes]:
        """Whole lines of ``self._tail + data``; the unfinished rest waits (dropped when ``final``)."""
        data = self._tail + data
        *lines, self._tail = data.split(b"\n")
        if final:
            self._tail = b""
        return [line for line in lines if line.strip()]

    def _parse(self, line: bytes):
        try:
            record = json.loads(line)
            run, seq, kind = record["run"], int(record["seq"]), record["type"]
            # Checked here, before any widget is fed, so that a damaged record changes nothing.
            logs, weights = record.get("logs", {}), record.get("weights", {})
            if not (isinstance(logs, dict) and isinstance(weights, dict)
                    and all(isinstance(v, dict) for v in weights.values())):
                raise ValueError("logs and weights must be objects")
            if kind == "batch":
                record["batch"] = int(record["batch"])
        except (ValueError, TypeError, KeyError, AttributeError):
            self.skipped += 1  # not one of ours, or damaged: the rest of the file still counts
            return None
        if seq <= self._last_seq.get(run, 0):
            return None  # already fed (the file was copied again, or rewritten from the top)
        self._last_seq[run] = seq
        return record if kind in ("begin", "batch", "epoch", "end") else None


def follow(path, *widgets, interval: float = 0.5) -> Follower:
    """Tail the ``RunWriter`` file ``path`` in a background thread, feeding ``widgets``
    (``TrainingPlot``: the curves; ``ModelSummaryTable``: the weight statistics), every ``interval``
    seconds. Returns the started :class:`Follower`; call ``stop()`` when done."""
    return Follower(path, widgets, interval=interval).start()


# -- what each widget is fed ---------------------------------------------------------------------------
class _PlotSink:
    def __init__(self, plot):
        self.plot, self.runs = plot, set()

    def feed(self, record):
        history = self.plot.history
        kind, run, logs = record["type"], record["run"], record.get("logs") or {}
        if kind == "begin" or (run not in self.runs and kind in ("batch", "epoch")):
            history.begin_fit(record.get("steps"))  # a run whose start was lost still gets its own fit
        self.runs.add(run)
        if kind == "batch":
            history.add_batch(record["batch"], logs)
        elif kind == "epoch":
            history.add_epoch(logs)

    def draw(self):
        self.plot.update()


class _TableSink:
    def __init__(self, table):
        self.table = table
        self.stats = {path: dict(v) for path, v in table.weight_stats.items()}
        self.epochs = table.epoch

    def feed(self, record):
        weights = record.get("weights") if record["type"] == "epoch" else None
        if not weights:
            return
        for path, values in weights.items():
            series = self.stats.setdefault(path, {"norm": [], "change": []})
            series["norm"] = series["norm"] + [values.get("norm")]
            series["change"] = series["change"] + [values.get("change")]
        self.epochs += 1

    def draw(self):
        with self.table.hold_sync():
            self.table.weight_stats = {path: dict(v) for path, v in self.stats.items()}
            self.table.epoch = self.epochs


def _sink(widget):
    from ipyviz.summary.widget import ModelSummaryTable
    from ipyviz.training.plot import TrainingPlot

    if isinstance(widget, TrainingPlot):
        return _PlotSink(widget)
    if isinstance(widget, ModelSummaryTable):
        return _TableSink(widget)
    raise TypeError(f"follow() feeds a TrainingPlot or a ModelSummaryTable, got {type(widget).__name__}; "
                    "an EmbeddingScatter needs the matrices themselves: load a checkpoint and call "
                    "scatter.set_embeddings(matrix)")
