"""EmbeddingScatter in a real front end: the map follows a Word2Vec ``fit()`` live, search and
highlighted labels, the neighbour list a click asks the kernel for, and labels holding HTML.

``IPYVIZ_SCREENSHOTS=1`` also saves the trained map (highlighted words, a clicked word and its
neighbours) to docs/embedding.png.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from .nbpage import both_frontends

pytestmark = pytest.mark.browser

ROOT = ".ipyviz-embedding"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "embedding.png"

TOPICS = {
    "royal": "king queen prince princess crown throne palace duke",
    "fruit": "apple banana cherry grape melon peach lemon plum",
    "road": "car truck bus train bike taxi tram van",
    "colour": "red green blue yellow purple orange pink brown",
    "sea": "ocean wave beach sand shell coral reef tide",
}
HIGHLIGHT = ["king", "apple", "car", "red", "ocean"]


def word2vec_cell(docs: int) -> str:
    """A cell making a corpus of ``docs`` ten-word documents (each word from the document's topic,
    or, half the time, any word: clusters with some spread), a Word2Vec on it and an
    EmbeddingScatter watching its target embedding (padding and OOV rows hidden)."""
    return f"""
import json, time
import numpy as np, keras, ipyviz
from ipyviz.text import Vocabulary, Word2Vec, tokenize_documents
rng = np.random.default_rng(0)
topics = [t.split() for t in {list(TOPICS.values())!r}]
every = sum(topics, [])
texts = []
for _ in range({docs}):
    topic = topics[rng.integers(len(topics))]
    texts.append(" ".join(rng.choice(every if rng.random() < 0.5 else topic) for _ in range(10)))
docs = tokenize_documents(texts)
vocab = Vocabulary.build(docs)
w2v = Word2Vec(vocab, dim=16, seed=0)
scatter = ipyviz.EmbeddingScatter(w2v, vocab, layer="target_embedding", highlight={HIGHLIGHT!r},
                                  hide=[0, 1])
print("tokens", sum(map(len, docs)), "points", scatter.n_points)
scatter
"""


def wait_attr(nb, selector: str, name: str, predicate: str, timeout: float = 20):
    """Wait until ``predicate`` (a JS expression over ``v``, the attribute's value) holds for the
    first ``selector`` match; return the value."""
    handle = nb.page.wait_for_function(
        f"([sel, name]) => {{ const el = document.querySelector(sel);"
        f" const v = el && el.getAttribute(name); return v !== null && ({predicate}) ? v : null; }}",
        arg=[selector, name], timeout=timeout * 1000,
    )
    return handle.json_value()


def wait_map(nb, timeout: float = 60):
    """Wait for the map to have drawn once with its points; return its root's data attributes."""
    wait_attr(nb, ROOT, "data-draws", "Number(v) >= 1", timeout=timeout)
    return nb.page.eval_on_selector(ROOT, "el => ({...el.dataset})")


def labels(nb, kind: str | None = None) -> list[str]:
    """Texts of the labels drawn on the map (of ``kind`` only, if given), in DOM order."""
    sel = f"{ROOT} .ipyviz-embedding-label" + (f'[data-kind="{kind}"]' if kind else "")
    return nb.page.eval_on_selector_all(sel, "els => els.filter(e => !e.hidden).map(e => e.textContent)")


def point(nb, word: str) -> tuple[int, dict]:
    """Row of ``word`` in the view and the client coordinates of its point (scrolled into view)."""
    row = nb.page.eval_on_selector(ROOT, "(el, w) => el.ipyvizEmbedding.indexOf(w)", word)
    assert row >= 0, f"{word!r} is not among the view's labels"
    xy = nb.page.eval_on_selector(ROOT, "(el, i) => el.ipyvizEmbedding.pointToClient(i)", row)
    assert xy is not None
    return row, xy


def neighbour_words(nb, row: int, timeout: float = 30) -> list[str]:
    """Wait for the neighbour list of ``row`` to be ready; return its words."""
    ready = f'.ipyviz-embedding-neighbors[data-state="ready"][data-row="{row}"]'
    nb.page.wait_for_selector(ready, timeout=timeout * 1000)
    return nb.page.eval_on_selector_all(f"{ready} li .ipyviz-embedding-word", "els => els.map(e => e.textContent)")


# --------------------------------------------------------------------------- live updates

LIVE_FIT = """
slow = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: time.sleep(1.0))
history = w2v.train(docs, epochs=5, window=3, batch_size=64, seed=0, alpha=0.05,
                    callbacks=[scatter.callback(), slow])
print("frames", len(scatter.frame_info), "loss", round(history.history["loss"][-1], 3))
"""


@both_frontends
def test_map_updates_during_word2vec_fit(nb):
    nb.write([word2vec_cell(docs=40), LIVE_FIT])
    nb.open()
    nb.start_recording(f"{ROOT} .ipyviz-embedding-frame-name")
    nb.run_all(timeout=150)
    assert nb.stream_text(0).strip() == "tokens 400 points 40"
    assert nb.stream_text(1).startswith("frames 6 ")  # the initial frame and one per epoch

    live = {c["text"] for c in nb.recording() if c["running"] and c["text"] and c["text"].startswith("epoch")}
    assert len(live) >= 2, f"the map showed fewer than two epoch frames during fit(): {nb.recording()}"
    # When fit() ends the view shows the last frame and holds all six for the slider.
    wait_map(nb)
    wait_attr(nb, ROOT, "data-frame", "v === '5'")
    wait_attr(nb, ROOT, "data-frames", "v === '6'")
    data = nb.page.eval_on_selector(ROOT, "el => ({...el.dataset})")
    assert data["state"] == "ready" and data["points"] == "40"
    assert nb.text(f"{ROOT} .ipyviz-embedding-frame-name") == "epoch 5 (6/6)"
    assert int(data["draws"]) >= len(live) + 1  # a redraw for each frame shown
    assert sorted(labels(nb, "highlight")) == sorted(HIGHLIGHT)
    nb.assert_no_browser_errors()


# --------------------------------------------------------------------------- search and highlight

SEARCH_WORDS = sorted({w for t in TOPICS.values() for w in t.split()}) + [f"w{i:03d}" for i in range(160)]
SEARCH_HIGHLIGHT = ["banana", "ocean", "w007"]

SEARCH_CELL = f"""
import numpy as np, ipyviz
words = {SEARCH_WORDS!r}
vectors = np.random.default_rng(1).normal(size=(len(words), 12)).astype("float32")
scatter = ipyviz.EmbeddingScatter(vectors, words, highlight={SEARCH_HIGHLIGHT!r})
scatter
"""


def search(nb, query: str, matches: int, count: str) -> None:
    """Type ``query`` in the search box; wait until the view counts ``matches`` hits and its count
    text matches the regex ``count`` (both, so a state left by the previous query never passes)."""
    nb.page.fill(f"{ROOT} input.ipyviz-embedding-search", query)
    nb.page.wait_for_function(
        """([root, matches, count]) => { const el = document.querySelector(root);
             const text = el.querySelector('.ipyviz-embedding-count').textContent;
             return el.dataset.matches === String(matches) && new RegExp(count).test(text); }""",
        arg=[ROOT, matches, count], timeout=20_000,
    )


def test_search_counts_matches_and_highlights_show_labels(nb):
    nb.write([SEARCH_CELL])
    nb.open()
    nb.run_all(timeout=90)
    assert wait_map(nb)["points"] == str(len(SEARCH_WORDS))
    # Highlighted words carry their label from the start, with no search typed.
    assert sorted(labels(nb, "highlight")) == sorted(SEARCH_HIGHLIGHT)
    assert labels(nb, "match") == []

    # Plain text: case-insensitive substring. Hits get labels (highlighted ones keep theirs).
    hits = [w for w in SEARCH_WORDS if "an" in w]
    search(nb, "AN", len(hits), f"^{len(hits)} matches$")
    assert sorted(labels(nb, "match")) == sorted(set(hits) - set(SEARCH_HIGHLIGHT))
    assert "banana" in labels(nb, "highlight")

    hits = [w for w in SEARCH_WORDS if re.search(r"^w0[0-4]", w)]  # 50 hits: over the label limit
    search(nb, "/^w0[0-4]/", 50, "^50 matches$")
    assert labels(nb, "match") == []

    search(nb, "/^pea/", 1, "^1 match$")
    assert labels(nb, "match") == ["peach"]

    search(nb, "/(/", 0, "^invalid regular expression")
    assert nb.page.locator(f"{ROOT} .ipyviz-embedding-count.ipyviz-embedding-invalid").count() == 1

    search(nb, "", 0, "^$")
    assert labels(nb, "match") == [] and sorted(labels(nb, "highlight")) == sorted(SEARCH_HIGHLIGHT)

    # Enter selects the first hit; the kernel (idle now) answers with its neighbours.
    search(nb, "melon", 1, "^1 match$")
    nb.page.press(f"{ROOT} input.ipyviz-embedding-search", "Enter")
    row = SEARCH_WORDS.index("melon")
    assert wait_attr(nb, ROOT, "data-selected", f"v === '{row}'") == str(row)
    assert len(neighbour_words(nb, row)) == 10
    assert labels(nb, "selected") == ["melon"]
    nb.assert_no_browser_errors()


# --------------------------------------------------------------------------- neighbours after fit

TRAIN = """
w2v.train(docs, epochs=8, window=3, batch_size=64, seed=0, alpha=0.05, sample=0,
          callbacks=[scatter.callback()])
print(json.dumps({w: [n for n, _ in scatter.neighbors(w, k=scatter.k)] for w in scatter.labels}))
"""


def test_click_after_fit_lists_the_kernels_neighbours(nb):
    nb.write([word2vec_cell(docs=300), TRAIN])
    nb.open()
    nb.run_all(timeout=150)
    kernel = json.loads(nb.stream_text(1))
    assert wait_attr(nb, ROOT, "data-frames", "v === '9'") == "9"  # initial + 8 epochs
    assert nb.page.get_attribute(f"{ROOT} .ipyviz-embedding-neighbors", "data-state") == "empty"

    row, xy = point(nb, "king")
    nb.page.mouse.click(xy["x"], xy["y"])
    assert wait_attr(nb, ROOT, "data-selected", f"v === '{row}'") == str(row)
    shown = neighbour_words(nb, row)
    assert shown == kernel["king"] and len(shown) == 10
    assert labels(nb, "selected") == ["king"]
    # Neighbours are labelled on the map too (their label outranks a highlight).
    assert sorted(labels(nb, "neighbor")) == sorted(shown)

    if os.environ.get("IPYVIZ_SCREENSHOTS") == "1":
        nb.page.mouse.move(xy["x"] + 60, xy["y"] + 40)  # no tooltip over the labels
        nb.page.wait_for_timeout(400)  # let a transition finish; only the picture depends on it
        nb.page.locator(ROOT).screenshot(path=str(SCREENSHOT))
        assert SCREENSHOT.stat().st_size < 300_000

    # Clicking a listed neighbour selects it and lists its own neighbours.
    first = nb.page.locator(f"{ROOT} .ipyviz-embedding-neighbors li").first
    word = first.locator(".ipyviz-embedding-word").text_content()
    next_row = int(first.get_attribute("data-index"))
    first.click()
    assert neighbour_words(nb, next_row) == kernel[word]
    assert labels(nb, "selected") == [word]
    nb.assert_no_browser_errors()


# --------------------------------------------------------------------------- labels holding HTML

EVIL = "<img src=x onerror=window.__x=1>"
HTML_WORDS = [EVIL, "<b>bold</b>", "<script>window.__x=2</script>", "a &amp; b", "plain", "word", "text", "more"]

HTML_CELL = f"""
import numpy as np, ipyviz
words = {HTML_WORDS!r}
vectors = np.random.default_rng(2).normal(size=(len(words), 6)).astype("float32")
grid = np.array([[i % 4, i // 4] for i in range(len(words))], dtype="float32")  # well apart
scatter = ipyviz.EmbeddingScatter(vectors, words, highlight=[{EVIL!r}], projection=grid)
scatter
"""


def test_labels_holding_html_are_shown_as_text(nb):
    nb.write([HTML_CELL])
    nb.open()
    nb.run_all(timeout=90)
    wait_map(nb)
    assert labels(nb, "highlight") == [EVIL]

    _, xy = point(nb, "<b>bold</b>")
    nb.page.mouse.move(xy["x"], xy["y"])
    tooltip = nb.page.locator(f"{ROOT} .ipyviz-embedding-tooltip")
    tooltip.wait_for(state="visible", timeout=10_000)
    assert tooltip.text_content() == "<b>bold</b>"

    search(nb, "<script>", 1, "^1 match$")
    assert labels(nb, "match") == ["<script>window.__x=2</script>"]

    row, xy = point(nb, EVIL)
    nb.page.mouse.click(xy["x"], xy["y"])
    shown = neighbour_words(nb, row)
    assert sorted(shown) == sorted(HTML_WORDS[1:])  # k=10 > 7 others: all of them
    assert EVIL in nb.text(f"{ROOT} .ipyviz-embedding-neighbors-title")
    assert labels(nb, "selected") == [EVIL]

    # Shown literally, and nothing was parsed: no element made from a label, no script run.
    made = nb.page.eval_on_selector(ROOT, "el => el.querySelectorAll('img, b, script').length")
    assert made == 0
    assert nb.page.evaluate("() => window.__x === undefined")
    nb.assert_no_browser_errors()
