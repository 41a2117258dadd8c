"""EASE and the newcomer model: their closed forms, worked out by hand on tiny data, and what
they do for new people on the demo data (and, where the real data is here, on ML-1M)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from movierec.config import DataConfig, TrainConfig
from movierec.evaluation.people import (
    PeopleProtocol,
    new_person_table,
    reference_rankers,
    run_ranker,
)
from movierec.experiment import start_training
from movierec.models import get_model_spec
from movierec.models.itemitem import ease_weights
from tests.conftest import SHARED_DATA, requires_shared_data

SCALE = (1.0, 2.0, 3.0, 4.0, 5.0)


def test_ease_closed_form_by_hand():
    gram = np.array([[2.0, 1.0], [1.0, 2.0]])
    # P = (G + I)^-1 = [[3, -1], [-1, 3]] / 8; B = -P / diag(P) off the diagonal: 1/3
    np.testing.assert_allclose(ease_weights(gram, 1.0), [[0.0, 1 / 3], [1 / 3, 0.0]])


def test_ease_minimises_its_objective():
    rng = np.random.default_rng(0)
    x = (rng.random((40, 6)) < 0.4).astype(float)
    weights = ease_weights(x.T @ x, 2.0)

    def objective(b):
        return ((x - x @ b) ** 2).sum() + 2.0 * (b ** 2).sum()
    for _ in range(20):   # any change that keeps the diagonal at 0 costs more
        step = rng.normal(scale=1e-3, size=(6, 6))
        np.fill_diagonal(step, 0.0)
        assert objective(weights + step) > objective(weights)


def tiny_newcomer(**settings):
    model = get_model_spec("newcomer").build(4, 3, SCALE, get_model_spec("newcomer")
                                             .config(settings))
    users = torch.tensor([0, 0, 1, 1, 2, 3, 3, 3])
    items = torch.tensor([0, 1, 0, 2, 1, 0, 1, 2])
    stars = torch.tensor([5.0, 4.0, 2.0, 5.0, 4.0, 5.0, 5.0, 1.0])
    model.fit_epoch(users, items, stars, 1)
    return model.eval(), users, items, stars


def test_newcomer_closed_form_by_hand():
    given = (1, 2)
    model, users, items, stars = tiny_newcomer(given=given, l2=1.0, low_star_weight=1.0,
                                               discount=0.0)
    x = np.zeros((4, 3))
    x[users, items] = 1.0
    liked = np.zeros((4, 3))
    liked[users, items] = (stars >= 4).float().numpy()
    n = x.sum(1)
    q = np.minimum(np.array(given)[:, None] / n, 1.0)
    both, one, cross = (q ** 2).mean(0), q.mean(0), (q * (1 - q)).mean(0)
    gram = x.T @ np.diag(both) @ x + np.diag(x.T @ (one - both)) + np.eye(3)
    target = x.T @ np.diag(cross) @ liked
    np.fill_diagonal(target, 0.0)
    np.testing.assert_allclose(model.weights.numpy(), np.linalg.solve(gram, target),
                               rtol=1e-5, atol=1e-7)


def test_newcomer_discount_grows_with_the_ratings_given():
    model, *_ = tiny_newcomer(discount=1.0, discount_halfway=2.0)
    n = torch.tensor([1.0, 2.0, 10.0])
    np.testing.assert_allclose(model.discount(n).numpy(), [1 / 3, 1.0, 100 / 12], rtol=1e-6)
    vec = model.person_vector(torch.tensor([0, 1]), torch.tensor([5.0, 1.0]))
    # the lowest star weighs low_star_weight (0.8 by default), the highest 1
    np.testing.assert_allclose(vec.numpy(), [1.0, 0.8, 0.0])
    scores = model.score_all(vec[None, :])[0]
    expected = vec @ model.weights - model.discount(torch.tensor(2.0)) * model.popular
    torch.testing.assert_close(scores, expected)


def test_newcomer_on_demo_people(demo):
    """On the demo people, the newcomer without its discount finds more of what they like than
    the most-rated list; the discount then trades some of that for far more varied lists."""
    data = DataConfig("demo", validation_size=0.02, new_people=100)
    plain = start_training(demo, data, "newcomer", get_model_spec("newcomer").config(
        {"discount": 0.0}), TrainConfig(epochs=1, ranking_eval=False))
    list(plain.epochs())
    split = plain.split
    protocol = PeopleProtocol(given=(5,))
    rankers = {"plain": run_ranker(plain.run), **reference_rankers(split.train, ["most rated"])}
    table = new_person_table(rankers, split.people, split.train, protocol).set_index("method")
    assert table.loc["plain", "precision"] >= table.loc["most rated", "precision"]
    discounted = start_training(demo, data, "newcomer", None, TrainConfig(epochs=1,
                                                                          ranking_eval=False))
    list(discounted.epochs())
    after = new_person_table({"discounted": run_ranker(discounted.run)}, split.people,
                             split.train, protocol).set_index("method")
    assert after.loc["discounted", "distinct"] > 1.5 * table.loc["plain", "distinct"]
    assert after.loc["discounted", "popular_share"] < table.loc["plain", "popular_share"]


@requires_shared_data
@pytest.mark.slow
def test_recommended_preset_on_movielens_people():
    """The targets of issue 9 on ML-1M with the preset's own 600 held-out people: better than
    the most-rated list, at least 0.40 / 0.45 precision after 3 / 10 ratings, from at least
    600 movies, at most 60% of them among the 100 most rated."""
    from movierec.data import load_dataset
    from movierec.presets import PRESETS

    preset = PRESETS["recommended"]
    dataset = load_dataset("ml-1m", data_dir=SHARED_DATA, allow_download=False)
    training = start_training(dataset, preset.data, preset.model, None, preset.train)
    list(training.epochs())
    split = training.split
    rankers = {"newcomer": run_ranker(training.run),
               **reference_rankers(split.train, ["most rated"])}
    table = new_person_table(rankers, split.people, split.train,
                             PeopleProtocol(given=(3, 10))).set_index(["method", "given"])
    print(table)
    for k, floor in ((3, 0.40), (10, 0.45)):
        row = table.loc[("newcomer", k)]
        assert row["precision"] >= floor
        assert row["precision"] > table.loc[("most rated", k), "precision"]
        assert row["distinct"] >= 600 and row["popular_share"] <= 0.6
