"""2-D projections of an embedding matrix that stay still from one training step to the next.

Pure numpy, no Jupyter. Three pieces:

* :func:`pca` -- principal components from the ``d x d`` covariance (``Xc^T Xc`` in float32, then
  ``eigh`` of that small matrix), not a full SVD of the ``N x d`` data: ~10x faster at 100,000 x 64.
  Component signs are fixed from the scores (positive skewness), which do not change when the input
  space is rotated, so the same data always gives the same picture.
* :func:`procrustes` -- the rotation/reflection (optionally a scale) that best maps a new layout onto
  the previous one, so a frame only moves where the embeddings really moved.
* :class:`Projector` -- remembers the previous layout and chains the two (or warm-starts t-SNE/UMAP
  from it when scikit-learn / umap-learn are installed).

Example::

    import numpy as np
    from ipyviz.embedding.projection import Projector

    x = np.random.default_rng(0).normal(size=(1000, 16)).astype("float32")
    projector = Projector("pca")
    first = projector(x)                                   # (1000, 2) float32
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(16, 16)))
    again = projector(x @ q)                               # same space, rotated
    float(np.abs(first - again).max()) < 1e-3               # True: the picture does not move
"""

from __future__ import annotations

import importlib.util

import numpy as np

__all__ = ["pca", "fix_signs", "procrustes", "Projector", "available_methods", "METHODS"]

METHODS = ("pca", "tsne", "umap")
_OPTIONAL = {"tsne": "sklearn", "umap": "umap"}
_PIP = {"tsne": "scikit-learn", "umap": "umap-learn"}
TSNE_MAX_POINTS = 20_000  # exact-gradient-free Barnes-Hut t-SNE is still minutes beyond this on CPU


def available_methods() -> list[str]:
    """The projection methods usable here: PCA always, t-SNE/UMAP when their package is installed."""
    return [m for m in METHODS if m not in _OPTIONAL or importlib.util.find_spec(_OPTIONAL[m])]


def _as_matrix(x, name="embeddings") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows x dimensions), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).any(axis=1).sum())
        raise ValueError(f"{name} holds NaN or infinite values in {bad} row(s); the projection needs finite numbers")
    return x


def fix_signs(scores: np.ndarray) -> np.ndarray:
    """Flip each column so that its skewness is positive (or, for a symmetric column, so that its
    largest-magnitude entry is positive). Depends only on the scores, so it is rotation invariant."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    for j in range(scores.shape[1]):
        column = scores[:, j]
        centred = column - column.mean(dtype=np.float64)
        spread = float(np.sqrt(np.mean(np.square(centred, dtype=np.float64))))
        if spread == 0:
            continue
        skew = float(np.mean((centred / spread) ** 3, dtype=np.float64))
        # A near-zero skewness could flip with tiny noise; fall back to the most extreme point.
        sign = np.sign(skew) if abs(skew) > 1e-2 else np.sign(centred[np.argmax(np.abs(centred))])
        if sign < 0:
            column *= -1
    return scores


def pca(x, n_components: int = 2) -> np.ndarray:
    """``N x n_components`` float32 principal-component scores with fixed signs.

    Cost: one float32 ``d x d`` Gram product over the rows plus an ``eigh`` of ``d x d``; a space with
    fewer than ``n_components`` dimensions is padded with zero columns.
    """
    return _pca(_as_matrix(x), n_components)


def _pca(x: np.ndarray, n_components: int = 2) -> np.ndarray:  # x already checked: float32, finite
    n, d = x.shape
    if n == 0:
        return np.zeros((0, n_components), np.float32)
    mean = (np.ones(n, np.float32) @ x) / np.float32(n)  # a BLAS pass, accurate to ~1e-5 relative
    centred = x - mean
    gram = (centred.T @ centred).astype(np.float64)  # float32 BLAS product, float64 eigen-solve
    values, vectors = np.linalg.eigh(gram)  # ascending eigenvalues
    k = min(n_components, d)
    top = vectors[:, ::-1][:, :k].astype(np.float32)
    scores = centred @ top
    if k < n_components:
        scores = np.hstack([scores, np.zeros((n, n_components - k), np.float32)])
    return fix_signs(scores)


def procrustes(y, reference, scale: bool = False) -> np.ndarray:
    """``y`` rotated/reflected (and scaled when ``scale``) about its centroid, then moved to the
    reference's centroid, to match ``reference`` as closely as possible (orthogonal Procrustes).

    Reflections are allowed on purpose: a PCA axis flipping sign is a reflection, not a real change.
    """
    y = np.asarray(y, dtype=np.float32)
    reference = np.asarray(reference, dtype=np.float32)
    if y.shape != reference.shape:
        raise ValueError(f"cannot align layouts of shapes {y.shape} and {reference.shape}: they must match")
    y_mean = y.mean(axis=0, dtype=np.float64).astype(np.float32)
    ref_mean = reference.mean(axis=0, dtype=np.float64).astype(np.float32)
    yc, rc = y - y_mean, reference - ref_mean
    u, s, vt = np.linalg.svd((yc.T @ rc).astype(np.float64))  # 2 x 2: float32 sums, float64 solve
    transform = u @ vt
    if scale:
        norm = float(np.vdot(yc, yc))
        transform = transform * (float(s.sum()) / norm if norm > 0 else 1.0)
    return yc @ transform.astype(np.float32) + ref_mean


class Projector:
    """Projects successive versions of one embedding matrix, each aligned to the previous layout.

    Args:
        method: ``"pca"`` (default), ``"tsne"`` or ``"umap"`` (those two need scikit-learn /
            umap-learn; they start from the previous layout instead of a random one).
        scale: let the alignment rescale each frame to the previous one. Off by default, so a space
            whose vectors grow during training is shown growing.
        random_state: seed of the optional t-SNE/UMAP runs.
    """

    def __init__(self, method: str = "pca", scale: bool = False, random_state: int = 0):
        if method not in METHODS:
            raise ValueError(f"unknown projection {method!r}; choose one of {', '.join(METHODS)}")
        if method not in available_methods():
            raise ImportError(
                f"projection={method!r} needs the {_PIP[method]} package (pip install {_PIP[method]}); "
                f"available here: {', '.join(available_methods())}"
            )
        self.method = method
        self.scale = scale
        self.random_state = random_state
        self.previous: np.ndarray | None = None

    def reset(self, previous=None) -> None:
        """Forget the previous layout (or set it, e.g. to precomputed coordinates)."""
        self.previous = None if previous is None else np.asarray(previous, dtype=np.float32)

    def __call__(self, x, checked: bool = False) -> np.ndarray:
        """The aligned ``N x 2`` layout of ``x`` (``checked``: ``x`` is already finite float32)."""
        if not checked:
            x = _as_matrix(x)
        previous = self.previous
        if previous is not None and previous.shape != (x.shape[0], 2):
            previous = None  # a different set of rows: nothing to align with
        if self.method == "pca":
            layout = _pca(x)
        else:
            layout = self._manifold(x, previous)
        if previous is not None:
            layout = procrustes(layout, previous, scale=self.scale)
        self.previous = layout
        return layout

    def _manifold(self, x, previous):
        n = x.shape[0]
        if self.method == "tsne":
            if n > TSNE_MAX_POINTS:
                raise ValueError(
                    f"t-SNE on {n:,} points would take very long; pass max_points<={TSNE_MAX_POINTS:,} "
                    "or use projection='pca'"
                )
            from sklearn.manifold import TSNE

            init = previous if previous is not None else pca(x)
            init = init / max(float(np.std(init[:, 0])), 1e-12) * 1e-4  # sklearn's recommended init scale
            model = TSNE(2, init=init.astype(np.float32), perplexity=min(30.0, max(2.0, (n - 1) / 3)),
                         random_state=self.random_state)
            return model.fit_transform(x).astype(np.float32)
        import umap

        init = previous if previous is not None else "spectral"
        model = umap.UMAP(n_components=2, init=init, random_state=self.random_state,
                          n_neighbors=min(15, max(2, n - 1)))
        return model.fit_transform(x).astype(np.float32)
