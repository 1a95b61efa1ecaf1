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
    epochs: int, sleep: float = 1.0, gate: str | None = None, marker: str | None = None
) -> str:
    """A cell that trains a 5-weight model, setting ``counter.count`` at each epoch end and
    then sleeping ``sleep`` seconds so the browser has time to show it.

    ``gate``: after epoch 2, wait (up to 60 s) until the test creates this file, so the test
    decides when training goes on. ``marker``: write the time the fit ended to this file.
    Both files live next to the notebook (the kernel's working directory).
    """
    return f"""
import os, sys, time
import numpy as np
import keras

GATE, MARKER = {gate!r}, {marker!r}
x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")

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
          callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)])
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


def test_reload_mid_fit_rebuilds_the_view_from_traits(nb):
    """A page reloaded during ``fit()`` shows the widget again, with the kernel's value.

    Training pauses after epoch 2 until the reloaded page is connected, so the reload always
    lands mid-fit. Observed with JupyterLab 4.6 / jupyterlab_widgets 3.0 / ipykernel 7.4: the
    reloaded page restores widget models with a ``comm_info_request`` on the shell channel,
    which waits behind the running cell, so the view comes back when the cell ends, not
    mid-fit. The test asserts what holds: the rebuilt view shows the final trait value (a view
    that depended on custom messages or on state kept in the old page would show nothing or
    a stale count).
    """
    epochs = 4
    gate, marker = f"{nb.name}.gate", f"{nb.name}.fit_end"
    nb.write([COUNTER_CELL, fit_cell(epochs, sleep=0.3, gate=gate, marker=marker)])
    nb.open()
    nb.start_run_all()
    nb.wait_for_text(COUNTER, lambda t: t == "count=2", timeout=90)  # training is now parked
    nb.save()  # the reloaded page reads the notebook from disk: keep the widget's output
    nb.reload()
    reloaded_at = time.time()
    (nb.server.root / gate).touch()

    after = nb.wait_for_text(COUNTER, lambda t: _count(t) is not None, timeout=90)
    fit_end = float((nb.server.root / marker).read_text())
    assert reloaded_at < fit_end, "the page finished reloading after fit() ended"
    assert after == f"count={epochs}"
    nb.assert_no_browser_errors()
