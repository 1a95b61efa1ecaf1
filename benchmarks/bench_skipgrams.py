"""Skip-gram generation: ipyviz's vectorised ``skipgrams`` versus the TF word2vec tutorial's loop.

The tutorial (tensorflow.org/text/tutorials/word2vec, ``generate_training_data``) calls the legacy
``tf.keras.preprocessing.sequence.skipgrams`` once per sentence (tf_keras only now), then one
``tf.random.log_uniform_candidate_sampler`` call per positive pair for its negatives. Both pieces are
reproduced here faithfully (``make_sampling_table`` and ``skipgrams`` copied from tf_keras's source),
with the tutorial's settings: window 2, 4 negatives, vocabulary 4096, sampling factor 1e-5. ipyviz
runs with the same window, negatives and threshold (``sample=1e-5, subsample_formula="paper"``: the
tutorial's sampling table is sqrt(t/f) too, with f guessed from the rank by Zipf's law rather than
counted), no window shrinking, shuffled output.

Corpus: gensim's ``lee_background.cor`` (300 news articles, 60 k words), one sequence per article.
The tutorial's loop runs on the first articles for ``--loop-seconds``; ipyviz on the whole corpus
repeated ``--repeat`` times (best of 3). Rates are per input token and per positive pair.

    python benchmarks/bench_skipgrams.py [--loop-seconds 10] [--repeat 20]
"""

import argparse
import os
import random
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402

from ipyviz.text import Vocabulary, skipgram_windows, skipgrams  # noqa: E402

WINDOW, NUM_NS, VOCAB_SIZE, SEED = 2, 4, 4096, 42


def make_sampling_table(size, sampling_factor=1e-5):
    """tf_keras.preprocessing.sequence.make_sampling_table (legacy), verbatim."""
    gamma = 0.577
    rank = np.arange(size)
    rank[0] = 1
    inv_fq = rank * (np.log(rank) + gamma) + 0.5 - 1.0 / (12.0 * rank)
    f = sampling_factor * inv_fq
    return np.minimum(1.0, f / np.sqrt(f))


def legacy_skipgrams(sequence, vocabulary_size, window_size=4, negative_samples=1.0, shuffle=True,
                     categorical=False, sampling_table=None, seed=None):
    """tf_keras.preprocessing.sequence.skipgrams (legacy), verbatim for negative_samples=0."""
    couples, labels = [], []
    for i, wi in enumerate(sequence):
        if not wi:
            continue
        if sampling_table is not None:
            if sampling_table[wi] < random.random():
                continue
        window_start = max(0, i - window_size)
        window_end = min(len(sequence), i + window_size + 1)
        for j in range(window_start, window_end):
            if j != i:
                wj = sequence[j]
                if not wj:
                    continue
                couples.append([wi, wj])
                labels.append([0, 1] if categorical else 1)
    if shuffle:
        if seed is None:
            seed = random.randint(0, 10e6)
        random.seed(seed)
        random.shuffle(couples)
        random.seed(seed)
        random.shuffle(labels)
    return couples, labels


def generate_training_data(sequences, window_size, num_ns, vocab_size, seed, tf):
    """The tutorial's generate_training_data, verbatim but for the progress bar."""
    targets, contexts, labels = [], [], []
    sampling_table = make_sampling_table(vocab_size)
    for sequence in sequences:
        positive_skip_grams, _ = legacy_skipgrams(
            sequence, vocabulary_size=vocab_size, sampling_table=sampling_table,
            window_size=window_size, negative_samples=0,
        )
        for target_word, context_word in positive_skip_grams:
            context_class = tf.expand_dims(tf.constant([context_word], dtype="int64"), 1)
            negative_sampling_candidates, _, _ = tf.random.log_uniform_candidate_sampler(
                true_classes=context_class, num_true=1, num_sampled=num_ns, unique=True,
                range_max=vocab_size, seed=seed, name="negative_sampling",
            )
            context = tf.concat([tf.squeeze(context_class, 1), negative_sampling_candidates], 0)
            label = tf.constant([1] + [0] * num_ns, dtype="int64")
            targets.append(target_word)
            contexts.append(context)
            labels.append(label)
    return targets, contexts, labels


def time_tutorial(sequences, seconds):
    import tensorflow as tf

    generate_training_data(sequences[:1], WINDOW, NUM_NS, VOCAB_SIZE, SEED, tf)  # warm-up
    random.seed(SEED)
    tokens = pairs = 0
    start = time.perf_counter()
    for seq in sequences:
        targets, _, _ = generate_training_data([seq], WINDOW, NUM_NS, VOCAB_SIZE, SEED, tf)
        tokens, pairs = tokens + len(seq), pairs + len(targets)
        if time.perf_counter() - start > seconds:
            break
    return time.perf_counter() - start, tokens, pairs


def time_ipyviz(fn, sequences, counts):
    best = float("inf")
    for attempt in range(3):
        start = time.perf_counter()
        out = fn(sequences, window=WINDOW, negatives=NUM_NS, shrink_window=False, sample=1e-5,
                 subsample_formula="paper", counts=counts, seed=attempt)
        best = min(best, time.perf_counter() - start)
    return best, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loop-seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=20, help="copies of the corpus for ipyviz's timing")
    args = parser.parse_args()

    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        docs = [line.split() for line in f]
    vocab = Vocabulary.build(docs, max_size=VOCAB_SIZE)  # frequency-ranked, 0 = pad, 1 = OOV, as TextVectorization
    sequences = vocab.encode_documents(docs)
    n_tokens = sum(len(s) for s in sequences)
    print(f"corpus: lee_background.cor, {len(docs)} articles, {n_tokens:,} tokens, vocabulary {len(vocab)}; "
          f"window {WINDOW}, {NUM_NS} negatives, sampling threshold 1e-5")

    loop_time, loop_tokens, loop_pairs = time_tutorial(sequences, args.loop_seconds)
    big = sequences * args.repeat
    counts = vocab.counts * args.repeat
    ours_time, ours = time_ipyviz(skipgrams, big, counts)
    win_time, win = time_ipyviz(skipgram_windows, big, counts)
    assert (ours.contexts[:, 1:] != ours.contexts[:, :1]).all() and (ours.contexts != 0).all()

    rows = [
        ("TF tutorial loop", loop_tokens, loop_pairs, loop_time),
        ("ipyviz skipgrams", n_tokens * args.repeat, len(ours), ours_time),
        ("ipyviz skipgram_windows", n_tokens * args.repeat, int(np.count_nonzero(win.words)), win_time),
    ]
    base_tok, base_pairs = loop_tokens / loop_time, loop_pairs / loop_time
    print(f"\n{'':26s}{'tokens':>11s}{'pairs':>11s}{'seconds':>9s}{'tokens/s':>13s}{'pairs/s':>13s}"
          f"{'pairs/token':>12s}   speed-up (tokens/s, pairs/s)")
    for name, tokens, pairs, seconds in rows:
        tok_rate, pair_rate = tokens / seconds, pairs / seconds
        print(f"{name:26s}{tokens:11,d}{pairs:11,d}{seconds:9.3f}{tok_rate:13,.0f}{pair_rate:13,.0f}"
              f"{pairs / tokens:12.2f}   {tok_rate / base_tok:,.0f}x, {pair_rate / base_pairs:,.0f}x")
    print("\n(target: >= 1000x the tutorial's loop. Every skipgrams row and every tutorial pair carries its own 4 "
          "negatives; skipgram_windows draws 4 per window, shared by its pairs, as Word2Vec.train uses it)")


if __name__ == "__main__":
    main()
