"""The widgets follow JupyterLab's theme: the four of them after a short fit, in JupyterLab Light
and JupyterLab Dark (switched with Lab's own ``apputils:change-theme`` command), each output area
must be drawn (not blank), sit on a background that changed with the theme, and show readable
text: every visible text inside it has a WCAG contrast of at least 4.5:1 (3:1 for large text)
against what is painted behind it, measured in the page.

Screenshots for the README (JupyterLab, all four widgets in each theme)::

    IPYVIZ_SCREENSHOTS=1 TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/pytest tests/browser/test_themes.py -q
    # writes docs/theme-light.png and docs/theme-dark.png
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from .test_static_export import EPOCHS, FOUR_WIDGETS

pytestmark = pytest.mark.browser

Image = pytest.importorskip("PIL.Image", reason="Pillow decodes the screenshots")

DOCS = Path(__file__).resolve().parents[2] / "docs"
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
# Each widget's output area, found by the widget's own class.
AREAS = {
    "summary": ".jp-OutputArea-output:has(.ipyviz-summary)",
    "plot": ".jp-OutputArea-output:has(.bqplot)",
    "gradcam": ".jp-OutputArea-output:has(.ipyviz-gradcam)",
    "embedding": ".jp-OutputArea-output:has(.ipyviz-embedding)",
}
READY = f"""() => {{
  const q = (s) => document.querySelector(s);
  const emb = q('.ipyviz-embedding');
  return !!q('.ipyviz-summary[data-epoch="{EPOCHS}"]') && !!q('.ipyviz-gradcam[data-frames="{EPOCHS + 1}"]')
    && !!emb && emb.dataset.frames === '{EPOCHS + 1}' && emb.dataset.animating !== '1'
    && document.querySelectorAll('.bqplot .curve > path.line').length >= 4;
}}"""

# For every visible text node under `root`: its colour and the colour painted behind it, both as
# opaque sRGB after alpha and opacity, and their WCAG contrast ratio. "Behind" is found the way
# the browser paints: document.elementsFromPoint at the text's centre, top to bottom, compositing
# backgrounds (HTML background-color, SVG shape fill) until an opaque one.
CONTRAST_JS = r"""(root) => {
  const probe = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
  const rgba = (css) => {  // any CSS colour -> [r, g, b, a], via a canvas (handles every syntax)
    if (!css || css === 'none' || css.startsWith('url(')) return null;
    probe.clearRect(0, 0, 1, 1); probe.fillStyle = '#000'; probe.fillStyle = css;
    probe.fillRect(0, 0, 1, 1);
    const d = probe.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const opacity = (el) => { let o = 1; for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; };
  const over = (top, bottom) => [0, 1, 2].map((k) => top[3] * top[k] + (1 - top[3]) * bottom[k]).concat(1);
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                       return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const SHAPES = new Set(['rect', 'circle', 'ellipse', 'path', 'polygon']);
  const paint = (e) => {  // what element e paints behind text on top of it, or null
    const cs = getComputedStyle(e);
    let c = e instanceof SVGElement && SHAPES.has(e.localName)
      ? (cs.fill === 'none' ? null : rgba(cs.fill)) : rgba(cs.backgroundColor);
    if (!c || c[3] === 0) return null;
    const a = c[3] * (e instanceof SVGElement && SHAPES.has(e.localName) ? Number(cs.fillOpacity) : 1) * opacity(e);
    return [c[0], c[1], c[2], a];
  };
  const base = rgba(getComputedStyle(document.documentElement).backgroundColor);
  const results = [];
  let skipped = 0;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest('option, script, style, title')) continue;
    if (el.closest(':disabled, [aria-disabled="true"]')) continue;  // WCAG 1.4.3 exempts inactive controls
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
    const range = document.createRange(); range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) { skipped++; continue; }
    const stack = document.elementsFromPoint(x, y);
    // Clipped (e.g. scrolled out of a scroll box): nothing of the widget is at that point.
    if (!stack.some((e) => root.contains(e) && e.contains(el))) { skipped++; continue; }
    const layers = [];
    for (const e of stack) {
      if (e !== el && el.contains(e)) continue;
      const p = paint(e);
      if (p) layers.push(p);
      if (p && p[3] >= 0.999) break;
    }
    const bg = layers.reduceRight((acc, layer) => over(layer, acc), over(base, [255, 255, 255, 1]));
    const cs = getComputedStyle(el);
    const raw = rgba(el instanceof SVGElement ? cs.fill : cs.color) || [0, 0, 0, 1];
    const fgAlpha = raw[3] * (el instanceof SVGElement ? Number(cs.fillOpacity) : 1) * opacity(el);
    const fg = over([raw[0], raw[1], raw[2], fgAlpha], bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
    results.push({
      text: node.textContent.trim().slice(0, 40), tag: el.localName, cls: String(el.getAttribute('class') || ''),
      fg: fg.slice(0, 3).map(Math.round), bg: bg.slice(0, 3).map(Math.round),
      ratio: (hi + 0.05) / (lo + 0.05), large: size >= 24 || (size >= 18.66 && bold),
    });
  }
  return { results, skipped };
}"""


def set_theme(nb, name: str) -> None:
    """Switch JupyterLab to theme ``name`` and wait until its CSS is applied."""
    nb.page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', { theme: t })", name)
    light = "true" if "Light" in name else "false"
    nb.page.wait_for_function(
        """([name, light]) => document.body.dataset.jpThemeName === name
             && document.body.dataset.jpThemeLight === light
             && getComputedStyle(document.body).getPropertyValue('--jp-layout-color1').trim() !== ''""",
        arg=[name, light], timeout=30_000)
    # Let views that re-read colours on the theme change (the WebGL map) paint a frame.
    nb.page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    nb.page.wait_for_timeout(300)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour (0 black .. 1 white)."""
    c = np.asarray(rgb, dtype=np.float64) / 255
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def dominant(img: np.ndarray) -> tuple[int, int, int]:
    """The most frequent colour of an image: its background."""
    colours, counts = np.unique(img.reshape(-1, 3), axis=0, return_counts=True)
    return tuple(int(v) for v in colours[counts.argmax()])


def look(nb, name: str) -> dict:
    """Screenshot and contrast report of widget ``name``'s output area, scrolled into view."""
    area = nb.page.locator(AREAS[name]).first
    area.scroll_into_view_if_needed()
    nb.page.wait_for_timeout(100)
    png = area.screenshot(animations="disabled")
    img = pixels(png)
    report = area.evaluate(CONTRAST_JS)
    return {"png": png, "img": img, "spread": float(img.std()), "background": dominant(img), **report}


def test_widgets_follow_light_and_dark_themes_with_readable_text(nb):
    nb.write(FOUR_WIDGETS)
    nb.open()
    nb.run_all(timeout=180)
    nb.page.wait_for_function(READY, timeout=60_000)
    seen: dict[str, dict[str, dict]] = {}
    try:
        for theme, label in THEMES.items():
            set_theme(nb, label)
            seen[theme] = {name: look(nb, name) for name in AREAS}
    finally:
        set_theme(nb, THEMES["light"])  # the Lab server (and its settings) serve later tests too

    problems = []
    for theme, views in seen.items():
        for name, v in views.items():
            if v["spread"] < 10:
                problems.append(f"{theme}/{name}: the output area is nearly blank (pixel spread {v['spread']:.1f})")
            if len(v["results"]) < 5:
                problems.append(f"{theme}/{name}: only {len(v['results'])} visible texts were checked")
            for t in v["results"]:
                need = 3.0 if t["large"] else 4.5
                if t["ratio"] < need:
                    problems.append(f"{theme}/{name}: {t['text']!r} <{t['tag']} class={t['cls']!r}> "
                                    f"{t['fg']} on {t['bg']}: contrast {t['ratio']:.2f} < {need}")
    for name in AREAS:
        light, dark = (luminance(seen[t][name]["background"]) for t in THEMES)
        if not (light > 0.7 and dark < 0.1):
            problems.append(f"{name}: background luminance {light:.2f} in light, {dark:.2f} in dark: "
                            "it did not follow the theme")
    assert not problems, "\n".join(problems)
    nb.assert_no_browser_errors()
    if os.environ.get("IPYVIZ_SCREENSHOTS") == "1":
        for theme, views in seen.items():
            save_mosaic([views[name]["img"] for name in AREAS], DOCS / f"theme-{theme}.png")


def save_mosaic(images: list[np.ndarray], path: Path, width: int = 1280) -> None:
    """The four output areas two by two (each scaled to half the width), one PNG under 300 KB."""
    cell_w = width // 2
    tiles = []
    for img in images:
        tile = Image.fromarray(img)
        tile.thumbnail((cell_w - 8, 10_000))
        tiles.append(tile)
    rows = [tiles[:2], tiles[2:]]
    heights = [max(t.height for t in row) for row in rows]
    background = tuple(int(v) for v in dominant(images[0]))
    sheet = Image.new("RGB", (width, sum(heights) + 8 * len(rows)), background)
    top = 4
    for row, h in zip(rows, heights):
        for i, tile in enumerate(row):
            sheet.paste(tile, (i * cell_w + 4, top))
        top += h + 8
    path.parent.mkdir(exist_ok=True)
    sheet.save(path, optimize=True)  # full colour: a palette would shift the series' hues
    assert path.stat().st_size < 300_000, f"{path} is {path.stat().st_size} bytes: keep it under 300 KB"
