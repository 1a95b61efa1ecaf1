"""GradCamViewer and ``%gradcam`` in a real front end: heatmaps that change while ``fit()`` runs,
the epoch slider, the local controls, enlarging, escaping, the class picker and the magic.

The notebooks print the FNV-1a hash of every map the kernel sent (the hash the view puts in each
cell's ``data-heatmap``), so the tests check that the browser shows *those* bytes, frame by frame,
not merely that something changed.

Screenshot for the README (JupyterLab, after fit)::

    IPYVIZ_SCREENSHOTS=1 TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/pytest tests/browser/test_gradcam.py -q \\
        -k class_picker                                    # writes docs/gradcam.png
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from .nbpage import both_frontends

pytestmark = pytest.mark.browser

EVIL = "<img src=x onerror=window.__x=1>"
ROOT = ".ipyviz-gradcam"
CELL = ".ipyviz-gradcam-grid > .ipyviz-gradcam-cell"
DOCS = Path(__file__).resolve().parents[2] / "docs"

# A tiny CNN on 16x16 synthetic shapes (square / cross / ring at random places): builds and trains
# in a second or two on 2 shared cores, and its Grad-CAM maps (conv2, 5x5) move as it learns.
SETUP = """
import json, os, time
import numpy as np, keras, ipyviz
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

def shapes(n):
    x = 0.1 * rng.random((n, 16, 16, 1), dtype=np.float32)
    y = rng.integers(0, 3, n)
    y[:6] = [0, 1, 2, 0, 1, 2]  # every class among the images shown
    for img, k in zip(x, y):
        r, c = rng.integers(1, 10, 2)
        if k == 0:
            img[r:r + 6, c:c + 6] = 1.0
        elif k == 1:
            img[r + 2:r + 4, c:c + 6] = 1.0
            img[r:r + 6, c + 2:c + 4] = 1.0
        else:
            img[r:r + 6, c:c + 6] = 1.0
            img[r + 2:r + 4, c + 2:c + 4] = 0.1
    return x, y

x, y = shapes({n})
model = keras.Sequential([keras.Input((16, 16, 1)),
    layers.Conv2D(8, 3, activation="relu", name="conv1"), layers.MaxPooling2D(name="pool"),
    layers.Conv2D(8, 3, activation="relu", name="conv2"), layers.GlobalAveragePooling2D(name="gap"),
    layers.Dense(3, activation="softmax", name="head")], name="shapes")
model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])

def fnv(data):
    # The view's hashBytes (js/gradcam/data.js): 32-bit FNV-1a as 8 hex digits.
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return f"{{h:08x}}"

def frame_hashes(frame):
    # What each cell's data-heatmap must read for this frame ("" for an empty map).
    size = frame["map_shape"][0] * frame["map_shape"][1]
    return ["" if frame["empty"][i] else fnv(frame["maps"][i * size:(i + 1) * size])
            for i in range(len(frame["empty"]))]
"""

VIEWER = """
viewer = ipyviz.GradCamViewer(model, x[:6], labels=y[:6], class_names={names!r})
viewer
"""

# Training parks after epoch 2 until the test creates GATE: the local controls are then
# exercised while the kernel is provably busy inside fit().
FIT_GATED = """
GATE = {gate!r}

def on_epoch_end(epoch, logs):
    if epoch + 1 == 2:
        deadline = time.time() + 90
        while not os.path.exists(GATE):
            if time.time() > deadline:
                raise RuntimeError("the test never opened the gate " + GATE)
            time.sleep(0.05)
    time.sleep(1.0)  # let the browser show each epoch's frame

model.fit(x, y, epochs={epochs}, batch_size=16, verbose=0,
          callbacks=[viewer.callback(), keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)])
"""

HASHES = """
print("HASHES " + json.dumps([frame_hashes(f) for f in viewer.frames]))
print("EPOCHS " + json.dumps([f["epoch"] for f in viewer.frames]))
"""

STATE_JS = """(sel) => {
  const root = document.querySelector(sel.root);
  if (!root) return null;
  return { epoch: root.dataset.epoch ?? null, frame: root.dataset.frame ?? null,
           frames: root.dataset.frames ?? null, training: root.dataset.training ?? null,
           hashes: [...root.querySelectorAll(sel.cell)].map((c) => c.dataset.heatmap ?? null) };
}"""


def state(nb, root=ROOT):
    """The first viewer's data- attributes: epoch, frame, frames, training, hashes per cell."""
    return nb.page.evaluate(STATE_JS, {"root": root, "cell": CELL})


def set_range(nb, selector, value):
    """Move a range input the way a user's drag ends: new value, then input and change events."""
    nb.page.eval_on_selector(
        selector,
        """(el, v) => { el.value = String(v);
                        el.dispatchEvent(new Event('input', { bubbles: true }));
                        el.dispatchEvent(new Event('change', { bubbles: true })); }""",
        value,
    )


def attr(nb, name, selector=ROOT):
    return nb.page.get_attribute(selector, name)


def pixels(nb, selector):
    """The canvas's pixels as a data URL: differs when the view repainted something else."""
    return nb.page.eval_on_selector(selector, "c => c.toDataURL()")


def printed_json(nb, cell, tag):
    for line in nb.stream_text(cell).splitlines():
        if line.startswith(tag + " "):
            return json.loads(line[len(tag) + 1:])
    raise AssertionError(f"cell {cell} printed no {tag} line: {nb.stream_text(cell)!r}")


def assert_escaped(nb):
    """The HTML-bearing class name is text: shown literally, no element made, no script run."""
    assert EVIL in nb.text(ROOT)
    assert nb.page.locator(f"{ROOT} img").count() == 0
    assert nb.page.evaluate("() => window.__x === undefined")


def watch_until(nb, states, done, timeout):
    """Poll the viewer while the cells run, appending each new state with ``running`` (read
    after the state, so True means the state was on screen during the run); stop when
    ``done(state)`` or when the run ends. Returns the last state."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        current = state(nb)
        running = nb.running()
        if current is not None and (not states or states[-1]["state"] != current):
            states.append({"state": current, "running": running})
        last = current
        if not running or (current is not None and done(current)):
            return last
        time.sleep(0.05)
    raise TimeoutError(f"after {timeout}s still waiting; last viewer state: {last}")


def maybe_screenshot(nb):
    """docs/gradcam.png for the README, only with IPYVIZ_SCREENSHOTS=1 (the suite writes nothing)."""
    if os.environ.get("IPYVIZ_SCREENSHOTS") != "1":
        return
    DOCS.mkdir(exist_ok=True)
    path = DOCS / "gradcam.png"
    nb.page.locator(ROOT).first.screenshot(path=str(path), animations="disabled")
    assert path.stat().st_size < 300_000, f"{path} is {path.stat().st_size} bytes: keep it under 300 KB"


@both_frontends
def test_heatmaps_change_during_fit_slider_controls_enlarge_and_escaping(nb):
    epochs = 5
    gate = f"{nb.name}.gate"
    nb.write([SETUP.format(n=96), VIEWER.format(names=["square", EVIL, "ring"]),
              FIT_GATED.format(gate=gate, epochs=epochs), HASHES])
    nb.open()
    nb.start_run_all()
    states: list[dict] = []
    parked = watch_until(nb, states, lambda s: s["epoch"] == "2", timeout=150)
    assert parked["epoch"] == "2" and nb.running(), f"fit() ended before epoch 2 was shown: {states}"

    # -- while fit() is parked in a callback: everything local must still work -----------------
    first = f"{CELL}[data-index='0']"
    canvas = f"{first} canvas.ipyviz-gradcam-canvas"
    assert attr(nb, "data-training") == "true"
    assert nb.page.is_disabled(f"{first} select.ipyviz-gradcam-class")  # picking needs the kernel
    before = pixels(nb, canvas)
    set_range(nb, "input.ipyviz-gradcam-opacity", 90)
    assert attr(nb, "data-opacity") == "0.9"
    after_opacity = pixels(nb, canvas)
    assert after_opacity != before, "the overlay did not repaint at the new opacity"
    nb.page.select_option("select.ipyviz-gradcam-colormap", "jet")
    assert attr(nb, "data-colormap") == "jet"
    assert pixels(nb, canvas) != after_opacity, "the overlay did not repaint with the new colormap"

    nb.page.click("button.ipyviz-gradcam-mode")
    assert attr(nb, "data-mode") == "side"
    assert nb.page.is_visible(f"{first} canvas.ipyviz-gradcam-heat")
    nb.page.click("button.ipyviz-gradcam-mode")
    assert attr(nb, "data-mode") == "overlay"
    assert nb.page.is_hidden(f"{first} canvas.ipyviz-gradcam-heat")

    nb.page.click(f"{CELL}[data-index='1'] canvas.ipyviz-gradcam-canvas")
    enlarged = f"{ROOT} .ipyviz-gradcam-enlarged"
    assert nb.page.is_visible(enlarged) and attr(nb, "data-enlarged") == "1"
    assert nb.page.locator(f"{enlarged} canvas.ipyviz-gradcam-canvas").count() == 1
    caption = nb.text(f"{enlarged} .ipyviz-gradcam-caption")
    assert nb.text(f"{CELL}[data-index='1'] .ipyviz-gradcam-pred") in caption
    assert f"true: {EVIL}" in caption  # image 1 is labelled class 1: the HTML name, as text
    nb.page.click(enlarged)  # a click closes it
    assert nb.page.is_hidden(enlarged) and attr(nb, "data-enlarged") == ""
    nb.page.click(f"{CELL}[data-index='2'] canvas.ipyviz-gradcam-canvas")
    assert attr(nb, "data-enlarged") == "2"
    nb.page.focus(ROOT)
    nb.page.keyboard.press("Escape")  # so does Escape
    assert nb.page.is_hidden(enlarged) and attr(nb, "data-enlarged") == ""
    assert state(nb) == parked and nb.running(), "the controls changed the frame or ended the run"

    # -- let training go on, watching the frames arrive ----------------------------------------
    (nb.server.root / gate).touch()
    watch_until(nb, states, lambda s: False, timeout=150)
    nb.wait_for_run(timeout=60)
    kernel = printed_json(nb, 3, "HASHES")
    assert printed_json(nb, 3, "EPOCHS") == list(range(epochs + 1))

    live = [s["state"] for s in states if s["running"] and s["state"]["epoch"] not in ("", "0", None)]
    live_epochs = sorted({int(s["epoch"]) for s in live})
    assert len(live_epochs) >= 2, f"frames of fewer than 2 epochs were shown during fit(): {states}"
    for s in live:  # each frame shown live is the kernel's frame for that epoch, byte for byte
        assert s["hashes"] == kernel[int(s["epoch"])], f"epoch {s['epoch']}: {s['hashes']} != kernel"
    assert len({tuple(kernel[e]) for e in live_epochs}) >= 2, "the heatmaps never changed between epochs"
    assert any(s["training"] == "true" for s in live)

    # -- after fit: the slider replays earlier frames ----------------------------------------
    final = state(nb)
    assert final == {"epoch": str(epochs), "frame": str(epochs), "frames": str(epochs + 1),
                     "training": "false", "hashes": kernel[epochs]}
    assert kernel[1] != kernel[epochs], "epoch 1 and the last epoch have the same maps: nothing to replay"
    assert nb.page.get_attribute("input.ipyviz-gradcam-epoch", "max") == str(epochs)
    set_range(nb, "input.ipyviz-gradcam-epoch", 1)
    assert state(nb) == {**final, "epoch": "1", "frame": "1", "hashes": kernel[1]}
    assert nb.text(".ipyviz-gradcam-epoch-label") == f"epoch 1 (2/{epochs + 1})"
    assert nb.page.is_disabled(f"{first} select.ipyviz-gradcam-class")  # only the latest frame
    set_range(nb, "input.ipyviz-gradcam-epoch", 0)
    assert state(nb)["hashes"] == kernel[0] and nb.text(".ipyviz-gradcam-epoch-label").startswith("initial")
    set_range(nb, "input.ipyviz-gradcam-epoch", epochs)
    assert state(nb) == final
    assert nb.page.is_enabled(f"{first} select.ipyviz-gradcam-class")

    # The class list (filled on first focus) holds the HTML name as an option's text too.
    nb.page.focus(f"{first} select.ipyviz-gradcam-class")
    options = nb.page.eval_on_selector_all(
        f"{first} select.ipyviz-gradcam-class option", "os => os.map(o => o.textContent)")
    assert options == ["predicted class", "square", EVIL, "ring"]
    assert_escaped(nb)
    nb.assert_no_browser_errors()


def test_gradcam_magic_shows_a_viewer_refuses_a_bad_layer_and_survives_reload_ext(nb):
    nb.write([
        SETUP.format(n=12),
        "%load_ext ipyviz\n%gradcam model x[:6]",
        "%reload_ext ipyviz\n%gradcam model x[y == 2] --layer conv1 --method gradcam++ -n 2",
        "%gradcam model x --layer nope",
    ])
    nb.open()
    nb.run_all(timeout=120, check=False)  # the last cell fails on purpose

    cells = nb.cells()
    for i in range(3):
        outs = cells[i]["outputs"]
        assert not [o for o in outs if o["output_type"] == "error"], f"cell {i} raised: {outs}"
        assert "UsageError" not in nb.stream_text(i, "stderr"), nb.stream_text(i, "stderr")
    assert re.fullmatch(r"%gradcam: showing the first 2 of \d+ images \(-n to change\)\n", nb.stream_text(2))

    # Two viewers (the failing cell made none), each drawn with its cells and maps.
    nb.page.wait_for_function(
        f"() => document.querySelectorAll('{ROOT}').length === 2"
        f" && document.querySelectorAll('{ROOT} .ipyviz-gradcam-cell[data-class]').length === 8",
        timeout=30_000)
    first, second = nb.page.locator(ROOT).nth(0), nb.page.locator(ROOT).nth(1)
    assert first.locator(".ipyviz-gradcam-cell").count() == 6
    assert first.get_attribute("data-frames") == "1" and first.get_attribute("data-epoch") == "0"
    assert "layer conv2" in first.locator(".ipyviz-gradcam-header").text_content()  # found by shape
    for cell in first.locator(".ipyviz-gradcam-cell").all():
        heatmap, empty = cell.get_attribute("data-heatmap"), cell.get_attribute("data-empty")
        assert (empty == "true" and heatmap == "") or (empty == "false" and len(heatmap) == 8)
        assert cell.locator("canvas.ipyviz-gradcam-canvas").count() == 1
        assert cell.locator(".ipyviz-gradcam-pred").text_content().startswith("pred: class ")
    assert second.locator(".ipyviz-gradcam-cell").count() == 2
    assert "gradcam++ · layer conv1" in second.locator(".ipyviz-gradcam-header").text_content()

    # The refusal names the wrong layer and the ones that would serve, as a short usage error.
    errors = [f"{o['ename']}: {o['evalue']}" for o in cells[3]["outputs"] if o["output_type"] == "error"]
    bad = nb.stream_text(3, "stderr") + "".join(errors)  # IPython prints a UsageError on stderr
    assert "UsageError" in bad and "'nope' is not in model 'shapes'" in bad, bad
    assert "Layers that would serve" in bad and "'conv2'" in bad and "'conv1'" in bad, bad
    assert "Traceback" not in bad, bad
    nb.assert_no_browser_errors()


CLASS_PICKER = """
model.fit(x, y, epochs=8, batch_size=16, verbose=0, callbacks=[viewer.callback()])
from ipyviz.gradcam.frames import pick_map
picks = [pick_map(model, x[0], c, layer=viewer.layer) for c in range(3)]
print("PICKS " + json.dumps(["" if p["empty"] else fnv(p["maps"]) for p in picks]))
print("HASHES " + json.dumps(frame_hashes(viewer.frames[-1])))
"""


def test_class_picker_round_trip_after_fit(nb):
    nb.write([SETUP.format(n=192), VIEWER.format(names=["square", "cross", "ring"]), CLASS_PICKER])
    nb.open()
    nb.run_all(timeout=150)
    picks, latest = printed_json(nb, 2, "PICKS"), printed_json(nb, 2, "HASHES")
    nb.page.wait_for_function(
        "() => { const r = document.querySelector('.ipyviz-gradcam');"
        " return !!r && r.dataset.training === 'false' && r.dataset.frames === '9'; }",
        timeout=30_000)
    assert state(nb)["hashes"] == latest
    maybe_screenshot(nb)

    cell = f"{CELL}[data-index='0']"
    predicted = nb.page.get_attribute(cell, "data-class")
    assert predicted == nb.page.get_attribute(cell, "data-predicted")
    shown = nb.page.get_attribute(cell, "data-heatmap")
    other = [c for c in range(3) if str(c) != predicted and picks[c] not in ("", shown)]
    assert other, f"no other class of image 0 has a distinct, non-empty map: {picks}, shown {shown}"
    pick = other[0]

    picker = f"{cell} select.ipyviz-gradcam-class"
    nb.page.focus(picker)  # fills the options on first use
    nb.page.select_option(picker, str(pick))
    nb.page.wait_for_function(
        "([sel, c]) => document.querySelector(sel).dataset.class === c",
        arg=[cell, str(pick)], timeout=60_000)
    assert nb.page.get_attribute(cell, "data-heatmap") == picks[pick]
    assert nb.text(f"{cell} .ipyviz-gradcam-explains").endswith("(picked)")
    assert state(nb)["hashes"][1:] == latest[1:], "picking for image 0 changed other images"

    nb.page.select_option(picker, "-1")  # back to the predicted class
    nb.page.wait_for_function(
        "([sel, c]) => document.querySelector(sel).dataset.class === c",
        arg=[cell, predicted], timeout=60_000)
    assert state(nb)["hashes"] == latest
    assert not nb.text(".ipyviz-gradcam-error")  # the kernel reported no picker failure
    nb.assert_no_browser_errors()
