"""Property-based tests (hypothesis): parsers read back exactly what was written in every
format, and chop / split / holdout never lose, duplicate or invent a rating."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from movierec.config import DataConfig
from movierec.data import get_release
from movierec.data.dataset import Dataset
from movierec.data.parsers import parse
from movierec.data.sources import Source
from movierec.errors import ConfigError, UnknownIdError
from movierec.interactions import IdMap, Interactions
from movierec.split import chop, holdout_per_user, make_split, split, split_sizes
from tests.data import tiny

# Reproducible in CI (same examples every run, no example database written into the repo);
# a wider random search is a matter of raising max_examples and dropping derandomize.
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None)

WHOLE_STARS = (1.0, 2.0, 3.0, 4.0, 5.0)
HALF_STARS = tuple(x / 2 for x in range(1, 11))
# Title characters: letters (some accented, all in latin-1), digits, punctuation MovieLens uses.
TITLE_CHARS = st.sampled_from(list("abcxyzABCXYZ019 ,.'&!-:éèüñçÅ"))


@st.composite
def ratings_table(draw, stars=WHOLE_STARS, max_rows=60):
    """Distinct (user, movie) pairs with stars on the scale and timestamps."""
    pairs = draw(st.lists(st.tuples(st.integers(1, 40), st.integers(1, 300)), min_size=1,
                          max_size=max_rows, unique=True))
    values = draw(st.lists(st.sampled_from(stars), min_size=len(pairs), max_size=len(pairs)))
    times = draw(st.lists(st.integers(0, 2**31 - 1), min_size=len(pairs), max_size=len(pairs)))
    return pd.DataFrame({"user_id": [u for u, _ in pairs], "movie_id": [m for _, m in pairs],
                         "rating": values, "timestamp": times})


@st.composite
def titles_for(draw, movie_ids):
    """A title per movie: text that may contain commas, quotes and colons, then a year."""
    out = {}
    for movie_id in movie_ids:
        text = draw(st.text(TITLE_CHARS, min_size=1, max_size=20)).strip() or "Untitled"
        out[movie_id] = f"{text} ({draw(st.integers(1900, 2030))})"
    return out


def _canon(frame: pd.DataFrame) -> list[tuple]:
    return sorted(zip(frame["user_id"].astype(int), frame["movie_id"].astype(int),
                      frame["rating"].astype(float), frame["timestamp"].astype(int),
                      strict=True))


def _parse(name: str, files: dict[str, bytes]):
    with tempfile.TemporaryDirectory() as tmp:
        folder = tiny.write_folder(Path(tmp), name, files)
        return parse(Source(get_release(name), folder))


def _check_round_trip(dataset, ratings: pd.DataFrame, titles: dict[int, str]) -> None:
    assert _canon(dataset.ratings) == _canon(ratings)
    movies = dataset.movies.set_index("movie_id")
    for movie_id, title in titles.items():
        assert movies.loc[movie_id, "title"] == title
        assert movies.loc[movie_id, "year"] == int(title[-5:-1])


@SETTINGS
@given(data=st.data())
def test_dat_format_reads_back_exactly(data):
    ratings = data.draw(ratings_table())
    titles = data.draw(titles_for(sorted(set(ratings["movie_id"]))))
    assume(not any("::" in t for t in titles.values()))   # the separator cannot be in a title
    lines = "".join(f"{r.user_id}::{r.movie_id}::{int(r.rating)}::{r.timestamp}\n"
                    for r in ratings.itertuples())
    movies = "".join(f"{m}::{t}::Drama|Comedy\n" for m, t in titles.items())
    users = "".join(f"{u}::F::25::1::12345\n" for u in sorted(set(ratings["user_id"])))
    dataset = _parse("ml-1m", {"ratings.dat": lines.encode(), "users.dat": users.encode(),
                               "movies.dat": movies.encode("latin-1")})
    _check_round_trip(dataset, ratings, titles)


@SETTINGS
@given(data=st.data())
def test_100k_format_reads_back_exactly(data):
    ratings = data.draw(ratings_table())
    titles = data.draw(titles_for(sorted(set(ratings["movie_id"]))))
    files = tiny.files_for("ml-100k")
    files["u.data"] = "".join(f"{r.user_id}\t{r.movie_id}\t{int(r.rating)}\t{r.timestamp}\n"
                              for r in ratings.itertuples()).encode()
    files["u.item"] = "".join(tiny._u_item_line(m, t, {8}) for m, t in titles.items()) \
        .encode("latin-1")
    files["u.user"] = "".join(f"{u}|30|M|other|00000\n"
                              for u in sorted(set(ratings["user_id"]))).encode()
    _check_round_trip(_parse("ml-100k", files), ratings, titles)


@SETTINGS
@given(data=st.data())
def test_csv_format_reads_back_exactly(data):
    ratings = data.draw(ratings_table(stars=HALF_STARS))
    titles = data.draw(titles_for(sorted(set(ratings["movie_id"]))))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")   # quotes titles holding commas or quotes
    writer.writerow(["movieId", "title", "genres"])
    writer.writerows([m, t, "Comedy"] for m, t in titles.items())
    text = "userId,movieId,rating,timestamp\n" + "".join(
        f"{r.user_id},{r.movie_id},{r.rating:.1f},{r.timestamp}\n" for r in ratings.itertuples())
    dataset = _parse("ml-latest-small", {"ratings.csv": text.encode(),
                                         "movies.csv": out.getvalue().encode("utf-8")})
    _check_round_trip(dataset, ratings, titles)


def _interactions(ratings: pd.DataFrame) -> Interactions:
    return Interactions.from_ratings(ratings, WHOLE_STARS)


def _rows(data: Interactions) -> list[tuple]:
    return _canon(data.to_frame())


@SETTINGS
@given(ratings=ratings_table(max_rows=200))
def test_id_maps_round_trip(ratings):
    data = _interactions(ratings)
    assert _rows(data) == _canon(ratings)
    for ids in (data.user_ids, data.item_ids):
        assert np.array_equal(ids.raw(ids.index(ids.ids)), ids.ids)
        assert ids.index(ids.ids).tolist() == list(range(len(ids)))
        with pytest.raises(UnknownIdError):
            ids.index(int(ids.ids.max()) + 1)
    rebuilt = IdMap(data.item_ids.ids.copy(), "movie")
    assert [rebuilt.index(int(m)) for m in ratings["movie_id"]] == data.item_idx.tolist()


@SETTINGS
@given(ratings=ratings_table(max_rows=200), fraction=st.floats(0.01, 1.0), seed=st.integers(0, 9))
def test_chop_keeps_a_subset_of_the_promised_size(ratings, fraction, seed):
    data = _interactions(ratings)
    n_keep = len(data) if fraction == 1.0 else int(round(len(data) * fraction))
    if n_keep == 0:
        with pytest.raises(ConfigError, match="keeps none"):
            chop(data, fraction, seed)
        return
    kept = chop(data, fraction, seed)
    rows = _rows(kept)
    assert len(rows) == n_keep == len(set(rows))          # nothing duplicated
    assert set(rows) <= set(_rows(data))                  # nothing invented
    assert kept.user_ids is data.user_ids and kept.item_ids is data.item_ids
    assert _rows(chop(data, fraction, seed)) == rows       # seeded


@SETTINGS
@given(ratings=ratings_table(max_rows=200), validation_size=st.floats(0.01, 0.99),
       seed=st.integers(0, 9))
def test_split_is_exactly_the_sample(ratings, validation_size, seed):
    data = _interactions(ratings)
    try:
        sizes = split_sizes(len(data), 1.0, validation_size)
    except ConfigError:
        with pytest.raises(ConfigError, match="empty"):
            split(data, validation_size, seed)
        return
    parts = split(data, validation_size, seed)
    train, test = _rows(parts.train), _rows(parts.validation)
    assert (len(train), len(test)) == sizes
    assert sorted(train + test) == _rows(data)             # a partition: no loss, no copies
    assert not set(train) & set(test)
    assert parts.train.user_ids is data.user_ids and parts.validation.item_ids is data.item_ids


@SETTINGS
@given(ratings=ratings_table(max_rows=200), seed=st.integers(0, 9))
def test_holdout_per_user_is_a_partition_with_one_per_user(ratings, seed):
    data = _interactions(ratings)
    counts = data.user_counts()
    if not (counts >= 2).any():
        with pytest.raises(ConfigError, match="no user has"):
            holdout_per_user(data, 1, seed)
        return
    parts = holdout_per_user(data, 1, seed)
    assert sorted(_rows(parts.train) + _rows(parts.validation)) == _rows(data)
    held = np.bincount(parts.validation.user_idx, minlength=data.n_users)
    assert np.array_equal(held, (counts >= 2).astype(int))


@SETTINGS
@given(ratings=ratings_table(max_rows=200), fraction=st.floats(0.05, 1.0),
       validation_size=st.floats(0.05, 0.95), seed=st.integers(0, 99))
def test_make_split_train_and_test_are_the_chopped_sample(ratings, fraction, validation_size, seed):
    movies = pd.DataFrame({"movie_id": sorted(set(ratings["movie_id"]))})
    movies["title"], movies["year"], movies["genres"] = "x", 2000, [[]] * len(movies)
    dataset = Dataset(name="ml-1m", ratings=ratings.astype({"rating": np.float32}),
                      movies=movies, users=None, rating_scale=WHOLE_STARS, source="test")
    config = DataConfig("ml-1m", fraction=fraction, validation_size=validation_size, seed=seed)
    try:
        n_train, n_validation = split_sizes(len(ratings), fraction, validation_size)
    except ConfigError:
        with pytest.raises(ConfigError):
            make_split(dataset, config)
        return
    parts = make_split(dataset, config)
    train, test = _rows(parts.train), _rows(parts.validation)
    assert (len(train), len(test)) == (n_train, n_validation)
    union = set(train) | set(test)
    assert len(union) == n_train + n_validation                  # disjoint, no duplicates
    assert union <= set(_canon(ratings))                   # every row is a real rating
