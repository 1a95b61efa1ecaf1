from collections import Counter

import numpy as np
import pytest

from ipyviz.text import keep_probabilities, negative_distribution, skipgram_dataset, skipgram_windows, skipgrams

# Distinct ids per position (id = position + offset), so a pair's ids say where its words stood.
DOCS = [np.arange(2, 40), np.arange(40, 47), np.arange(47, 48), np.arange(48, 60)]


def expected_pairs(docs, window):
    pairs = Counter()
    for doc in docs:
        for i in range(len(doc)):
            for j in range(max(0, i - window), min(len(doc), i + window + 1)):
                if i != j:
                    pairs[(int(doc[i]), int(doc[j]))] += 1
    return pairs


def doc_of(ids):
    starts = np.array([d[0] for d in DOCS])
    return np.searchsorted(starts, ids, side="right")


def test_full_windows_give_exactly_the_expected_pairs():
    sg = skipgrams(DOCS, window=3, negatives=2, shrink_window=False, sample=0, seed=0)
    assert Counter(zip(sg.targets.tolist(), sg.contexts[:, 0].tolist())) == expected_pairs(DOCS, 3)
    assert sg.contexts.shape == (len(sg), 3) and sg.labels.shape == (len(sg), 3)
    assert (sg.labels[:, 0] == 1).all() and (sg.labels[:, 1:] == 0).all()


def test_every_pair_within_the_window_and_its_document_and_shrinking_shortens_windows():
    sg = skipgrams(DOCS, window=4, negatives=0, sample=0, seed=1)  # shrink_window on
    distance = np.abs(sg.targets - sg.contexts[:, 0])
    assert 1 <= distance.min() and distance.max() <= 4
    assert (doc_of(sg.targets) == doc_of(sg.contexts[:, 0])).all()  # never across documents
    full = sum(expected_pairs(DOCS, 4).values())
    # word2vec draws each centre's window from 1..4: about (1+2+3+4)/4 / 4 of the full pairs (edges aside)
    assert 0.5 * full < len(sg) < 0.8 * full
    assert Counter(distance.tolist())[1] > Counter(distance.tolist())[4]  # near neighbours more often


def test_negatives_never_the_true_context_nor_padding_nor_oov_even_when_one_word_dominates():
    rng = np.random.default_rng(0)
    # id 2 holds ~97% of the negative mass: naive sampling would hit the context almost always.
    docs = [rng.choice([1, 2, 3, 4], size=200, p=[0.05, 0.9, 0.03, 0.02]) for _ in range(20)]
    sg = skipgrams(docs, window=2, negatives=8, sample=0, seed=3)
    ctx, neg = sg.contexts[:, :1], sg.contexts[:, 1:]
    assert (neg != ctx).all()
    assert not np.isin(neg, [0, 1]).any() and not np.isin(sg.targets, [0, 1]).any()
    assert set(np.unique(neg)) == {2, 3, 4}


def test_negatives_follow_unigram_power_conditioned_on_not_the_context():
    counts = np.array([0, 50, 400, 200, 100, 50, 10])
    docs = [np.repeat(np.arange(2, 7), counts[2:])]
    sg = skipgrams(docs, window=2, negatives=10, sample=0, counts=counts, seed=5)
    p = negative_distribution(counts, 0.75, exclude=(0, 1))
    assert p[0] == p[1] == 0 and np.isclose(p.sum(), 1)
    for c in (2, 4):
        neg = sg.contexts[sg.contexts[:, 0] == c, 1:].ravel()
        expected = p / (1 - p[c])
        expected[c] = 0
        seen = np.bincount(neg, minlength=len(p)) / len(neg)
        sigma = np.sqrt(expected * (1 - expected) / len(neg))
        assert (np.abs(seen - expected) <= 5 * sigma + 1e-12).all(), (c, seen, expected)


@pytest.mark.parametrize("formula", ["word2vec", "paper"])
def test_subsampling_keeps_frequent_words_at_the_formula_rate(formula):
    rng = np.random.default_rng(7)
    # word 2 is 40% of the tokens; words 3..2001 are rare (kept with probability 1)
    docs = [np.where(rng.random(1000) < 0.4, 2, rng.integers(3, 2002, 1000)) for _ in range(60)]
    counts = np.bincount(np.concatenate(docs), minlength=2002)
    t = 1e-3
    keep = keep_probabilities(counts, t, formula, exclude=(0, 1))
    f = counts[2] / counts.sum()
    want = (np.sqrt(f / t) + 1) * t / f if formula == "word2vec" else np.sqrt(t / f)
    assert np.isclose(keep[2], want) and keep[2] < 0.1 and (keep[3:] == 1).all()
    rows = skipgram_windows(docs, window=3, negatives=0, sample=t, subsample_formula=formula, seed=11)
    kept = np.count_nonzero(rows.centres[:, 0] == 2)
    sigma = np.sqrt(counts[2] * want * (1 - want))
    assert abs(kept - counts[2] * want) < 5 * sigma
    rare = np.count_nonzero(rows.centres[:, 0] != 2)
    assert rare == counts[3:].sum()  # every rare word survives (each has a neighbour here)


def test_counts_and_oov_handling():
    docs = [np.array([2, 1, 3, 1, 4])]
    sg = skipgrams(docs, window=1, negatives=0, shrink_window=False, sample=0, seed=0)
    # OOV (1) tokens are dropped first, so 2-3-4 become neighbours, as in gensim
    assert sorted(zip(sg.targets.tolist(), sg.contexts[:, 0].tolist())) == [(2, 3), (3, 2), (3, 4), (4, 3)]
    sg = skipgrams(docs, window=1, negatives=0, shrink_window=False, sample=0, drop_oov=False, seed=0)
    assert len(sg) == 8 and 1 in sg.targets
    padded = np.array([[2, 3, 4, 0, 0], [5, 6, 0, 0, 0]])
    sg = skipgrams(padded, window=2, negatives=1, shrink_window=False, sample=0, seed=0)
    assert len(sg) == 6 + 2 and not (sg.contexts == 0).any()
    flat_t, flat_c, flat_l = sg.flat()
    assert flat_t.shape == flat_c.shape == flat_l.shape == (16,) and flat_l.sum() == 8


def test_deterministic_with_a_seed():
    a = skipgrams(DOCS, window=3, negatives=4, seed=42)
    b = skipgrams(DOCS, window=3, negatives=4, seed=42)
    c = skipgrams(DOCS, window=3, negatives=4, seed=43)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not (len(a) == len(c) and np.array_equal(a.contexts, c.contexts))
    w1 = skipgram_windows(DOCS, window=3, negatives=4, seed=42)
    w2 = skipgram_windows(DOCS, window=3, negatives=4, seed=42)
    assert np.array_equal(w1.words, w2.words) and np.array_equal(w1.centres, w2.centres)


def test_windows_layout_holds_the_same_pairs_nearest_first():
    rows = skipgram_windows(DOCS, window=3, negatives=3, shrink_window=False, sample=0, seed=0)
    neighbour, centre = rows.pairs()
    assert Counter(zip(centre.tolist(), neighbour.tolist())) == expected_pairs(DOCS, 3)
    assert (rows.centres[:, 1:] != rows.centres[:, :1]).all() and (rows.centres != 0).all()
    offsets = np.array([-1, 1, -2, 2, -3, 3])
    filled = rows.words != 0
    assert ((rows.words - rows.centres[:, :1]) == offsets)[filled].all()
    assert 47 not in rows.centres[:, 0]  # a one-word document has no window


def test_clear_errors():
    with pytest.raises(ValueError, match="window"):
        skipgrams(DOCS, window=0)
    with pytest.raises(ValueError, match="negatives"):
        skipgrams(DOCS, negatives=-1)
    with pytest.raises(TypeError, match="Vocabulary.encode"):
        skipgrams([["the", "cat"]])
    with pytest.raises(ValueError, match="formula"):
        skipgrams(DOCS, subsample_formula="gensim")
    with pytest.raises(ValueError, match="at least 2 words"):
        skipgrams([np.array([2, 2, 2])], sample=0)
    with pytest.raises(ValueError, match="out of range"):
        skipgrams(DOCS, counts=np.ones(10))


def test_tf_data_batches_shapes_and_fresh_deterministic_epochs():
    ds = skipgram_dataset(DOCS, batch_size=16, window=2, negatives=3, sample=0, seed=0)
    (t, c), l = next(iter(ds))  # pass 0
    assert t.shape == (16,) and c.shape == (16, 4) and l.shape == (16, 4)
    assert t.dtype.name == "int32" and l.dtype.name == "float32"
    epoch1 = np.concatenate([b[0][1].numpy() for b in ds])  # pass 1
    epoch2 = np.concatenate([b[0][1].numpy() for b in ds])
    assert not np.array_equal(epoch1, epoch2)  # new windows and negatives each epoch
    assert len(epoch1) == len(epoch2) and len(ds) == -(-len(epoch1) // 16)  # same rows every pass
    again = skipgram_dataset(DOCS, batch_size=16, window=2, negatives=3, sample=0, seed=0)
    first = np.concatenate([b[0][1].numpy() for b in again])  # pass 0 again, complete
    assert np.array_equal(first[:16], c.numpy())
    assert np.array_equal(np.concatenate([b[0][1].numpy() for b in again]), epoch1)
