"""A synthetic MovieLens-shaped dataset, generated offline and deterministically from a seed.

Planted structure, so that a model has something real to find: each synthetic person loves a
few genres and dislikes a few, rates generously or harshly (a bias) and watches mostly what they
like; each synthetic movie has one to three genres, a quality and a popularity. Titles carry
``[synthetic]`` so that nobody mistakes them for real films.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.data.catalog import WHOLE_STARS
from movierec.data.dataset import Dataset, year_from_title

DEMO_GENRES = ("Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama",
               "Fantasy", "Horror", "Romance", "Sci-Fi", "Thriller")
# Words of synthetic titles (the demo's and movierec.data.synthesize's).
TITLE_ADJECTIVES = ("Silent", "Crimson", "Hidden", "Broken", "Golden", "Last", "Distant",
                    "Electric", "Frozen", "Wild", "Midnight", "Secret", "Burning", "Paper", "Iron",
                    "Velvet", "Hollow", "Bright", "Lonely", "Restless")
TITLE_NOUNS = ("Harbor", "Garden", "Signal", "Empire", "River", "Mirror", "Orchard", "Engine",
               "Lantern", "Frontier", "Kingdom", "Letter", "Station", "Forest", "Promise",
               "Horizon", "Island", "Circus", "Machine", "Summer")


def generate_demo(seed: int = 0, n_users: int = 1000, n_movies: int = 800,
                  n_ratings: int = 100_000) -> Dataset:
    """Generate the ``demo`` dataset.

    Args:
        seed: the same seed always gives the same data.
        n_users, n_movies: table sizes.
        n_ratings: approximate number of ratings (each person rates at least 20 movies).
    Returns:
        A :class:`Dataset` flagged ``synthetic``; its users table lists each person's planted
        liked and disliked genres.
    """
    rng = np.random.default_rng(seed)
    n_genres = len(DEMO_GENRES)

    # Movies: one main genre plus up to two more, a quality, a popularity and a year.
    genre_sets = np.zeros((n_movies, n_genres), dtype=bool)
    main = rng.integers(0, n_genres, n_movies)
    genre_sets[np.arange(n_movies), main] = True
    for extra in range(2):
        add = rng.random(n_movies) < (0.45 if extra == 0 else 0.2)
        genre_sets[np.flatnonzero(add), rng.integers(0, n_genres, add.sum())] = True
    quality = rng.normal(0.0, 0.45, n_movies)
    popularity = rng.pareto(1.2, n_movies) + 0.05
    years = np.clip(np.round(2020 - rng.gamma(2.0, 9.0, n_movies)), 1930, 2020).astype(int)

    # People: +1.3 for two or three loved genres, -1.3 for two disliked ones, a little noise.
    taste = rng.normal(0.0, 0.15, (n_users, n_genres))
    likes, dislikes = [], []
    for u in range(n_users):
        order = rng.permutation(n_genres)
        n_like = int(rng.integers(2, 4))
        liked, disliked = order[:n_like], order[n_like:n_like + 2]
        taste[u, liked] += 1.3
        taste[u, disliked] -= 1.3
        likes.append(sorted(int(g) for g in liked))
        dislikes.append(sorted(int(g) for g in disliked))
    bias = rng.normal(0.0, 0.35, n_users)

    # Affinity of every person for every movie: mean taste over the movie's genres.
    affinity = (taste @ genre_sets.T) / genre_sets.sum(axis=1)

    activity = rng.lognormal(0.0, 0.8, n_users)
    per_user = 20 + np.floor(activity / activity.sum() * (n_ratings - 20 * n_users)).astype(int)
    per_user = np.minimum(per_user, n_movies // 2)

    users, movies = [], []
    for u in range(n_users):
        weight = popularity * np.exp(1.2 * affinity[u])
        chosen = rng.choice(n_movies, size=per_user[u], replace=False, p=weight / weight.sum())
        users.append(np.full(len(chosen), u))
        movies.append(chosen)
    u_idx = np.concatenate(users)
    m_idx = np.concatenate(movies)
    score = 3.4 + bias[u_idx] + quality[m_idx] + affinity[u_idx, m_idx] \
        + rng.normal(0.0, 0.55, len(u_idx))
    stars = np.clip(np.round(score), 1, 5).astype(np.float32)
    order = np.lexsort((m_idx, u_idx))
    start = 946_684_800  # 2000-01-01, so timestamps look like MovieLens seconds
    timestamps = start + np.sort(rng.integers(0, 20 * 365 * 86_400, len(u_idx)))

    ratings = pd.DataFrame({
        "user_id": (u_idx[order] + 1).astype(np.int32),
        "movie_id": (m_idx[order] + 1).astype(np.int32),
        "rating": stars[order],
        "timestamp": timestamps.astype(np.int64),
    })
    titles = pd.Series([
        f"{TITLE_ADJECTIVES[i % len(TITLE_ADJECTIVES)]} "
        f"{TITLE_NOUNS[(i // len(TITLE_ADJECTIVES)) % len(TITLE_NOUNS)]}"
        f"{'' if i < 400 else ' ' + _roman(i // 400 + 1)} [synthetic] ({years[i]})"
        for i in range(n_movies)
    ], dtype="str")
    movie_table = pd.DataFrame({
        "movie_id": np.arange(1, n_movies + 1, dtype=np.int32),
        "title": titles,
        "year": year_from_title(titles),
        "genres": [[DEMO_GENRES[g] for g in np.flatnonzero(row)] for row in genre_sets],
    })
    user_table = pd.DataFrame({
        "user_id": np.arange(1, n_users + 1, dtype=np.int32),
        "likes": pd.Series(["|".join(DEMO_GENRES[g] for g in gs) for gs in likes], dtype="str"),
        "dislikes": pd.Series(["|".join(DEMO_GENRES[g] for g in gs) for gs in dislikes],
                              dtype="str"),
    })
    return Dataset("demo", ratings, movie_table, user_table, WHOLE_STARS, synthetic=True,
                   source=f"generated offline (seed {seed}); synthetic, not real people")


def _roman(n: int) -> str:
    return {2: "II", 3: "III", 4: "IV", 5: "V"}.get(n, str(n))
