"""English stop words: nltk's list when its ``stopwords`` corpus is downloaded, a shipped copy otherwise.

Example::

    from ipyviz.text import english_stopwords, tokenize
    stop = english_stopwords()                 # frozenset; "auto" = nltk's if present, else shipped
    "the" in stop, "economy" in stop           # (True, False)
    tokenize("The cat and the hat", stopwords=stop)    # ['cat', 'hat']
"""

from __future__ import annotations

import pathlib

__all__ = ["english_stopwords", "STOPWORD_SOURCES"]

STOPWORD_SOURCES = ("auto", "nltk", "ipyviz")
_SHIPPED = pathlib.Path(__file__).with_name("stopwords_en.txt")


def _nltk_english():
    """nltk's English list, looked up afresh (nltk's own lazy loader caches its first answer)."""
    from nltk.corpus.reader import StopwordsCorpusReader
    from nltk.corpus.util import LazyCorpusLoader

    return LazyCorpusLoader("stopwords", StopwordsCorpusReader, r"(?!README|\.).*", encoding="utf8").words("english")


def english_stopwords(source: str = "auto") -> frozenset[str]:
    """Lower-case English stop words as a frozenset.

    ``source``: ``"nltk"`` (nltk's ``stopwords`` corpus; an error saying how to install it when it is
    missing), ``"ipyviz"`` (the 179-word list shipped in ``ipyviz/text/stopwords_en.txt``), or
    ``"auto"`` (nltk's when present, the shipped one otherwise).
    """
    if source not in STOPWORD_SOURCES:
        raise ValueError(f"source must be one of {STOPWORD_SOURCES}, got {source!r}")
    if source != "ipyviz":
        try:
            return frozenset(w.strip().lower() for w in _nltk_english())
        except LookupError:
            if source == "nltk":
                raise LookupError(
                    "nltk's stopwords corpus is not installed. On a machine with internet run "
                    "`python -m nltk.downloader stopwords` (or nltk.download('stopwords')), or use "
                    "english_stopwords('ipyviz') for the shipped list."
                ) from None
    lines = _SHIPPED.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))
