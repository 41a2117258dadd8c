"""Neighbour quality: are a movie's nearest neighbours, by the cosine similarity that Explore and
``similar`` rank them with, really alike?

Two measures over the movies with at least ``min_ratings`` training ratings, each movie's ``k``
nearest neighbours taken among those same movies:

- *genre agreement*: the mean Jaccard overlap of a movie's genres with each neighbour's;
- *series check*: the share of movies from a film series (found from the titles, see
  :mod:`movierec.evaluation.series`) that have another film of their series among their
  neighbours, over the series films whose series has another film among the eligible movies.

Both are given for chance (exact expectations for ``k`` neighbours drawn at random) and for
item-kNN (cosine of mean-centred rating columns) on the same movies.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.errors import ConfigError
from movierec.evaluation.series import detect_series
from movierec.interactions import Interactions
from movierec.vectors import unit_rows

MIN_RATINGS = 20
K = 10
_CHUNK = 1024
# On large catalogues the measure compares the most rated movies only, and item-kNN's vectors
# come from a seeded sample of the users: on MovieLens 32M both in full took minutes, on
# MovieLens 1M (3,706 movies, 6,040 users) neither limit is reached.
MAX_MOVIES = 10_000
MAX_KNN_USERS = 50_000


def nearest(vectors, k: int = K) -> np.ndarray:
    """The ``k`` rows most cosine-similar to each row (itself excluded), most similar first.

    Args:
        vectors: ``(n, d)`` array or scipy sparse matrix, one row per movie; all-zero rows are
            similar to nothing (cosine 0).
    Returns:
        ``(n, k)`` row numbers.
    """
    n = vectors.shape[0]
    if not 1 <= k < n:
        raise ConfigError(f"need more than {k} movies to find {k} neighbours, got {n}")
    if sp.issparse(vectors):
        rows = sp.csr_matrix(vectors, dtype=np.float64)
        norms = np.sqrt(np.asarray(rows.multiply(rows).sum(1)).ravel())
        unit = sp.diags(1.0 / np.maximum(norms, 1e-12)) @ rows
        unit_t = unit.T.tocsc()
    else:
        unit = unit_rows(np.asarray(vectors, dtype=np.float64))
        unit_t = unit.T
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        sims = unit[start:stop] @ unit_t
        sims = sims.toarray() if sp.issparse(sims) else np.asarray(sims)
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, 1), axis=1, kind="stable")
        out[start:stop] = np.take_along_axis(part, order, 1)
    return out


def genre_matrix(genres: Sequence[Sequence[str]]) -> np.ndarray:
    """One row per movie, one 0/1 column per genre (columns in sorted genre order)."""
    names = sorted({g for gs in genres for g in gs})
    column = {g: j for j, g in enumerate(names)}
    matrix = np.zeros((len(genres), max(len(names), 1)), dtype=np.float64)
    for row, gs in enumerate(genres):
        for g in gs:
            matrix[row, column[g]] = 1.0
    return matrix


def _jaccard(inter: np.ndarray, size_a: np.ndarray, size_b: np.ndarray) -> np.ndarray:
    union = size_a + size_b - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def genre_agreement(neighbours: np.ndarray, genres: np.ndarray) -> float:
    """Mean Jaccard overlap of each movie's genres with its neighbours' (``genres`` from
    :func:`genre_matrix`)."""
    inter = np.einsum("ig,ikg->ik", genres, genres[neighbours])
    sizes = genres.sum(1)
    return float(_jaccard(inter, sizes[:, None], sizes[neighbours]).mean())


def chance_genre_agreement(genres: np.ndarray) -> float:
    """What :func:`genre_agreement` expects from neighbours drawn at random: the mean Jaccard
    overlap over all pairs of distinct movies."""
    n = len(genres)
    sizes = genres.sum(1)
    total = 0.0
    for start in range(0, n, _CHUNK):
        block = genres[start:start + _CHUNK]
        jac = _jaccard(block @ genres.T, sizes[start:start + _CHUNK, None], sizes[None, :])
        jac[np.arange(len(block)), np.arange(start, start + len(block))] = 0.0
        total += jac.sum()
    return float(total / (n * (n - 1)))


def _series_members(series: Sequence[str | None]) -> tuple[np.ndarray, Counter]:
    counts = Counter(s for s in series if s is not None)
    checked = np.array([s is not None and counts[s] >= 2 for s in series])
    return checked, counts


def series_check(neighbours: np.ndarray, series: Sequence[str | None]) -> tuple[float, int]:
    """Share of series films with another film of their series among their neighbours.

    Returns:
        ``(share, films checked)``; the share is NaN when no film can be checked.
    """
    checked, _ = _series_members(series)
    labels = np.array([s if s is not None else "" for s in series], dtype=object)
    rows = np.flatnonzero(checked)
    if len(rows) == 0:
        return math.nan, 0
    hits = (labels[neighbours[rows]] == labels[rows, None]).any(1)
    return float(hits.mean()), int(len(rows))


def chance_series_check(series: Sequence[str | None], k: int = K) -> float:
    """What :func:`series_check` expects from ``k`` neighbours drawn at random among the
    other movies."""
    checked, counts = _series_members(series)
    n = len(series)
    if not checked.any() or n <= k:
        return math.nan
    others = n - 1
    misses = [math.comb(others - (counts[s] - 1), k) / math.comb(others, k)
              for s, c in zip(series, checked, strict=True) if c]
    return float(1.0 - np.mean(misses))


def item_knn_vectors(train: Interactions, max_users: int = MAX_KNN_USERS) -> sp.csr_matrix:
    """Item-kNN's movie vectors: each movie's column of training ratings minus each user's
    mean rating, as a sparse ``(n_items, n_users)`` matrix; over a seeded sample of
    ``max_users`` users when there are more."""
    counts = np.bincount(train.user_idx, minlength=train.n_users)
    sums = np.bincount(train.user_idx, train.rating.astype(np.float64), train.n_users)
    centred = train.rating - (sums / np.maximum(counts, 1))[train.user_idx]
    users, items = train.user_idx, train.item_idx
    if train.n_users > max_users:
        kept = np.zeros(train.n_users, dtype=bool)
        kept[np.random.default_rng(0).choice(train.n_users, max_users, replace=False)] = True
        rows = kept[users]
        users, items, centred = users[rows], items[rows], centred[rows]
    return sp.csr_matrix((centred, (items, users)), shape=(train.n_items, train.n_users))


def neighbour_quality(vectors, movies: pd.DataFrame, train: Interactions | None = None,
                      label: str = "this run", min_ratings: int = MIN_RATINGS,
                      k: int = K, max_movies: int = MAX_MOVIES) -> pd.DataFrame:
    """Genre agreement and series check of ``vectors``, with chance and item-kNN beside them.

    Args:
        vectors: one row per movie, in the order of ``movies``.
        movies: ``title``, ``genres`` and ``n_ratings`` (training ratings) per movie, in table
            order (a run's :meth:`~movierec.runs.Run.movie_table`).
        train: the training ratings over the same movies; adds the item-kNN row.
        label: the name of ``vectors``' row.
        max_movies: compare at most this many movies, the most rated (ties to table order).
    Returns:
        Rows ``vectors`` (``label``, ``item-kNN``, ``chance``) with ``genre_agreement``,
        ``series_check``, ``movies`` (movies compared) and ``series_movies`` (series films
        checked).
    Raises:
        ConfigError: fewer than ``k + 1`` movies have ``min_ratings`` ratings.
    """
    n_ratings = movies["n_ratings"].to_numpy()
    eligible = np.flatnonzero(n_ratings >= min_ratings)
    if len(eligible) > max_movies:
        most = np.argsort(-n_ratings[eligible], kind="stable")[:max_movies]
        eligible = np.sort(eligible[most])
    if len(eligible) <= k:
        raise ConfigError(f"neighbour quality needs more than {k} movies with at least "
                          f"{min_ratings} training ratings; this run has {len(eligible)}")
    genres = genre_matrix(list(movies["genres"].iloc[eligible]))
    # Series are found over every title, then only the eligible films are compared.
    all_series = detect_series(movies["title"].astype(str).tolist())
    series = [all_series[i] for i in eligible]
    rows = []
    sources = [(label, np.asarray(vectors)[eligible])]
    if train is not None:
        sources.append(("item-kNN", item_knn_vectors(train)[eligible]))
    for name, source in sources:
        found = nearest(source, k)
        share, checked = series_check(found, series)
        rows.append({"vectors": name, "genre_agreement": genre_agreement(found, genres),
                     "series_check": share, "movies": len(eligible), "series_movies": checked})
    rows.append({"vectors": "chance", "genre_agreement": chance_genre_agreement(genres),
                 "series_check": chance_series_check(series, k), "movies": len(eligible),
                 "series_movies": rows[0]["series_movies"]})
    return pd.DataFrame(rows)


def near_chance(table: pd.DataFrame) -> bool:
    """Whether a neighbour-quality table's first row is closer to chance than it is to
    item-kNN: less than a third of the way from chance's genre agreement to item-kNN's (or,
    without an item-kNN row, under 1.5 times chance's)."""
    by = table.set_index("vectors")["genre_agreement"]
    own, chance = float(table["genre_agreement"].iloc[0]), float(by["chance"])
    if "item-kNN" in by.index and by["item-kNN"] > chance:
        return own - chance < (float(by["item-kNN"]) - chance) / 3
    return own < 1.5 * chance
