"""ndarray <-> bytes for traits: numbers travel as raw little-endian bytes, never as JSON lists."""

from __future__ import annotations

import numpy as np


def to_bytes(array, dtype="float32") -> bytes:
    """C-contiguous little-endian bytes of ``array`` cast to ``dtype`` (a JS typed array reads them)."""
    return np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()


def from_bytes(data: bytes, shape, dtype="float32") -> np.ndarray:
    """Inverse of :func:`to_bytes`."""
    return np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
