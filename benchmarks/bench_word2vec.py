"""ipyviz's Keras Word2Vec versus gensim's Word2Vec (skip-gram), same corpus and settings, one run.

Both get the same token lists and gensim's defaults -- sg=1, vector_size 100, window 5, negative 5,
sample 1e-3, alpha 0.025 -> 0.0001, min_count 5, 5 epochs -- gensim with 2 worker threads, TensorFlow
with its default thread pools. Corpora, all shipped with gensim's test data (no download):

- ``lee``: ``lee_background.cor`` (300 news articles, 60 k words);
- ``wiki``: the 206 Wikipedia articles of gensim's shortened enwiki dump (453 k words), tokenised with
  gensim's own ``filter_wiki`` + ``tokenize`` (text8 and larger corpora are not available offline).

Wall time covers building the vocabulary and training (for ipyviz: also the pair generation and
tracing the step); a first untimed call on 30 articles takes TensorFlow's one-off start-up out of it.
words/s = raw corpus words x epochs / wall time. Quality for both comes from the same gensim
evaluators on KeyedVectors: WS-353 and SimLex-999 Spearman (with the share of pairs out of
vocabulary) and the questions-words.txt analogy accuracy (top 30 k words). The Spearman scores of
one seed move by a few hundredths from seed to seed on corpora this small: use --seeds to average.

    python benchmarks/bench_word2vec.py [--corpora lee,wiki] [--seeds 1] [--batch-size 1024]
"""

import argparse
import bz2
import logging
import os
import pickle
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from gensim.models import KeyedVectors, Word2Vec as GensimWord2Vec  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402

from ipyviz.text import Vocabulary, Word2Vec  # noqa: E402

SETTINGS = dict(dim=100, window=5, negatives=5, sample=1e-3, min_count=5, epochs=5)


def load_corpus(name):
    if name == "lee":
        with open(datapath("lee_background.cor"), encoding="utf-8") as f:
            return [line.split() for line in f]
    if name == "wiki":
        cache = os.path.join(tempfile.gettempdir(), "ipyviz_bench_enwiki_shortened.pkl")
        if os.path.exists(cache):
            with open(cache, "rb") as f:
                return pickle.load(f)
        from gensim.corpora.wikicorpus import extract_pages, filter_wiki, tokenize

        path = datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
        docs = [tokenize(filter_wiki(text)) for _, text, _ in extract_pages(bz2.open(path))]
        docs = [d for d in docs if d]
        with open(cache, "wb") as f:
            pickle.dump(docs, f)
        return docs
    raise SystemExit(f"unknown corpus {name!r}: choose from lee, wiki")


def run_gensim(docs, seed):
    s = SETTINGS
    start = time.perf_counter()
    model = GensimWord2Vec(
        docs, sg=1, vector_size=s["dim"], window=s["window"], negative=s["negatives"], sample=s["sample"],
        min_count=s["min_count"], epochs=s["epochs"], workers=2, seed=seed,
    )
    return time.perf_counter() - start, model.wv


def run_ipyviz(docs, seed, batch_size):
    s = SETTINGS
    start = time.perf_counter()
    vocab = Vocabulary.build(docs, min_count=s["min_count"])
    model = Word2Vec(vocab, dim=s["dim"], seed=seed)
    model.train(
        vocab.encode_documents(docs), epochs=s["epochs"], window=s["window"], negatives=s["negatives"],
        sample=s["sample"], batch_size=batch_size, seed=seed,
    )
    wall = time.perf_counter() - start
    kv = KeyedVectors(s["dim"])
    kv.add_vectors(vocab.words[2:], model.vectors[2:])  # rows 0/1 are padding and OOV
    return wall, kv


def quality(kv):
    out = {}
    for name, path in (("WS-353", "wordsim353.tsv"), ("SimLex-999", "simlex999.txt")):
        _, spearman, oov = kv.evaluate_word_pairs(datapath(path))
        out[name] = (float(spearman.statistic), float(oov))
    score, sections = kv.evaluate_word_analogies(datapath("questions-words.txt"), restrict_vocab=30000)
    asked = sum(len(s["correct"]) + len(s["incorrect"]) for s in sections if s["section"] == "Total accuracy")
    out["analogy"] = (float(score), asked)
    return out


def mean(values):
    return statistics.fmean(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default="lee,wiki")
    parser.add_argument("--seeds", type=int, default=1, help="runs per corpus and library (scores are averaged)")
    parser.add_argument("--batch-size", type=int, default=1024, help="centre words per ipyviz step")
    args = parser.parse_args()
    logging.getLogger("gensim").setLevel(logging.WARNING)

    print(f"settings: {SETTINGS}, ipyviz batch_size={args.batch_size}, gensim workers=2, {os.cpu_count()} CPUs")
    # A process's first Keras fit pays TensorFlow's start-up; time it apart, on a tiny slice, for both.
    warm = load_corpus("lee")[:30]
    cold = run_gensim(warm, 0)[0], run_ipyviz(warm, 0, args.batch_size)[0]
    print(f"first call in this process (30 articles, untimed below): gensim {cold[0]:.2f}s, ipyviz {cold[1]:.2f}s")
    for name in args.corpora.split(","):
        docs = load_corpus(name)
        words = sum(len(d) for d in docs)
        runs = {"gensim": [], "ipyviz": []}
        for seed in range(1, args.seeds + 1):  # interleaved, so a busy machine hurts both alike
            runs["gensim"].append(run_gensim(docs, seed))
            runs["ipyviz"].append(run_ipyviz(docs, seed, args.batch_size))
        print(f"\n== {name}: {len(docs)} documents, {words:,} words, vocabulary {len(runs['gensim'][0][1]):,} "
              f"(min_count {SETTINGS['min_count']}), {args.seeds} seed(s)")
        table = {}
        for lib, results in runs.items():
            walls = [w for w, _ in results]
            scores = [quality(kv) for _, kv in results]
            table[lib] = {
                "wall": min(walls),
                "words/s": words * SETTINGS["epochs"] / min(walls),
                **{k: mean([s[k][0] for s in scores]) for k in scores[0]},
                "oov": {k: scores[0][k][1] for k in ("WS-353", "SimLex-999")},
                "asked": scores[0]["analogy"][1],
            }
        g, i = table["gensim"], table["ipyviz"]
        print(f"{'':22s}{'gensim':>12s}{'ipyviz':>12s}   ratio / difference")
        print(f"{'wall time (best) s':22s}{g['wall']:12.2f}{i['wall']:12.2f}   "
              f"ipyviz takes {i['wall'] / g['wall']:.2f}x gensim's time (target <= 3x)")
        print(f"{'words/s':22s}{g['words/s']:12,.0f}{i['words/s']:12,.0f}   {i['words/s'] / g['words/s']:.2f}x")
        for key in ("WS-353", "SimLex-999"):
            print(f"{key + ' Spearman':22s}{g[key]:12.3f}{i[key]:12.3f}   {i[key] - g[key]:+.3f}  "
                  f"(OOV: {g['oov'][key]:.0f}% gensim, {i['oov'][key]:.0f}% ipyviz)")
        print(f"{'analogy accuracy':22s}{g['analogy']:12.3f}{i['analogy']:12.3f}   {i['analogy'] - g['analogy']:+.3f}  "
              f"({g['asked']} questions in gensim's vocab, {i['asked']} in ipyviz's)")


if __name__ == "__main__":
    main()
