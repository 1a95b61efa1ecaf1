"""The three example notebooks, run top to bottom in JupyterLab (quick mode, offline), render their widgets.

Each notebook is copied next to the server with one cell put in front that sets ``IPYVIZ_QUICK=1``
(what ``tests/test_examples.py`` sets for nbclient). The test waits for the whole run, fails on any
cell error or browser error, and checks that each widget the notebook shows was drawn: the summary
tables with their formulas, the training plot's lines, the embedding map's canvas and highlighted
words, the Grad-CAM viewer's heatmaps. With ``IPYVIZ_SCREENSHOTS=1`` it writes the README's pictures
(``docs/example-*.png``) from full runs (no quick mode).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = os.environ.get("IPYVIZ_SCREENSHOTS") == "1"
# Tests run the quick mode (few epochs and samples); the README's pictures come from full runs.
QUICK = "import os\nos.environ['IPYVIZ_QUICK'] = '%d'" % (not SCREENSHOTS)


def _run_example(nb, filename: str, timeout: float = 480):
    cells = nbformat.read(REPO / "examples" / filename, as_version=4).cells
    nb.write([nbformat.v4.new_code_cell(QUICK), *cells], name=filename)
    nb.open()
    nb.run_all(timeout=timeout)
    return nb


def _drawn_bqplot_lines(nb) -> int:
    return nb.page.eval_on_selector_all(
        ".bqplot path.line", "ps => ps.filter(p => (p.getAttribute('d') || '').includes('L')).length")


def _screenshot(nb, selector: str, name: str) -> None:
    if not SCREENSHOTS:
        return
    target = nb.page.locator(selector).first
    target.scroll_into_view_if_needed()
    target.screenshot(path=str(REPO / "docs" / name))


def test_01_model_summary_renders_both_tables_with_formulas(nb):
    _run_example(nb, "01_model_summary.ipynb")
    nb.page.wait_for_selector(".ipyviz-summary", timeout=30_000)
    assert nb.page.locator(".ipyviz-summary").count() >= 2  # the CNN and the two-branch RNN
    text = " ".join(nb.page.locator(".ipyviz-summary").all_text_contents())
    assert "128 × (5·5·64 + 1)" in text  # the exercise's second conv, input channels counted
    nb.assert_no_browser_errors()
    _screenshot(nb, ".jp-Cell:has(.ipyviz-summary) .jp-OutputArea", "example-01-summary.png")


def test_02_word_embeddings_draws_the_map_with_the_gulf_words(nb):
    _run_example(nb, "02_word_embeddings.ipynb")
    # The first map (the live one) drew its points; its highlighted words are labelled on it.
    nb.page.wait_for_selector('.ipyviz-embedding[data-state="ready"]', timeout=30_000)
    root = nb.page.locator(".ipyviz-embedding").first
    assert int(root.get_attribute("data-draws")) >= 1 and int(root.get_attribute("data-points")) > 100
    highlighted = root.locator('.ipyviz-embedding-label[data-kind="highlight"]').all_text_contents()
    # The notebook highlights those of its watch words that made the vocabulary (offline, on gensim's
    # Australian news, iraq makes it in quick mode only).
    watch = {"iran", "iraq", "kuwait", "emirates", "oil", "government"}
    assert highlighted and set(highlighted) <= watch, highlighted
    assert nb.page.locator(".ipyviz-embedding").count() >= 2  # the window-size comparison cell
    assert _drawn_bqplot_lines(nb) >= 1  # the loss curve
    nb.assert_no_browser_errors()
    _screenshot(nb, ".ipyviz-embedding", "example-02-embeddings.png")


def test_03_gradcam_mnist_shows_heatmaps_and_curves(nb):
    _run_example(nb, "03_gradcam_mnist.ipynb", timeout=1200 if SCREENSHOTS else 480)
    nb.page.wait_for_selector(".ipyviz-gradcam-cell", timeout=30_000)
    cells = nb.page.locator(".ipyviz-gradcam").first.locator(".ipyviz-gradcam-cell")
    assert cells.count() == 10  # the first 10 training images
    maps = [cells.nth(i).get_attribute("data-empty") for i in range(10)]
    assert maps.count("false") >= 5, f"most heatmaps are empty: {maps}"
    assert nb.page.locator(".ipyviz-gradcam").count() >= 2  # the viewer and %gradcam's
    assert _drawn_bqplot_lines(nb) >= 2  # loss and accuracy
    nb.assert_no_browser_errors()
    _screenshot(nb, ".jp-Cell:has(.ipyviz-gradcam) .jp-OutputArea", "example-03-gradcam.png")
