"""The new-person protocol: queries, metrics worked out by hand, the references, and a run's own
suggestions measured exactly as ``recommend`` makes them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from movierec.config import DataConfig
from movierec.errors import ConfigError
from movierec.evaluation.people import (
    PeopleProtocol,
    make_queries,
    new_person_table,
    reference_rankers,
    run_ranker,
    score_lists,
)
from movierec.inference import recommend
from movierec.interactions import IdMap, Interactions
from movierec.split import make_split

SCALE = (1.0, 2.0, 3.0, 4.0, 5.0)


def interactions(users, items, stars, n_users, n_items) -> Interactions:
    return Interactions(np.asarray(users), np.asarray(items), np.asarray(stars, np.float32),
                        np.zeros(len(users), np.int64), IdMap(np.arange(n_users) + 1, "user"),
                        IdMap(np.arange(n_items) + 1), SCALE)


def test_queries_give_k_and_hide_the_liked_rest():
    people = interactions([0] * 6 + [1] * 3, [0, 1, 2, 3, 4, 5, 0, 1, 2],
                          [5, 4, 1, 2, 5, 3, 5, 5, 5], 2, 6)
    queries = make_queries(people, 3, liked=4.0, seed=0)
    assert len(queries) == 1            # person 1 has only 3 ratings: nothing left to hide
    query = queries[0]
    assert len(query.given_items) == 3 and len(set(query.given_items)) == 3
    hidden = set(range(6)) - set(query.given_items.tolist())
    assert set(query.liked_hidden.tolist()) == {i for i in hidden if i in (0, 1, 4)}
    again = make_queries(people, 3, liked=4.0, seed=0)[0]
    np.testing.assert_array_equal(again.given_items, query.given_items)


def test_metrics_by_hand():
    train = interactions([0, 0, 0, 1, 1, 2], [0, 0, 1, 0, 1, 2], [4] * 6, 3, 5)
    # movie 0 rated 3 times, movie 1 twice, movie 2 once (of 3 users)
    from movierec.evaluation.people import Query
    queries = [Query(np.array([4]), np.array([5.0]), np.array([0, 2])),
               Query(np.array([4]), np.array([5.0]), np.array([3]))]
    lists = np.array([[0, 1], [1, 2]])
    protocol = PeopleProtocol(top=2, popular=1)
    result = score_lists(lists, queries, train, protocol)
    assert result["precision"] == pytest.approx((1 / 2 + 0) / 2)
    # recall: person 1 found 1 of min(2, 2); person 2 found 0 of min(2, 1)
    assert result["recall"] == pytest.approx((1 / 2 + 0) / 2)
    # NDCG: person 1 hit at place 1 of an ideal 1 + 1/log2(3); person 2 none
    assert result["ndcg"] == pytest.approx((1 / (1 + 1 / math.log2(3))) / 2)
    assert result["popular_share"] == pytest.approx(1 / 4)       # movie 0 is the top-1
    assert result["distinct"] == 3 and result["people"] == 2
    users = 3
    info = [-math.log2(c / users) for c in (3, 2, 2, 1)]
    assert result["novelty"] == pytest.approx(np.mean(info))


def test_references_and_a_run_on_demo(mf_demo_run, demo):
    split = make_split(demo, DataConfig("demo", new_people=50))
    assert split.people is not None and split.people.n_users == 50
    rankers = reference_rankers(split.train)
    assert list(rankers) == ["most rated", "item-kNN", "EASE"]
    protocol = PeopleProtocol(given=(3, 10))
    table = new_person_table(rankers, split.people, split.train, protocol)
    assert list(table["given"]) == [3, 3, 3, 10, 10, 10]
    most = table[table["method"] == "most rated"]
    assert (most["popular_share"] == 1.0).all() and (most["distinct"] <= 20).all()
    assert table["precision"].between(0, 1).all() and (table["people"] == 50).all()
    knn = table[(table["method"] == "item-kNN") & (table["given"] == 10)].iloc[0]
    assert knn["distinct"] > most["distinct"].max()
    with pytest.raises(ConfigError, match="unknown reference"):
        reference_rankers(split.train, ["nope"])


def test_a_runs_lists_are_what_recommend_shows(mf_demo_run, demo):
    """The protocol scores a run through the same fold-in and ranking as ``recommend``."""
    run = mf_demo_run
    split = make_split(demo, run.data_config)
    people = split.validation.for_users(np.arange(5))
    query = make_queries(people, 3, liked=4.0)[0]
    ranker = run_ranker(run)
    from movierec.evaluation.people import suggestion_lists
    keep = run.item_counts >= 10
    listed = suggestion_lists(ranker, [query], keep, 10)[0]
    rated = {int(run.item_ids.raw(i)): float(s)
             for i, s in zip(query.given_items, query.given_stars, strict=True)}
    shown = recommend(run, rated, top=10, min_ratings=10)
    assert run.item_ids.raw(listed).tolist() == shown["movie_id"].tolist()
