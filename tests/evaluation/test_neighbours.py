"""Neighbour quality: nearest neighbours, genre agreement, the series check and their chance
values, against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from movierec.errors import ConfigError
from movierec.evaluation.neighbours import (
    chance_genre_agreement,
    chance_series_check,
    genre_agreement,
    genre_matrix,
    item_knn_vectors,
    near_chance,
    nearest,
    neighbour_quality,
    series_check,
)
from movierec.interactions import IdMap, Interactions


def test_nearest_by_cosine_dense_and_sparse():
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0], [0.1, 0.9]])
    expected = np.array([[1, 4], [0, 4], [4, 1], [2, 4], [2, 1]])
    np.testing.assert_array_equal(nearest(vectors, 2), expected)
    np.testing.assert_array_equal(nearest(sp.csr_matrix(vectors), 2), expected)
    with pytest.raises(ConfigError):
        nearest(vectors, 5)


def test_genre_agreement_by_hand():
    genres = genre_matrix([["Action", "Sci-Fi"], ["Action"], ["Drama"]])
    # movie 0 -> 1: {A,S} vs {A}: 1/2; movie 1 -> 0: 1/2; movie 2 -> 0: 0
    neighbours = np.array([[1], [0], [0]])
    assert genre_agreement(neighbours, genres) == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    # all ordered pairs: (0,1)=(1,0)=1/2, others 0 -> 1/6 over 6 pairs
    assert chance_genre_agreement(genres) == pytest.approx(1.0 / 6)


def test_series_check_by_hand():
    series = ["a", "a", "b", "b", None, "c"]          # "c" has no other member: not checked
    neighbours = np.array([[1], [4], [3], [0], [0], [0]])
    share, checked = series_check(neighbours, series)
    assert checked == 4 and share == pytest.approx(2 / 4)   # movies 0 and 2 find a mate
    # 1 random neighbour among the 5 others finds the single mate with chance 1/5
    assert chance_series_check(series, k=1) == pytest.approx(1 / 5)
    assert math.isnan(series_check(neighbours, [None] * 6)[0])


def test_item_knn_vectors_are_mean_centred_columns():
    data = Interactions(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 2]),
                        np.array([5.0, 3.0, 2.0, 4.0], np.float32), np.zeros(4, np.int64),
                        IdMap(np.array([1, 2]), "user"), IdMap(np.array([10, 20, 30])),
                        (1.0, 2.0, 3.0, 4.0, 5.0))
    vectors = item_knn_vectors(data).toarray()
    # user means 4 and 3: movie 10 is (+1, -1), movie 20 (-1, 0), movie 30 (0, +1)
    np.testing.assert_allclose(vectors, [[1, -1], [-1, 0], [0, 1]])


def test_quality_table_and_near_chance():
    rng = np.random.default_rng(0)
    n = 60
    kinds = np.repeat(["Action", "Drama", "Comedy"], n // 3)
    titles = [f"Film {i} of Us (2000)" for i in range(n - 4)] + ["Saga (1990)", "Saga II (1992)",
                                                           "Saga III (1994)", "Other (1990)"]
    movies = pd.DataFrame({"title": titles, "genres": [[k] for k in kinds],
                           "n_ratings": [50] * n})
    by_genre = np.eye(3)[np.searchsorted(["Action", "Comedy", "Drama"], kinds)]
    good = by_genre + 0.01 * rng.normal(size=(n, 3))
    good[n - 4:n - 1] += 5 * np.array([0.0, 1.0, 1.0])    # the saga films sit together
    table = neighbour_quality(good, movies, label="good", k=3)
    rows = table.set_index("vectors")
    assert list(table["vectors"]) == ["good", "chance"]
    assert rows.loc["good", "genre_agreement"] > 0.9
    assert rows.loc["good", "series_check"] == 1.0 and rows.loc["good", "series_movies"] == 3
    assert rows.loc["chance", "genre_agreement"] == pytest.approx((n / 3 - 1) / (n - 1))
    assert not near_chance(table)
    noise = neighbour_quality(rng.normal(size=(n, 3)), movies, k=3)
    assert near_chance(noise)
    with pytest.raises(ConfigError, match="more than 3 movies"):
        neighbour_quality(good, movies.assign(n_ratings=[1] * n), k=3)


def test_large_catalogues_compare_the_most_rated_movies_and_sample_knn_users():
    n = 40
    movies = pd.DataFrame({"title": [f"Film {i} (2000)" for i in range(n)],
                           "genres": [["Action"] if i % 2 else ["Drama"] for i in range(n)],
                           "n_ratings": np.arange(100, 100 + n)})
    vectors = np.eye(2)[np.arange(n) % 2] + 0.01 * np.random.default_rng(0).normal(size=(n, 2))
    table = neighbour_quality(vectors, movies, k=3, max_movies=12)
    assert (table["movies"] == 12).all()
    assert table["genre_agreement"].iloc[0] == 1.0
    # Item-kNN over at most max_users users: the others' ratings are left out.
    users = np.repeat(np.arange(10), 3)
    data = Interactions(users, np.tile([0, 1, 2], 10), np.tile([5.0, 3.0, 1.0], 10)
                        .astype(np.float32), np.zeros(30, np.int64),
                        IdMap(np.arange(1, 11), "user"), IdMap(np.array([10, 20, 30])),
                        (1.0, 2.0, 3.0, 4.0, 5.0))
    assert len(np.unique(item_knn_vectors(data).nonzero()[1])) == 10
    sampled = item_knn_vectors(data, max_users=4)
    assert sampled.shape == (3, 10) and len(np.unique(sampled.nonzero()[1])) == 4
