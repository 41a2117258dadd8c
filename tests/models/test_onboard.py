"""The onboarding model: its closed forms against brute-force expectations on tiny data, the
gate between its heads, and the strips it fits to being the product's own strips."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from movierec.errors import ConfigError
from movierec.models import get_model_spec
from movierec.models.onboard_fit import rating_features, search_moments, seen_moments
from movierec.starters import Strip

SCALE = (1.0, 2.0, 3.0, 4.0, 5.0)


def test_search_moments_are_the_expectation_over_kept_ratings():
    # 3 people, 4 movies, pool = movies 0 and 2; stars -> weight and deviation features.
    users = np.array([0, 0, 0, 1, 1, 2])
    items = np.array([0, 1, 2, 0, 3, 2])
    stars = np.array([5.0, 2.0, 4.0, 3.0, 5.0, 1.0])
    weight, deviation = 0.5 + stars / 10, (stars - 3) / 2
    x = sp.csr_matrix((weight, (users, items)), shape=(3, 4))
    slot = np.array([0, -1, 1, -1])
    n_features = 4 + 2 * 2 + 1
    rows = rating_features(x, deviation, slot, n_features)
    liked = sp.csr_matrix(((stars >= 4).astype(float), (users, items)), shape=(3, 4))
    own = sp.csr_matrix(((stars >= 4).astype(float), (np.arange(6), items)), shape=(6, 4))
    given = (1, 2)
    gram, cross = search_moments(rows, users, liked, own, given, 3)

    # brute force: every person keeps each rating with chance min(K / n, 1), K in given
    dense = rows.toarray()
    want_gram, want_cross = np.zeros_like(gram), np.zeros_like(cross)
    for k in given:
        for person in range(3):
            mine = np.flatnonzero(users == person)
            q = min(k / len(mine), 1.0)
            for kept in itertools.product([0, 1], repeat=len(mine)):
                kept = np.array(kept)
                chance = np.prod(np.where(kept == 1, q, 1 - q))
                phi = dense[mine[kept == 1]].sum(0) + np.eye(n_features)[-1]
                target = liked[person].toarray().ravel().copy()
                target[items[mine[kept == 1]]] = 0.0      # a kept rating is not predicted
                want_gram += chance * np.outer(phi, phi) / len(given)
                want_cross += chance * np.outer(phi, target) / len(given)
    np.testing.assert_allclose(gram, want_gram, atol=1e-12)
    np.testing.assert_allclose(cross, want_cross, atol=1e-12)


def test_seen_moments_are_the_expectation_over_shown_strips():
    seen = np.array([[True, False, True], [False, False, True]])
    weight = np.where(seen, [[0.9, 0.0, 1.0], [0.0, 0.0, 0.8]], 0.0)
    deviation = np.where(seen, [[0.5, 0.0, 1.0], [0.0, 0.0, -1.0]], 0.0)
    chances = np.array([0.25, 0.5])
    gram, cross = seen_moments(seen, weight, deviation, chances)
    p = 3
    want_gram, want_cross = np.zeros_like(gram), np.zeros_like(cross)
    for chance in chances:
        for person in range(2):
            for shown in itertools.product([0, 1], repeat=p):
                shown = np.array(shown, dtype=bool)
                likely = np.prod(np.where(shown, chance, 1 - chance))
                phi = np.zeros(3 * p + 1)
                phi[:p] = np.where(shown, weight[person], 0.0)
                phi[p:2 * p] = np.where(shown, deviation[person], 0.0)
                phi[2 * p:3 * p] = shown & ~seen[person]
                phi[-1] = 1.0
                target = (seen[person] & ~shown).astype(float)
                want_gram += likely * np.outer(phi, phi) / len(chances)
                want_cross += likely * np.outer(phi, target) / len(chances)
    np.testing.assert_allclose(gram, want_gram, atol=1e-12)
    np.testing.assert_allclose(cross, want_cross, atol=1e-12)


@pytest.fixture(scope="module")
def onboard_run(_demo_pristine):
    from tests.conftest import train_demo

    return train_demo(_demo_pristine, "onboard", 1).run


def test_the_gate_tells_the_two_ways_in_apart(onboard_run):
    model = onboard_run.model
    counts = np.asarray(onboard_run.item_counts)
    pool = set(model.pool.tolist())
    tail = [int(i) for i in np.argsort(counts)[::-1] if int(i) not in pool and counts[i] > 0]
    strip = model.person_vector(torch.tensor(sorted(pool)[:3]), torch.tensor([5.0, 4.0, 2.0]),
                                torch.tensor(sorted(pool)[3:8]))
    search = model.person_vector(torch.tensor(tail[:3]), torch.tensor([5.0, 4.0, 5.0]))
    mixed = model.person_vector(torch.tensor([sorted(pool)[0], tail[0]]),
                                torch.tensor([5.0, 5.0]))
    assert model._gate(strip) == 1.0                         # all answers about the strip
    assert model._gate(search) == 0.0                        # all searched, in the long tail
    assert model._gate(mixed) == pytest.approx(0.5 ** model.config.gate_power)
    # someone who has only skipped still gets scores (from the strip head)
    only_skips = model.person_vector(torch.tensor([], dtype=torch.long), torch.tensor([]),
                                     torch.tensor(sorted(pool)[:4]))
    assert torch.isfinite(model.score_all(only_skips[None])).all()


def test_skips_change_the_suggestions_and_are_never_suggested(onboard_run):
    from movierec.inference import recommend

    table = onboard_run.movie_table().sort_values("n_ratings", ascending=False)
    rated = {int(m): 5.0 for m in table["movie_id"].iloc[[0, 3]]}
    skipped = [int(m) for m in table["movie_id"].iloc[[1, 2, 4, 5, 6]]]
    plain = recommend(onboard_run, rated, top=10)
    told = recommend(onboard_run, rated, top=10, skipped=skipped)
    assert not set(told["movie_id"]) & set(skipped) and not set(told["movie_id"]) & set(rated)
    assert told["score"].tolist() != plain["score"].tolist()


def test_the_fitted_strips_are_the_products_strips(onboard_run, _demo_pristine):
    """The strip head is fitted to people answering the strips the Recommend page would show
    them: replaying a training person's answers through :class:`Strip` gives the same skips as
    the fit's simulation."""
    model = onboard_run.model
    shape = (model.n_users, model.n_items)
    where = (model.user_items.numpy(), model.user_offsets.numpy())
    x = sp.csr_matrix((model.star_weight(model.user_stars).numpy(), *where), shape=shape)
    given = sp.csr_matrix((model.user_stars.numpy(), *where), shape=shape)
    liked = sp.csr_matrix(((model.user_stars.numpy() >= 4).astype(float), *where), shape=shape)
    deviation = model.star_deviation(model.user_stars).numpy()
    slot = model._pool_slot().numpy()
    rows, _ = model._simulate_strips(x, liked, deviation, slot)
    strip = Strip.for_run(onboard_run, model.config.shown)
    skip_columns = slice(model.n_items + model.n_pool, model.n_items + 2 * model.n_pool)
    for person in (0, 7, 123):
        history = dict(zip(given[person].indices.tolist(), given[person].data.tolist(),
                           strict=True))
        rated, stars, skipped = [], [], []
        for number in range(model.config.rounds):
            shown = strip.next_positions(np.array(rated, np.int64), np.array(stars, np.float32),
                                         np.array(skipped, np.int64), model.config.shown)
            assert len(shown) == model.config.shown and not set(shown) & set(rated + skipped)
            for position in shown.tolist():
                if position in history:
                    rated.append(position)
                    stars.append(history[position])
                else:
                    skipped.append(position)
            fitted = rows[number * model.n_users + person, skip_columns].toarray().ravel()
            assert set(model.pool[fitted > 0].tolist()) == set(skipped)


def test_settings_are_checked():
    spec = get_model_spec("onboard")
    for bad in ({"pool": 1}, {"low_star_weight": 0}, {"discount_strip": 3}, {"l2_strip": 0},
                {"rounds": 0}, {"given": ""}):
        with pytest.raises(ConfigError):
            spec.config(bad)
