"""ModelSummaryTable and TrainingPlot in a real front end: nested rows, search, sort, escaping,
and live updates arriving while ``fit()`` runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .nbpage import both_frontends

pytestmark = pytest.mark.browser

EVIL = "<img src=x onerror=window.__ipyvizXSS=1>"

NESTED_MODEL = f"""
import keras, ipyviz
from keras import layers
inner = keras.Sequential([keras.Input((8,)), layers.Dense(16, name="inner_dense"),
                          layers.BatchNormalization(name="inner_bn")], name="backbone")
x = keras.Input((8,))
model = keras.Model(x, layers.Dense(3, name={EVIL!r})(inner(x)), name="outer")
table = ipyviz.ModelSummaryTable(model)
table
"""

ROW = ".ipyviz-summary tr.ipyviz-summary-row"


def row_paths(nb):
    return nb.page.eval_on_selector_all(ROW, "rows => rows.map(r => r.dataset.path)")


@both_frontends
def test_table_expands_nested_model_searches_sorts_and_escapes(nb):
    nb.write([NESTED_MODEL])
    nb.open()
    nb.run_all(timeout=90)
    nb.wait_for_text(".ipyviz-summary", lambda t: "backbone" in t, timeout=30)
    paths = row_paths(nb)
    assert "backbone" in paths and "backbone/inner_dense" not in paths  # collapsed at first

    nb.page.click('.ipyviz-summary-toggle[data-path="backbone"]')
    paths = row_paths(nb)
    assert paths.index("backbone/inner_dense") == paths.index("backbone") + 1
    assert "backbone/inner_bn" in paths
    formula = nb.text('tr[data-path="backbone/inner_dense"] .ipyviz-summary-formula')
    assert formula == "16 × (8 + 1)"
    totals = nb.text(".ipyviz-summary-totals")
    assert "Total 259" in totals.replace(",", "") and "Non-trainable 32" in totals.replace(",", "")

    # The HTML-bearing layer name is text: shown literally, no element made, no script run.
    assert EVIL in nb.text(".ipyviz-summary")
    assert nb.page.locator(".ipyviz-summary img").count() == 0
    assert nb.page.evaluate("() => window.__ipyvizXSS === undefined")

    nb.page.fill("input.ipyviz-summary-search", "batchnorm")
    assert row_paths(nb) == ["backbone", "backbone/inner_bn"]
    nb.page.fill("input.ipyviz-summary-search", "")

    nb.page.click('.ipyviz-summary th[data-sort="params"]')  # ascending
    nb.page.click('.ipyviz-summary th[data-sort="params"]')  # descending
    params = nb.page.eval_on_selector_all(
        ROW + " .ipyviz-summary-count", "cells => cells.map(c => Number(c.textContent.replace(/,/g, '')))")
    assert params == sorted(params, reverse=True) and params[0] == 259 - 51  # the backbone first
    nb.assert_no_browser_errors()


FIT = """
import time, numpy as np, keras, ipyviz
from keras import layers
rng = np.random.default_rng(0)
x, y = rng.normal(size=(64, 6)).astype("float32"), rng.integers(0, 2, 64)
model = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu", name="hidden"),
                          layers.Dense(2, activation="softmax", name="head")], name="live")
model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
table, plot = ipyviz.ModelSummaryTable(model), ipyviz.TrainingPlot()
display(table, plot)
"""

RUN = """
slow = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: time.sleep(1.0))
model.fit(x, y, epochs=5, batch_size=16, validation_split=0.25, verbose=0,
          callbacks=[table.callback(), plot.callback(batch_interval=0.1), slow])
print("epochs recorded", table.epoch, len(plot.history.to_dict()["loss"]))
"""


@both_frontends
def test_live_updates_arrive_during_fit(nb):
    nb.write([FIT, RUN])
    nb.open()
    nb.start_recording('.ipyviz-summary tr[data-path="head"] .ipyviz-summary-weights')
    nb.run_all(timeout=120)
    live = [c["text"] for c in nb.recording() if c["running"] and c["text"]]
    assert len(set(live)) >= 2, f"the weight norm changed fewer than twice during fit(): {nb.recording()}"
    assert nb.page.get_attribute(".ipyviz-summary", "data-epoch") == "5"
    assert nb.page.get_attribute('tr[data-path="head"] svg.ipyviz-summary-spark', "data-points") == "5"
    assert nb.stream_text(1).strip() == "epochs recorded 5 5"
    # The bqplot figure drew the loss line with its 5 epoch points, and the stats line is there.
    stats = nb.page.locator(".widget-html-content", has_text="best").first
    stats.wait_for(timeout=20_000)
    assert "epoch 5" in stats.text_content()
    drawn = nb.page.eval_on_selector_all(
        ".bqplot path.line", "paths => paths.filter(p => (p.getAttribute('d') || '').includes('L')).length")
    assert drawn >= 2  # at least the train and validation loss lines
    nb.assert_no_browser_errors()
    if os.environ.get("IPYVIZ_SCREENSHOTS") == "1" and nb.server.flavor == "lab":
        docs = Path(__file__).resolve().parents[2] / "docs"
        docs.mkdir(exist_ok=True)
        nb.page.locator(".jp-Cell-outputArea").first.screenshot(path=str(docs / "screenshot.png"))


PLOT_EVIL = f"""
import numpy as np, keras, ipyviz
EVIL = {EVIL!r}
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
plot = ipyviz.TrainingPlot(directions={{EVIL: "max"}})
display(plot)
custom = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update({{EVIL: epoch / 10}}))
model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=3, verbose=0, callbacks=[custom, plot.callback()])
"""


def test_plot_shows_a_metric_name_holding_html_as_text(nb):
    """A metric name can be anything a user logs; the figure title and stats show it literally."""
    nb.write([PLOT_EVIL])
    nb.open()
    nb.run_all(timeout=90)
    nb.page.wait_for_function(
        "(evil) => [...document.querySelectorAll('.widget-html-content')].some(e => e.textContent === evil)",
        arg=EVIL, timeout=30_000)
    assert nb.page.locator(".jp-OutputArea img").count() == 0
    assert nb.page.evaluate("() => window.__ipyvizXSS === undefined")
    nb.assert_no_browser_errors()
