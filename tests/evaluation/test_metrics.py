"""Metrics against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from movierec.evaluation.baselines import bias_predictions
from movierec.evaluation.metrics import accuracy, expected_rating, mae, rmse
from movierec.interactions import IdMap, Interactions


def test_rmse_mae_accuracy_by_hand():
    predicted, actual = [3.0, 4.0, 1.0, 5.0], [4.0, 4.0, 3.0, 5.0]
    # errors -1, 0, -2, 0: squared mean (1 + 4) / 4 = 1.25; absolute mean 3 / 4
    assert rmse(predicted, actual) == pytest.approx(np.sqrt(1.25))
    assert mae(predicted, actual) == pytest.approx(0.75)
    assert accuracy([1, 2, 3, 4], [1, 2, 0, 0]) == pytest.approx(0.5)
    assert rmse(torch.tensor(predicted), torch.tensor(actual)) == pytest.approx(np.sqrt(1.25))


def test_expected_rating_by_hand():
    probs = [[0.0, 0.0, 0.5, 0.5, 0.0], [0.1, 0.2, 0.3, 0.2, 0.2]]
    # 3*0.5 + 4*0.5 = 3.5; 0.1 + 0.4 + 0.9 + 0.8 + 1.0 = 3.2
    assert expected_rating(probs, [1, 2, 3, 4, 5]) == pytest.approx([3.5, 3.2])


def test_bias_baseline_by_hand():
    # Two users, two movies; mean 3. With no damping and one round: movie biases from
    # residuals (5-3, 1-3 | 3-3) = (+2 -2)/2 = 0 for movie 0, 0 for movie 1; user biases
    # (5-3 + 3-3)/2 = 1 and (1-3)/1 = -2.
    users, items = IdMap(np.array([1, 2]), "user"), IdMap(np.array([7, 8]), "movie")
    train = Interactions(np.array([0, 1, 0]), np.array([0, 0, 1]),
                         np.array([5.0, 1.0, 3.0], np.float32), np.zeros(3, np.int64),
                         users, items, (1.0, 2.0, 3.0, 4.0, 5.0))
    test = Interactions(np.array([1]), np.array([1]), np.array([2.0], np.float32),
                        np.zeros(1, np.int64), users, items, (1.0, 2.0, 3.0, 4.0, 5.0))
    pred = bias_predictions(train, test, damping=0.0, iterations=1)
    assert pred == pytest.approx([3.0 - 2.0 + 0.0])
