"""ModelSummaryTable: the interactive summary of a Keras model, with live weight statistics.

Example (in a notebook)::

    import keras, ipyviz
    model = keras.Sequential([keras.Input((30, 30, 1)), keras.layers.Conv2D(64, 7),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    table = ipyviz.ModelSummaryTable(model)
    table                                    # collapsible rows, formulas, totals, search, sort
    model.compile(optimizer="adam", loss="mse")
    # model.fit(x, y, epochs=5, callbacks=[table.callback()])  -> norm sparklines per layer

Works on the TensorFlow, JAX and torch backends; on torch a ``torch.nn.DataParallel`` wrapper is
shown as the model inside it.
"""

from __future__ import annotations

import traitlets

from ipyviz._widget import Widget, bundle
from ipyviz.live import LiveCallback, unwrap_model
from ipyviz.summary.rows import summarize
from ipyviz.summary.weights import weight_stats

__all__ = ["ModelSummaryTable", "WeightStatsCallback"]


class ModelSummaryTable(Widget):
    """An interactive ``model.summary()``: nested rows, exact formulas, MACs, memory, weight stats.

    Traits (the view draws from these alone): ``summary`` (``ModelSummary.to_dict()``),
    ``weight_stats`` (``{layer path: {"norm": [...], "change": [...]}}`` one value per recorded
    epoch), ``epoch`` (epochs recorded), ``error``.
    """

    _esm = bundle("summary")
    _css = bundle("summary", ".css")
    summary = traitlets.Dict().tag(sync=True)
    weight_stats = traitlets.Dict().tag(sync=True)
    epoch = traitlets.Int(0).tag(sync=True)

    def __init__(self, model, **kwargs):
        model = unwrap_model(model)  # a torch DataParallel wrapper: the Keras model inside
        data = summarize(model).to_dict()  # raises a clear TypeError on anything but a Keras model
        super().__init__(summary=data, **kwargs)
        self.model = model

    def refresh(self) -> None:
        """Re-read the model (after building it, freezing layers, or once the optimizer exists)."""
        self.summary = summarize(self.model).to_dict()

    def callback(self, every: int = 1) -> WeightStatsCallback:
        """A Keras callback that records each layer's weight norm and relative change every
        ``every`` epochs and updates the table in place."""
        return WeightStatsCallback(self, every=every)


class WeightStatsCallback(LiveCallback):
    """Per-layer L2 norm of the trainable weights and its relative change ``‖w − w_prev‖ / ‖w_prev‖``.

    Reads the weights at epoch ends only (one host copy per layer), so it costs nothing per batch.
    Every read goes through ``self.model`` (on JAX that syncs the trainer's state into the
    variables first), so each epoch's numbers are that epoch's weights on every backend.
    """

    def record_begin(self):
        self._previous = getattr(self, "_previous", {})  # kept across fit() calls with one callback
        self._stats = {path: dict(v) for path, v in self.widget.weight_stats.items()}
        self._recorded = self.widget.epoch

    def record_epoch(self, epoch, logs):
        for path, now in weight_stats(self.model, self._previous).items():
            series = self._stats.setdefault(path, {"norm": [], "change": []})
            series["norm"] = series["norm"] + [now["norm"]]
            series["change"] = series["change"] + [now["change"]]
        self._recorded += 1

    def flush(self):
        with self.widget.hold_sync():
            # The optimizer's variables exist only after the first step: count them now.
            self.widget.summary = summarize(self.model).to_dict()
            self.widget.weight_stats = {path: dict(v) for path, v in self._stats.items()}
            self.widget.epoch = self._recorded

