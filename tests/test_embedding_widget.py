"""EmbeddingScatter: sources and validation, traits and bytes sent, neighbours, the training callback."""

import keras
import numpy as np
import pytest
from keras import layers as L

import ipyviz
from ipyviz.embedding.widget import EmbeddingScatter, UnknownWordError

WORDS = [f"w{i}" for i in range(50)]


def matrix(n=50, d=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def embedding_model(vocab=50, dim=8):
    model = keras.Sequential(
        [keras.Input((1,), dtype="int32"), L.Embedding(vocab, dim, name="emb"), L.Flatten(), L.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return model


def fit_data(vocab=50):
    x = np.arange(vocab, dtype="int32").reshape(-1, 1)
    return x, np.sin(np.arange(vocab, dtype="float32")).reshape(-1, 1)


def capture(scatter):
    """Record what the widget sends to the browser (the comm messages and their binary buffers)."""
    sent = []
    scatter._send = lambda msg, buffers=None: sent.append((msg, buffers or []))
    return sent


# -- sources and validation ------------------------------------------------------------------------
def test_public_name_and_array_source():
    scatter = ipyviz.EmbeddingScatter(matrix(), WORDS)
    assert isinstance(scatter, EmbeddingScatter)
    assert scatter.positions.shape == (50, 2) and scatter.positions.dtype == np.float32
    assert scatter.n_points == 50 and scatter.labels == WORDS and scatter.method == "pca"


def test_labels_must_match_rows_with_both_counts_in_the_message():
    with pytest.raises(ValueError, match=r"labels has 49 entries but the embedding matrix has 50 rows"):
        EmbeddingScatter(matrix(), WORDS[:49])
    with pytest.raises(TypeError, match="one word per row"):
        EmbeddingScatter(matrix(), "w0 w1")


def test_labels_from_an_object_with_get_vocabulary():
    class Vocab:
        def get_vocabulary(self):
            return WORDS

    assert EmbeddingScatter(matrix(), Vocab()).labels == WORDS

    class WordIndex:  # like ipyviz.text.Vocabulary: vocab[word] -> row, rows in .words
        words = WORDS

        def __len__(self):
            return len(WORDS)

        def __getitem__(self, word):
            return WORDS.index(word)

    assert EmbeddingScatter(matrix(), WordIndex()).labels == WORDS
    del WordIndex.words
    with pytest.raises(TypeError, match="one word per row"):
        EmbeddingScatter(matrix(), WordIndex())  # never walked as a list through __getitem__


def test_model_without_embedding_layer_lists_what_it_has():
    model = keras.Sequential([keras.Input((3,)), L.Dense(2, name="dense_a")], name="plain")
    with pytest.raises(ValueError, match=r"model 'plain' has no Embedding layer.*dense_a \(Dense\)"):
        EmbeddingScatter(model, WORDS)


def test_ambiguous_model_lists_the_candidates_and_layer_picks_one():
    a, b = keras.Input((1,), dtype="int32"), keras.Input((1,), dtype="int32")
    target = L.Embedding(50, 8, name="target")(a)
    context = L.Embedding(50, 8, name="context")(b)
    model = keras.Model([a, b], L.Dot(axes=-1)([target, context]), name="w2v")
    with pytest.raises(ValueError, match=r"2 Embedding layers \(target, context\).*layer="):
        EmbeddingScatter(model, WORDS)
    scatter = EmbeddingScatter(model, WORDS, layer="context")
    np.testing.assert_array_equal(scatter._matrix, model.get_layer("context").embeddings.numpy())
    with pytest.raises(ValueError, match=r"no Embedding layer named 'nope'; its Embedding layers: target, context"):
        EmbeddingScatter(model, WORDS, layer="nope")


def test_nested_model_and_layer_sources():
    inner = keras.Sequential([keras.Input((1,), dtype="int32"), L.Embedding(50, 4, name="emb")], name="inner")
    x = keras.Input((1,), dtype="int32")
    outer = keras.Model(x, L.Dense(1)(L.Flatten()(inner(x))))
    assert EmbeddingScatter(outer, WORDS)._source.name == "inner/emb"
    assert EmbeddingScatter(inner.get_layer("emb"), WORDS).n_points == 50
    with pytest.raises(TypeError, match="not an Embedding layer"):
        EmbeddingScatter(L.Dense(3), WORDS)
    with pytest.raises(ValueError, match="not built"):
        EmbeddingScatter(L.Embedding(50, 4), WORDS)
    with pytest.raises(ValueError, match="2-D numeric"):
        EmbeddingScatter(np.zeros(50), WORDS)


def test_hide_and_max_points_are_explicit():
    labels = ["", "[UNK]"] + WORDS[2:]
    scatter = EmbeddingScatter(matrix(), labels, hide=[0, "[UNK]"], max_points=10)
    assert scatter.n_points == 10 and scatter.labels == WORDS[2:12]
    assert scatter.rows.tolist() == list(range(2, 12))
    assert "2 hidden row(s)" in scatter.note and "first 10 of 48 rows" in scatter.note and "frequency" in scatter.note
    assert EmbeddingScatter(matrix(), WORDS).note == ""  # nothing is dropped without asking
    with pytest.raises(IndexError, match="outside the 50 rows"):
        EmbeddingScatter(matrix(), WORDS, hide=[50])
    with pytest.raises(ValueError, match="not one of the labels"):
        EmbeddingScatter(matrix(), WORDS, hide=["zzz"])
    with pytest.raises(ValueError, match="positive integer"):
        EmbeddingScatter(matrix(), WORDS, max_points=0)


def test_precomputed_coordinates():
    coords = np.random.default_rng(1).normal(size=(50, 2)).astype(np.float32)
    scatter = EmbeddingScatter(coords, WORDS, projection=None, hide=[0])
    np.testing.assert_array_equal(scatter.positions, coords[1:])
    assert scatter.method == "precomputed"
    given = EmbeddingScatter(matrix(), WORDS, projection=coords)
    np.testing.assert_array_equal(given.positions, coords)
    with pytest.raises(ValueError, match="precomputed coordinates"):
        given.set_embeddings(matrix(seed=2))
    given.set_embeddings(matrix(seed=2), coordinates=coords * 2)
    np.testing.assert_array_equal(given.positions, coords * 2)
    with pytest.raises(ValueError, match="8 columns"):
        EmbeddingScatter(matrix(), WORDS, projection=None)
    with pytest.raises(ValueError, match=r"expected \(50, 2\)"):
        EmbeddingScatter(matrix(), WORDS, projection=coords[:7])
    with pytest.raises(ValueError, match="unknown projection 'lda'"):
        EmbeddingScatter(matrix(), WORDS, projection="lda")


def test_html_and_newlines_in_labels_travel_as_plain_text():
    labels = WORDS[:48] + ["<img src=x onerror=alert(1)>", "two\nlines"]
    scatter = EmbeddingScatter(matrix(), labels)
    sent = scatter.labels_text.split("\n")
    assert len(sent) == 50 and sent[48] == "<img src=x onerror=alert(1)>" and sent[49] == "two\u21b5lines"
    assert scatter.neighbors("two\nlines", k=1)  # Python keeps the real label


# -- traits and bytes ------------------------------------------------------------------------------
def test_update_sends_8_bytes_a_point_and_never_the_labels():
    scatter = EmbeddingScatter(matrix(), WORDS)
    assert len(scatter.points) == 8 * 50
    label_events = []
    scatter.observe(label_events.append, names=["labels_text"])
    sent = capture(scatter)
    for seed in range(3):
        scatter.set_embeddings(matrix(seed=seed + 1))
    assert label_events == [] and len(sent) == 3
    for msg, buffers in sent:
        keys = set(msg["state"]) | {path[0] for path in msg["buffer_paths"]}  # bytes travel as buffers
        assert "labels_text" not in keys and "history" not in keys
        assert keys >= {"points", "frame", "frame_info"} and msg["buffer_paths"] == [["points"]]
        assert sum(len(b) for b in buffers) == 8 * 50  # one float32 (x, y) per point, nothing else binary
    assert scatter.frame == 3 and [f["name"] for f in scatter.frame_info] == ["initial", "update 1", "update 2", "update 3"]


def test_frames_are_bounded_and_history_is_synced_on_demand():
    scatter = EmbeddingScatter(matrix(), WORDS, max_frames=3)
    for seed in range(5):
        scatter.set_embeddings(matrix(seed=seed + 1))
    assert [f["id"] for f in scatter.frame_info] == [0, 4, 5]  # the start, then the latest
    assert scatter.history == []  # not resent with every update
    scatter.sync_history()
    assert scatter.history_ids == [0, 4] and all(len(b) == 8 * 50 for b in scatter.history)
    assert EmbeddingScatter(matrix(), WORDS).max_frames == 100
    big = EmbeddingScatter(np.zeros((1_000_000, 2), np.float32), [""] * 1_000_000, projection=None)
    assert big.max_frames == 33  # ~256 MiB of 8 MB frames


def test_set_embeddings_checks_rows_and_rotation_leaves_the_picture_still():
    scatter = EmbeddingScatter(matrix(2000, 16), [f"w{i}" for i in range(2000)])
    before = scatter.positions.copy()
    q, _ = np.linalg.qr(np.random.default_rng(7).normal(size=(16, 16)))
    scatter.set_embeddings(matrix(2000, 16) @ q.astype(np.float32))
    assert np.abs(scatter.positions - before).max() < 1e-3 * np.abs(before).max()
    with pytest.raises(ValueError, match="has 10 rows but this scatter was made for 2,000"):
        scatter.set_embeddings(matrix(10, 16))


def test_highlight_is_validated_and_resolved_to_rows():
    scatter = EmbeddingScatter(matrix(), WORDS, highlight=["w3", "w7"])
    assert scatter.highlight_rows == [3, 7]
    scatter.highlight = ["w9"]
    assert scatter.highlight_rows == [9]
    with pytest.raises(UnknownWordError, match="close matches: 'w4'"):
        EmbeddingScatter(matrix(), WORDS, highlight=["w4x"])


# -- neighbours ------------------------------------------------------------------------------------
def planted():
    """Three tight clusters of words around orthogonal directions; 'a0' is nearest to a1, a2, a3."""
    rng = np.random.default_rng(0)
    centres = np.eye(6, dtype=np.float32)[:3] * 5
    rows, labels = [], []
    for c, name in enumerate("abc"):
        for i in range(4):
            rows.append(centres[c] + 0.1 * (i + 1) * rng.normal(size=6))
            labels.append(f"{name}{i}")
    return np.array(rows, np.float32), labels


def test_neighbors_are_cosine_in_the_original_space():
    m, labels = planted()
    scatter = EmbeddingScatter(m, labels)
    result = scatter.neighbors("a0", k=3)
    assert {w for w, _ in result} == {"a1", "a2", "a3"}
    unit = m / np.linalg.norm(m, axis=1, keepdims=True)
    for word, cosine in result:
        assert cosine == pytest.approx(float(unit[0] @ unit[labels.index(word)]), abs=1e-6)
    assert [c for _, c in result] == sorted((c for _, c in result), reverse=True)
    assert len(scatter.neighbors("b2", k=100)) == 11  # never the word itself
    with pytest.raises(KeyError) as error:
        scatter.neighbors("a9")
    assert isinstance(error.value, ValueError) and "'a0'" in str(error.value)


def test_click_round_trip_fills_neighbor_result_and_follows_updates():
    m, labels = planted()
    scatter = EmbeddingScatter(m, labels, k=2)
    scatter.selected = 4  # what the browser sets on click
    result = scatter.neighbor_result
    assert result["row"] == 4 and result["word"] == "b0"
    assert {n["word"] for n in result["neighbors"]} <= {"b1", "b2", "b3"} and len(result["neighbors"]) == 2
    swapped = m.copy()
    swapped[[4, 0]] = swapped[[0, 4]]  # b0 now sits among the a's
    scatter.set_embeddings(swapped)
    assert {n["word"] for n in scatter.neighbor_result["neighbors"]} <= {"a1", "a2", "a3"}
    scatter.selected = 99
    assert "no point 99" in scatter.neighbor_result["error"]
    scatter.selected = -1
    assert scatter.neighbor_result == {}


# -- the training callback -------------------------------------------------------------------------
def test_callback_updates_the_map_at_each_epoch_of_fit():
    model = embedding_model()
    scatter = EmbeddingScatter(model, WORDS)
    initial = scatter.positions.copy()
    sent = capture(scatter)
    model.fit(*fit_data(), epochs=3, batch_size=10, verbose=0, callbacks=[scatter.callback()])
    assert [f["name"] for f in scatter.frame_info] == ["initial", "epoch 1", "epoch 2", "epoch 3"]
    weights = model.get_layer("emb").embeddings.numpy()
    np.testing.assert_allclose(scatter._matrix, weights)
    assert not np.allclose(scatter.positions, initial)
    updates = [msg for msg, _ in sent if ["points"] in msg.get("buffer_paths", [])]
    assert len(updates) == 3
    assert scatter.history_ids == [0, 1, 2] and len(scatter.history) == 3  # synced once, at the end
    assert scatter.error == ""


def test_callback_on_an_array_scatter_reads_the_fitted_models_layer():
    model = embedding_model()
    scatter = EmbeddingScatter(model.get_layer("emb").embeddings.numpy(), WORDS, hide=[0])
    model.fit(*fit_data(), epochs=2, verbose=0, callbacks=[scatter.callback()])
    assert len(scatter.frame_info) == 3
    np.testing.assert_allclose(scatter._matrix, model.get_layer("emb").embeddings.numpy()[1:])


def test_callback_shows_weights_changed_before_fit_and_every_n():
    model = embedding_model()
    scatter = EmbeddingScatter(model, WORDS)
    model.fit(*fit_data(), epochs=1, verbose=0)  # trained without the callback
    model.fit(*fit_data(), epochs=4, verbose=0, callbacks=[scatter.callback(every=2)])
    assert [f["name"] for f in scatter.frame_info] == ["initial", "before fit", "epoch 2", "epoch 4"]


def test_errors_inside_the_callback_are_reported_and_training_goes_on(monkeypatch):
    model = embedding_model()
    scatter = EmbeddingScatter(model, WORDS)

    def broken(*args, **kwargs):
        raise RuntimeError("projection <b>exploded</b>")

    monkeypatch.setattr(scatter, "set_embeddings", broken)
    history = model.fit(*fit_data(), epochs=3, verbose=0, callbacks=[scatter.callback()])
    assert len(history.history["loss"]) == 3
    assert "RuntimeError" in scatter.error and "projection <b>exploded</b>" in scatter.error


def test_callback_with_a_mismatched_model_reports_instead_of_crashing():
    scatter = EmbeddingScatter(matrix(), WORDS)
    model = embedding_model(vocab=30)
    history = model.fit(*fit_data(30), epochs=2, verbose=0, callbacks=[scatter.callback()])
    assert len(history.history["loss"]) == 2
    assert "30 rows" in scatter.error and "50" in scatter.error
