"""Where an embedding matrix comes from, and which of its rows are shown.

* :func:`resolve_source` turns a 2-D array, a Keras ``Embedding`` layer or a model (its one
  ``Embedding`` layer, or the one named by ``layer=``) into a :class:`Source` whose ``read()``
  returns the current matrix as float32.
* :func:`as_labels` accepts a list of words (or anything with ``get_vocabulary()``, such as a
  ``TextVectorization`` / ``StringLookup`` layer, or a ``words`` list, such as
  ``ipyviz.text.Vocabulary``) and checks it has one label per row.
* :func:`select_rows` applies ``hide=`` (padding / OOV rows, by index or label) and ``max_points=``
  (the first N rows: vocabularies are ordered by frequency, so these are the N most frequent words).

Example::

    import keras, numpy as np
    from ipyviz.embedding.source import resolve_source, select_rows

    model = keras.Sequential([keras.Input((1,), dtype="int32"), keras.layers.Embedding(50, 8)])
    source = resolve_source(model)
    source.read().shape                                    # (50, 8)
    rows, note = select_rows(["<pad>", "[UNK]"] + list("abcdefgh") * 6, hide=[0, 1], max_points=10)
    rows.tolist()                                          # [2, 3, ..., 11]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ipyviz._layers import leaf_layers
from ipyviz.live import unwrap_model

__all__ = ["Source", "resolve_source", "find_embedding_layers", "as_labels", "select_rows"]


@dataclass
class Source:
    """A readable embedding matrix: ``read()`` -> ``(rows, dims)`` float32; ``layer`` when it is a
    Keras layer (so a training callback can read it again), ``name`` for messages."""

    read: Callable[[], np.ndarray]
    name: str
    layer: object | None = None


def _is_layer(obj) -> bool:
    import keras

    return isinstance(obj, keras.layers.Layer)


def find_embedding_layers(model) -> dict:
    """``{path: layer}`` for every layer holding an ``embeddings`` matrix, nested models included."""
    import keras

    return {
        path: layer
        for path, layer in leaf_layers(model).items()
        if isinstance(layer, keras.layers.Embedding) or hasattr(layer, "embeddings")
    }


def _layer_source(layer, name: str) -> Source:
    import keras

    if not getattr(layer, "built", True) or getattr(layer, "embeddings", None) is None:
        raise ValueError(
            f"layer {name!r} is not built yet, so it has no embedding matrix: build the model first "
            "(e.g. give it a keras.Input or call it on a batch)"
        )

    def read():
        return np.asarray(keras.ops.convert_to_numpy(layer.embeddings), dtype=np.float32)

    return Source(read=read, name=name, layer=layer)


def resolve_source(source, layer: str | None = None) -> Source:
    """A :class:`Source` for a 2-D array, an Embedding layer, or a model (see the module docstring);
    a torch ``DataParallel`` wrapper stands for the model inside."""
    import keras

    source = unwrap_model(source)
    if isinstance(source, keras.Model):
        candidates = find_embedding_layers(source)
        if layer is not None:
            matches = {p: l for p, l in candidates.items() if layer in (p, l.name)}
            if not matches:
                names = ", ".join(candidates) or "none"
                raise ValueError(
                    f"model {source.name!r} has no Embedding layer named {layer!r}; its Embedding layers: {names}"
                )
            if len(matches) > 1:
                raise ValueError(f"layer={layer!r} matches several layers ({', '.join(matches)}): pass the full path")
            (path, found), = matches.items()
            return _layer_source(found, path)
        if not candidates:
            kinds = ", ".join(f"{l.name} ({type(l).__name__})" for l in source.layers) or "no layers"
            raise ValueError(
                f"model {source.name!r} has no Embedding layer (it has {kinds}); pass a 2-D array or an "
                "Embedding layer as source"
            )
        if len(candidates) > 1:
            raise ValueError(
                f"model {source.name!r} has {len(candidates)} Embedding layers ({', '.join(candidates)}); "
                f"choose one with layer=, e.g. layer={next(iter(candidates))!r}"
            )
        (path, found), = candidates.items()
        return _layer_source(found, path)
    if layer is not None:
        raise ValueError("layer= picks an Embedding layer inside a model; it cannot be used with this source")
    if _is_layer(source):
        if not (isinstance(source, keras.layers.Embedding) or hasattr(source, "embeddings")):
            raise TypeError(
                f"layer {source.name!r} is a {type(source).__name__}, not an Embedding layer; pass an Embedding "
                "layer, a model that holds one, or a 2-D array"
            )
        return _layer_source(source, source.name)
    try:
        matrix = np.asarray(keras.ops.convert_to_numpy(source) if hasattr(source, "numpy") else source)
    except Exception as error:  # noqa: BLE001 -- re-raised with the accepted kinds
        raise TypeError(
            f"cannot read an embedding matrix from {type(source).__name__}: pass a 2-D array, a Keras "
            "Embedding layer or a model that holds one"
        ) from error
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.number):
        raise ValueError(
            f"source must be a 2-D numeric array (rows x dimensions), got shape {matrix.shape} and dtype "
            f"{matrix.dtype}"
        )
    matrix = matrix.astype(np.float32, copy=False)
    return Source(read=lambda: matrix, name="array")


def as_labels(labels, rows: int) -> list[str]:
    """One string per row (checked), from a sequence, an object with ``get_vocabulary()`` or with a
    ``words`` list (``ipyviz.text.Vocabulary``)."""
    if hasattr(labels, "get_vocabulary"):  # Keras TextVectorization / StringLookup
        labels = labels.get_vocabulary()
    elif isinstance(getattr(labels, "words", None), (list, tuple)):  # ipyviz.text.Vocabulary
        labels = labels.words
    # Iterating needs __iter__: a word -> index mapping with only __getitem__ must not be walked as a list.
    if isinstance(labels, (str, bytes)) or not (hasattr(labels, "__len__") and hasattr(labels, "__iter__")):
        raise TypeError(f"labels must be a list with one word per row, got {type(labels).__name__}")
    labels = [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in labels]
    if len(labels) != rows:
        raise ValueError(
            f"labels has {len(labels):,} entries but the embedding matrix has {rows:,} rows: give exactly one "
            "label per row (labels[i] names row i; a TextVectorization's get_vocabulary() includes the "
            "padding '' and '[UNK]' rows)"
        )
    return labels


def select_rows(labels: list[str], hide=None, max_points: int | None = None) -> tuple[np.ndarray, str]:
    """Indices of the rows to show, and a one-line note saying what was left out (or ``""``)."""
    n = len(labels)
    keep = np.ones(n, dtype=bool)
    hidden = []
    for item in hide or ():
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not -n <= item < n:
                raise IndexError(f"hide={item} is outside the {n:,} rows (valid: 0..{n - 1})")
            keep[item] = False
            hidden.append(str(int(item) % n))
        elif isinstance(item, str):
            where = [i for i, word in enumerate(labels) if word == item]
            if not where:
                raise ValueError(f"hide={item!r} is not one of the labels")
            keep[where] = False
            hidden.append(repr(item))
        else:
            raise TypeError(f"hide takes row indices or labels, got {item!r}")
    rows = np.flatnonzero(keep)
    notes = []
    if hidden:
        notes.append(f"{n - keep.sum():,} hidden row(s) ({', '.join(hidden)})")
    if max_points is not None:
        if not isinstance(max_points, (int, np.integer)) or max_points < 1:
            raise ValueError(f"max_points must be a positive integer, got {max_points!r}")
        if len(rows) > max_points:
            notes.append(
                f"showing the first {max_points:,} of {len(rows):,} rows (vocabularies are ordered by "
                "frequency, so these are the most frequent words)"
            )
            rows = rows[:max_points]
    if len(rows) == 0:
        raise ValueError("no rows left to show after hide=; hide fewer rows")
    return rows, "; ".join(notes)
