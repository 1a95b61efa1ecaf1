"""Skip-gram pairs with negative sampling, vectorised with numpy (no Python loop per pair or token).

Python loops run only over the ``window`` offsets and over redraw rounds for the few negatives that
hit their row's true context (each round redraws just those, vectorised); everything else is
whole-array work. It follows word2vec.c / gensim: out-of-vocabulary tokens are dropped first,
frequent words are subsampled (the kept tokens close up, so windows reach further), each centre word
draws a shrunken window, and negatives come from the unigram distribution raised to 0.75 (an alias
table: exact, O(1) a draw) conditioned on not being the true context: a negative is never the true
context and never padding.

Example::

    import numpy as np
    from ipyviz.text import skipgrams
    docs = [np.array([2, 3, 4, 5, 6]), np.array([3, 4, 2])]
    pairs = skipgrams(docs, window=2, negatives=4, sample=0, seed=0)
    pairs.targets.shape, pairs.contexts.shape       # (N,), (N, 5): column 0 positive, 1..4 negatives
    pairs.labels[0]                                 # [1., 0., 0., 0., 0.]
    targets, contexts, labels = pairs.flat()        # one row per (target, context) pair, Keras style
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = [
    "SkipGrams", "skipgrams", "SkipGramWindows", "skipgram_windows", "skipgram_dataset",
    "keep_probabilities", "negative_distribution",
]

PAD = 0  # index 0 is padding everywhere in ipyviz.text: never a target, context or negative
SUBSAMPLE_FORMULAS = ("word2vec", "paper")


@dataclass(frozen=True)
class SkipGrams:
    """Skip-gram training rows: ``targets`` (N,), ``contexts`` (N, 1+k), ``labels`` (N, 1+k).

    Column 0 of ``contexts`` is the true context word (label 1), columns 1..k its negatives (label 0).
    ``len()`` is N; unpacks like a tuple: ``targets, contexts, labels = pairs``. ``labels`` is a
    read-only broadcast view (every row is [1, 0, ..., 0]); ``np.array(labels)`` copies it.
    """

    targets: np.ndarray
    contexts: np.ndarray
    labels: np.ndarray

    def __iter__(self):
        return iter((self.targets, self.contexts, self.labels))

    def __len__(self):
        return len(self.targets)

    def flat(self):
        """``(targets, contexts, labels)`` as 1-D arrays, one row per (target, word) pair."""
        width = self.contexts.shape[1]
        return np.repeat(self.targets, width), self.contexts.ravel(), self.labels.ravel()


class _Flat(NamedTuple):
    """A corpus already flattened by :func:`_flatten` (reused across epochs)."""

    ids: np.ndarray
    docs: np.ndarray


def _flatten(sequences):
    """Any accepted input -> (ids int64 1-D, doc index int64 1-D) with padding removed."""
    if isinstance(sequences, _Flat):
        return sequences
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
        keep = sequences != PAD
        rows = np.broadcast_to(np.arange(len(sequences))[:, None], sequences.shape)
        return _Flat(sequences[keep].astype(np.int64), rows[keep].astype(np.int64))
    if isinstance(sequences, np.ndarray) and sequences.ndim == 1 and sequences.dtype != object:
        sequences = [sequences]
    arrays = [np.asarray(seq) for seq in sequences]
    if not arrays:
        return _Flat(np.zeros(0, np.int64), np.zeros(0, np.int64))
    # One check on the concatenation instead of one per document (corpora hold many thousands).
    filled = [a for a in arrays if a.size]  # an empty list comes in as float64: leave it out
    ids = (np.concatenate(filled) if filled else np.zeros(0, np.int64)) if all(a.ndim == 1 for a in arrays) else None
    if ids is None or not np.issubdtype(ids.dtype, np.integer):
        i, bad = next(
            (i, a) for i, a in enumerate(arrays)
            if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer))
        )
        raise TypeError(
            f"sequence {i} is not a 1-D array of integer ids (got dtype {bad.dtype}, shape {bad.shape}); "
            "encode tokens first with Vocabulary.encode / encode_documents"
        )
    ids = ids.astype(np.int64, copy=False)
    docs = np.repeat(np.arange(len(arrays)), [len(a) for a in arrays])
    if ids.size and ids.min() < 0:
        raise ValueError(f"ids must be >= 0 (found {ids.min()})")
    keep = ids != PAD
    return _Flat(ids[keep], docs[keep])


def keep_probabilities(counts, sample=1e-3, formula="word2vec", exclude=(PAD,)):
    """Probability of keeping each word id under frequent-word subsampling with threshold ``sample``.

    ``formula="word2vec"`` is word2vec.c's and gensim's ``(sqrt(f/t) + 1) * t/f``; ``"paper"`` is
    Mikolov et al. 2013's ``sqrt(t/f)``; f is the word's share of the (non-excluded) tokens. Both are
    clipped to 1, and ``sample=0``/``None`` keeps everything.
    """
    if formula not in SUBSAMPLE_FORMULAS:
        raise ValueError(f"formula must be one of {SUBSAMPLE_FORMULAS}, got {formula!r}")
    counts = np.asarray(counts, dtype=np.float64).copy()
    counts[[i for i in exclude if i is not None and i < len(counts)]] = 0
    keep = np.ones(len(counts))
    if not sample:
        return keep
    if sample < 0:
        raise ValueError(f"sample must be >= 0 (a threshold such as 1e-3 or 1e-5), got {sample}")
    total = counts.sum()
    seen = counts > 0
    f = counts[seen] / total
    ratio = sample / f
    keep[seen] = (np.sqrt(ratio) + ratio) if formula == "word2vec" else np.sqrt(ratio)
    return np.minimum(keep, 1.0)


def negative_distribution(counts, power=0.75, exclude=(PAD,)):
    """The negative-sampling distribution: counts**power, normalised, zero for ``exclude`` ids."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    weights[[i for i in exclude if i is not None and i < len(weights)]] = 0
    total = weights.sum()
    if np.count_nonzero(weights) < 2:
        raise ValueError(
            "negative sampling needs at least 2 words with a nonzero count (besides padding/OOV); "
            "the corpus is too small or min_count too high"
        )
    return weights / total


def _alias_table(probs):
    """Walker/Vose alias table: O(1) exact draws from ``probs`` (built with one loop per word)."""
    n = len(probs)
    scaled = (probs * n).tolist()
    accept, alias = [0.0] * n, list(range(n))
    small = [i for i, x in enumerate(scaled) if x < 1.0]
    large = [i for i, x in enumerate(scaled) if x >= 1.0]
    while small and large:
        s, g = small.pop(), large[-1]
        accept[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        if scaled[g] < 1.0:
            small.append(large.pop())
    heaviest = int(np.argmax(probs))
    for i in large + small:  # leftovers from float rounding: keep their own mass, never a zero-mass id
        accept[i], alias[i] = (1.0, i) if probs[i] > 0 else (0.0, heaviest)
    return np.asarray(accept), np.asarray(alias, dtype=np.int64)


def _sample_negatives(rng, probs, contexts, k):
    """(N, 1+k) int32 rows: column 0 the contexts, columns 1..k draws from ``probs`` != that context.

    Rejecting the context is exactly sampling from ``probs`` conditioned on "not the context"; each
    round redraws only the collisions (vectorised), so rounds shrink geometrically: a word holding a
    share p of the negative mass collides with probability p.
    """
    accept, alias = _alias_table(probs)
    accept, alias = accept.astype(np.float32), alias.astype(np.int32)  # small: stays in cache

    def draw(size):
        slot = rng.integers(0, len(probs), size, dtype=np.int32)
        return np.where(rng.random(size, dtype=np.float32) < accept[slot], slot, alias[slot])

    rows = draw((len(contexts), 1 + k))
    rows[:, 0] = contexts
    flat, width = rows.reshape(-1), 1 + k  # a view: rows is contiguous
    bad = np.flatnonzero(rows[:, 1:] == contexts[:, None])
    bad = bad // k * width + bad % k + 1  # (N, k) positions -> flat positions in rows
    while bad.size:
        flat[bad] = draw(bad.size)
        bad = bad[flat[bad] == contexts[bad // width]]
    return rows


class _Prepared(NamedTuple):
    ids: np.ndarray  # int32 tokens kept (OOV dropped, subsampled), documents concatenated
    reach_left: np.ndarray  # how far each centre reaches left: its (shrunken) window, cut at its document
    reach_right: np.ndarray
    probs: np.ndarray | None  # negative distribution over ids (None when negatives == 0)


def _check(window, negatives):
    if int(window) != window or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    if int(negatives) != negatives or negatives < 0:
        raise ValueError(f"negatives must be an integer >= 0, got {negatives!r}")
    return int(window), int(negatives)


def _prepare(
    rng, sequences, window, negatives, shrink_window, sample, subsample_formula, counts, power, oov_id, drop_oov
):
    ids, docs = _flatten(sequences)
    if counts is None:
        counts = np.bincount(ids, minlength=int(ids.max(initial=0)) + 1)
    counts = np.asarray(counts, dtype=np.float64)
    if ids.size and ids.max() >= len(counts):
        raise ValueError(f"id {ids.max()} is out of range for counts of length {len(counts)}")
    exclude = (PAD, oov_id) if drop_oov else (PAD,)
    if drop_oov and oov_id is not None:
        keep = ids != oov_id
        ids, docs = ids[keep], docs[keep]
    if sample:
        keep = rng.random(len(ids)) < keep_probabilities(counts, sample, subsample_formula, exclude)[ids]
        ids, docs = ids[keep], docs[keep]
    n = len(ids)
    starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]]) if n else np.zeros(0, np.int64)
    lengths = np.diff(np.r_[starts, n])
    position = np.arange(n) - np.repeat(starts, lengths)
    reach = window - rng.integers(0, window, n) if shrink_window else np.full(n, window)
    reach_left = np.minimum(reach, position)
    reach_right = np.minimum(reach, np.repeat(lengths, lengths) - 1 - position)
    probs = negative_distribution(counts, power, exclude) if negatives and n > 1 else None
    return _Prepared(ids.astype(np.int32), reach_left, reach_right, probs)


def skipgrams(
    sequences,
    *,
    window=5,
    negatives=5,
    shrink_window=True,
    sample=1e-3,
    subsample_formula="word2vec",
    counts=None,
    power=0.75,
    oov_id=1,
    drop_oov=True,
    shuffle=True,
    seed=None,
):
    """Skip-gram rows with negatives for a corpus of integer ids (0 = padding, ``oov_id`` = OOV).

    ``sequences``: a list of 1-D id arrays (documents or sentences: windows never cross them), a 2-D
    padded array, or one 1-D array. ``counts`` (indexed by id, e.g. ``Vocabulary.counts``) drives
    subsampling and the negative distribution; by default they are counted from ``sequences``.
    With ``shrink_window`` each centre word uses a window drawn uniformly from 1..``window`` (word2vec).
    Each row is (centre word, one neighbour) plus ``negatives`` draws that are never that neighbour.
    Returns :class:`SkipGrams`. Same ``seed`` -> same output.
    """
    window, negatives = _check(window, negatives)
    rng = np.random.default_rng(seed)
    ids, reach_left, reach_right, probs = _prepare(
        rng, sequences, window, negatives, shrink_window, sample, subsample_formula, counts, power, oov_id, drop_oov
    )
    targets, contexts = [], []
    for offset in range(1, window + 1):
        right = np.flatnonzero(reach_right >= offset)  # centre i, context i + offset
        left = np.flatnonzero(reach_left >= offset)  # centre i, context i - offset
        targets += [ids[right], ids[left]]
        contexts += [ids[right + offset], ids[left - offset]]
    targets = np.concatenate(targets)
    contexts = np.concatenate(contexts)
    if shuffle:
        order = rng.permutation(len(targets))
        targets, contexts = targets[order], contexts[order]
    if probs is not None and len(targets):
        rows = _sample_negatives(rng, probs, contexts, negatives)
    else:
        rows = np.zeros((len(targets), 1 + negatives), np.int32)
        rows[:, 0] = contexts
    return SkipGrams(targets, rows, _labels(rows.shape))


def _labels(shape):
    """Every row's labels are [1, 0, ..., 0]: a read-only broadcast view costs no memory."""
    row = np.zeros(shape[-1], np.float32)
    row[0] = 1
    return np.broadcast_to(row, shape)


@dataclass(frozen=True)
class SkipGramWindows:
    """Skip-gram rows grouped by centre word, negatives shared by the window (as in pWord2Vec).

    ``words`` (N, 2*window): the centre's neighbours, nearest first -- columns are the offsets
    -1, +1, -2, +2, ..., -window, +window -- and 0 where the (shrunken) window or the document ends,
    so a row with reach r needs only its first 2r columns. ``centres`` (N, 1+k): column 0 the centre
    word, then k negatives, never the centre nor padding. Each neighbour predicts its centre against the same k
    negatives -- word2vec's skip-gram updates (input = neighbour, output = centre, as in word2vec.c
    and gensim) with the negatives drawn once per window instead of once per pair.
    """

    words: np.ndarray
    centres: np.ndarray

    def __iter__(self):
        return iter((self.words, self.centres))

    def pairs(self):
        """The (neighbour, centre) positive pairs as two 1-D arrays, padding slots left out."""
        rows, cols = np.nonzero(self.words)
        return self.words[rows, cols], self.centres[rows, 0]

    def __len__(self):
        return len(self.words)


def skipgram_windows(
    sequences,
    *,
    window=5,
    negatives=5,
    shrink_window=True,
    sample=1e-3,
    subsample_formula="word2vec",
    counts=None,
    power=0.75,
    oov_id=1,
    drop_oov=True,
    shuffle=True,
    seed=None,
):
    """Like :func:`skipgrams` (same options), one row per centre word: :class:`SkipGramWindows`.

    It is what :meth:`Word2Vec.train` feeds its TensorFlow step: a row's ~2*window pairs share their
    gathered rows, so the step moves ~3x less memory than one row per pair. Centres whose window
    holds no other word are left out.
    """
    window, negatives = _check(window, negatives)
    rng = np.random.default_rng(seed)
    ids, reach_left, reach_right, probs = _prepare(
        rng, sequences, window, negatives, shrink_window, sample, subsample_formula, counts, power, oov_id, drop_oov
    )
    centres = np.flatnonzero((reach_left + reach_right) > 0)
    if shuffle:
        centres = centres[rng.permutation(len(centres))]
    words = np.zeros((len(centres), 2 * window), np.int32)
    left, right = reach_left[centres], reach_right[centres]
    for offset in range(1, window + 1):
        rows = np.flatnonzero(left >= offset)
        words[rows, 2 * offset - 2] = ids[centres[rows] - offset]
        rows = np.flatnonzero(right >= offset)
        words[rows, 2 * offset - 1] = ids[centres[rows] + offset]
    if probs is not None and len(centres):
        outputs = _sample_negatives(rng, probs, ids[centres], negatives)
    else:
        outputs = np.zeros((len(centres), 1 + negatives), np.int32)
        outputs[:, 0] = ids[centres]
    return SkipGramWindows(words, outputs)


def skipgram_dataset(sequences, *, batch_size=4096, seed=None, **options):
    """A ``tf.data.Dataset`` of ``((targets, contexts), labels)`` batches for ``model.fit``.

    Each pass over the dataset (each epoch) draws fresh pairs -- new subsampling, windows and
    negatives, as word2vec does -- deterministically: the n-th pass uses ``(seed, n)``. ``options``
    are those of :func:`skipgrams`. Shapes: targets (B,), contexts and labels (B, 1 + negatives).
    Every pass holds as many rows as the first (subsampling makes the count vary by ~0.1%: extra rows
    are left out, missing ones repeat random rows of that pass), so Keras knows the number of steps
    (``len(dataset)``) and never runs out of data in a later epoch. Keras's ``fit`` takes it on
    every backend (TensorFlow, a dependency of ipyviz, is only the data pipeline on JAX and torch).
    """
    import tensorflow as tf

    width = 1 + int(options.get("negatives", 5))
    flat = _flatten(sequences)  # validate and flatten once; each epoch reuses it
    if options.get("counts") is None:
        options["counts"] = np.bincount(flat.ids, minlength=int(flat.ids.max(initial=0)) + 1)

    def draw(n):
        return skipgrams(flat, seed=None if seed is None else [seed, n], **options)

    first = draw(0)
    rows = len(first)
    if rows == 0:
        raise ValueError("the corpus gives no skip-gram pairs: it needs documents of at least 2 in-vocabulary words")
    passes = [0]

    def generate():
        n = passes[0]
        passes[0] += 1
        t, c, l = first if n == 0 else draw(n)
        if len(t) != rows:
            rng = np.random.default_rng(None if seed is None else [seed, n, 1])
            keep = np.r_[np.arange(min(len(t), rows)), rng.integers(0, len(t), max(rows - len(t), 0))]
            t, c, l = t[keep], c[keep], l[keep]
        for start in range(0, rows, batch_size):
            stop = start + batch_size
            yield (t[start:stop], c[start:stop]), l[start:stop]

    signature = (
        (tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None, width), tf.int32)),
        tf.TensorSpec((None, width), tf.float32),
    )
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    steps = -(-rows // batch_size)
    return dataset.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(2)
