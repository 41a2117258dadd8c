"""A dataset's headline numbers and the small tables the Data page draws (at most a few hundred
rows each, whatever the size of the data): computed when the data is parsed, kept as JSON with
the parsed cache, so that a page never counts 32 million ratings twice."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from movierec.data.dataset import Dataset

TABLES = ("stars", "per_user", "per_movie", "genres", "top")


def dataset_stats(ds: Dataset) -> dict:
    """Headline numbers (``summary``: as :meth:`Dataset.summary`), the tables the Data page
    draws (``stars``, ``per_user``, ``per_movie``, ``genres``, ``top``: the 20 most rated with
    their mean stars) and ``source``."""
    r = ds.ratings
    stars_given = r["rating"].to_numpy()
    # Counted with bincount over the ids (32M ratings in about a second); pandas' value_counts
    # and groupby took four.
    user_ids, user_counts = _id_counts(r["user_id"].to_numpy())
    movie_ids, movie_counts, star_sums = _id_counts(r["movie_id"].to_numpy(), stars_given)
    per_user = _long_tail(np.sort(user_counts)[::-1])
    per_movie = _long_tail(np.sort(movie_counts)[::-1])
    halves, star_counts = _id_counts(np.rint(stars_given * 2).astype(np.int64))
    genres = ds.movies.explode("genres")["genres"].dropna().value_counts()
    most = np.argsort(-movie_counts, kind="stable")[:20]
    top = ds.movies.set_index("movie_id").reindex(movie_ids[most])
    top = pd.DataFrame({"movie_id": movie_ids[most], "title": top["title"].fillna("").to_numpy(),
                        "genres": [", ".join(g) if isinstance(g, list) else ""
                                   for g in top["genres"]],
                        "n_ratings": movie_counts[most].astype(np.int64),
                        "mean_rating": star_sums[most] / movie_counts[most]})
    n_u, n_m, n_r = len(user_ids), len(movie_ids), len(r)
    summary = {"dataset": ds.name, "synthetic": ds.synthetic, "users": n_u, "movies": n_m,
               "ratings": n_r, "density": n_r / (n_u * n_m),
               "mean_rating": float(stars_given.mean(dtype=np.float64)),
               "rating_scale": list(ds.rating_scale)}
    return {
        "summary": summary,
        "stars": pd.DataFrame({"stars": halves / 2.0, "ratings": star_counts}),
        "per_user": per_user, "per_movie": per_movie,
        "genres": pd.DataFrame({"genre": genres.index.astype(str),
                                "movies": genres.to_numpy()}),
        "top": top,
        "source": ds.source,
    }


def _id_counts(ids: np.ndarray, weights: np.ndarray | None = None) -> tuple:
    """The distinct ``ids`` (ascending), how often each occurs and, with ``weights``, the sum
    of its weights: by bincount where the ids are small, else by np.unique."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) and 0 <= ids.min() and ids.max() < 50_000_000:
        counts = np.bincount(ids)
        present = np.flatnonzero(counts)
        found = (present, counts[present])
        if weights is not None:
            found += (np.bincount(ids, weights=weights.astype(np.float64))[present],)
        return found
    present, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    if weights is None:
        return present, counts
    return present, counts, np.bincount(inverse, weights=weights.astype(np.float64))


def _long_tail(counts, points: int = 200) -> pd.DataFrame:
    """Sorted counts (descending) at about ``points`` log-spaced ranks: the curve's shape without
    shipping every user or movie to the browser."""

    ranks = np.unique(np.geomspace(1, len(counts), points).round().astype(int))
    return pd.DataFrame({"rank": ranks, "ratings": counts[ranks - 1]})


def to_json(stats: dict) -> str:
    """:func:`dataset_stats`' result as JSON text."""
    def plain(value):
        return value.item() if hasattr(value, "item") else str(value)
    return json.dumps({**stats, **{t: stats[t].to_dict(orient="list") for t in TABLES}},
                      default=plain)


def from_json(text: str) -> dict:
    """What :func:`to_json` wrote, with its tables as DataFrames again.

    Raises:
        ValueError, KeyError, TypeError: the text is not such a document.
    """
    doc = json.loads(text)
    return {**doc, **{t: pd.DataFrame(doc[t]) for t in TABLES}}
