"""EmbeddingScatter: a live WebGL map of an embedding matrix (word vectors) that follows training.

Example (in a notebook)::

    import keras, numpy as np, ipyviz
    model = keras.Sequential([keras.Input((1,), dtype="int32"), keras.layers.Embedding(50, 8),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    words = ["<pad>", "[UNK]"] + [f"word{i}" for i in range(48)]
    scatter = ipyviz.EmbeddingScatter(model, words, hide=[0, 1], highlight=["word3"])
    scatter                                      # pan, zoom, hover, search, click -> neighbours
    model.compile(optimizer="adam", loss="mse")
    x = np.arange(50).reshape(-1, 1); y = np.linspace(-1, 1, 50).reshape(-1, 1)
    model.fit(x, y, epochs=5, verbose=0, callbacks=[scatter.callback()])   # the map moves live
    scatter.neighbors("word3", k=5)              # [(word, cosine), ...] in the original space

Traits (the view draws from these alone, so a reloaded page or an exported notebook shows the map):

* ``points`` -- the shown frame, ``n_points x 2`` little-endian float32 bytes (8 bytes a point);
  ``frame`` is its id. Each update sends only these plus the small ``frame_info`` list.
* ``labels_text`` -- the shown rows' labels joined by ``"\\n"`` (a newline inside a label shows as
  ``↵``); set once at construction, never resent.
* ``frame_info`` -- ``[{"id", "name"}]`` of the frames kept for the epoch slider, oldest first.
  ``history`` / ``history_ids`` -- the bytes of the kept frames older than ``frame``. Open views
  collect frames live as they arrive; ``history`` is synced at the end of each ``fit()`` (and by
  :meth:`EmbeddingScatter.sync_history`) so that a reloaded page can replay them too.
  Memory bound: at most ``max_frames`` frames (default: 100, fewer for big maps so the history stays
  under ~256 MiB); beyond that the oldest frame after the first one is dropped.
* ``highlight`` -- words always drawn with their label (``highlight_rows``: their rows); ``selected`` -- the row clicked in the browser
  (-1: none); ``neighbor_result`` -- the kernel's answer for it, in the original space.
* ``note`` -- which rows were hidden or left out by ``max_points``; ``method``; ``error``.
"""

from __future__ import annotations

import difflib

import numpy as np
import traitlets

from ipyviz._binary import from_bytes, to_bytes
from ipyviz._widget import Widget, bundle
from ipyviz.embedding.projection import METHODS, Projector, _as_matrix
from ipyviz.embedding.source import as_labels, resolve_source, select_rows
from ipyviz.live import LiveCallback

__all__ = ["EmbeddingScatter", "EmbeddingCallback", "UnknownWordError"]

HISTORY_BUDGET = 256 * 2**20  # bytes of frames kept (Python side and in each browser view)


class UnknownWordError(KeyError, ValueError):
    """A word that is not among the shown labels (the message lists close matches)."""

    def __str__(self):  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ""


class EmbeddingScatter(Widget):
    """A 2-D map of an embedding matrix: WebGL points, search, highlights, neighbours, epoch slider.

    Args:
        source: a 2-D array (rows x dims), a Keras ``Embedding`` layer, or a model holding one.
        labels: one word per row (or an object with ``get_vocabulary()``); counts must match.
        highlight: words always drawn with their label.
        projection: ``"pca"`` (default), ``"tsne"``/``"umap"`` (if installed), ``None`` (``source``
            itself is ``N x 2`` coordinates) or an ``N x 2`` array of precomputed coordinates.
        max_points: show only the first ``max_points`` rows left after ``hide`` (vocabularies are
            ordered by frequency: the most frequent words). Nothing is dropped without it.
        layer: name or path of the Embedding layer when ``source`` is a model with several.
        hide: row indices or labels not to show (padding, OOV), e.g. ``hide=[0, 1]``.
        scale: let the frame-to-frame alignment rescale (off: growing vectors are shown growing).
        max_frames: frames kept for the slider (default: see the module docstring).
        k: neighbours listed when a point is clicked.
    """

    _esm = bundle("embedding")
    _css = bundle("embedding", ".css")
    points = traitlets.Bytes(b"").tag(sync=True)
    n_points = traitlets.Int(0).tag(sync=True)
    labels_text = traitlets.Unicode("").tag(sync=True)
    frame = traitlets.Int(0).tag(sync=True)
    frame_info = traitlets.List(traitlets.Dict()).tag(sync=True)
    history = traitlets.List(traitlets.Bytes()).tag(sync=True)
    history_ids = traitlets.List(traitlets.Int()).tag(sync=True)
    max_frames = traitlets.Int(100).tag(sync=True)
    highlight = traitlets.List(traitlets.Unicode()).tag(sync=True)
    highlight_rows = traitlets.List(traitlets.Int()).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    neighbor_result = traitlets.Dict().tag(sync=True)
    k = traitlets.Int(10).tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    method = traitlets.Unicode("pca").tag(sync=True)

    def __init__(self, source, labels, highlight=(), projection="pca", max_points=None, layer=None,
                 hide=None, *, scale=False, max_frames=None, k=10, **kwargs):
        self._source = resolve_source(source, layer=layer)
        self._layer_name = layer
        matrix = self._source.read()
        self._n_rows = matrix.shape[0]
        all_labels = as_labels(labels, self._n_rows)
        self._rows, note = select_rows(all_labels, hide=hide, max_points=max_points)
        self._labels = [all_labels[i] for i in self._rows]
        self._index = {}
        for i, word in enumerate(self._labels):
            self._index.setdefault(word, i)  # a duplicated label resolves to its first (most frequent) row
        n = len(self._rows)
        coordinates, method = self._initial_coordinates(matrix, projection)
        self._projector = Projector(method, scale=scale) if method in METHODS else None
        self._set_matrix(matrix)
        if max_frames is None:
            max_frames = int(min(100, max(2, HISTORY_BUDGET // (8 * n))))
        if max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {max_frames}")
        self._frames: list[tuple[int, str, bytes]] = []
        self._next_id = 0
        if coordinates is None:
            coordinates = self._projector(self._matrix)
        elif self._projector is not None:
            self._projector.reset(coordinates)
        first = self._record_frame(coordinates, "initial")
        super().__init__(
            points=first, n_points=n, frame=0, frame_info=self._frame_info(), max_frames=max_frames,
            labels_text="\n".join(w.replace("\r\n", "\u21b5").replace("\n", "\u21b5") for w in self._labels),
            note=note, method=method, k=k, highlight=list(highlight), **kwargs,
        )
        self.observe(self._on_selected, names=["selected"])

    # -- set-up -------------------------------------------------------------------------------
    def _initial_coordinates(self, matrix, projection):
        n = len(self._rows)
        if isinstance(projection, str):
            if projection not in METHODS:
                raise ValueError(
                    f"unknown projection {projection!r}; choose one of {', '.join(METHODS)}, None (source is "
                    "N x 2 coordinates) or an N x 2 array of coordinates"
                )
            return None, projection
        if projection is None:
            if matrix.shape[1] != 2:
                raise ValueError(
                    f"projection=None shows the source as 2-D coordinates, but it has {matrix.shape[1]} columns; "
                    "use projection='pca' or pass the coordinates as projection=<N x 2 array>"
                )
            return matrix[self._rows], "precomputed"
        coords = _as_matrix(projection, "projection coordinates")
        if coords.shape == (self._n_rows, 2):
            return coords[self._rows], "precomputed"
        if coords.shape == (n, 2):
            return coords, "precomputed"
        raise ValueError(
            f"projection coordinates have shape {coords.shape}; expected ({self._n_rows}, 2) (one point per "
            f"row of the source) or ({n}, 2) (one per shown row)"
        )

    def _set_matrix(self, matrix):
        if len(self._rows) == self._n_rows:  # nothing hidden or sampled: no 256 MB copy at 1 M x 64
            self._matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        else:
            self._matrix = np.ascontiguousarray(matrix[self._rows], dtype=np.float32)
        self._unit = None  # row-normalised copy, made on the first neighbours query

    @traitlets.validate("highlight")
    def _check_highlight(self, proposal):
        words = [str(w) for w in proposal["value"]]
        for word in words:
            self._lookup(word)  # raises UnknownWordError with close matches
        return words

    @traitlets.observe("highlight")
    def _resolve_highlight(self, change):
        self.highlight_rows = [self._index[w] for w in change["new"]]  # the view needs no word -> row map

    # -- frames -------------------------------------------------------------------------------
    def _record_frame(self, coordinates, name) -> bytes:
        data = to_bytes(coordinates, "float32")
        self._frames.append((self._next_id, name, data))
        self._next_id += 1
        while len(self._frames) > self.max_frames:
            # Keep the starting state; drop the oldest frame after it.
            del self._frames[1 if self.max_frames > 1 else 0]
        return data

    def _frame_info(self):
        return [{"id": i, "name": name} for i, name, _ in self._frames]

    def _push(self, coordinates, name):
        data = self._record_frame(coordinates, name)
        with self.hold_sync():
            self.points = data
            self.frame = self._frames[-1][0]
            self.frame_info = self._frame_info()
            if self.selected >= 0:
                self.neighbor_result = self._neighbor_payload(self.selected)

    def sync_history(self) -> None:
        """Send the kept older frames to the browser (done at the end of each ``fit()``), so that a
        page reloaded later can still replay them. Costs ``8 * n_points`` bytes per kept frame."""
        with self.hold_sync():
            self.history = [data for _, _, data in self._frames[:-1]]
            self.history_ids = [i for i, _, _ in self._frames[:-1]]

    # -- public API ---------------------------------------------------------------------------
    @property
    def positions(self) -> np.ndarray:
        """What is shown: ``n_points x 2`` float32 (read-only)."""
        return from_bytes(self.points, (self.n_points, 2))

    @property
    def labels(self) -> list[str]:
        """The labels of the shown points, in order."""
        return list(self._labels)

    @property
    def rows(self) -> np.ndarray:
        """For each shown point, its row in the source matrix."""
        return self._rows.copy()

    def set_embeddings(self, matrix=None, *, coordinates=None, name: str | None = None) -> None:
        """Re-project ``matrix`` (all rows of the source; default: read the source again), align it
        to the shown frame and send it. ``coordinates`` (N x 2, all rows or the shown rows) are shown
        as given instead, e.g. your own t-SNE."""
        if matrix is None:
            matrix = self._source.read()
        matrix = _as_matrix(matrix)
        if matrix.shape[0] != self._n_rows:
            raise ValueError(
                f"the new matrix has {matrix.shape[0]:,} rows but this scatter was made for {self._n_rows:,}; "
                "make a new EmbeddingScatter for a different vocabulary"
            )
        if coordinates is None and self._projector is None:
            raise ValueError(
                "this scatter shows precomputed coordinates: pass coordinates=<N x 2 array>, or create it "
                "with projection='pca' to have new embeddings projected"
            )
        self._set_matrix(matrix)
        if coordinates is not None:
            layout, _ = self._initial_coordinates(matrix, coordinates)
            if self._projector is not None:
                self._projector.reset(layout)
        else:
            layout = self._projector(self._matrix, checked=True)
        self._push(layout, name or f"update {self._next_id}")

    def neighbors(self, word, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` nearest shown words to ``word`` by cosine similarity in the original space
        (the latest embeddings), most similar first; ``word`` itself is left out."""
        index = self._lookup(word)
        return [(self._labels[j], c) for j, c in self._nearest(index, k)]

    def callback(self, every: int = 1, batch_interval: float | None = None) -> EmbeddingCallback:
        """A Keras callback that reads the Embedding weights every ``every`` epochs (or every
        ``batch_interval`` seconds) during ``fit()`` and updates the map in place. Any backend: on
        JAX each read first syncs the trainer's state into the layer (a host copy per read)."""
        return EmbeddingCallback(self, every=every, batch_interval=batch_interval)

    # -- neighbours ---------------------------------------------------------------------------
    def _lookup(self, word) -> int:
        word = str(word)
        if word in self._index:
            return self._index[word]
        pool = self._labels
        if len(pool) > 100_000:  # difflib is quadratic-ish: compare with same-initial words only
            head = word[:1].lower()
            pool = [w for w in pool if w[:1].lower() == head][:100_000]
        folded = word.casefold()
        close = [w for w in pool if w.casefold() == folded][:2]  # "King" for "king" first
        close += [w for w in difflib.get_close_matches(word, pool, n=5, cutoff=0.5) if w not in close]
        close = close[:5]
        hint = f"; close matches: {', '.join(map(repr, close))}" if close else ""
        raise UnknownWordError(f"{word!r} is not among the {len(self._labels):,} shown labels{hint}")

    def _nearest(self, index: int, k: int):
        if self._unit is None:
            norms = np.linalg.norm(self._matrix, axis=1, keepdims=True)
            self._unit = self._matrix / np.where(norms > 0, norms, 1).astype(np.float32)
        cosine = self._unit @ self._unit[index]
        cosine[index] = -np.inf
        k = max(0, min(int(k), len(cosine) - 1))
        if k == 0:
            return []
        top = np.argpartition(-cosine, k - 1)[:k]
        top = top[np.argsort(-cosine[top], kind="stable")]
        return [(int(j), float(cosine[j])) for j in top]

    def _neighbor_payload(self, index):
        if not 0 <= index < len(self._labels):
            return {"row": index, "error": f"no point {index} (there are {len(self._labels):,})"}
        return {
            "row": index, "word": self._labels[index], "k": self.k,
            "neighbors": [{"row": j, "word": self._labels[j], "cosine": c} for j, c in self._nearest(index, self.k)],
        }

    def _on_selected(self, change):
        index = change["new"]
        try:
            self.neighbor_result = {} if index < 0 else self._neighbor_payload(index)
        except Exception as error:  # noqa: BLE001 -- shown in the view, never raised into the comm
            self.neighbor_result = {"row": index, "error": f"{type(error).__name__}: {error}"}


class EmbeddingCallback(LiveCallback):
    """Reads the Embedding weights at epoch ends (host copy of one matrix), then projects, aligns and
    sends one frame. When the scatter was made from an array, the fitted model's Embedding layer is
    used. At the end of ``fit()`` the kept frames are synced as ``history``. Every backend: on JAX
    each read syncs the trainer's state first (per-batch reads too), so frames show current weights."""

    def record_begin(self):
        scatter = self.widget
        source = scatter._source
        if source.layer is None:
            source = resolve_source(self.model, layer=scatter._layer_name)
        weights = source.read()
        rows = weights.shape[0]
        if rows != scatter._n_rows:
            raise ValueError(
                f"layer {source.name!r} has {rows:,} rows but the scatter shows a matrix of {scatter._n_rows:,}"
            )
        self._source = source
        self._epoch = 0
        current = weights[scatter._rows]
        # Weights changed since the last frame (trained without the callback): show them first.
        self._pending = None if np.array_equal(current, scatter._matrix) else "before fit"

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def record_batch(self, batch, logs):
        self._pending = f"epoch {self._epoch + 1} · batch {batch + 1}"

    def record_epoch(self, epoch, logs):
        self._pending = f"epoch {epoch + 1}"

    def flush(self):
        if getattr(self, "_pending", None) is None:
            return
        name, self._pending = self._pending, None
        # Through self.model first: mid-epoch on JAX that syncs the trainer's state into the layer's
        # variable, which otherwise reads as its initial value.
        self.model  # noqa: B018 -- the property's side effect is the point
        self.widget.set_embeddings(self._source.read(), name=name)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        self._guard("history sync", self.widget.sync_history)
