"""Generate a synthetic MovieLens-shaped dataset folder (``ratings.csv``, ``movies.csv`` and a
marker file) as large as a real release, seeded and vectorised, and written atomically.

The shape of a real release: every person rates at least 20 movies, activity and movie
popularity are long-tailed, half stars are rarer than whole stars, timestamps run forward per
person between 1995 and 2023. The planted structure a model can find: people belong to taste
groups that love some genres and dislike others; which movies they rate and the stars they give
follow those tastes, plus a per-person bias and a per-movie quality.
"""

from __future__ import annotations

import csv
import itertools
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from movierec.data.catalog import RELEASES, is_folder_name
from movierec.data.download import replace_dir
from movierec.data.parsers import CSV_MOVIES_HEADER, CSV_RATINGS_HEADER
from movierec.data.sources import SYNTHETIC_MARKER
from movierec.errors import ConfigError, DataError

GENERATOR_VERSION = 1
MIN_PER_USER = 20          # the MovieLens rule: everyone in a release rated at least 20 movies
MAX_RATINGS = 1_000_000_000
# The genres of the MovieLens-latest releases, with about how many ml-25m movies list each.
MOVIELENS_GENRES = {
    "Action": 7348, "Adventure": 4145, "Animation": 2929, "Children": 2935, "Comedy": 16870,
    "Crime": 5319, "Documentary": 5605, "Drama": 25606, "Fantasy": 2731, "Film-Noir": 353,
    "Horror": 5989, "IMAX": 195, "Musical": 1054, "Mystery": 2925, "Romance": 7719,
    "Sci-Fi": 3595, "Thriller": 8654, "War": 1874, "Western": 1399,
}
# Words of synthetic titles.
TITLE_ADJECTIVES = ("Silent", "Crimson", "Hidden", "Broken", "Golden", "Last", "Distant",
                    "Electric", "Frozen", "Wild", "Midnight", "Secret", "Burning", "Paper", "Iron",
                    "Velvet", "Hollow", "Bright", "Lonely", "Restless")
TITLE_NOUNS = ("Harbor", "Garden", "Signal", "Empire", "River", "Mirror", "Orchard", "Engine",
               "Lantern", "Frontier", "Kingdom", "Letter", "Station", "Forest", "Promise",
               "Horizon", "Island", "Circus", "Machine", "Summer")
_TITLE_TAILS = ("", "", "", "", "of the North", "in Winter", "at Dawn", "of Glass", "Returns",
                "Underground", "of Shadows", "by Night", "on Fire", "of the Lost", "Rising",
                "in Paris", "of Tomorrow", "Unbound", "at Sea", "of Echoes")
_FIRST_DAY = 788_918_400   # 1995-01-01 UTC
_LAST_DAY = 1_697_068_800  # 2023-10-12 UTC, about where ml-32m ends
_N_GROUPS = 24
_CHUNK = 1 << 20           # ratings scored per step (bounds the temporary arrays)


@dataclass(frozen=True)
class Synthetic:
    """A generated dataset in the MovieLens-latest layout, before it is written.

    Attributes:
        user_id, movie_id: int32 ids (1..n), rows ordered by user, then time.
        half_stars: uint8 rating in half stars (1 = 0.5 stars ... 10 = 5 stars).
        timestamp: int64 seconds since 1970, increasing within each user.
        movies: ``movieId``, ``title``, ``genres`` (``|``-joined) for every movie.
        likes, dislikes: each person's planted loved and disliked genres (``|``-joined; their
            taste group's), by user id - 1.
    """

    user_id: np.ndarray
    movie_id: np.ndarray
    half_stars: np.ndarray
    timestamp: np.ndarray
    movies: pd.DataFrame
    likes: np.ndarray
    dislikes: np.ndarray


def check_sizes(n_users: int, n_movies: int, n_ratings: int) -> None:
    """A ConfigError unless the sizes can make a MovieLens-like release."""
    for what, value in (("users", n_users), ("movies", n_movies), ("ratings", n_ratings)):
        if not isinstance(value, (int, np.integer)) or value <= 0:
            raise ConfigError(f"the number of {what} must be a positive whole number, got "
                              f"{value!r}")
    if max(n_users, n_movies) > 2**31 - 1 or n_ratings > MAX_RATINGS:
        raise ConfigError(f"at most {2**31 - 1:,} users and movies and {MAX_RATINGS:,} ratings")
    if n_movies < MIN_PER_USER or n_ratings < MIN_PER_USER * n_users:
        raise ConfigError(f"every user rates at least {MIN_PER_USER} movies (the MovieLens "
                          f"rule): {n_users:,} users need at least {MIN_PER_USER} movies and "
                          f"{MIN_PER_USER * n_users:,} ratings, got {n_movies:,} movies and "
                          f"{n_ratings:,} ratings")
    if n_ratings > n_users * n_movies:
        raise ConfigError(f"{n_users:,} users can rate {n_movies:,} movies at most "
                          f"{n_users * n_movies:,} times, not {n_ratings:,}")


def generate(n_users: int, n_movies: int, n_ratings: int, seed: int = 0,
             whole_stars: bool = False, taste: float = 1.0, noise: float = 0.75) -> Synthetic:
    """Generate a synthetic release in memory (the same arguments give the same data).

    Args:
        n_users, n_movies, n_ratings: sizes; exactly ``n_ratings`` ratings are made.
        seed: seed of every random choice.
        whole_stars: 1 to 5 whole stars only, as in MovieLens 100K and 1M (the ``demo`` set);
            else half stars too, as in the MovieLens-latest releases.
        taste: how strongly a taste group loves and dislikes its genres (in stars, for a
            movie of those genres alone; also how much more often it watches them).
        noise: the spread of a rating around what the person's taste predicts (in stars).
    Raises:
        ConfigError: impossible sizes (see :func:`check_sizes`).
    """
    check_sizes(n_users, n_movies, n_ratings)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"the seed must be a whole number from 0 up, got {seed!r}")
    rng = np.random.default_rng(seed)
    genres, popularity, quality, movies = _movies(rng, n_movies, n_users, n_ratings)
    genre_mix = (genres / genres.sum(axis=1, keepdims=True)).astype(np.float32)

    # Taste groups: each loves two or three genres and dislikes two; a person adds own noise.
    n_genres = genres.shape[1]
    common = np.argsort(-np.asarray(list(MOVIELENS_GENRES.values())))[:14]
    group_taste = np.zeros((_N_GROUPS, n_genres), dtype=np.float32)
    for g in range(_N_GROUPS):
        order = rng.permutation(common)
        n_like = int(rng.integers(2, 4))
        group_taste[g, order[:n_like]] = taste
        group_taste[g, order[n_like:n_like + 2]] = -taste
    group = rng.choice(_N_GROUPS, n_users, p=rng.dirichlet(np.full(_N_GROUPS, 4.0)))
    taste = group_taste[group] + rng.normal(0.0, 0.3, (n_users, n_genres)).astype(np.float32)
    bias = rng.normal(0.0, 0.35, n_users).astype(np.float32)
    half_share = rng.beta(0.8, 0.8, n_users).astype(np.float32)
    if whole_stars:
        half_share[:] = 0.0

    counts = _counts(rng, n_users, n_movies, n_ratings)
    start = np.cumsum(counts) - counts
    movie = np.empty(n_ratings, dtype=np.int32)
    for g in range(_N_GROUPS):
        members = np.flatnonzero(group == g)
        if not len(members):
            continue
        weights = popularity * np.exp(genre_mix @ group_taste[g])
        owner, chosen, rank = _choose(rng, weights, counts[members])
        movie[start[members[owner]] + rank] = chosen

    # Stars and times, a block of whole people (about _CHUNK ratings) at a time.
    first_day, room = _activity(rng, counts)
    user = np.repeat(np.arange(n_users, dtype=np.int32), counts)
    half_stars = np.empty(n_ratings, dtype=np.uint8)
    timestamp = np.empty(n_ratings, dtype=np.int64)
    ends = start + counts
    cuts = np.searchsorted(ends, np.arange(_CHUNK, n_ratings, _CHUNK), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [n_users]]))
    for a, b in itertools.pairwise(bounds):
        lo, hi = start[a], ends[b - 1]
        u, m = user[lo:hi], movie[lo:hi]
        score = (3.2 + bias[u] + quality[m] + np.einsum("ij,ij->i", taste[u], genre_mix[m])
                 + rng.normal(0.0, noise, len(u)).astype(np.float32))
        halves = np.clip(np.round(score * 2), 1, 10)
        whole = np.clip(np.round(score), 1, 5) * 2
        half_stars[lo:hi] = np.where(rng.random(len(u)) < half_share[u], halves, whole)
        timestamp[lo:hi] = _times(rng, counts[a:b], first_day[a:b], room[a:b])
    user += 1
    movie += 1
    names = np.asarray(list(MOVIELENS_GENRES), dtype=object)
    group_likes = np.asarray(["|".join(names[t > 0]) for t in group_taste], dtype=object)
    group_dislikes = np.asarray(["|".join(names[t < 0]) for t in group_taste], dtype=object)
    return Synthetic(user, movie, half_stars, timestamp, movies, group_likes[group],
                     group_dislikes[group])


def _movies(rng: np.random.Generator, n_movies: int, n_users: int, n_ratings: int):
    """Genre flags (movies x genres), popularity weights, quality and the movies table."""
    names = list(MOVIELENS_GENRES)
    share = np.asarray(list(MOVIELENS_GENRES.values()), dtype=np.float64)
    # One to three genres each, the common ones more often (Gumbel top-k on log shares).
    noisy = np.log(share / share.sum()) + rng.gumbel(size=(n_movies, len(names)))
    top = np.argsort(-noisy, axis=1)[:, :3]
    n_genres = rng.choice(3, n_movies, p=[0.45, 0.35, 0.2]) + 1
    genres = np.zeros((n_movies, len(names)), dtype=bool)
    rows, cols = np.nonzero(np.arange(3) < n_genres[:, None])
    genres[rows, top[rows, cols]] = True

    # Popularity: lognormal (most movies get a handful of ratings), softly capped so that the
    # most rated movie is rated by about half of the people, as in MovieLens.
    z = rng.standard_normal(n_movies)
    raw = np.exp(2.8 * z)
    popularity = raw
    lo, hi = np.log(raw.min()), np.log(raw.max())
    for _ in range(60):
        cap = np.exp((lo + hi) / 2)
        popularity = raw / (1.0 + (raw / cap) ** 4) ** 0.25
        if popularity.max() / popularity.sum() * n_ratings > 0.5 * n_users:
            hi = np.log(cap)
        else:
            lo = np.log(cap)
    quality = (rng.normal(0.0, 0.45, n_movies) + 0.12 * z).astype(np.float32)
    years = np.clip(np.round(2024 - rng.gamma(1.6, 14.0, n_movies)), 1902, 2023).astype(int)

    combos, which = np.unique(genres, axis=0, return_inverse=True)
    labels = np.asarray(["|".join(n for n, on in zip(names, row, strict=True) if on)
                         for row in combos], dtype=object)
    words = np.asarray([f"{a} {n}" + (f" {t}" if t else "") for t in _TITLE_TAILS
                        for n in TITLE_NOUNS for a in TITLE_ADJECTIVES], dtype=object)
    picks = rng.permutation(n_movies)
    sequel = picks // len(words)
    titles = [f"{words[p % len(words)]}{f' {s + 1}' if s else ''} [synthetic] ({y})"
              for p, s, y in zip(picks, sequel, years, strict=True)]
    movies = pd.DataFrame({"movieId": np.arange(1, n_movies + 1, dtype=np.int32),
                           "title": titles, "genres": labels[which.ravel()]})
    return genres, popularity, quality, movies


def _counts(rng: np.random.Generator, n_users: int, n_movies: int, n_ratings: int) -> np.ndarray:
    """Ratings per person: at least 20, long-tailed (lognormal) above 20, summing to exactly
    ``n_ratings``; nobody rates more than half of the movies unless the sizes demand it."""
    activity = rng.lognormal(0.0, 1.3, n_users)
    most = min(n_movies, max(n_movies // 2, -(-n_ratings // n_users)))
    counts = np.full(n_users, MIN_PER_USER, dtype=np.int64)
    left = n_ratings - int(counts.sum())
    while left > 0:
        room = most - counts
        share = np.where(room > 0, activity, 0.0)
        add = np.minimum(np.floor(share / share.sum() * left).astype(np.int64), room)
        if not add.any():    # fewer left than people with room: one more each, most active first
            most = np.argsort(-share, kind="stable")[:left]
            add[most[room[most] > 0]] = 1
        counts += add
        left -= int(add.sum())
    return counts


def _choose(rng: np.random.Generator, weights: np.ndarray, need: np.ndarray):
    """Draw ``need[i]`` distinct movies for each person ``i``, without replacement and with
    probability proportional to ``weights`` (successive sampling).

    Most people take the first ``need[i]`` distinct movies of a stream of independent draws
    (a few rounds with longer streams for those who came up short); people who need a large
    share of all movies, or whose streams keep coming up short, sort exponential keys
    ``E / w`` over every movie instead (Efraimidis and Spirakis), in chunks.

    Returns:
        owner (index into ``need``), movie index and rank (0 = drawn first), flat arrays.
    """
    n_movies = len(weights)
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    parts = []
    todo = np.flatnonzero(need * 10 <= n_movies)
    for extra in (0.25, 1.0, 4.0):
        if not len(todo):
            break
        wanted = need[todo]
        owner = np.repeat(np.arange(len(todo)), np.ceil(wanted * (1 + extra)).astype(np.int64)
                          + 4)
        movie = np.minimum(np.searchsorted(cdf, rng.random(len(owner)), side="right"),
                           n_movies - 1)
        key = owner * n_movies + movie
        order = np.argsort(key, kind="stable")
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[order[1:]] != key[order[:-1]]
        is_first = np.zeros(len(key), dtype=bool)
        is_first[order[first]] = True
        at = np.flatnonzero(is_first)              # first draws of each movie, in draw order
        who = owner[at]
        distinct = np.bincount(who, minlength=len(todo))
        rank = np.arange(len(at)) - (np.cumsum(distinct) - distinct)[who]
        done = distinct >= wanted
        keep = done[who] & (rank < wanted[who])
        parts.append((todo[who[keep]], movie[at[keep]], rank[keep]))
        todo = todo[~done]
    rest = np.concatenate([np.flatnonzero(need * 10 > n_movies), todo])
    per_chunk = max(1, (1 << 22) // n_movies)
    for lo in range(0, len(rest), per_chunk):
        people = rest[lo:lo + per_chunk]
        take = need[people]
        keys = rng.exponential(size=(len(people), n_movies)) / weights
        most = int(take.max())
        if most < n_movies:
            keys_top = np.argpartition(keys, most - 1, axis=1)[:, :most]
            order = np.take_along_axis(
                keys_top, np.argsort(np.take_along_axis(keys, keys_top, axis=1), axis=1),
                axis=1)
        else:
            order = np.argsort(keys, axis=1)
        rows, rank = np.nonzero(np.arange(order.shape[1]) < take[:, None])
        parts.append((people[rows], order[rows, rank], rank))
    owner, movie, rank = (np.concatenate(p) for p in zip(*parts, strict=True))
    return owner, movie.astype(np.int32), rank


def _activity(rng: np.random.Generator, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each person's first rating time (seconds; between 1995 and 2023, more people later) and
    the seconds their ratings spread over beyond one a second (a lognormal spell of activity:
    an evening for some, years for others)."""
    first = _FIRST_DAY + (_LAST_DAY - _FIRST_DAY) * rng.beta(1.4, 1.0, len(counts))
    first = np.minimum(first, _LAST_DAY - counts - 1).astype(np.int64)
    spell = np.minimum(rng.lognormal(np.log(30 * 86_400), 2.2, len(counts)), _LAST_DAY - first)
    return first, np.maximum(spell - counts, 0.0)


def _times(rng: np.random.Generator, counts: np.ndarray, first: np.ndarray,
           room: np.ndarray) -> np.ndarray:
    """Timestamps of consecutive people's ratings, strictly increasing within each person:
    exponential gaps scaled to the person's spell, plus one second per earlier rating."""
    n = int(counts.sum())
    start = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(len(counts)), counts)
    gaps = np.cumsum(rng.exponential(size=n))
    before = np.concatenate([[0.0], gaps])[start]
    fraction = (gaps - before[owner]) / (gaps[start + counts - 1] - before)[owner]
    rank = np.arange(n) - start[owner]
    return first[owner] + np.floor(fraction * room[owner]).astype(np.int64) + rank


def marker_text(n_users: int, n_movies: int, n_ratings: int, seed: int,
                like: str | None) -> str:
    """The marker file's text: what the folder is, and the ``- key: value`` facts that
    :func:`read_marker` reads back."""
    command = ("python -m movierec synthesize" + (f" --like {like}" if like else "")
               + f" --users {n_users} --movies {n_movies} --ratings {n_ratings} --seed {seed}")
    return (
        "# Synthetic data\n\n"
        "Everything in this folder was generated by movierec: the people, movies and ratings are\n"
        "made up (taste groups planted for models to find). It is not MovieLens data and says\n"
        "nothing about real people or films.\n\n"
        f"- generator: movierec.data.synthesize {GENERATOR_VERSION}\n"
        f"- like: {like or '-'}\n"
        f"- seed: {seed}\n"
        f"- users: {n_users}\n"
        f"- movies: {n_movies}\n"
        f"- ratings: {n_ratings}\n"
        f"- command: `{command}`\n")


def read_marker(folder: Path) -> dict:
    """The facts of ``folder``'s marker (``users``, ``movies``, ``ratings``, ``seed`` as numbers);
    {} when the folder has no readable marker."""
    try:
        text = (Path(folder) / SYNTHETIC_MARKER).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    facts: dict = {}
    for line in text.splitlines():
        key, sep, value = line.removeprefix("- ").partition(": ")
        if line.startswith("- ") and sep:
            value = value.strip().strip("`")
            facts[key.strip()] = int(value) if value.isdigit() else value
    return facts


def write_ratings_csv(data: Synthetic, path: Path) -> None:
    """``ratings.csv`` (``userId,movieId,rating,timestamp``, ratings as ``4.0``, ``3.5``)."""
    stars = pa.array([f"{h / 2:.1f}" for h in range(11)])
    table = pa.table({
        "userId": data.user_id, "movieId": data.movie_id,
        "rating": pa.DictionaryArray.from_arrays(pa.array(data.half_stars), stars),
        "timestamp": data.timestamp})
    with pa.OSFile(str(path), "wb") as sink:
        sink.write((CSV_RATINGS_HEADER + "\n").encode())
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, batch_size=1 << 16,
                                                        quoting_style="none"))


def default_out(data_dir: Path, like: str | None, n_users: int, n_movies: int, n_ratings: int,
                seed: int) -> Path:
    """``<data dir>/synthetic-<like>`` (``synthetic-<users>u-<movies>m-<ratings>r`` when the
    sizes are not those of ``like``), with ``-seed<N>`` for a seed other than 0."""
    release = RELEASES.get(like or "")
    if release and (n_users, n_movies, n_ratings) == (release.n_users, release.n_movies,
                                                      release.n_ratings):
        name = f"synthetic-{like}"
    else:
        name = f"synthetic-{n_users}u-{n_movies}m-{n_ratings}r"
    return Path(data_dir) / (name + (f"-seed{seed}" if seed else ""))


def check_out(out: Path, force: bool) -> None:
    """A ConfigError when ``out`` cannot receive a synthetic dataset: a bad folder name, a file,
    a folder with data that is not a synthetic one, or a synthetic one without ``force``."""
    if not is_folder_name(out.name) or out.name in RELEASES \
            or any(out.name == r.folder for r in RELEASES.values()):
        raise ConfigError(f"--out {out}: the folder's name is the dataset's name, so it must be "
                          "a folder name (letters, digits, '.', '_', '-') and no catalog name")
    if out.is_file():
        raise ConfigError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / SYNTHETIC_MARKER).is_file():
            raise ConfigError(f"--out {out} is a folder with other data in it (no "
                              f"{SYNTHETIC_MARKER}); movierec only replaces synthetic folders")
        if not force:
            raise ConfigError(f"--out {out} already holds a synthetic dataset; add --force to "
                              "replace it")


def synthesize(out: str | os.PathLike, n_users: int, n_movies: int, n_ratings: int, *,
               seed: int = 0, like: str | None = None, force: bool = False) -> dict:
    """Generate a dataset and write it to folder ``out`` atomically (into a hidden sibling
    folder first, renamed into place when complete).

    Args:
        out: the folder to create; its name is the dataset's name when it is in the data dir.
        n_users, n_movies, n_ratings, seed: see :func:`generate`.
        like: the catalog release whose sizes these are, recorded in the marker.
        force: replace ``out`` when it already holds a synthetic dataset.
    Returns:
        ``path``, ``name``, ``users``, ``movies``, ``ratings``, ``seed``, ``seconds``.
    Raises:
        ConfigError: impossible sizes or an unusable ``out``.
        DataError: ``out``'s parent cannot be written.
    """
    began = time.perf_counter()
    out = Path(out).expanduser().absolute()
    check_sizes(n_users, n_movies, n_ratings)
    check_out(out, force)
    data = generate(n_users, n_movies, n_ratings, seed)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = out.with_name(f".{out.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
        staging.mkdir()
    except OSError as exc:
        raise DataError(f"cannot write to {out.parent}: {exc.strerror or exc}") from None
    try:
        write_ratings_csv(data, staging / "ratings.csv")
        with open(staging / "movies.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(CSV_MOVIES_HEADER)
            writer.writerows(data.movies.itertuples(index=False, name=None))
        (staging / SYNTHETIC_MARKER).write_text(
            marker_text(n_users, n_movies, n_ratings, seed, like), encoding="utf-8")
        check_out(out, force)     # again: something may have appeared there meanwhile
        replace_dir(staging, out)
        staging = None
    except OSError as exc:
        raise DataError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return {"path": str(out), "name": out.name, "users": n_users, "movies": n_movies,
            "ratings": n_ratings, "seed": seed, "like": like,
            "seconds": round(time.perf_counter() - began, 3)}
