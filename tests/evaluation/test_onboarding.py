"""The onboarding protocol: answers revealed round by round and every number worked out by hand on
tiny data, and, on the demo data, the protocol walking people through the product's own strip."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.config import DataConfig
from movierec.errors import ConfigError
from movierec.evaluation.onboarding import OnboardingProtocol, onboarding_table, reveal
from movierec.evaluation.people import reference_rankers, run_ranker
from movierec.experiment import start_training
from movierec.interactions import IdMap, Interactions
from movierec.models import get_model_spec
from movierec.starters import Strip

SCALE = (1.0, 2.0, 3.0, 4.0, 5.0)
ORDER = [0, 1, 2, 3, 4, 5]


def interactions(users, items, stars, n_users, n_items=6) -> Interactions:
    return Interactions(np.asarray(users), np.asarray(items), np.asarray(stars, np.float32),
                        np.zeros(len(users), np.int64), IdMap(np.arange(n_users) + 1, "user"),
                        IdMap(np.arange(n_items) + 1), SCALE)


def fixed_strip(positions, stars, skipped, n):
    """Shows the next ``n`` movies of ORDER that were not shown yet."""
    answered = set(positions.tolist()) | set(skipped.tolist())
    return np.array([m for m in ORDER if m not in answered][:n])


# Movie 0 has 3 training ratings, movies 1 and 2 two, movies 3, 4 and 5 one.
TRAIN = interactions([0, 1, 2, 0, 1, 0, 2, 1, 2, 0], [0, 0, 0, 1, 1, 2, 2, 3, 4, 5],
                     [4] * 10, 3)
# Person 0 rated 0 (5), 2 (4), 3 (5), 5 (2); person 1 rated 1 (3), 4 (4).
PEOPLE = interactions([0, 0, 0, 0, 1, 1], [0, 2, 3, 5, 1, 4], [5, 4, 5, 2, 3, 4], 2)
PROTOCOL = OnboardingProtocol(rounds=2, shown=2, top=2, min_ratings=1, popular=1)


def test_answers_are_revealed_round_by_round():
    first, second = reveal(fixed_strip, PEOPLE, PROTOCOL)
    # round 1 shows 0 and 1: person 0 rates 0 and skips 1, person 1 skips 0 and rates 1
    assert first.rated[0].tolist() == [0] and first.stars[0].tolist() == [5.0]
    assert first.skipped[0].tolist() == [1]
    assert first.rated[1].tolist() == [1] and first.skipped[1].tolist() == [0]
    assert first.new.tolist() == [1, 1]
    # round 2 shows 2 and 3: person 0 rates both, person 1 skips both
    assert second.rated[0].tolist() == [0, 2, 3] and second.stars[0].tolist() == [5.0, 4.0, 5.0]
    assert second.skipped[1].tolist() == [0, 2, 3] and second.new.tolist() == [2, 0]


def test_metrics_by_hand():
    table = onboarding_table(reference_rankers(TRAIN, ["most rated"]), fixed_strip, PEOPLE,
                             TRAIN, PROTOCOL).set_index("round")
    one, two = table.loc[1], table.loc[2]
    # round 1: both get the most rated not shown, [2, 3]; person 0 liked 2 and 3 (both
    # hits), person 1 liked only 4 (none)
    assert (one["ratings"], one["new_ratings"], one["no_ratings"]) == (1.0, 1.0, 0.0)
    assert one["precision"] == pytest.approx((1 + 0) / 2)
    assert one["recall"] == pytest.approx((2 / 2 + 0) / 2)
    assert one["ndcg"] == pytest.approx((1 + 0) / 2)
    assert one["popular_share"] == 0.0               # movie 0, the most rated, was shown
    assert one["distinct"] == 2 and one["median_popularity"] == 1.5   # counts 2 and 1
    # round 2: both get [4, 5]; person 0 has nothing liked left (5 got 2 stars), person 1
    # finds 4 first: recall and NDCG count only person 1
    assert (two["shown"], two["ratings"], two["new_ratings"]) == (4, 2.0, 1.0)
    assert two["precision"] == pytest.approx((0 + 1 / 2) / 2)
    assert two["recall"] == pytest.approx(1.0) and two["ndcg"] == pytest.approx(1.0)
    assert two["people"] == 2


def test_every_ranker_is_asked_with_the_same_answers_and_skips_are_never_suggested():
    asked = {"a": [], "b": []}

    def recording(name):
        def ranker(positions, stars, skipped):
            asked[name].append((positions.tolist(), stars.tolist(), skipped.tolist()))
            return -np.arange(6, dtype=float)          # prefers low positions: skipped ones
        return ranker

    table = onboarding_table({"a": recording("a"), "b": recording("b")}, fixed_strip, PEOPLE,
                             TRAIN, PROTOCOL)
    assert asked["a"] == asked["b"] and len(asked["a"]) == 4
    # person 1 skipped 0 in round 1: it is never suggested, though the ranker likes it most
    assert asked["a"][1] == ([1], [3.0], [0])
    assert set(table["method"]) == {"a", "b"}


def test_someone_with_no_rating_gets_the_most_rated_unless_the_ranker_learns_from_skips():
    people = interactions([0, 0, 1], [0, 2, 5], [5, 4, 5], 2)      # person 1 knows only 5
    protocol = OnboardingProtocol(rounds=1, shown=2, top=1, min_ratings=1)

    def needs_a_rating(positions, stars, skipped):
        assert len(positions) > 0
        return np.zeros(6)

    def from_skips(positions, stars, skipped):
        scores = np.zeros(6)
        scores[5] = 1.0 if len(positions) == 0 else 0.0
        return scores

    table = onboarding_table({"needs": needs_a_rating, "skips": from_skips}, fixed_strip,
                             people, TRAIN, protocol, learns_from_skips=frozenset({"skips"}))
    rows = table.set_index("method")
    assert rows.loc["needs", "no_ratings"] == 0.5          # person 1 skipped 0 and 1
    # person 0 rated 0 and gets movie 2 (ties keep table order), a hit, from both. Person 1
    # gets the most rated movie not shown (2) from "needs", a miss, and 5 from "skips", a hit.
    assert rows.loc["needs", "precision"] == pytest.approx(0.5)
    assert rows.loc["skips", "precision"] == pytest.approx(1.0)


def test_protocol_settings_are_checked():
    for bad in ({"rounds": 0}, {"shown": 0}, {"top": 0}):
        with pytest.raises(ConfigError):
            OnboardingProtocol(**bad)
    empty = interactions([], [], [], 0)
    with pytest.raises(ConfigError, match="no held-out person"):
        onboarding_table({}, fixed_strip, empty, TRAIN, PROTOCOL)


def test_the_protocol_walks_people_through_the_products_strip(demo):
    """On the demo data: the protocol's strips are the ones ``Strip`` gives the page for the
    same answers, the onboarding model's suggestions beat the most-rated list, and the run's
    rows are measured beside the references on the same answers."""
    spec = get_model_spec("onboard")
    training = start_training(demo, DataConfig("demo", 1.0, 0.02, 0, new_people=100),
                              "onboard", spec.config(), spec.train_defaults)
    for _ in training.epochs():
        pass
    run, split = training.run, training.split
    strip = Strip.for_run(run)
    protocol = OnboardingProtocol(rounds=2)
    rounds = reveal(strip.next_positions, split.people, protocol)
    ids = run.item_ids
    for person in (0, 50):
        first = rounds[0]
        rated = dict(zip(ids.raw(first.rated[person]).tolist(), first.stars[person].tolist(),
                         strict=True))
        page = strip.next_movies(rated, ids.raw(first.skipped[person]).tolist())
        second = set(rounds[1].rated[person].tolist()) | set(rounds[1].skipped[person].tolist())
        shown_first = set(first.rated[person].tolist()) | set(first.skipped[person].tolist())
        assert set(ids.index(page["movie_id"].to_numpy()).tolist()) == second - shown_first
    rankers = {"this run": run_ranker(run), **reference_rankers(split.train, ["most rated"])}
    table = onboarding_table(rankers, strip.next_positions, split.people, split.train, protocol,
                             frozenset({"this run"}))
    wide = table.pivot(index="round", columns="method", values="precision")
    assert (wide["this run"] > wide["most rated"]).all()
    assert (table.groupby("round")["ratings"].nunique() == 1).all()   # same answers for all
    assert table["new_ratings"].min() > 3
