"""Vectors compared by cosine: the movie vectors that rank neighbours, the map and the strip."""

from __future__ import annotations

import numpy as np


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` (``(n, d)``) scaled to unit length row by row (a zero row stays zero), so
    that their dot products are cosine similarities."""
    vectors = np.asarray(vectors)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
