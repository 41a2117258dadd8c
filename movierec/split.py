"""The notebook's ``chop`` and ``split``, a per-user holdout, and the NCF paper's fixed
holdout read from its files: pure, seeded functions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.config import DataConfig
from movierec.data.candidates import Candidates
from movierec.data.dataset import Dataset
from movierec.data.ncf import ncf_candidates, read_test_negative, read_test_rating
from movierec.errors import ConfigError
from movierec.interactions import Interactions

# A new person of the new-person protocol gives up to 10 ratings and is judged on the rest.
PERSON_MIN_RATINGS = 20


@dataclass(frozen=True, eq=False)
class Split:
    """Training and validation (held-out) ratings over the same id maps, the ratings of the
    people held out of training entirely (over the same movie map and a user map of their own),
    if any, and the fixed candidates of the ranking metrics, if a published test gives them."""

    train: Interactions
    validation: Interactions
    people: Interactions | None = None
    candidates: Candidates | None = None

    @property
    def n_users(self) -> int:
        return self.train.n_users

    @property
    def n_items(self) -> int:
        return self.train.n_items


def _check_fraction(value: float, name: str, allow_zero: bool = False) -> float:
    value = float(value)
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value <= 1) or np.isnan(value):
        bound = "0 <= " if allow_zero else "0 < "
        raise ConfigError(f"{name} must satisfy {bound}{name} <= 1, got {value:g}")
    return value


def _n_kept(n_ratings: int, fraction: float) -> int:
    fraction = _check_fraction(fraction, "fraction")
    n_keep = n_ratings if fraction == 1.0 else int(round(n_ratings * fraction))
    if n_keep == 0:
        raise ConfigError(f"fraction {fraction:g} of {n_ratings} ratings keeps none; "
                          "use a larger fraction")
    return n_keep


def split_sizes(n_ratings: int, fraction: float, validation_size: float) -> tuple[int, int]:
    """(training, validation) counts that :func:`chop` then :func:`split` produce from
    ``n_ratings`` ratings; a ConfigError when either would be empty."""
    n_keep = _n_kept(n_ratings, fraction)
    validation_size = _check_fraction(validation_size, "validation_size")
    n_validation = int(round(n_keep * validation_size))
    if n_validation == 0 or n_validation == n_keep:
        side = "validation" if n_validation == 0 else "training"
        raise ConfigError(f"validation_size {validation_size:g} of {n_keep} ratings leaves an "
                          f"empty {side} set")
    return n_keep - n_validation, n_validation


def chop(data: Interactions, fraction: float, seed: int = 0) -> Interactions:
    """Keep a seeded random ``fraction`` of the ratings (the notebook's ``dataset.chop``).

    The id maps are kept whole, so tables stay the size of the full dataset.
    Raises:
        ConfigError: fraction outside (0, 1] or leaving no rating.
    """
    fraction = _check_fraction(fraction, "fraction")
    if fraction == 1.0:
        return data
    n_keep = _n_kept(len(data), fraction)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(data), size=n_keep, replace=False))
    return data.take(rows)


def split(data: Interactions, validation_size: float, seed: int = 0) -> Split:
    """Hold out a seeded random ``validation_size`` fraction of the ratings for validation.

    Raises:
        ConfigError: validation_size outside (0, 1) or leaving an empty training or validation set.
    """
    _, n_validation = split_sizes(len(data), 1.0, validation_size)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    return Split(train=data.take(np.sort(order[n_validation:])),
                 validation=data.take(np.sort(order[:n_validation])))


def holdout_per_user(data: Interactions, n_per_user: int = 1, seed: int = 0,
                     min_left: int = 1) -> Split:
    """Hold out the latest ``n_per_user`` ratings of every user who keeps at least
    ``min_left`` ratings in training (the leave-one-out protocol when ``n_per_user`` is 1).

    Ratings with equal timestamps are taken in a seeded random order, so where all are equal
    (the shared copy of ml-1m dates every rating 0) the held-out ratings are random ones.

    Raises:
        ConfigError: n_per_user below 1, or no user has enough ratings.
    """
    if n_per_user < 1:
        raise ConfigError(f"n_per_user must be at least 1, got {n_per_user}")
    rng = np.random.default_rng(seed)
    # Shuffle, then stable-sort by user and, within a user, latest first: equal timestamps
    # keep the random order (with all equal, this is the order of the earlier random holdout).
    shuffled = rng.permutation(len(data))
    order = shuffled[np.lexsort((-data.timestamp[shuffled], data.user_idx[shuffled]))]
    users = data.user_idx[order]
    starts = np.searchsorted(users, users, side="left")
    rank = np.arange(len(order)) - starts
    counts = np.bincount(data.user_idx, minlength=data.n_users)
    eligible = counts[users] >= n_per_user + min_left
    held_mask = eligible & (rank < n_per_user)
    if not held_mask.any():
        raise ConfigError(f"no user has {n_per_user + min_left} ratings to hold out "
                          f"{n_per_user} and keep {min_left}")
    held_rows = np.sort(order[held_mask])
    train_rows = np.sort(order[~held_mask])
    return Split(train=data.take(train_rows), validation=data.take(held_rows))


def holdout_file(data: Interactions, path: str | os.PathLike, dataset: str = "the dataset") \
        -> Split:
    """Hold out exactly the ratings a ``test.rating`` file lists (as the dataset has them) and
    train on all the others: the NCF paper's split. A ``test.negative`` file in the same folder
    gives the candidates of the ranking metrics.

    Args:
        dataset: the dataset's name, for messages.
    Raises:
        ConfigError: a file cannot be read, the file lists ratings the dataset does not have
            (another dataset's file, or a copy that already leaves them out), leaves nothing
            to train on, or the ``test.negative`` beside it lists other held-out movies.
    """
    held = read_test_rating(path)
    users, user_found = data.user_ids.lookup(held["user_id"].to_numpy())
    items, item_found = data.item_ids.lookup(held["movie_id"].to_numpy())
    keys = data.user_idx.astype(np.int64) * data.n_items + data.item_idx
    held_keys = users * data.n_items + items
    present = user_found & item_found & np.isin(held_keys, keys)
    if not present.all():
        raise ConfigError(f"{(~present).sum():,} of the {len(held):,} ratings in {path} are not "
                          f"in {dataset}: the file may belong to another dataset, or this copy "
                          f"of {dataset} already leaves them out (then train on it with "
                          "--split leave-one-out)")
    held_mask = np.isin(keys, held_keys)
    if held_mask.all():
        raise ConfigError(f"{path} holds every rating of {dataset}; none is left to train on")
    return Split(train=data.take(~held_mask), validation=data.take(held_mask),
                 candidates=_candidates_beside(path, held, data))


def _candidates_beside(path, held, data: Interactions) -> Candidates | None:
    """The candidates of the ``test.negative`` file in the folder of holdout file ``path``
    (whose ratings are ``held``), over the maps of ``data``; None without one."""
    negative = Path(path).parent / "test.negative"
    if not negative.is_file():
        return None
    test = read_test_negative(negative)
    base = int(max(held["movie_id"].max(), test.positives.max())) + 1
    listed = held["user_id"].to_numpy() * base + held["movie_id"].to_numpy()
    stray = np.flatnonzero(~np.isin(test.user_ids * base + test.positives, listed))
    if len(stray):
        row = int(stray[0])
        raise ConfigError(f"{negative}: user {test.user_ids[row]}'s held-out movie "
                          f"{test.positives[row]} is not in {path} ({len(stray):,} of "
                          f"{len(test):,} users' are not); the two files do not belong together")
    return ncf_candidates(test, data.user_ids, data.item_ids)[0]


def hold_out_people(data: Interactions, n_people: int, seed: int = 0) \
        -> tuple[Interactions, Interactions]:
    """Set ``n_people`` random users with at least :data:`PERSON_MIN_RATINGS` ratings aside.

    Returns:
        (everyone else's ratings, the people's ratings), each over a user map of its own.
    Raises:
        ConfigError: fewer than twice ``n_people`` users have enough ratings (too few would
            be left to learn from).
    """
    counts = data.user_counts()
    eligible = np.flatnonzero(counts >= PERSON_MIN_RATINGS)
    if n_people < 1 or 2 * n_people > len(eligible):
        raise ConfigError(f"cannot hold out {n_people} new people: {len(eligible)} users have "
                          f"{PERSON_MIN_RATINGS} ratings or more, and at most half of them can "
                          "be set aside")
    people = np.sort(np.random.default_rng(seed).choice(eligible, n_people, replace=False))
    rest = np.setdiff1d(np.arange(data.n_users), people)
    return data.for_users(rest), data.for_users(people)


def most_rated(ratings: pd.DataFrame, n_movies: int) -> pd.DataFrame:
    """The ratings of the ``n_movies`` most rated movies (ties to the lower id); all of them
    when there are no more movies than that."""
    ids, counts = np.unique(ratings["movie_id"].to_numpy(), return_counts=True)
    if len(ids) <= n_movies:
        return ratings
    kept = ids[np.lexsort((ids, -counts))[:n_movies]]
    return ratings[np.isin(ratings["movie_id"].to_numpy(), kept)].reset_index(drop=True)


def some_users(ratings: pd.DataFrame, n_users: int, seed: int = 0) -> pd.DataFrame:
    """The ratings of ``n_users`` users drawn at random (seeded); all of them when there are no
    more users than that."""
    ids = np.unique(ratings["user_id"].to_numpy())
    if len(ids) <= n_users:
        return ratings
    stream = np.random.SeedSequence([seed, 1]).generate_state(1)[0]
    kept = np.random.default_rng(stream).choice(ids, n_users, replace=False)
    return ratings[np.isin(ratings["user_id"].to_numpy(), kept)].reset_index(drop=True)


def make_split(dataset: Dataset, config: DataConfig) -> Split:
    """Keep the ratings of the ``config.max_movies`` most rated movies and of
    ``config.max_users`` random users (when set), set
    ``config.new_people`` people aside, chop the rest to ``config.fraction`` and hold
    out ``config.validation_size`` of it (or each user's latest rating for ``leave-one-out``),
    seeded; or, for ``ncf``, hold out the ratings of the ``config.holdout`` file (see
    :func:`holdout_file`).

    The movie map covers every rated movie of the whole dataset, so runs on different
    fractions have tables of the same shape; the user map covers every user but the people.
    """
    if dataset.name != config.dataset:
        raise ConfigError(f"the data config names {config.dataset!r} but the dataset is "
                          f"{dataset.name!r}")
    ratings = dataset.ratings
    if config.max_movies:
        ratings = most_rated(ratings, config.max_movies)
    if config.max_users:
        ratings = some_users(ratings, config.max_users, config.seed)
    data = Interactions.from_ratings(ratings, dataset.rating_scale)
    if config.split == "ncf":
        return holdout_file(data, config.holdout, dataset.name)
    # The first two streams are those of runs made before people could be held out.
    chop_seed, split_seed, people_seed = np.random.SeedSequence(config.seed).generate_state(3)
    people = None
    if config.new_people:
        data, people = hold_out_people(data, config.new_people, int(people_seed))
    kept = chop(data, config.fraction, int(chop_seed))
    if config.split == "leave-one-out":
        parts = holdout_per_user(kept, 1, int(split_seed))
    else:
        parts = split(kept, config.validation_size, int(split_seed))
    return Split(parts.train, parts.validation, people)


def tuning_split(data: Split, config: DataConfig) -> Split:
    """The split a search study scores its trials on, carved from ``data``'s training part
    alone, so that ``data``'s held-out ratings and people stay untouched until the best
    setting is tested once.

    The validation ratings are held out of the training part as ``config`` holds out the test
    (``validation_size`` of them at random, or each user's latest for ``leave-one-out`` and
    ``ncf``), and when ``data`` holds people out, as many validation people are set aside from
    the training users. Seeded by ``config.seed``, apart from the streams of the split itself.
    """
    people_seed, split_seed = np.random.SeedSequence([config.seed, 19]).generate_state(2)
    train, people = data.train, None
    if data.people is not None:
        train, people = hold_out_people(train, data.people.n_users, int(people_seed))
    if config.split == "random":
        parts = split(train, config.validation_size, int(split_seed))
    else:
        parts = holdout_per_user(train, 1, int(split_seed))
    return Split(parts.train, parts.validation, people)
