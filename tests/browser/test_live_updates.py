"""Trait changes made inside ``fit()`` reach the DOM while the cell is still running.

No ipyviz widget is involved: a ten-line inline anywidget counter proves the path every ipyviz
widget relies on (kernel -> comm -> anywidget view) in a real JupyterLab and Notebook 7.
"""

from __future__ import annotations

import sys
import time

import pytest

from .nbpage import both_frontends

pytestmark = pytest.mark.browser

COUNTER = ".ipyviz-test-counter"

COUNTER_CELL = '''
import anywidget, traitlets

class Counter(anywidget.AnyWidget):
    _esm = """
    function render({ model, el }) {
      el.classList.add("ipyviz-test-counter");
      const show = () => { el.textContent = "count=" + model.get("count"); };
      show();
      model.on("change:count", show);
      return () => model.off("change:count", show);
    }
    export default { render };
    """
    count = traitlets.Int(0).tag(sync=True)

counter = Counter()
counter
'''


def fit_cell(
    epochs: int, sleep: float = 1.0, gate: str | None = None, marker: str | None = None,
    with_ipyviz: bool = False,
) -> str:
    """A cell that trains a 5-weight model, setting ``counter.count`` at each epoch end and
    then sleeping ``sleep`` seconds so the browser has time to show it.

    ``gate``: after epoch 2, wait (up to 60 s) until the test creates this file, so the test
    decides when training goes on. ``marker``: write the time the fit ended to this file.
    Both files live next to the notebook (the kernel's working directory).
    ``with_ipyviz``: also show a ModelSummaryTable and a TrainingPlot fed by their callbacks.
    """
    widgets = (
        "import ipyviz\nfrom IPython.display import display\n"
        "table, plot = ipyviz.ModelSummaryTable(model), ipyviz.TrainingPlot()\ndisplay(table, plot)\n"
        "extra = [table.callback(), plot.callback()]\n"
    ) if with_ipyviz else "extra = []\n"
    return f"""
import os, sys, time
import numpy as np
import keras

GATE, MARKER = {gate!r}, {marker!r}
x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
{widgets}
def on_epoch_end(epoch, logs):
    counter.count = epoch + 1
    if GATE and epoch + 1 == 2:
        deadline = time.time() + 60
        while not os.path.exists(GATE):
            if time.time() > deadline:
                raise RuntimeError("the test never opened the gate " + GATE)
            time.sleep(0.05)
    time.sleep({sleep})

model.fit(x, y, epochs={epochs}, batch_size=32, verbose=0,
          callbacks=[*extra, keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)])
if MARKER:
    open(MARKER, "w").write(repr(time.time()))
print(sys.executable)
print("fit done", counter.count)
"""


def _count(text: str | None) -> int | None:
    if text and text.startswith("count="):
        return int(text.removeprefix("count="))
    return None


@both_frontends
def test_counter_updates_in_the_dom_while_fit_runs(nb):
    epochs = 6
    nb.write([COUNTER_CELL, fit_cell(epochs)])
    nb.open()
    nb.start_recording(COUNTER)
    nb.run_all(timeout=120)

    changes = nb.recording()
    live = [_count(c["text"]) for c in changes if c["running"] and _count(c["text"])]
    assert len(live) >= 2, f"expected >= 2 counter changes while fit() ran, saw {changes}"
    assert live == sorted(set(live)), f"epoch counts arrived out of order: {live}"
    assert nb.text(COUNTER) == f"count={epochs}"
    # The kernel is this venv's interpreter, and the cell saw every epoch.
    assert nb.stream_text(1).splitlines() == [sys.executable, f"fit done {epochs}"]
    nb.assert_no_browser_errors()


@both_frontends
def test_reload_mid_fit_shows_every_widget_at_once_and_keeps_updating(nb):
    """A page reloaded during ``fit()`` gets every widget back with its current state, then updates.

    Training parks after epoch 2 until the test opens a gate file, so the widgets can only come
    back mid-fit if the kernel answers the page's widget-restore request while the cell runs
    (ipyviz's callbacks install that: :mod:`ipyviz._busy_kernel`). Without it the page stays
    empty until the cell ends -- which it cannot do while parked.
    """
    epochs = 4
    gate, marker = f"{nb.name}.gate", f"{nb.name}.fit_end"
    nb.write([COUNTER_CELL, fit_cell(epochs, sleep=0.3, gate=gate, marker=marker, with_ipyviz=True)])
    nb.open()
    nb.start_run_all()
    nb.wait_for_text(COUNTER, lambda t: t == "count=2", timeout=90)  # training is now parked
    nb.page.wait_for_selector('.ipyviz-summary[data-epoch="2"]', timeout=30_000)
    nb.save()  # the reloaded page reads the notebook from disk: keep the widgets' outputs
    nb.reload()

    # Parked: every widget is back, showing epoch 2, before training may go on.
    assert nb.wait_for_text(COUNTER, lambda t: t == "count=2", timeout=30) == "count=2"
    nb.page.wait_for_selector('.ipyviz-summary[data-epoch="2"]', timeout=30_000)
    stats = nb.page.locator(".widget-html-content", has_text="best").first
    stats.wait_for(timeout=30_000)
    assert "epoch 2" in stats.text_content()
    assert not (nb.server.root / marker).exists()
    (nb.server.root / gate).touch()

    # ... and keeps updating until the end of the fit.
    nb.wait_for_text(COUNTER, lambda t: t == f"count={epochs}", timeout=90)
    nb.page.wait_for_selector(f'.ipyviz-summary[data-epoch="{epochs}"]', timeout=30_000)
    nb.page.wait_for_function(
        "(n) => [...document.querySelectorAll('.widget-html-content')].some(e => e.textContent.includes(n))",
        arg=f"epoch {epochs}", timeout=30_000)
    deadline = time.time() + 60
    while not (nb.server.root / marker).exists() and time.time() < deadline:
        time.sleep(0.2)
    assert (nb.server.root / marker).exists(), "fit() never ended"
    nb.assert_no_browser_errors()
