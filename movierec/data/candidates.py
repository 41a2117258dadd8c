"""Candidates of the top-N test (the NCF protocol): each test user's held-out movie and the
movies it is ranked among, drawn here at random (seeded) or read from a published file
(:mod:`movierec.data.ncf`). The split keeps them with the data; :mod:`movierec.evaluation.ranking`
scores models on them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from movierec.interactions import IdMap, Interactions

N_NEGATIVES = 99


@dataclass(frozen=True, eq=False)
class Candidates:
    """Fixed candidate movies of each test user, as table positions.

    Attributes:
        user_idx: ``(n,)`` user positions.
        item_idx: ``(n, c)`` movie positions; column 0 is the held-out movie, the rest its
            negatives.
        valid: ``(n, c)``; False where a candidate does not count: a repeat of a movie earlier
            in its row (the held-out one included: the paper's code keys scores by movie, so
            repeats merge) or a movie outside the item map (its position is then 0). A row
            whose held-out movie is not valid is a miss.
    """

    user_idx: np.ndarray
    item_idx: np.ndarray
    valid: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.user_idx)
        if self.item_idx.ndim != 2 or self.item_idx.shape[0] != n \
                or self.valid.shape != self.item_idx.shape:
            raise ValueError(f"Candidates: item_idx {self.item_idx.shape} and valid "
                             f"{self.valid.shape} must both be ({n}, c)")

    def __len__(self) -> int:
        return len(self.user_idx)

    @classmethod
    def from_movie_ids(cls, user_idx: np.ndarray, movie_ids: np.ndarray,
                       item_ids: IdMap) -> Candidates:
        """Candidates from raw ``movie_ids`` (``(n, c)``, column 0 the held-out movie), marking
        repeats and movies ``item_ids`` does not know as not valid."""
        movie_ids = np.asarray(movie_ids, dtype=np.int64)
        item_idx, known = item_ids.lookup(movie_ids)
        return cls(np.asarray(user_idx, dtype=np.int64), item_idx, known & first_seen(movie_ids))


def first_seen(values: np.ndarray) -> np.ndarray:
    """For each row of ``values``: True at the first occurrence of each value, False at its
    repeats (column 0 always True)."""
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    first = np.ones(values.shape, dtype=bool)
    first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    out = np.empty_like(first)
    np.put_along_axis(out, order, first, axis=1)
    return out


def one_per_user(test: Interactions, seed: int = 0) -> np.ndarray:
    """Row numbers of one random test rating per user who has any (the held-out positive)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(test))
    users = test.user_idx[order]
    _, first = np.unique(users, return_index=True)
    return np.sort(order[first])


def draw_negatives(seen: Interactions, users: np.ndarray, positives: np.ndarray,
                      n_negatives: int = N_NEGATIVES, seed: int = 0) -> np.ndarray:
    """Candidate items per test user: column 0 is the positive, the rest are ``n_negatives``
    distinct items the user has not rated anywhere in ``seen`` (train and test together),
    drawn uniformly at random (seeded).

    All users are drawn for at once: a row of ``2 * n_negatives`` random items each, of which
    the first ``n_negatives`` unrated, distinct ones are kept; users left short (who rated
    much of the catalogue) draw again, twice as many each round.

    Returns:
        ``(len(users), 1 + n_negatives)`` item positions.
    """
    rng = np.random.default_rng(seed)
    n_items = seen.n_items
    rated = np.sort(seen.user_idx.astype(np.int64) * n_items + seen.item_idx)
    counts = np.bincount(seen.user_idx, minlength=seen.n_users)
    users = np.asarray(users, dtype=np.int64)
    if (counts[users] + n_negatives > n_items).any():
        raise ValueError("a user has rated too many movies to draw the negatives")
    out = np.empty((len(users), 1 + n_negatives), dtype=np.int64)
    out[:, 0] = positives
    todo, width = np.arange(len(users)), 2 * n_negatives
    while len(todo):
        draw = rng.integers(0, n_items, (len(todo), width))
        keys = users[todo, None] * n_items + draw
        pos = np.minimum(np.searchsorted(rated, keys), len(rated) - 1)
        usable = (rated[pos] != keys) & first_seen(draw)
        done = usable.sum(1) >= n_negatives
        # The first n_negatives usable draws of each finished row, in the order drawn.
        first = np.argsort(~usable[done], axis=1, kind="stable")[:, :n_negatives]
        out[todo[done], 1:] = np.take_along_axis(draw[done], first, axis=1)
        todo, width = todo[~done], 2 * width
    return out


def sampled_candidates(train: Interactions, test: Interactions, seed: int = 0) -> Candidates:
    """One random test rating per user (the held-out positive) among 99 movies drawn, seeded,
    from those that user rated nowhere in ``train`` or ``test``.

    Raises:
        ValueError: a user has rated too many movies to draw the negatives (tiny data).
    """
    rows = one_per_user(test, seed)
    users, positives = test.user_idx[rows], test.item_idx[rows]
    seen = Interactions(np.concatenate([train.user_idx, test.user_idx]),
                        np.concatenate([train.item_idx, test.item_idx]),
                        np.concatenate([train.rating, test.rating]),
                        np.concatenate([train.timestamp, test.timestamp]),
                        train.user_ids, train.item_ids, train.rating_scale)
    items = draw_negatives(seen, users, positives, seed=seed)
    return Candidates(users, items, np.ones(items.shape, dtype=bool))
