"""A word <-> index vocabulary with counts: index 0 is padding, 1 the out-of-vocabulary token.

Example::

    from ipyviz.text import Vocabulary
    docs = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "rare", "word"]]
    vocab = Vocabulary.build(docs, min_count=2)
    vocab.words                       # ['<pad>', '<unk>', 'the', 'sat']
    vocab.encode(["the", "dog"])      # array([2, 1], dtype=int32): 'dog' is below min_count -> OOV
    vocab.decode([2, 3, 1])           # ['the', 'sat', '<unk>']
    vocab.counts                      # array([0, 5, 2, 2]): the OOV row counts the dropped tokens
    vocab.most_common(1)              # [('the', 2)]
"""

from __future__ import annotations

from collections import Counter
from itertools import repeat
from typing import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["Vocabulary"]


class Vocabulary:
    """Words sorted by decreasing count (ties: first seen first) after the two reserved rows.

    Build it with :meth:`build` from token lists, or from a ``{word: count}`` mapping. ``min_count``
    drops rarer words, ``max_size`` caps the number of rows *including* padding and OOV (so it is the
    ``input_dim`` of an Embedding). Words dropped either way map to the OOV index 1, and
    ``counts[1]`` is how many tokens they had; ``counts[0]`` (padding) is 0.
    """

    PAD, OOV = 0, 1

    def __init__(
        self,
        counts: Mapping[str, int],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        pad_token: str = "<pad>",
        oov_token: str = "<unk>",
    ):
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        if max_size is not None and max_size < 2:
            raise ValueError(f"max_size counts the padding and OOV rows too, so it must be >= 2, got {max_size}")
        if pad_token == oov_token:
            raise ValueError(f"pad_token and oov_token must differ, both are {pad_token!r}")
        counter = Counter(counts)
        for special in (pad_token, oov_token):
            if special in counter:
                raise ValueError(
                    f"the corpus contains the reserved token {special!r}; pass another pad_token/oov_token"
                )
        kept = [(w, c) for w, c in counter.most_common() if c >= min_count]  # stable for ties
        if max_size is not None:
            kept = kept[: max_size - 2]
        self.min_count, self.max_size = min_count, max_size
        self.pad_token, self.oov_token = pad_token, oov_token
        self.words: list[str] = [pad_token, oov_token] + [w for w, _ in kept]
        self.index: dict[str, int] = {w: i for i, w in enumerate(self.words)}
        dropped = sum(counter.values()) - sum(c for _, c in kept)
        self.counts = np.array([0, dropped] + [c for _, c in kept], dtype=np.int64)

    @classmethod
    def build(cls, documents: Iterable[Sequence[str]], **options) -> "Vocabulary":
        """Count the tokens of ``documents`` (an iterable of token lists); ``options`` as in the class."""
        counter = Counter()
        for i, doc in enumerate(documents):
            if isinstance(doc, str):
                raise TypeError(
                    f"document {i} is a str, not a list of tokens; tokenize first, e.g. "
                    "Vocabulary.build(tokenize_documents(texts))"
                )
            counter.update(doc)
        return cls(counter, **options)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index and self.index[word] > self.OOV

    def __getitem__(self, word: str) -> int:
        """The index of ``word`` (1 when it is out of the vocabulary)."""
        return self.index.get(word, self.OOV)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} rows, min_count={self.min_count}, max_size={self.max_size})"

    @property
    def total(self) -> int:
        """Number of tokens counted, OOV ones included."""
        return int(self.counts.sum())

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """Token list -> int32 index array (unknown words -> 1)."""
        if isinstance(tokens, str):
            raise TypeError("encode takes a list of tokens, not a str; tokenize first")
        return np.fromiter(map(self.index.get, tokens, repeat(self.OOV)), dtype=np.int32, count=len(tokens))

    def encode_documents(self, documents: Iterable[Sequence[str]]) -> list[np.ndarray]:
        """Many token lists -> a list of int32 arrays (feed it to :func:`ipyviz.text.skipgrams`)."""
        return [self.encode(doc) for doc in documents]

    def decode(self, ids: Iterable[int], *, skip_padding: bool = True) -> list[str]:
        """Index array -> words; padding (0) is left out unless ``skip_padding=False``."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.words)):
            raise IndexError(f"ids must be in [0, {len(self.words)}), got min {ids.min()} max {ids.max()}")
        if skip_padding:
            ids = ids[ids != self.PAD]
        return [self.words[i] for i in ids.tolist()]

    def most_common(self, n: int | None = None) -> list[tuple[str, int]]:
        """The ``n`` most frequent words (padding and OOV excluded) with their counts."""
        stop = None if n is None else 2 + n
        return list(zip(self.words[2:stop], self.counts[2:stop].tolist()))
