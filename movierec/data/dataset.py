"""The common result of every parser: ratings, movies and (where the release has them) users."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.errors import DataError

RATING_COLUMNS = ("user_id", "movie_id", "rating", "timestamp")
MOVIE_COLUMNS = ("movie_id", "title", "year", "genres")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A parsed MovieLens release.

    Attributes:
        name: release name (``ml-1m``, ``demo``...).
        ratings: one row per rating: ``user_id`` (int32), ``movie_id`` (int32), ``rating``
            (float32 stars), ``timestamp`` (int64 seconds; 0 where unknown).
        movies: one row per movie: ``movie_id`` (int32), ``title`` (str), ``year`` (nullable
            Int16), ``genres`` (list of str, empty when none are listed).
        users: the release's user table (``user_id`` first) or None.
        rating_scale: the star values a rating can take, ascending.
        synthetic: True for generated data; every display of it must say so.
        source: where it was read from (a path), or a description for generated data.
    """

    name: str
    ratings: pd.DataFrame
    movies: pd.DataFrame
    users: pd.DataFrame | None
    rating_scale: tuple[float, ...]
    synthetic: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        missing = [c for c in RATING_COLUMNS if c not in self.ratings.columns]
        if missing:
            raise DataError(f"{self.name}: ratings lack columns {missing}")
        missing = [c for c in MOVIE_COLUMNS if c not in self.movies.columns]
        if missing:
            raise DataError(f"{self.name}: movies lack columns {missing}")
        if len(self.ratings) == 0:
            raise DataError(f"{self.name}: the ratings file holds no ratings")

    @property
    def n_ratings(self) -> int:
        return len(self.ratings)

    @property
    def n_users(self) -> int:
        return int(self.ratings["user_id"].nunique())

    @property
    def n_movies(self) -> int:
        """Number of movies with at least one rating."""
        return int(self.ratings["movie_id"].nunique())

    @property
    def display_name(self) -> str:
        return f"{self.name} (synthetic)" if self.synthetic else self.name

    def summary(self) -> dict:
        """Headline numbers: users, rated movies, ratings, density, mean rating."""
        n_u, n_m, n_r = self.n_users, self.n_movies, self.n_ratings
        return {
            "dataset": self.name,
            "synthetic": self.synthetic,
            "users": n_u,
            "movies": n_m,
            "ratings": n_r,
            "density": n_r / (n_u * n_m),
            "mean_rating": float(self.ratings["rating"].mean()),
            "rating_scale": list(self.rating_scale),
        }

    def movie_table(self) -> pd.DataFrame:
        """Movies indexed by ``movie_id`` with a ``n_ratings`` column (0 for unrated ones)."""
        counts = self.ratings["movie_id"].value_counts()
        table = self.movies.set_index("movie_id", drop=False)
        table = table.assign(n_ratings=counts.reindex(table.index, fill_value=0).astype(np.int64))
        return table


def year_from_title(titles: pd.Series) -> pd.Series:
    """The four-digit year in brackets at the end of a MovieLens title, as nullable Int16."""
    years = titles.str.extract(r"\((\d{4})[^)]*\)\s*$", expand=False)
    return pd.to_numeric(years, errors="coerce").astype("Int16")


def split_genres(genres: pd.Series) -> pd.Series:
    """``Action|Comedy`` into ``["Action", "Comedy"]``; ``(no genres listed)`` into ``[]``."""
    def one(text: object) -> list[str]:
        if not isinstance(text, str) or text in ("", "(no genres listed)"):
            return []
        return [g for g in text.split("|") if g]

    return genres.map(one)
