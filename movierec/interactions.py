"""Ratings as index arrays with the id maps that translate raw MovieLens ids to table positions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.errors import UnknownIdError

# IdMap.index of this many ids at once goes through a table over the id range (when the ids are
# below LOOKUP_TABLE_IDS) instead of a binary search per id.
LOOKUP_TABLE_FROM = 100_000
LOOKUP_TABLE_IDS = 50_000_000


@dataclass(frozen=True, eq=False)
class IdMap:
    """Raw ids (``movie_id`` or ``user_id``) in ascending order; an id's position is its index
    (``item_idx`` / ``user_idx``) in an embedding table."""

    ids: np.ndarray
    kind: str = "movie"

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=np.int64)
        if ids.ndim != 1 or (len(ids) > 1 and not (np.diff(ids) > 0).all()):
            raise ValueError(f"{self.kind} ids must be unique and ascending")
        object.__setattr__(self, "ids", ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, raw_id: object) -> bool:
        try:
            self.index(int(raw_id))  # type: ignore[call-overload]
        except (UnknownIdError, TypeError, ValueError):
            return False
        return True

    def index(self, raw_ids):
        """Positions of ``raw_ids`` (a scalar or an array).

        Raises:
            UnknownIdError: naming the first id that is not in the map.
        """
        arr = np.asarray(raw_ids, dtype=np.int64)
        if arr.ndim and arr.size > LOOKUP_TABLE_FROM and len(self.ids) and \
                0 <= self.ids[0] and self.ids[-1] < LOOKUP_TABLE_IDS:
            return self._index_by_table(arr)
        pos = np.searchsorted(self.ids, arr)
        pos_clipped = np.minimum(pos, max(len(self.ids) - 1, 0))
        found = (pos < len(self.ids)) & (self.ids[pos_clipped] == arr) if len(self.ids) else \
            np.zeros(arr.shape, dtype=bool)
        if not np.all(found):
            bad = arr[~found] if arr.ndim else arr
            raise UnknownIdError(f"unknown {self.kind} id {int(np.ravel(bad)[0])}")
        return pos if arr.ndim else int(pos)

    def _index_by_table(self, arr: np.ndarray) -> np.ndarray:
        """:meth:`index` of many ids through a table over every id up to the largest (on
        MovieLens 32M's ratings, a fifth of a binary search's time)."""
        table = np.full(int(self.ids[-1]) + 2, -1, dtype=np.int64)
        table[self.ids] = np.arange(len(self.ids))
        pos = table[np.clip(arr, -1, len(table) - 1)]
        if (pos < 0).any():
            bad = arr[pos < 0][0]
            raise UnknownIdError(f"unknown {self.kind} id {int(bad)}")
        return pos

    def lookup(self, raw_ids) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``raw_ids`` (an array) where they are in the map, without raising.

        Returns:
            (positions, found): same shape as ``raw_ids``; the position is 0 where the id is
            not in the map.
        """
        arr = np.asarray(raw_ids, dtype=np.int64)
        if not len(self.ids):
            return np.zeros(arr.shape, dtype=np.int64), np.zeros(arr.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(self.ids, arr), len(self.ids) - 1)
        found = self.ids[pos] == arr
        return np.where(found, pos, 0), found

    def raw(self, idx):
        """Raw ids at positions ``idx`` (a scalar or an array)."""
        return self.ids[idx]


@dataclass(frozen=True, eq=False)
class Interactions:
    """Ratings as aligned arrays over fixed id maps.

    Attributes:
        user_idx, item_idx: positions in ``user_ids`` / ``item_ids`` (int64).
        rating: stars (float32). timestamp: seconds (int64, 0 where unknown).
        user_ids, item_ids: the id maps; splits of these ratings share them, so embedding
            tables line up across train, test and saved runs.
        rating_scale: the star values ratings can take.
    """

    user_idx: np.ndarray
    item_idx: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray
    user_ids: IdMap
    item_ids: IdMap
    rating_scale: tuple[float, ...]

    def __post_init__(self) -> None:
        n = len(self.user_idx)
        for name in ("item_idx", "rating", "timestamp"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Interactions: {name} has {len(getattr(self, name))} entries, "
                                 f"user_idx has {n}")
        if n:
            if self.user_idx.min() < 0 or self.user_idx.max() >= len(self.user_ids):
                raise ValueError(f"Interactions: user_idx outside 0..{len(self.user_ids) - 1}")
            if self.item_idx.min() < 0 or self.item_idx.max() >= len(self.item_ids):
                raise ValueError(f"Interactions: item_idx outside 0..{len(self.item_ids) - 1}")

    @classmethod
    def from_ratings(cls, ratings: pd.DataFrame, rating_scale: tuple[float, ...]) \
            -> Interactions:
        """Index a ratings frame (``user_id``, ``movie_id``, ``rating``, ``timestamp``); the id
        maps cover every user and movie that has a rating."""
        user_ids = IdMap(np.unique(ratings["user_id"].to_numpy()), "user")
        item_ids = IdMap(np.unique(ratings["movie_id"].to_numpy()), "movie")
        return cls(
            user_idx=user_ids.index(ratings["user_id"].to_numpy()),
            item_idx=item_ids.index(ratings["movie_id"].to_numpy()),
            rating=ratings["rating"].to_numpy(np.float32),
            timestamp=ratings["timestamp"].to_numpy(np.int64),
            user_ids=user_ids, item_ids=item_ids, rating_scale=tuple(rating_scale),
        )

    def __len__(self) -> int:
        return len(self.user_idx)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def take(self, rows: np.ndarray) -> Interactions:
        """The ratings at ``rows`` (indices or a boolean mask), over the same id maps."""
        return Interactions(self.user_idx[rows], self.item_idx[rows], self.rating[rows],
                            self.timestamp[rows], self.user_ids, self.item_ids,
                            self.rating_scale)

    def for_users(self, user_idx: np.ndarray) -> Interactions:
        """The ratings of the users at positions ``user_idx`` only, over a user map of just
        those users (the movie map is kept whole)."""
        chosen = np.unique(np.asarray(user_idx, dtype=np.int64))
        new_position = np.full(self.n_users, -1, dtype=np.int64)
        new_position[chosen] = np.arange(len(chosen))
        rows = np.flatnonzero(new_position[self.user_idx] >= 0)
        return Interactions(new_position[self.user_idx[rows]], self.item_idx[rows],
                            self.rating[rows], self.timestamp[rows],
                            IdMap(self.user_ids.ids[chosen], "user"), self.item_ids,
                            self.rating_scale)

    def item_counts(self) -> np.ndarray:
        """Number of ratings per ``item_idx``."""
        return np.bincount(self.item_idx, minlength=self.n_items)

    def user_counts(self) -> np.ndarray:
        """Number of ratings per ``user_idx``."""
        return np.bincount(self.user_idx, minlength=self.n_users)

    def to_frame(self) -> pd.DataFrame:
        """Back to raw ids: ``user_id``, ``movie_id``, ``rating``, ``timestamp``."""
        return pd.DataFrame({
            "user_id": self.user_ids.raw(self.user_idx),
            "movie_id": self.item_ids.raw(self.item_idx),
            "rating": self.rating,
            "timestamp": self.timestamp,
        })
