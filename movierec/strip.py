"""Picking the strip of movies a newcomer is asked about: the best-scoring movies of a pool, never
one too close to a movie already picked (a sequel beside its original tells little) and, where
the movies carry groups (genres), only a few of each group."""

from __future__ import annotations

import numpy as np

from movierec.vectors import unit_rows


def nearest_in_pool(vectors: np.ndarray, k: int = 3) -> np.ndarray:
    """Each pool movie's ``k`` nearest pool movies by cosine similarity of ``vectors``
    (``(P, d)``): an int array ``(P, k)`` of pool positions (fewer columns when the pool is
    smaller than ``k + 1``)."""
    unit = unit_rows(vectors)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    k = min(k, len(vectors) - 1)
    if k < 1:
        return np.zeros((len(vectors), 0), dtype=np.int64)
    return np.argsort(-sims, axis=1, kind="stable")[:, :k].astype(np.int64)


def pick_varied(scores: np.ndarray, near: np.ndarray, available: np.ndarray, n: int,
                groups: np.ndarray | None = None, per_group: int = 2) -> np.ndarray:
    """The strip: pool positions in order of ``scores`` (best first, ties in pool order),
    skipping those not ``available``, those among the ``near`` neighbours of one already
    picked, and, when ``groups`` is given, those whose group already has ``per_group``.

    Args:
        scores: ``(P,)`` how much each pool movie is worth asking about.
        near: ``(P, k)`` each pool movie's nearest pool movies (:func:`nearest_in_pool`).
        available: ``(P,)`` bool, False for movies already shown, rated or skipped.
        n: how many to pick (fewer when the pool runs out).
    Returns:
        Up to ``n`` pool positions.
    """
    blocked = ~np.asarray(available, dtype=bool)
    picked: list[int] = []
    used: dict[object, int] = {}
    for position in np.argsort(-np.asarray(scores), kind="stable"):
        if blocked[position]:
            continue
        if groups is not None:
            group = groups[position]
            if used.get(group, 0) >= per_group:
                continue
            used[group] = used.get(group, 0) + 1
        picked.append(int(position))
        if len(picked) == n:
            break
        blocked[near[position]] = True
    return np.asarray(picked, dtype=np.int64)
