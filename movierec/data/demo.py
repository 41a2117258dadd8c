"""The ``demo`` dataset: small synthetic data made offline in a second, so that everything can be
tried without downloading MovieLens. It comes from the one generator of synthetic data
(:mod:`movierec.data.synthesize`, which also writes release-sized folders), at the size of a
small release and with whole stars as in MovieLens 1M: people in taste groups that love some
genres and dislike others, long-tailed activity and popularity. Titles carry ``[synthetic]`` so
that nobody mistakes them for real films.
"""

from __future__ import annotations

import pandas as pd

from movierec.data.catalog import WHOLE_STARS
from movierec.data.dataset import Dataset, year_from_title
from movierec.data.synthesize import generate

TASTE, NOISE = 1.3, 0.55


def generate_demo(seed: int = 0, n_users: int = 1000, n_movies: int = 800,
                  n_ratings: int = 100_000) -> Dataset:
    """Generate the ``demo`` dataset (the same seed always gives the same data).

    Returns:
        A :class:`Dataset` flagged ``synthetic``; its users table lists each person's planted
        liked and disliked genres.
    """
    # Tastes a little stronger and ratings a little less noisy than a release-sized folder's,
    # so that a few epochs on 100,000 ratings find them.
    data = generate(n_users, n_movies, n_ratings, seed=seed, whole_stars=True, taste=TASTE,
                    noise=NOISE)
    ratings = pd.DataFrame({"user_id": data.user_id, "movie_id": data.movie_id,
                            "rating": (data.half_stars / 2).astype("float32"),
                            "timestamp": data.timestamp})
    titles = data.movies["title"].astype(str)
    movies = pd.DataFrame({"movie_id": data.movies["movieId"].astype("int32"), "title": titles,
                           "year": year_from_title(titles),
                           "genres": [g.split("|") for g in data.movies["genres"]]})
    users = pd.DataFrame({"user_id": pd.RangeIndex(1, n_users + 1).astype("int32"),
                          "likes": pd.Series(data.likes, dtype="str"),
                          "dislikes": pd.Series(data.dislikes, dtype="str")})
    return Dataset("demo", ratings, movies, users, WHOLE_STARS, synthetic=True,
                   source=f"generated offline (seed {seed}); synthetic, not real people")
