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
    positions, found = ids.lookup(np.array([[42, 11], [0, 3]]))
    assert positions.tolist() == [[2, 0], [0, 0]] and found.tolist() == [[True, False],
                                                                        [False, True]]
    assert IdMap(np.array([], dtype=np.int64)).lookup([5])[1].tolist() == [False]


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
    assert len(s.validation) == round(len(data) * 0.1)
    assert as_set(s.train) | as_set(s.validation) == as_set(data)
    assert not as_set(s.train) & as_set(s.validation)
    assert s.train.item_ids is s.validation.item_ids is data.item_ids
    with pytest.raises(ConfigError, match="empty validation set"):
        split(data, 1e-6)
    with pytest.raises(ConfigError, match="empty training set"):
        split(data, 1.0)


def test_holdout_per_user(ratings):
    data = Interactions.from_ratings(ratings, (1.0, 2.0, 3.0, 4.0, 5.0))
    s = holdout_per_user(data, n_per_user=1, seed=0)
    counts = data.user_counts()
    eligible = np.flatnonzero(counts >= 2)
    assert sorted(s.validation.user_idx.tolist()) == sorted(eligible.tolist())
    assert as_set(s.train) | as_set(s.validation) == as_set(data)
    assert (s.train.user_counts()[eligible] >= 1).all()
    again = holdout_per_user(data, n_per_user=1, seed=0)
    assert as_set(again.validation) == as_set(s.validation)


def test_split_sizes_match_chop_then_split(ratings):
    from movierec.split import split_sizes
    data = Interactions.from_ratings(ratings, (1.0, 2.0, 3.0, 4.0, 5.0))
    for fraction, validation_size in [(1.0, 0.1), (0.37, 0.2), (0.05, 0.5)]:
        s = split(chop(data, fraction, 1), validation_size, 2)
        assert split_sizes(len(data), fraction, validation_size) == \
            (len(s.train), len(s.validation))
    with pytest.raises(ConfigError, match="empty validation set"):
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
    assert len(held.train) + len(held.validation) + len(held.people) == len(demo.ratings)
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


def dated(n_users: int = 40, per_user: int = 8, equal_times: bool = False,
          seed: int = 0) -> Interactions:
    """Ratings of every user on ``per_user`` movies, dated (or all at time 0)."""
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(1, n_users + 1), per_user)
    movies = np.concatenate([rng.choice(200, per_user, replace=False) + 1
                             for _ in range(n_users)])
    times = np.zeros(len(users), np.int64) if equal_times else \
        rng.choice(10**9, len(users), replace=False)
    order = rng.permutation(len(users))
    frame = pd.DataFrame({"user_id": users[order], "movie_id": movies[order],
                          "rating": np.full(len(users), 4.0, np.float32),
                          "timestamp": times[order]})
    return Interactions.from_ratings(frame, (1.0, 2.0, 3.0, 4.0, 5.0))


def test_leave_one_out_holds_out_the_latest_ratings():
    data = dated()
    for n in (1, 3):
        parts = holdout_per_user(data, n, seed=5)
        frame = data.to_frame()
        latest = frame.sort_values("timestamp").groupby("user_id").tail(n)
        assert as_set(parts.validation) == set(zip(latest["user_id"], latest["movie_id"],
                                             latest["rating"], strict=True))
        assert as_set(parts.train) | as_set(parts.validation) == as_set(data)
    # ties among a user's latest ratings are broken at random, seeded
    tied = Interactions(data.user_idx, data.item_idx, data.rating,
                        np.where(data.timestamp % 2 == 0, 7, 3), data.user_ids, data.item_ids,
                        data.rating_scale)
    first = as_set(holdout_per_user(tied, 1, seed=0).validation)
    assert first == as_set(holdout_per_user(tied, 1, seed=0).validation)
    assert any(as_set(holdout_per_user(tied, 1, seed=s).validation) != first for s in (1, 2, 3))


def test_leave_one_out_without_dates_is_the_earlier_random_holdout():
    data = dated(equal_times=True)
    for seed in (0, 1, 7):
        rng = np.random.default_rng(seed)      # the holdout before timestamps counted
        shuffled = rng.permutation(len(data))
        order = shuffled[np.argsort(data.user_idx[shuffled], kind="stable")]
        users = data.user_idx[order]
        first = np.arange(len(order)) == np.searchsorted(users, users, side="left")
        parts = holdout_per_user(data, 1, seed)
        np.testing.assert_array_equal(
            parts.validation.to_frame().to_numpy(), data.take(np.sort(order[first])).to_frame()
            .to_numpy())


def test_the_data_config_of_the_ncf_split():
    assert DataConfig(split="ncf", holdout="/x/test.rating").holdout == "/x/test.rating"
    with pytest.raises(ConfigError, match="split 'ncf' needs holdout"):
        DataConfig(split="ncf")
    with pytest.raises(ConfigError, match="fraction must be 1 and new_people 0"):
        DataConfig(split="ncf", holdout="t", fraction=0.5)
    with pytest.raises(ConfigError, match="fraction must be 1 and new_people 0"):
        DataConfig(split="ncf", holdout="t", new_people=10)
    with pytest.raises(ConfigError, match="only used with split 'ncf', not 'leave-one-out'"):
        DataConfig(split="leave-one-out", holdout="t")


def test_configs_without_a_holdout_keep_their_keys():
    from movierec.config import config_hash, from_dict
    # the keys of runs saved before the holdout existed
    assert config_hash(DataConfig()) == "853bead9d6ba"
    assert config_hash(DataConfig("demo", 0.5, 0.2, 3, "leave-one-out", 10)) == "d34a80727c9b"
    assert config_hash(DataConfig(split="ncf", holdout="a")) != \
        config_hash(DataConfig(split="ncf", holdout="b"))
    old = {"dataset": "demo", "fraction": 1.0, "test_size": 0.1, "seed": 0, "split": "random",
           "new_people": 0}
    assert from_dict(DataConfig, old) == DataConfig("demo")


def test_the_ncf_split_holds_out_exactly_the_file(tmp_path):
    from movierec.data import load_dataset
    from tests.data.tiny import UNRATED_MOVIE, write_ncf_dataset
    folder = write_ncf_dataset(tmp_path / "data")
    dataset = load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache",
                           allow_download=False)
    config = DataConfig(split="ncf", holdout=str(folder / "test.rating"))
    parts = make_split(dataset, config)
    held = pd.read_csv(folder / "test.rating", sep="::", engine="python", header=None)
    assert set(zip(parts.validation.user_ids.raw(parts.validation.user_idx),
                   parts.validation.item_ids.raw(parts.validation.item_idx), strict=True)) == \
        set(zip(held[0], held[1], strict=True))
    assert len(parts.train) + len(parts.validation) == len(dataset.ratings)
    assert not as_set(parts.train) & as_set(parts.validation)
    # the candidates of test.negative, repeats and the unknown movie not counted
    test = parts.candidates
    assert test.item_idx.shape == (30, 21) and (test.item_idx[:, 0] == parts.validation.item_idx[
        np.argsort(parts.validation.user_idx)]).all()
    assert (~test.valid).sum() == 2 and not test.valid[0].all() and not test.valid[1, 1]
    assert UNRATED_MOVIE not in parts.train.item_ids

    (folder / "test.negative").unlink()
    assert make_split(dataset, config).candidates is None


def test_the_ncf_split_refuses_a_file_of_other_ratings(tmp_path):
    from movierec.data import load_dataset
    from tests.data.tiny import write_ncf_dataset
    folder = write_ncf_dataset(tmp_path / "data")
    held = (folder / "test.rating").read_text().splitlines()
    ratings = tmp_path / "data" / "ml-1m" / "ratings.dat"
    kept = [line for line in ratings.read_text().splitlines() if line not in set(held[:5])]
    ratings.write_text("\n".join(kept) + "\n")
    dataset = load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache",
                           allow_download=False)
    config = DataConfig(split="ncf", holdout=str(folder / "test.rating"))
    with pytest.raises(ConfigError, match=r"5 of the 30 ratings in .*test.rating are not in "
                                          r"ml-1m.*--split leave-one-out"):
        make_split(dataset, config)
    (folder / "test.rating").write_text("\n".join(held[5:]) + "\n")
    with pytest.raises(ConfigError, match="test.negative: user 1's held-out movie .* do not "
                                          "belong together"):
        make_split(dataset, config)


def test_max_movies_keeps_the_most_rated_movies_only(demo):
    from movierec.split import most_rated
    counts = demo.ratings["movie_id"].value_counts()
    kept = most_rated(demo.ratings, 50)
    assert kept["movie_id"].nunique() == 50
    ranked = sorted(counts.index, key=lambda m: (-counts[m], m))[:50]
    assert set(kept["movie_id"]) == set(ranked)
    assert len(kept) == counts[ranked].sum()
    assert most_rated(demo.ratings, 10_000) is demo.ratings
    parts = make_split(demo, DataConfig("demo", max_movies=50))
    assert parts.n_items == 50 and len(parts.train) + len(parts.validation) == len(kept)
    # Runs saved before max_movies existed keep their config keys.
    from movierec.config import config_hash
    assert config_hash(DataConfig("demo")) != config_hash(DataConfig("demo", max_movies=50))
    with pytest.raises(ConfigError, match="max_movies"):
        DataConfig("demo", max_movies=-1)


def test_max_users_keeps_a_seeded_sample_of_people(demo):
    from movierec.split import some_users
    kept = some_users(demo.ratings, 100, seed=0)
    assert kept["user_id"].nunique() == 100
    assert kept.equals(some_users(demo.ratings, 100, seed=0))
    assert set(kept["user_id"]) != set(some_users(demo.ratings, 100, seed=1)["user_id"])
    mine = demo.ratings[demo.ratings["user_id"].isin(kept["user_id"])]
    assert len(kept) == len(mine)   # every rating of the people kept
    parts = make_split(demo, DataConfig("demo", max_users=100, max_movies=300))
    assert parts.n_users <= 100 and parts.n_items <= 300
    with pytest.raises(ConfigError, match="max_users"):
        DataConfig("demo", max_users=-5)
