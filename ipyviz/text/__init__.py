"""The text pipeline: tokenise, build a vocabulary, make skip-gram pairs, train a Keras Word2Vec.

Example::

    from ipyviz import datasets
    from ipyviz.text import Vocabulary, Word2Vec, english_stopwords, tokenize_documents
    corpus = datasets.reuters(split="train")                  # needs nltk's reuters corpus
    docs = tokenize_documents(corpus.texts, drop_numbers=True, stopwords=english_stopwords())
    vocab = Vocabulary.build(docs, min_count=5)
    w2v = Word2Vec(vocab, dim=100, seed=0)
    w2v.train(docs, epochs=5)                                 # gensim's defaults, sparse SGD
    w2v.most_similar("oil", k=5)

``Word2Vec`` (Keras) is imported lazily; ``skipgram_dataset`` imports TensorFlow only when called.
"""

from importlib import import_module

# Imported eagerly (numpy only) because the module names equal function names: a later first import
# of the submodule ``ipyviz.text.skipgrams`` would otherwise rebind ``ipyviz.text.skipgrams`` to it.
from ipyviz.text.skipgrams import (
    SkipGrams,
    SkipGramWindows,
    keep_probabilities,
    negative_distribution,
    skipgram_dataset,
    skipgram_windows,
    skipgrams,
)
from ipyviz.text.tokenize import TOKENIZERS, tokenize, tokenize_documents

_LAZY = {
    "english_stopwords": "ipyviz.text.stopwords",
    "STOPWORD_SOURCES": "ipyviz.text.stopwords",
    "Vocabulary": "ipyviz.text.vocabulary",
    "Word2Vec": "ipyviz.text.word2vec",
}

__all__ = sorted(
    list(_LAZY)
    + ["SkipGrams", "SkipGramWindows", "keep_probabilities", "negative_distribution"]
    + ["skipgram_dataset", "skipgram_windows", "skipgrams"]
    + ["TOKENIZERS", "tokenize", "tokenize_documents"]
)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ipyviz.text' has no attribute {name!r}")


def __dir__():
    return __all__
