"""Reference predictors every model must beat: the global mean and damped user/movie biases."""

from __future__ import annotations

import numpy as np

from movierec.evaluation.metrics import mae, rmse
from movierec.interactions import Interactions


def bias_predictions(train: Interactions, test: Interactions, damping: float = 10.0,
                     iterations: int = 3) -> np.ndarray:
    """Predict mean + user bias + movie bias, fitted on ``train`` by alternating damped means.

    Args:
        damping: pseudo-count pulling each bias towards 0 (shrinks biases of rare ids).
        iterations: rounds of alternating movie-then-user bias updates.
    Returns:
        Predicted ratings for ``test``, clipped to the rating scale.
    """
    mean = float(train.rating.mean())
    user_bias = np.zeros(train.n_users)
    item_bias = np.zeros(train.n_items)
    n_item = np.bincount(train.item_idx, minlength=train.n_items)
    n_user = np.bincount(train.user_idx, minlength=train.n_users)
    for _ in range(iterations):
        resid = train.rating - mean - user_bias[train.user_idx]
        item_bias = np.bincount(train.item_idx, resid, train.n_items) / (n_item + damping)
        resid = train.rating - mean - item_bias[train.item_idx]
        user_bias = np.bincount(train.user_idx, resid, train.n_users) / (n_user + damping)
    pred = mean + user_bias[test.user_idx] + item_bias[test.item_idx]
    return np.clip(pred, train.rating_scale[0], train.rating_scale[-1])


def baseline_metrics(train: Interactions, test: Interactions) -> dict:
    """RMSE and MAE on ``test`` of the global mean and of the bias predictor."""
    mean_pred = np.full(len(test), float(train.rating.mean()))
    bias_pred = bias_predictions(train, test)
    return {
        "mean_rmse": rmse(mean_pred, test.rating), "mean_mae": mae(mean_pred, test.rating),
        "bias_rmse": rmse(bias_pred, test.rating), "bias_mae": mae(bias_pred, test.rating),
    }
