"""Static export: a notebook executed with its widget state stored (nbclient's
``store_widget_state=True``) and exported to HTML (nbconvert) shows every widget's *last* state in
Chromium with no kernel and no server: the page is opened as a ``file://`` URL.

The exported page fetches its widget front ends from CDNs: require.js (cdnjs),
``@jupyter-widgets/html-manager``'s ``embed-amd.js`` (unpkg), then each widget package's AMD bundle
from jsdelivr (``https://cdn.jsdelivr.net/npm/<package>@<version range>/dist/index.js``: anywidget,
bqplot, bqscales). This machine reaches no CDN, so ``page.route`` answers those URLs with local
copies of the same files:

* require.js and the html-manager come from ``node_modules`` (devDependencies ``requirejs`` at the
  version nbconvert's template names, ``@jupyter-widgets/html-manager``);
* each widget package's bundle comes from the AMD bundle its own Python wheel installs under
  ``<sys.prefix>/share/jupyter/nbextensions/<package>/``: the build of the very version whose models
  wrote the state (for anywidget 0.11.0 it is byte-identical to npm's ``dist/index.js``; the npm
  registry reachable here has no bqplot 0.6.x to compare with).

Every other request is aborted and listed; the tests allow only MathJax among them. The ground
truth (parameter counts, losses, Grad-CAM map hashes, embedding positions) is what the kernel
printed while the notebook ran.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from .nbpage import write_notebook
from .test_embedding import word2vec_cell
from .test_gradcam import CELL as GRADCAM_CELL
from .test_gradcam import SETUP as GRADCAM_SETUP
from .test_gradcam import STATE_JS as GRADCAM_STATE_JS

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"
NBEXTENSIONS = Path(sys.prefix) / "share" / "jupyter" / "nbextensions"
EPOCHS = 5  # the "saved notebook after a 5-epoch run"
SAVED_LIMIT = 3 * 2**20  # bytes: "stays under a few MB"
WIDGET_PACKAGES = ("anywidget", "bqplot", "bqscales")

# The four widgets, then a short fit with their callbacks (test_themes.py shows these too).
FOUR_WIDGETS = [
    GRADCAM_SETUP.format(n=96),  # x, y, a tiny shapes CNN `model`, fnv(), frame_hashes()
    "table = ipyviz.ModelSummaryTable(model)\ntable",
    "plot = ipyviz.TrainingPlot()\nplot",
    # The fifth image is blank: its map is empty, so the viewer shows its "empty map" badge too.
    """
shown = np.concatenate([x[:4], np.zeros_like(x[:1])])
viewer = ipyviz.GradCamViewer(model, shown, labels=np.r_[y[:4], 0], class_names=["square", "cross", "ring"])
viewer
""",
    word2vec_cell(docs=40),  # docs, w2v, scatter (40 points)
    f"""
model.fit(x, y, epochs={EPOCHS}, batch_size=16, validation_split=0.25, verbose=0,
          callbacks=[table.callback(), plot.callback(), viewer.callback()])
w2v.train(docs, epochs={EPOCHS}, window=3, batch_size=64, seed=0, alpha=0.05,
          callbacks=[scatter.callback()])
""",
]
CELLS = FOUR_WIDGETS + [
    """
history = plot.history.to_dict()
print("EXPECT " + json.dumps({
    "summary": {"total": table.summary["total_params"], "optimizer": table.summary["optimizer_params"],
                "epoch": table.epoch,
                "norms": {path: s["norm"] for path, s in table.weight_stats.items()}},
    "plot": {k: [float(v) for v in history[k]] for k in ("loss", "val_loss", "accuracy", "val_accuracy")},
    "gradcam": {"epoch": viewer.frames[-1]["epoch"], "frames": len(viewer.frames),
                "hashes": frame_hashes(viewer.frames[-1])},
    "embedding": {"points": scatter.n_points, "frames": len(scatter.frame_info), "frame": scatter.frame,
                  "name": scatter.frame_info[-1]["name"],
                  "last": np.frombuffer(scatter.points, "<f4").tolist(),
                  "first": np.frombuffer(scatter.history[0], "<f4").tolist()},
}))
""",
]


def local_copy(url: str) -> Path | None:
    """The local file that stands for CDN ``url`` (see the module docstring), None if none does."""
    m = re.fullmatch(r"https://cdnjs\.cloudflare\.com/ajax/libs/require\.js/([^/]+)/require(?:\.min)?\.js", url)
    if m:
        installed = json.loads((NODE_MODULES / "requirejs" / "package.json").read_text())["version"]
        assert installed == m[1], (
            f"the export asks for require.js {m[1]}, node_modules has {installed}: pin the devDependency "
            f"`requirejs` in package.json to {m[1]} and run `npm install`")
        return NODE_MODULES / "requirejs" / "require.js"
    m = re.fullmatch(r"https://(?:unpkg\.com|cdn\.jsdelivr\.net/npm)/@jupyter-widgets/html-manager@[^/]+/(.+)", url)
    if m:
        return NODE_MODULES / "@jupyter-widgets" / "html-manager" / m[1]
    m = re.fullmatch(r"https://cdn\.jsdelivr\.net/npm/([^@/]+)@[^/]+/dist/(.+)", url)
    if m and m[1] in WIDGET_PACKAGES:
        return NBEXTENSIONS / m[1] / m[2]
    return None


@pytest.fixture(scope="module")
def export(tmp_path_factory, browser):
    """Execute the notebook headless (no Jupyter server), keep the widget state, export to HTML.

    Returns ``(html path, what the kernel printed after EXPECT)``. Depends on ``browser`` so that a
    missing Chromium skips before a kernel starts.
    """
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    missing = [p for p in (NODE_MODULES / "requirejs", NODE_MODULES / "@jupyter-widgets" / "html-manager")
               if not p.is_dir()]
    assert not missing, f"{missing} missing: run `npm install` (devDependencies of package.json)"
    folder = tmp_path_factory.mktemp("static-export")
    path = write_notebook(folder, "static.ipynb", CELLS)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=240, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert {s["model_module"] for s in state.values()} >= {"anywidget", "bqplot"}
    nbformat.write(nb, path)  # what "save with widget state" writes (test_saved_notebook_size reads it)
    html, _ = HTMLExporter().from_notebook_node(nb)
    page_path = folder / "static.html"
    page_path.write_text(html, encoding="utf-8")
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o["output_type"] == "stream")
    line = next((ln for ln in text.splitlines() if ln.startswith("EXPECT ")), None)
    assert line, f"the last cell printed no EXPECT line: {nb.cells[-1].outputs}"
    return page_path, json.loads(line[len("EXPECT "):])


class Offline:
    """Opens the export in ``page`` with CDN URLs answered from local copies; records the rest."""

    def __init__(self, page, html: Path):
        self.page = page
        self.served: list[str] = []
        self.unserved: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.sockets: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)
        page.on("requestfailed", lambda req: self.failed.append(req.url))
        page.on("websocket", lambda ws: self.sockets.append(ws.url))
        page.route(re.compile(r"^(https?|wss?)://"), self._serve)
        page.goto(html.as_uri(), wait_until="load")

    def _console(self, msg):
        if msg.type == "error":
            self.errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")

    def _serve(self, route):
        url = route.request.url
        path = local_copy(url)
        if path is not None and path.is_file():
            self.served.append(url)
            route.fulfill(path=str(path))
        else:
            self.unserved.append(url)
            route.abort()

    def wait(self, js: str, timeout: float = 60):
        """Wait until the JS expression ``js`` is truthy in the page; return its value."""
        try:
            return self.page.wait_for_function(f"() => {js}", timeout=timeout * 1000).json_value()
        except Exception as exc:
            if type(exc).__name__ != "TimeoutError":
                raise
            raise AssertionError(f"after {timeout}s still false: {js}\n{self.report()}") from exc

    def report(self) -> str:
        return (f"served: {self.served}\nunserved: {self.unserved}\nfailed: {self.failed}\n"
                f"errors: {self.errors}")

    def assert_clean(self, html: Path) -> None:
        """No server, no kernel, nothing but local copies; no errors beyond two of the
        html-manager's own, which every static export shows: its probe for
        ``<page folder>/<package>.js`` (it tries a local module before the CDN) and Font Awesome
        fonts its bundled CSS names relative to the page (``<page folder>/@jupyter-widgets/*.woff``)."""
        assert not self.sockets, f"the page opened websockets (a kernel?): {self.sockets}"
        assert all("/mathjax/" in u for u in self.unserved), f"requests with no local copy:\n{self.report()}"
        assert any("html-manager" in u for u in self.served), self.report()
        probes = {(html.parent / f"{p}.js").as_uri() for p in WIDGET_PACKAGES}
        fonts = re.compile(re.escape(html.parent.as_uri() + "/@jupyter-widgets/") + r"[\w/-]+\.(woff2?|ttf|eot|svg)")
        odd = set(self.failed) - probes - set(self.unserved)
        assert all(fonts.fullmatch(u) for u in odd), self.report()
        real = [e for e in self.errors
                if not (e.startswith("console: Failed to load resource: net::ERR_FILE_NOT_FOUND")
                        or "net::ERR_FAILED (" in e and "mathjax" in e.lower())]
        assert not real, "the page logged errors:\n" + "\n".join(real)


@pytest.fixture
def offline(page, export):
    html, expect = export
    view = Offline(page, html)
    return view, html, expect


def canvas_spread(page, selector: str) -> float:
    """Standard deviation of the first ``selector`` 2-D canvas's RGB values (0: one flat colour)."""
    return page.eval_on_selector(selector, """(c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0, s = 0, s2 = 0;
      for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) { n++; s += d[i + k]; s2 += d[i + k] ** 2; }
      return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
    }""")


def test_summary_shows_totals_optimizer_and_weight_stats_of_the_last_epoch(offline):
    view, html, expect = offline
    want = expect["summary"]
    assert want["epoch"] == EPOCHS and want["optimizer"] > 0  # a state only fit() makes
    view.wait(f"document.querySelector('.ipyviz-summary[data-epoch=\"{EPOCHS}\"]')")
    totals = view.page.text_content(".ipyviz-summary-totals").replace(",", "")
    assert f"Total {want['total']}" in totals and f"Optimizer {want['optimizer']}" in totals, totals
    shown = view.page.eval_on_selector_all(
        ".ipyviz-summary tr.ipyviz-summary-row",
        """rows => Object.fromEntries(rows.filter(r => r.querySelector('.ipyviz-summary-norm')).map(r =>
             [r.dataset.path, [Number(r.querySelector('svg.ipyviz-summary-spark').dataset.points),
                               Number(r.querySelector('.ipyviz-summary-norm').textContent)]]))""")
    assert set(shown) == set(want["norms"]) and shown, f"{shown} vs {want['norms']}"
    for path, norms in want["norms"].items():
        points, norm = shown[path]
        assert points == EPOCHS, f"{path}: sparkline of {points} points"
        assert norm == pytest.approx(norms[-1], rel=5e-3), f"{path}: shows {norm}, kernel {norms[-1]}"
    view.assert_clean(html)


def test_training_plot_draws_every_epoch_and_the_final_stats(offline):
    view, html, expect = offline
    want = expect["plot"]
    assert all(len(v) == EPOCHS for v in want.values()), want
    # Per visible figure, the vertex count of each drawn line (d3 paths: "M x,y L x,y ...");
    # `.curve` leaves out the legend's sample lines.
    counts = view.wait("""(() => {
      const figs = [...document.querySelectorAll('.bqplot.figure')].filter(f => f.offsetParent !== null);
      const out = figs.map(f => [...f.querySelectorAll('.curve > path.line')]
        .map(p => p.getAttribute('d') || '').filter(d => d.includes('L'))
        .map(d => d.split('L').length));
      return out.length === 2 && out.every(c => c.length === 2) ? out : null; })()""")
    assert counts == [[EPOCHS, EPOCHS], [EPOCHS, EPOCHS]], counts  # loss, accuracy: train + val
    stats = view.page.eval_on_selector_all(
        ".widget-html-content", "els => els.map(e => e.textContent).filter(t => t.includes('best'))")
    assert len(stats) == 2, stats
    loss_stats = next(s for s in stats if "now " + f"{want['loss'][-1]:.4g}" in s)
    assert f"epoch {EPOCHS}" in loss_stats and f"{want['val_loss'][-1]:.4g}" in loss_stats, loss_stats
    view.assert_clean(html)


def test_gradcam_viewer_shows_the_last_frame_and_its_maps(offline):
    view, html, expect = offline
    want = expect["gradcam"]
    assert want["epoch"] == EPOCHS and want["frames"] == EPOCHS + 1
    assert any(want["hashes"]) and want["hashes"][-1] == "", f"want maps and the blank's empty one: {want}"
    view.wait(f"document.querySelector('.ipyviz-gradcam[data-frames=\"{EPOCHS + 1}\"]')")
    state = view.page.evaluate(GRADCAM_STATE_JS, {"root": ".ipyviz-gradcam", "cell": GRADCAM_CELL})
    assert state["epoch"] == str(EPOCHS) and state["frame"] == str(EPOCHS), state
    assert state["hashes"] == want["hashes"], "the maps shown are not the kernel's last ones"
    label = view.page.text_content(".ipyviz-gradcam-epoch-label")
    assert label == f"epoch {EPOCHS} ({EPOCHS + 1}/{EPOCHS + 1})", label
    assert view.page.get_attribute("input.ipyviz-gradcam-epoch", "max") == str(EPOCHS)
    for i, digest in enumerate(want["hashes"]):
        cell = f"{GRADCAM_CELL}[data-index='{i}']"
        badge = view.page.is_visible(f"{cell} .ipyviz-gradcam-empty-badge")
        assert badge == (digest == ""), f"image {i}: empty-map badge shown {badge}, kernel map {digest!r}"
        if digest:
            spread = canvas_spread(view.page, f"{cell} canvas.ipyviz-gradcam-canvas")
            assert spread > 5, f"image {i}'s overlay is one flat colour (spread {spread:.1f})"
    view.assert_clean(html)


def test_embedding_scatter_draws_the_last_frame_positions(offline):
    view, html, expect = offline
    want = expect["embedding"]
    assert want["frames"] == EPOCHS + 1 and want["name"] == f"epoch {EPOCHS}"
    root = ".ipyviz-embedding"
    data = view.wait(f"""(() => {{ const el = document.querySelector('{root}');
      return el && Number(el.dataset.draws) >= 1 && el.dataset.animating !== '1'
             && el.dataset.frame === '{want["frame"]}' ? {{...el.dataset}} : null; }})()""")
    assert data["state"] == "ready" and data["points"] == str(want["points"]), data
    assert data["frames"] == str(want["frames"]), data
    assert view.page.text_content(f"{root} .ipyviz-embedding-frame-name") == (
        f"epoch {EPOCHS} ({EPOCHS + 1}/{EPOCHS + 1})")
    # Where each point is on screen: the view maps world to screen by one scale and a shift
    # (y flipped), so the shown points must be such a map of the kernel's last positions.
    screen = np.array(view.page.eval_on_selector(
        root, f"el => [...Array({want['points']}).keys()].map(i => el.ipyvizEmbedding.pointToClient(i))"
              ".map(p => [p.x, p.y])"))
    last, first = (np.array(want[k]).reshape(-1, 2) for k in ("last", "first"))
    assert residual(screen, last) < 0.5, "the points shown are not the kernel's last frame"
    assert residual(screen, first) > 2.0, "the last frame is (nearly) the first one: nothing to check"
    pixels = view.page.locator(f"{root} canvas.ipyviz-embedding-canvas").screenshot()
    assert png_spread(pixels) > 1.0, "the WebGL canvas is blank"
    view.assert_clean(html)


def residual(screen: np.ndarray, world: np.ndarray) -> float:
    """Largest distance in pixels between ``screen`` and the best fit ``(s·x + a, -s·y + b)``."""
    n = len(world)
    design = np.zeros((2 * n, 3))
    design[:n, 0], design[:n, 1] = world[:, 0], 1.0
    design[n:, 0], design[n:, 2] = -world[:, 1], 1.0
    target = np.concatenate([screen[:, 0], screen[:, 1]])
    fit, *_ = np.linalg.lstsq(design, target, rcond=None)
    error = (design @ fit - target).reshape(2, n)
    return float(np.hypot(*error).max())


def png_spread(png: bytes) -> float:
    """Standard deviation of a PNG's RGB values."""
    import io

    from PIL import Image

    return float(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64).std())


def test_saved_notebook_with_all_four_widgets_stays_small(export):
    """The notebook saved with the widget state of all four widgets after a 5-epoch run."""
    html, _ = export
    saved = html.with_suffix(".ipynb")
    nb = nbformat.read(saved, as_version=4)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    by_kind: dict[str, int] = {}
    for model in state.values():
        kind = model["state"].get("_model_name", model["model_name"])
        by_kind[kind] = by_kind.get(kind, 0) + len(json.dumps(model))
    biggest = sorted(by_kind.items(), key=lambda kv: -kv[1])[:5]
    size = saved.stat().st_size
    print(f"saved notebook: {size / 1024:.0f} KiB, {len(state)} widget models; largest: "
          + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in biggest))
    assert size < SAVED_LIMIT, f"{size / 2**20:.1f} MiB"
