"""Id maps, chop, split and the per-user holdout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.config import DataConfig
from movierec.errors import ConfigError, UnknownIdError
from movierec.interactions import IdMap, Interactions
from movierec.split import PERSON_MIN_RATINGS, chop, holdout_per_user, make_split, split


@pytest.fixture
def ratings():
    rng = np.random.default_rng(1)
    n = 1000
    return pd.DataFrame({"user_id": rng.integers(1, 60, n) * 7, "movie_id": rng.integers(1, 90, n),
                         "rating": rng.integers(1, 6, n).astype(np.float32),
                         "timestamp": np.arange(n)}).drop_duplicates(["user_id", "movie_id"])


def as_set(data: Interactions) -> set:
    return set(zip(data.user_ids.raw(data.user_idx), data.item_ids.raw(data.item_idx),
                   data.rating, strict=True))


def test_id_maps_round_trip_and_refuse_unknown_ids():
    ids = IdMap(np.array([3, 10, 42]), "movie")
    assert ids.index(np.array([42, 3])).tolist() == [2, 0] and ids.index(10) == 1
    assert ids.raw(np.array([2, 0])).tolist() == [42, 3]
    assert 10 in ids and 11 not in ids
    with pytest.raises(UnknownIdError, match="unknown movie id 11"):
        ids.index([3, 11])
    with pytest.raises(ValueError):
        IdMap(np.array([3, 3]))


def test_interactions_validate_themselves(ratings):
    data = Interactions.from_ratings(ratings, (1.0, 2.0, 3.0, 4.0, 5.0))
    assert len(data) == len(ratings) and data.n_users == ratings["user_id"].nunique()
    pd.testing.assert_frame_equal(data.to_frame().reset_index(drop=True),
                                  ratings.reset_index(drop=True), check_dtype=False)
    with pytest.raises(ValueError, match="item_idx has"):
        Interactions(data.user_idx, data.item_idx[:-1], data.rating, data.timestamp,
                     data.user_ids, data.item_ids, data.rating_scale)
    with pytest.raises(ValueError, match="item_idx outside"):
        Interactions(data.user_idx, data.item_idx + 1000, data.rating, data.timestamp,
                     data.user_ids, data.item_ids, data.rating_scale)


def test_chop_keeps_a_seeded_fraction_and_the_id_maps(ratings):
    data = Interactions.from_ratings(ratings, (1.0, 2.0, 3.0, 4.0, 5.0))
    kept = chop(data, 0.1, seed=3)
    assert len(kept) == round(len(data) * 0.1)
    assert as_set(kept) <= as_set(data)
    assert kept.item_ids is data.item_ids and kept.user_ids is data.user_ids
    assert as_set(chop(data, 0.1, seed=3)) == as_set(kept)
    assert as_set(chop(data, 0.1, seed=4)) != as_set(kept)
    assert chop(data, 1.0) is data
    for bad in (0, -0.5, 1.5, float("nan")):
        with pytest.raises(ConfigError, match="fraction"):
            chop(data, bad)
    with pytest.raises(ConfigError, match="keeps none"):
        chop(data, 1e-6)


def test_split_is_a_partition(ratings):
    data = Interactions.from_ratings(ratings, (1.0, 2.0, 3.0, 4.0, 5.0))
    s = split(data, 0.1, seed=0)
    assert len(s.test) == round(len(data) * 0.1)
    assert as_set(s.train) | as_set(s.test) == as_set(data)
    assert not as_set(s.train) & as_set(s.test)
    assert s.train.item_ids is s.test.item_ids is data.item_ids
    with pytest.raises(ConfigError, match="empty test set"):
        split(data, 1e-6)
    with pytest.raises(ConfigError, match="empty training set"):
        split(data, 1.0)


def test_holdout_per_user(ratings):
    data = Interactions.from_ratings(ratings, (1.0, 2.0, 3.0, 4.0, 5.0))
    s = holdout_per_user(data, n_per_user=1, seed=0)
    counts = data.user_counts()
    eligible = np.flatnonzero(counts >= 2)
    assert sorted(s.test.user_idx.tolist()) == sorted(eligible.tolist())
    assert as_set(s.train) | as_set(s.test) == as_set(data)
    assert (s.train.user_counts()[eligible] >= 1).all()
    again = holdout_per_user(data, n_per_user=1, seed=0)
    assert as_set(again.test) == as_set(s.test)


def test_split_sizes_match_chop_then_split(ratings):
    from movierec.split import split_sizes
    data = Interactions.from_ratings(ratings, (1.0, 2.0, 3.0, 4.0, 5.0))
    for fraction, test_size in [(1.0, 0.1), (0.37, 0.2), (0.05, 0.5)]:
        s = split(chop(data, fraction, 1), test_size, 2)
        assert split_sizes(len(data), fraction, test_size) == (len(s.train), len(s.test))
    with pytest.raises(ConfigError, match="empty test set"):
        split_sizes(10, 1.0, 0.01)
    with pytest.raises(ConfigError, match="keeps none"):
        split_sizes(10, 0.01, 0.5)


def test_new_people_are_held_out_entirely(demo):
    plain = make_split(demo, DataConfig("demo"))
    held = make_split(demo, DataConfig("demo", new_people=100))
    assert plain.people is None and held.people.n_users == 100
    people = set(held.people.user_ids.ids.tolist())
    assert people.isdisjoint(held.train.user_ids.ids.tolist())
    assert held.train.n_users == plain.train.n_users - 100
    assert (held.people.user_counts() >= PERSON_MIN_RATINGS).all()
    # every rating is somewhere, once; the movie map stays the whole dataset's
    assert len(held.train) + len(held.test) + len(held.people) == len(demo.ratings)
    assert held.train.item_ids is held.people.item_ids
    np.testing.assert_array_equal(held.train.item_ids.ids, plain.train.item_ids.ids)
    again = make_split(demo, DataConfig("demo", new_people=100))
    np.testing.assert_array_equal(again.people.user_ids.ids, held.people.user_ids.ids)
    other = make_split(demo, DataConfig("demo", new_people=100, seed=1))
    assert set(other.people.user_ids.ids.tolist()) != people


def test_too_many_new_people_are_refused(demo):
    with pytest.raises(ConfigError, match="cannot hold out 600 new people"):
        make_split(demo, DataConfig("demo", new_people=600))
    with pytest.raises(ConfigError, match="new_people"):
        DataConfig("demo", new_people=-1)
