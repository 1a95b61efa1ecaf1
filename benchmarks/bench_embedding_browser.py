"""EmbeddingScatter in real Chromium: time from ``display()`` to the first frame, and per-update redraw.

For 100k and 1M random float32 points, shown as given (``projection=None``) and through PCA (32-d
input), each case in a fresh JupyterLab notebook (fresh kernel, fresh page):

* construct: ``EmbeddingScatter(...)`` in the kernel (PCA included for the PCA cases);
* display -> first draw: from ``display(scatter)`` (the kernel's ``time.time()``) to the view's first
  draw (``data-draws`` becoming 1, stamped in the page with ``performance.timeOrigin + now()``: the
  same wall clock), i.e. comm open + state transfer (positions as bytes, labels once) + decode + draw;
  "+ next frame" is the animation frame after that draw;
* per update, after ``scatter.set_embeddings(...)`` (positions moved a little): latency to the first
  draw of the new frame, ``data-render-ms`` (one draw, submit side) and ``data-frame-ms`` (interval
  between animation frames of the 300 ms transition: what the eye sees, GPU work included).

    python benchmarks/bench_embedding_browser.py [--quick]     (--quick: 100k only)

Headless Chromium on this machine has no GPU: WebGL runs in software (SwiftShader) and the output
says which renderer the page got, so the GPU-side figures are a pessimistic floor, not a desktop's.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser.nbpage import Notebook, launch_chromium, start_server  # noqa: E402

UPDATES = 5
DIMS = 32

SETUP = """
import json, os, time
import numpy as np
from ipyviz.embedding.widget import EmbeddingScatter   # imports keras: before any timing
N, PCA, UPDATES = {n}, {pca}, {updates}
rng = np.random.default_rng(0)
source = rng.standard_normal((N, {dims} if PCA else 2), dtype=np.float32)
words = [f"w{{i}}" for i in range(N)]
steps = [source + np.float32(0.05) * rng.standard_normal(source.shape, dtype=np.float32) for _ in range(UPDATES)]
"""

SHOW = """
t0 = time.time()
scatter = EmbeddingScatter(source, words, projection="pca" if PCA else None)
t1 = time.time()
display(scatter)
print(json.dumps({"construct": t1 - t0, "display": t1}))
"""

UPDATE = """
deadline = time.time() + 180
while not os.path.exists("go") and time.time() < deadline:   # the page saw the first frame
    time.sleep(0.02)
marks = []
for step in steps:
    t = time.time()
    if PCA:
        scatter.set_embeddings(step)
    else:
        scatter.set_embeddings(step, coordinates=step)
    marks.append({"t": t, "kernel": time.time() - t, "frame": scatter.frame})
    time.sleep(1.0 if N <= 100_000 else 4.0)   # software WebGL needs seconds per 1M-point frame
print(json.dumps(marks))
"""

# Every draw of the view, stamped in page time (ms since the epoch), plus the animation frame after
# the first one. A MutationObserver runs right after the attribute is set: no polling delay.
RECORDER = """() => {
  const rec = window.__benchDraws = [];
  new MutationObserver((list) => {
    for (const m of list) {
      const el = m.target, d = el.dataset;
      if (!el.classList.contains('ipyviz-embedding') || !d.draws) continue;
      const entry = { t: performance.timeOrigin + performance.now(), draws: Number(d.draws),
        frame: Number(d.frame), renderMs: Number(d.renderMs), frameMs: d.frameMs ? Number(d.frameMs) : null,
        animating: d.animating === '1', renderer: d.renderer,
        canvas: el.querySelector('canvas').width + 'x' + el.querySelector('canvas').height };
      rec.push(entry);
      if (entry.draws === 1) requestAnimationFrame(() => { entry.nextFrame = performance.timeOrigin + performance.now(); });
    }
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-draws'] });
}"""

GL_INFO = """() => {
  const gl = document.createElement('canvas').getContext('webgl2') || document.createElement('canvas').getContext('webgl');
  if (!gl) return 'no WebGL';
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
}"""


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def run_case(browser, server, n, pca):
    name = f"bench-{n}-{'pca' if pca else 'xy'}.ipynb"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        nb = Notebook(context.new_page(), server, default_name=name)
        setup = SETUP.format(n=n, pca=pca, updates=UPDATES, dims=DIMS)
        nb.write([setup, SHOW, UPDATE])
        nb.open(timeout=120)
        gl = nb.page.evaluate(GL_INFO)
        nb.page.evaluate(RECORDER)
        nb.start_run_all()
        nb.page.wait_for_function("() => window.__benchDraws.some(d => d.draws === 1 && d.nextFrame)",
                                  timeout=300_000)
        (server.root / "go").write_text("")
        nb.wait_for_run(timeout=300)
        (server.root / "go").unlink()
        shown = json.loads(nb.stream_text(1))
        marks = json.loads(nb.stream_text(2))
        draws = nb.page.evaluate("() => window.__benchDraws")
        errors = nb.browser_errors()
    finally:
        context.close()
        server.shutdown_kernels()
    first = next(d for d in draws if d["draws"] == 1)
    latency, kernel, render, frame = [], [], [], []
    for mark in marks:
        mine = [d for d in draws if d["frame"] == mark["frame"]]
        if not mine:
            continue
        latency.append(mine[0]["t"] - mark["t"] * 1000)
        kernel.append(mark["kernel"] * 1000)
        render += [d["renderMs"] for d in mine]
        # A transition's first draw still shows the previous transition's value: skip it.
        frame += [d["frameMs"] for d in mine[1:]]
    return {
        "n": n, "projection": "pca" if pca else "None", "gl": gl, "renderer": first["renderer"],
        "canvas": draws[-1]["canvas"], "construct_ms": shown["construct"] * 1000,
        "first_ms": first["t"] - shown["display"] * 1000, "next_frame_ms": first["nextFrame"] - shown["display"] * 1000,
        "first_render_ms": first["renderMs"], "updates": len(latency), "latency_ms": median(latency),
        "kernel_ms": median(kernel),
        "render_ms": median(render), "frame_ms": median(frame), "errors": errors,
    }


def main():
    from playwright.sync_api import sync_playwright

    sys.stdout.reconfigure(line_buffering=True)  # progress lines (stderr) and the table in order
    sizes = [100_000] if "--quick" in sys.argv else [100_000, 1_000_000]
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        server = start_server("lab", Path(tmp))
        browser = launch_chromium(pw)
        try:
            for n in sizes:
                for pca in (False, True):
                    rows.append(run_case(browser, server, n, pca))
                    print(f"  done: {n:,} points, projection={rows[-1]['projection']}", file=sys.stderr)
        finally:
            browser.close()
            server.stop()

    print(f"EmbeddingScatter in headless Chromium (JupyterLab, {os.cpu_count()} CPUs, load average {load:.1f} "
          "at start); medians over the updates")
    print(f"WebGL renderer: {rows[0]['gl']} -- software WebGL (no GPU here): GPU-side times are a pessimistic floor.")
    print(f"view renderer: {rows[0]['renderer']}, canvas {rows[0]['canvas']} px (device pixels); "
          f"{UPDATES} updates a case; PCA cases: {DIMS}-d input")
    header = (f"{'points':>10} | {'projection':>10} | {'construct':>9} | {'display->draw':>13} | "
              f"{'+next frame':>11} | {'1st draw':>8} | {'update->draw':>12} | {'(kernel)':>8} | {'render-ms':>9} | "
              f"{'frame-ms':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['n']:>10,} | {r['projection']:>10} | {r['construct_ms']:>6.0f} ms | {r['first_ms']:>10.0f} ms | "
              f"{r['next_frame_ms']:>8.0f} ms | {r['first_render_ms']:>5.1f} ms | {r['latency_ms']:>9.0f} ms | "
              f"{r['kernel_ms']:>5.0f} ms | "
              f"{r['render_ms']:>6.2f} ms | {r['frame_ms']:>5.1f} ms")
        if r["errors"]:
            print(f"  browser errors: {r['errors']}")
    print("construct: EmbeddingScatter() in the kernel; display->draw: display() to the view's first draw "
          "(transfer, decode, draw);\n+next frame: the animation frame after it (the software GPU's work done); "
          "update->draw: set_embeddings() to the first draw of the new frame\n(kernel: set_embeddings() itself, "
          "PCA + alignment + send); render-ms: "
          "one draw call, submit side; frame-ms: between animation frames of a transition.")


if __name__ == "__main__":
    main()
