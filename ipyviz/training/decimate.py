"""Shrink a long curve to a bounded number of points without losing what the eye looks for.

Min/max bucket decimation: the first and last points are always kept, the points in between are cut into
equal buckets and each bucket keeps its lowest and its highest point (in x order). Every spike and dip
therefore survives (the global minimum and maximum included), the line keeps its envelope, and the
result never has more than ``max_points`` points. It is a pure function of arrays: O(n), vectorised,
no Jupyter needed.

:class:`MinMaxStream` does the same for a curve that only grows (per-batch points during ``fit()``): O(1)
amortised work per appended point and O(``max_points``) per read, so drawing a million-batch history
costs the same as drawing a short one. Its buckets double in width as the curve grows, so its picks can
differ from :func:`decimate`'s, with the same guarantees.

Example::

    import numpy as np
    from ipyviz.training.decimate import MinMaxStream, decimate

    x = np.arange(100_000, dtype=float)
    y = np.sin(x / 500) + (x == 31_337) * 5        # one spike
    dx, dy = decimate(x, y, max_points=1000)
    len(dx) <= 1000, dy.max() == y.max()            # (True, True)

    stream = MinMaxStream(max_points=1000)
    for value in y:
        stream.append(value)
    keep = stream.indices()                           # sorted indices into y, at most 1000
    y[keep].max() == y.max()                          # True
"""

from __future__ import annotations

import numpy as np

__all__ = ["MinMaxStream", "decimate", "decimate_indices"]


def decimate_indices(y, max_points: int = 1500) -> np.ndarray:
    """Indices (sorted, unique) of the points of ``y`` that :func:`decimate` keeps.

    NaN values are never chosen as a bucket's minimum or maximum unless the whole bucket is NaN (then its
    first point is kept, so a run of NaNs still shows as a gap). ``+inf``/``-inf`` count as extrema.
    """
    if not isinstance(max_points, (int, np.integer)) or max_points < 4:
        raise ValueError(
            f"max_points must be an integer >= 4 (first, last and one min/max bucket), got {max_points!r}")
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"decimate expects a 1-D array of y values, got shape {y.shape}")
    n = len(y)
    if n <= max_points:
        return np.arange(n)
    inner = y[1:-1]
    buckets = (max_points - 2) // 2
    size = -(-len(inner) // buckets)  # ceil: every bucket but the last is full
    buckets = -(-len(inner) // size)  # drop buckets the ceil left empty
    pad = buckets * size - len(inner)
    # NaN (and the padding) must lose both contests: +inf for the min, -inf for the max. A bucket that is
    # all NaN then yields its first index, which is a real point because padding only fills the tail.
    lo = np.where(np.isnan(inner), np.inf, inner)
    hi = np.where(np.isnan(inner), -np.inf, inner)
    lo = np.pad(lo, (0, pad), constant_values=np.inf).reshape(buckets, size)
    hi = np.pad(hi, (0, pad), constant_values=-np.inf).reshape(buckets, size)
    start = np.arange(buckets) * size + 1  # +1: inner[0] is y[1]
    picks = np.concatenate(([0], start + lo.argmin(axis=1), start + hi.argmax(axis=1), [n - 1]))
    return np.unique(picks)


def decimate(x, y, max_points: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)`` cut to at most ``max_points`` points, keeping endpoints and every bucket's extrema.

    Args:
        x: 1-D array of x values, in display order (usually increasing).
        y: 1-D array of y values, same length as ``x``.
        max_points: upper bound on the returned length (>= 4). Inputs already that short come back
            unchanged (as float arrays).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    keep = decimate_indices(y, max_points)
    if len(keep) == len(y):
        return x, y
    return x[keep], y[keep]


class MinMaxStream:
    """Streaming min/max decimation of an append-only curve (see the module docstring).

    Points are grouped in buckets of ``width`` consecutive points; each full bucket keeps the index of its
    lowest and of its highest value. When the full buckets reach their quota, neighbours are merged in
    pairs and ``width`` doubles, so at most ``max_points`` indices are ever kept (endpoints and the open
    bucket included). NaN never wins a bucket unless the bucket is all NaN, as in :func:`decimate`.
    """

    def __init__(self, max_points: int = 1500):
        if not isinstance(max_points, (int, np.integer)) or max_points < 8:
            raise ValueError(f"max_points must be an integer >= 8 for a streaming curve, got {max_points!r}")
        # first + last + the open bucket's two picks leave (max_points - 4) for full buckets, 2 each; an
        # even quota lets a merge pair every bucket, so all buckets keep the same width.
        self._quota = (max_points - 4) // 2 // 2 * 2
        self.width = 1
        self.count = 0
        self._lo_i: list[int] = []
        self._lo_v: list[float] = []
        self._hi_i: list[int] = []
        self._hi_v: list[float] = []
        self._open = None  # [start, lo index, lo key, hi index, hi key] of the bucket being filled

    def append(self, value: float) -> None:
        """Add the next point (its index is the number of points appended before it)."""
        i, v = self.count, float(value)
        self.count += 1
        lo = hi = v
        if v != v:  # NaN: loses both contests
            lo, hi = np.inf, -np.inf
        b = self._open
        if b is None:
            b = self._open = [i, i, lo, i, hi]
        else:
            if lo < b[2]:
                b[1], b[2] = i, lo
            if hi > b[4]:
                b[3], b[4] = i, hi
        if i - b[0] + 1 == self.width:
            self._lo_i.append(b[1])
            self._lo_v.append(b[2])
            self._hi_i.append(b[3])
            self._hi_v.append(b[4])
            self._open = None
            if len(self._lo_i) >= self._quota:
                self._merge()

    def _merge(self) -> None:
        lo_i, lo_v, hi_i, hi_v = self._lo_i, self._lo_v, self._hi_i, self._hi_v
        pairs = range(0, len(lo_i) - 1, 2)
        self._lo_i = [lo_i[k] if lo_v[k] <= lo_v[k + 1] else lo_i[k + 1] for k in pairs]
        self._lo_v = [min(lo_v[k], lo_v[k + 1]) for k in pairs]
        self._hi_i = [hi_i[k] if hi_v[k] >= hi_v[k + 1] else hi_i[k + 1] for k in pairs]
        self._hi_v = [max(hi_v[k], hi_v[k + 1]) for k in pairs]
        self.width *= 2

    def indices(self) -> np.ndarray:
        """Sorted unique indices of the points kept so far (at most ``max_points``)."""
        if self.count == 0:
            return np.zeros(0, dtype=np.int64)
        picks = [0, self.count - 1, *self._lo_i, *self._hi_i]
        if self._open is not None:
            picks += [self._open[1], self._open[3]]
        return np.unique(np.asarray(picks, dtype=np.int64))
