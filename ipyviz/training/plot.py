"""``TrainingPlot``: live loss/metric curves during ``fit()``, one bqplot figure per metric, updated in place.

One persistent ipywidgets container (never ``clear_output``, so other output of the cell stays): a figure
per metric with its train line and its ``val_`` line, optional per-batch points as a lighter line on a
fractional-epoch x axis, the current and best values under each figure and a linear/log toggle. Long
histories are decimated (:mod:`ipyviz.training.decimate`) to at most ``max_points`` points a line, and
one update sends one message per line that changed.

Example::

    import keras, numpy as np
    import ipyviz

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.random.rand(64, 4), np.random.randint(0, 3, 64)

    plot = ipyviz.TrainingPlot()
    plot                                            # shows the (empty) widget in a notebook
    model.fit(x, y, validation_split=0.25, epochs=5, verbose=0,
              callbacks=[plot.callback(batch_interval=0.2)])
    model.fit(x, y, epochs=3, verbose=0, callbacks=[plot.callback()])   # continues at epoch 6
    plot.history.to_dict()["loss"]                  # the 8 epoch losses
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Iterable, Mapping

import bqplot
import ipywidgets as widgets
import numpy as np
import traitlets

from ipyviz.live import LiveCallback
from ipyviz.training.decimate import decimate
from ipyviz.training.history import TrainingHistory, split_key

__all__ = ["TrainingPlot", "TrainingPlotCallback", "metric_direction"]

COLORS = {"train": "#1f77b4", "validation": "#ff7f0e"}
LABELS = {"train": "train", "validation": "validation"}
DIRECTIONS = ("min", "max", None)
_MARKER_LIMIT = 150  # epoch points above which dots would only clutter the line
_PANEL_MESSAGES = 30  # opening a metric's figures, axes, scales, toggle, stack, texts and their layouts
_LINE_MESSAGES = 4  # opening a (linear, log) pair of marks and adding them to the two figures

# Name rules used when neither the user nor the model's metric objects say which way is better.
_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2", "cosine_similarity",
              "pearson", "concordance", "true_positives", "true_negatives", "specificity", "sensitivity")
_MIN_WORDS = ("loss", "error", "hinge", "crossentropy", "divergence", "poisson", "log_cosh", "mse", "mae",
              "mape", "msle", "rmse", "false_positives", "false_negatives", "perplexity")


def metric_direction(name: str, known: Mapping[str, str | None] | None = None) -> str | None:
    """Which value of metric ``name`` (without ``val_``) is best: ``"min"``, ``"max"`` or ``None`` (unknown).

    Decided in this order: ``known`` (the user's ``directions`` and the ``_direction`` Keras metric objects
    carry, the same source ``EarlyStopping(mode="auto")`` reads); ``loss`` and names ending in ``loss`` ->
    min; names holding a higher-is-better word (accuracy, auc, precision, recall, f1, iou, r2, ...) -> max;
    names holding a lower-is-better word (error, hinge, crossentropy, divergence, mse, mae, ...) -> min;
    otherwise ``None`` (e.g. ``learning_rate``), and the widget shows the minimum and maximum instead.
    """
    if known and name in known:
        return known[name]
    lowered = name.lower()
    if lowered.endswith("loss"):
        return "min"
    if any(word in lowered for word in _MAX_WORDS):
        return "max"
    if any(word in lowered for word in _MIN_WORDS):
        return "min"
    return None


def _model_directions(model) -> dict[str, str]:
    """``{metric name: "min"|"max"}`` from the ``_direction`` of the model's compiled metric objects."""
    found: dict[str, str] = {}
    try:
        stack = list(getattr(model, "metrics", None) or [])
        while stack:
            metric = stack.pop()
            inner = getattr(metric, "metrics", None)  # CompileMetrics / MetricsList wrap the real ones
            if isinstance(inner, (list, tuple)) and inner is not metric:
                stack.extend(inner)
            direction = getattr(metric, "_direction", None)
            if direction in ("up", "down"):
                found[str(metric.name)] = "max" if direction == "up" else "min"
    except Exception:  # noqa: BLE001 -- an odd model only costs us the hint, the name rules still apply
        pass
    return found


# Text follows the theme: the series colours are readable on white or on black, never on both
# (orange on white is 2.5:1), so words take them mixed with the theme's text colour (>= 4.5:1 in
# JupyterLab Light and Dark, checked by tests/browser/test_themes.py); the lines keep the pure colour.
_TEXT = "var(--jp-ui-font-color1, var(--vscode-editor-foreground, #1f1f1f))"


def _text_color(color: str) -> str:
    return f"color-mix(in srgb, {color} 55%, {_TEXT})"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _finite(y: np.ndarray, log: bool) -> np.ndarray:
    """What a scale can draw: inf would stretch the axis to infinity and a log scale cannot show y <= 0;
    NaN makes bqplot leave a gap and is ignored when the axis range is computed."""
    bad = ~np.isfinite(y)
    if log:
        bad |= y <= 0
    return np.where(bad, np.nan, y) if bad.any() else y


class _Panel:
    """One metric: a header (name + linear/log toggle), a stack of a linear and a log figure, the stats."""

    def __init__(self, group: str, direction: str | None, log_y: bool):
        self.group = group
        self.direction = direction
        self.lines: dict[tuple[str, str], tuple[bqplot.Lines, bqplot.Lines]] = {}  # (key, level) -> lin, log
        self.sent: dict[tuple[str, str], int] = {}
        self.stats_text = ""
        self.x = bqplot.LinearScale()
        legend = "bottom-right" if direction == "max" else "top-right"  # away from where the curve goes
        self.figures = []
        for y_scale in (bqplot.LinearScale(), bqplot.LogScale()):
            axes = [bqplot.Axis(scale=self.x, label="epoch", grid_lines="dashed"),
                    bqplot.Axis(scale=y_scale, orientation="vertical", grid_lines="dashed", tick_format=".3g",
                                # d3's log ticks on a narrow range would crowd the axis
                                num_ticks=6 if isinstance(y_scale, bqplot.LogScale) else None)]
            self.figures.append(bqplot.Figure(
                marks=[], axes=axes, legend_location=legend, min_aspect_ratio=0.01, max_aspect_ratio=100,
                legend_text={"font-size": "11px", "fill": _TEXT},
                legend_style={"stroke-width": 0, "fill-opacity": 0.6},
                fig_margin=dict(top=10, bottom=40, left=60, right=15), animation_duration=0,
                layout=widgets.Layout(width="100%", height="250px")))
        self.toggle = widgets.ToggleButtons(options=["linear", "log"], index=int(log_y),
                                            tooltips=["linear y axis", "logarithmic y axis (y > 0 only)"],
                                            style={"button_width": "auto"})
        self.stack = widgets.Stack(self.figures, selected_index=int(log_y))
        # Front-end only: the browser switches figures itself, so the toggle works while fit() is running
        # (browser->kernel messages wait until the cell ends; a kernel-side toggle would do nothing).
        self.link = widgets.jslink((self.toggle, "index"), (self.stack, "selected_index"))
        self.title = widgets.HTML(f"<b>{html.escape(group)}</b>")
        self.stats = widgets.HTML("")
        header = widgets.HBox([self.title, self.toggle], layout=widgets.Layout(
            justify_content="space-between", align_items="center"))
        self.box = widgets.VBox([header, self.stack, self.stats], layout=widgets.Layout(min_width="320px"))

    def close(self) -> None:
        """Close every widget model this panel made (front-end views go with them)."""
        for figure in self.figures:
            for axis in figure.axes:
                axis.scale.close()
                axis.close()
            figure.close()
        for pair in self.lines.values():
            for mark in pair:
                mark.close()
        for widget in (self.link, self.toggle, self.stack, self.title, self.stats, *self.box.children, self.box):
            widget.close()

    def line(self, key: str, level: str) -> tuple[bqplot.Lines, bqplot.Lines]:
        """The (linear, log) pair of marks for ``key`` at ``level`` ("epoch" or "batch"), made on first use."""
        pair = self.lines.get((key, level))
        if pair is None:
            kind = split_key(key)[1]
            label = LABELS[kind] + (" (per batch)" if level == "batch" else "")
            pair = tuple(
                bqplot.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": self.x, "y": fig.axes[1].scale},
                             colors=[COLORS[kind]], labels=[label], display_legend=True,
                             stroke_width=1 if level == "batch" else 2,
                             opacities=[0.35 if level == "batch" else 1.0],
                             marker="circle" if level == "epoch" else None, marker_size=16)
                for fig in self.figures)
            self.lines[(key, level)] = pair
            # Batch lines go underneath so the epoch points stay readable.
            for fig, mark in zip(self.figures, pair):
                fig.marks = [mark, *fig.marks] if level == "batch" else [*fig.marks, mark]
        return pair


class TrainingPlot(widgets.VBox):
    """Live training curves: a figure per metric, train and validation together, updated in place.

    Args:
        metrics: names to show (``"loss"``, ``"accuracy"``, ...); a name selects the train and the ``val_``
            line of that metric, ``"val_loss"`` selects only the validation line. ``None`` shows everything
            the logs hold. Figures appear in this order (``loss`` first when ``None``).
        directions: ``{metric: "min" | "max" | None}`` for metrics whose best value the built-in rules
            (see :func:`metric_direction`) would get wrong or cannot tell.
        max_points: most points sent per line; longer histories are decimated (endpoints and extrema kept).
        log_y: start with a logarithmic y axis (``True``, or a collection of metric names).

    The per-figure ``linear | log`` toggle runs in the browser alone (two figures in an ``ipywidgets.Stack``
    switched by ``jslink``), so it works while ``fit()`` is still running. Best values are taken over
    epoch-end values (per-batch values are running means of an epoch in progress); "now" is the latest
    value at either level.

    Attributes:
        history: the :class:`~ipyviz.training.history.TrainingHistory` (``history.to_dict()`` matches
            Keras's ``History.history``, over all fits since the last :meth:`reset`).
        error: text of the last update error (also shown, escaped, at the top of the widget).
    """

    error = traitlets.Unicode("")

    def __init__(self, metrics: str | Iterable[str] | None = None, *, directions: Mapping | None = None,
                 max_points: int = 1500, log_y: bool | Iterable[str] = False, **kwargs):
        self._metrics = self._check_metrics(metrics)
        self._directions = self._check_directions(directions)
        if not isinstance(max_points, int) or max_points < 8:
            raise ValueError(f"max_points must be an integer >= 8 (points sent per line), got {max_points!r}")
        self.max_points = max_points
        self._log_y = log_y if isinstance(log_y, bool) else set(self._check_metrics(log_y) or ())
        self.history = TrainingHistory(max_points)
        self._model_directions: dict[str, str] = {}
        self._panels: dict[str, _Panel] = {}
        self._error_box = widgets.HTML("", layout=widgets.Layout(display="none"))
        self._note = widgets.HTML("", layout=widgets.Layout(display="none"))
        self._grid = widgets.GridBox([], layout=widgets.Layout(
            grid_template_columns="repeat(auto-fill, minmax(360px, 1fr))", grid_gap="8px", width="100%"))
        super().__init__([self._error_box, self._note, self._grid], **kwargs)

    # -- validation ---------------------------------------------------------------------------------
    @staticmethod
    def _check_metrics(metrics):
        if metrics is None:
            return None
        if isinstance(metrics, str):
            metrics = [metrics]
        try:
            names = list(metrics)
        except TypeError:
            raise TypeError(f"metrics must be None, a metric name or a list of names, got {metrics!r}") from None
        bad = [name for name in names if not isinstance(name, str) or not name]
        if bad:
            raise TypeError(f"metric names must be non-empty strings such as 'loss' or 'accuracy', got {bad!r}")
        return names

    @staticmethod
    def _check_directions(directions):
        if directions is None:
            return {}
        if not isinstance(directions, Mapping):
            raise TypeError(f"directions must be a dict such as {{'loss': 'min'}}, got {directions!r}")
        bad = {k: v for k, v in directions.items() if v not in DIRECTIONS}
        if bad:
            raise ValueError(f"directions values must be 'min', 'max' or None, got {bad!r}")
        return {split_key(str(k))[0]: v for k, v in directions.items()}

    @traitlets.observe("error")
    def _show_error(self, change):
        self._error_box.value = (f'<pre style="color:{_text_color("#c62828")};white-space:pre-wrap;margin:0">'
                                 f"{html.escape(change['new'])}</pre>")
        self._error_box.layout.display = "" if change["new"] else "none"

    # -- public API ---------------------------------------------------------------------------------
    def callback(self, batch_interval: float | None = None, every: int = 1) -> TrainingPlotCallback:
        """A Keras callback that feeds this plot during ``fit()``.

        Args:
            batch_interval: seconds between per-batch updates (e.g. ``0.2``; the browser is happy with up to
                ~10 updates/s). ``None`` (default) draws epoch points only and keeps Keras's asynchronous
                batch dispatch on. Every batch is recorded; only the sending is throttled.
            every: redraw every ``every`` epochs (every epoch is still recorded, the last one always drawn).
        """
        return TrainingPlotCallback(self, every=every, batch_interval=batch_interval)

    def update(self) -> int:
        """Draw what changed in :attr:`history` since the last draw, after feeding the history yourself
        (:func:`ipyviz.remote.follow` does); returns about how many widget messages that took."""
        return self._render()

    def follow(self, path, *, interval: float = 0.5):
        """Tail a :class:`ipyviz.remote.RunWriter` file into this plot; returns the running ``Follower``."""
        from ipyviz.remote import follow

        return follow(path, self, interval=interval)

    def reset(self) -> None:
        """Forget the recorded history and remove every figure; the next ``fit()`` starts at epoch 1."""
        self.history.reset()
        self._grid.children = ()
        for panel in self._panels.values():
            panel.close()
        self._panels = {}
        self.error = ""
        self._note.value, self._note.layout.display = "", "none"

    # -- drawing ------------------------------------------------------------------------------------
    def _shown(self, key: str) -> bool:
        return self._metrics is None or key in self._metrics or split_key(key)[0] in self._metrics

    def _order(self, group: str) -> tuple:
        if self._metrics is None:
            return (group != "loss",)
        positions = [i for i, name in enumerate(self._metrics) if split_key(name)[0] == group]
        return (min(positions, default=len(self._metrics)),)

    def _panel(self, group: str) -> _Panel:
        panel = self._panels.get(group)
        if panel is None:
            direction = metric_direction(group, {**self._model_directions, **self._directions})
            log_y = self._log_y if isinstance(self._log_y, bool) else group in self._log_y
            panel = self._panels[group] = _Panel(group, direction, log_y)
            ordered = sorted(self._panels.values(), key=lambda p: self._order(p.group))  # stable sort
            self._grid.children = tuple(p.box for p in ordered)
        return panel

    def _render(self) -> int:
        """Send what changed since the last call: one message per changed line, stats text and note.

        Returns about how many widget messages that took (what :class:`ipyviz.live.MessageBudget` counts).
        """
        history = self.history
        sent = 0
        with contextlib.ExitStack() as hold:
            touched = set()
            for key in history.keys():
                if not self._shown(key):
                    continue
                group = split_key(key)[0]
                if group not in self._panels:
                    sent += _PANEL_MESSAGES
                panel = self._panel(group)
                version = history.version.get(key, 0)
                for level in ("epoch", "batch"):
                    if panel.sent.get((key, level)) == version:
                        continue
                    if level == "epoch":
                        x, y = decimate(*history.epoch_series(key), self.max_points)
                    else:  # already decimated as it grew: O(max_points) however long the run
                        x, y = history.batch_series(key, decimated=True)
                    if len(x) == 0:
                        continue
                    if (key, level) not in panel.lines:
                        sent += _LINE_MESSAGES
                    for mark, log in zip(panel.line(key, level), (False, True)):
                        hold.enter_context(mark.hold_sync())
                        sent += 1
                        mark.x, mark.y = x, _finite(y, log)
                        if level == "epoch":
                            marker = "circle" if len(x) <= _MARKER_LIMIT else None
                            if mark.marker != marker:
                                mark.marker = marker
                    panel.sent[(key, level)] = version
                    touched.add(group)
            for group in touched:
                panel = self._panels[group]
                text = self._stats_html(panel)
                if text != panel.stats_text:
                    panel.stats_text = panel.stats.value = text
                    sent += 1
            sent += self._update_note()
        return sent

    def _stats_html(self, panel: _Panel) -> str:
        parts = []
        for kind, key in (("train", panel.group), ("validation", "val_" + panel.group)):
            if not self._shown(key):
                continue
            ex, ey = self.history.epoch_series(key)
            batch = self.history.last_batch(key)
            if len(ey) == 0 and batch is None:
                continue
            if batch is not None and (len(ex) == 0 or batch[0] > ex[-1]):
                now = f"now {_fmt(batch[1])} (epoch {batch[0]:.2f})"
            else:
                now = f"now {_fmt(ey[-1])} (epoch {int(ex[-1])})"
            best = ""
            if len(ey):
                finite = np.where(np.isnan(ey), np.inf if panel.direction != "max" else -np.inf, ey)
                if panel.direction == "min":
                    i = int(np.argmin(finite))
                    best = f" · best {_fmt(ey[i])} (epoch {int(ex[i])}, lowest)"
                elif panel.direction == "max":
                    i = int(np.argmax(finite))
                    best = f" · best {_fmt(ey[i])} (epoch {int(ex[i])}, highest)"
                else:
                    best = f" · min {_fmt(np.nanmin(ey) if not np.isnan(ey).all() else np.nan)}" \
                           f" · max {_fmt(np.nanmax(ey) if not np.isnan(ey).all() else np.nan)}"
            parts.append(f'<span style="color:{_text_color(COLORS[kind])}"><b>{html.escape(LABELS[kind])}</b></span> '
                         f"{html.escape(now + best)}")
        return '<div style="font-size:12px;line-height:1.5">' + "<br>".join(parts) + "</div>"

    def _update_note(self) -> int:
        notes = []
        if self._metrics is not None and self.history.epochs_done:
            seen = self.history.keys()
            missing = [m for m in self._metrics
                       if m not in seen and not any(split_key(k)[0] == m for k in seen)]
            if missing:
                notes.append(f"not in the training logs: {', '.join(missing)} "
                             f"(logged: {', '.join(seen) or 'nothing'})")
        if self.history.skipped:
            notes.append(f"not plotted (not a single number): {', '.join(sorted(self.history.skipped))}")
        text = "<br>".join(html.escape(note) for note in notes)
        text = f'<div style="font-size:12px;opacity:0.8">{text}</div>' if text else ""
        if text == self._note.value:
            return 0
        self._note.value = text
        self._note.layout.display = "" if text else "none"
        return 2


class TrainingPlotCallback(LiveCallback):
    """Feeds a :class:`TrainingPlot` during ``fit()`` (made by :meth:`TrainingPlot.callback`)."""

    def __init__(self, plot: TrainingPlot, *, every: int = 1, batch_interval: float | None = None):
        if not isinstance(plot, TrainingPlot):
            raise TypeError(f"TrainingPlotCallback needs a TrainingPlot, got {type(plot).__name__}")
        super().__init__(plot, every=every, batch_interval=batch_interval)
        self._directions_read = False

    def record_begin(self):
        self._directions_read = False
        self.widget.history.begin_fit((self.params or {}).get("steps"))

    def record_batch(self, batch, logs):
        self.widget.history.add_batch(batch, logs)

    def observe_epoch(self, epoch, logs):
        # Every epoch, not only the drawn ones, so the curve stays exact with every > 1.
        self.widget.history.add_epoch(logs)

    def flush(self):
        if not self._directions_read and self.widget.history.keys():
            # Keras builds the compiled metric objects on the first train step, so they can only be asked
            # once data has arrived (EarlyStopping waits for the first epoch end for the same reason).
            self.widget._model_directions.update(_model_directions(self.model))
            self._directions_read = True
        return self.widget._render()
