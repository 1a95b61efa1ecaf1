"""Tokenising with nltk tokenizers that need no downloaded data (no punkt, unlike ``word_tokenize``).

Example::

    from ipyviz.text import tokenize, english_stopwords
    tokenize("The U.S. economy grew 3.5% in 1987, didn't it?")
    # ['the', 'u.s.', 'economy', 'grew', '3.5%', 'in', '1987', "didn't", 'it']
    tokenize("Grew 3.5% in 1987", drop_numbers=True)             # ['grew', 'in']
    tokenize("The cat sat.", stopwords=english_stopwords())       # ['cat', 'sat']
    tokenize("Don't stop.", tokenizer="treebank", drop_punct=False)   # ['do', "n't", 'stop', '.']
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

__all__ = ["tokenize", "tokenize_documents", "TOKENIZERS"]

# Abbreviations (u.s., e.g.), numbers with separators or a percent sign (3.5, 1,000, 12%), words with
# inner apostrophes or hyphens (don't, well-known, 1980s), then any run of other symbols as one token.
_WORDS = r"(?:[^\W\d_]\.){2,}|\d+(?:[.,:/]\d+)+%?|\d+%|\w+(?:['\u2019-]\w+)*|[^\w\s]+"
# A crude sentence split so that treebank/toktok (which split only a sentence's final period) see
# one sentence at a time; abbreviations are not handled, which at worst keeps "etc." whole.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_HAS_ALNUM = re.compile(r"\w", re.UNICODE)
_NUMBER = re.compile(r"^[+-]?(?:\d[\d.,:/]*%?|[\d.,:/]*\d[\d.,:/]*%?)$")

TOKENIZERS = ("regexp", "treebank", "toktok")


def _make_tokenizer(kind) -> Callable[[str], list]:
    if callable(kind):
        return kind
    if kind == "regexp":
        from nltk.tokenize import RegexpTokenizer

        return RegexpTokenizer(_WORDS).tokenize
    if kind in ("treebank", "toktok"):
        from nltk.tokenize import ToktokTokenizer, TreebankWordTokenizer

        base = TreebankWordTokenizer() if kind == "treebank" else ToktokTokenizer()
        return lambda text: [t for s in _SENTENCE_END.split(text) for t in base.tokenize(s)]
    raise ValueError(f"tokenizer must be one of {TOKENIZERS} or a callable str -> list[str], got {kind!r}")


def tokenize(
    text: str,
    *,
    lower: bool = True,
    drop_punct: bool = True,
    drop_numbers: bool = False,
    stopwords: Iterable[str] | None = None,
    min_length: int = 1,
    tokenizer="regexp",
) -> list[str]:
    """Split ``text`` into tokens.

    ``tokenizer``: ``"regexp"`` (nltk ``RegexpTokenizer``; fast, keeps u.s./don't/well-known whole),
    ``"treebank"`` (``TreebankWordTokenizer``: splits clitics, don't -> do n't), ``"toktok"``, or any
    callable. ``drop_punct`` drops tokens without a letter or digit, ``drop_numbers`` tokens that are
    numbers (3.5, 1,000, 12%); ``stopwords`` are matched after lower-casing when ``lower`` is set.
    """
    return tokenize_documents(
        [text], lower=lower, drop_punct=drop_punct, drop_numbers=drop_numbers,
        stopwords=stopwords, min_length=min_length, tokenizer=tokenizer,
    )[0]


def tokenize_documents(
    texts: Iterable[str],
    *,
    lower: bool = True,
    drop_punct: bool = True,
    drop_numbers: bool = False,
    stopwords: Iterable[str] | None = None,
    min_length: int = 1,
    tokenizer="regexp",
) -> list[list[str]]:
    """:func:`tokenize` for many texts (the tokenizer is built once): a list of token lists."""
    split = _make_tokenizer(tokenizer)
    stop = frozenset(w.lower() for w in stopwords) if (stopwords is not None and lower) else frozenset(stopwords or ())
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is {type(text).__name__}, not str; decode bytes first (e.g. .decode('utf-8'))")
        tokens = split(text.lower() if lower else text)
        if drop_punct:
            tokens = [t for t in tokens if _HAS_ALNUM.search(t)]
        if drop_numbers:
            tokens = [t for t in tokens if not _NUMBER.match(t)]
        if stop:
            tokens = [t for t in tokens if t not in stop]
        if min_length > 1:
            tokens = [t for t in tokens if len(t) >= min_length]
        out.append(tokens)
    return out
