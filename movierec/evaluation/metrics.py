"""Rating-prediction metrics as pure functions over arrays or tensors."""

from __future__ import annotations

import numpy as np


def _np(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def rmse(predicted, actual) -> float:
    """Root mean squared error between predicted and actual ratings."""
    p, a = _np(predicted), _np(actual)
    return float(np.sqrt(np.mean((p - a) ** 2)))


def mae(predicted, actual) -> float:
    """Mean absolute error between predicted and actual ratings."""
    p, a = _np(predicted), _np(actual)
    return float(np.mean(np.abs(p - a)))


def accuracy(predicted, actual) -> float:
    """Share of predictions equal to the actual value (class indices or star values)."""
    p, a = _np(predicted), _np(actual)
    return float(np.mean(p == a))


def expected_rating(probabilities, stars) -> np.ndarray:
    """Probabilities over star values (rows sum to 1) times the stars: one rating per row."""
    return _np(probabilities) @ _np(stars)
