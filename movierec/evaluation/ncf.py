"""The NCF paper's own top-N test (He et al., "Neural Collaborative Filtering", WWW 2017): read
its published files (``test.rating``: each user's held-out rating; ``test.negative``: that
movie and the 99 movies it is ranked among) and measure a run on exactly those candidates.

The rules follow the paper's evaluation code: a negative equal to the held-out movie, or
repeated, counts once (scores are keyed by movie there); a movie the run does not know ranks
last (an unknown held-out movie is a miss), and so does a user it does not know.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from movierec.data.ncf import NcfTest, ncf_candidates
from movierec.evaluation.ranking import (
    hit_ratio_ndcg_of_ranks,
    positive_rank,
    score_candidates,
)
from movierec.interactions import IdMap

# Users scored per call of the scoring function (x the candidates per user).
CHUNK_USERS = 2048
# Pairs per forward pass of a model (a chunk of users at once: their rows are shared).
SCORE_CHUNK = 1 << 17
def ncf_metrics(test: NcfTest, user_ids: IdMap, item_ids: IdMap,
                score: Callable[[np.ndarray, np.ndarray], np.ndarray], k: int = 10) -> dict:
    """HR@k and NDCG@k on the exact candidates of ``test``.

    Each user's held-out movie is ranked among its distinct negatives (one equal to it, or
    repeated, counts once); its rank is the candidates scored strictly higher plus half the
    ties; a hit when the rank is below ``k``, with a gain of ``1 / log2(floor(rank) + 2)``.
    A movie outside ``item_ids`` ranks last (an unknown held-out movie is a miss), and a user
    outside ``user_ids`` is a miss; both still count in the denominator.

    Args:
        user_ids, item_ids: the id maps of the tables ``score`` reads.
        score: ``score(user_idx (n,), item_idx (n, c)) -> (n, c)`` scores, higher first;
            called on at most :data:`CHUNK_USERS` users at a time.
    Returns:
        ``hr10``, ``ndcg10`` (keys follow ``k``), ``n_users`` (lines of the file),
        ``unknown_users``, ``unknown_movies`` (distinct candidate movies outside
        ``item_ids``) and ``merged`` (users whose negatives include their held-out movie).
    """
    candidates, known = ncf_candidates(test, user_ids, item_ids)
    rank = np.full(len(test), np.inf)
    ranks = []
    for start in range(0, len(candidates), CHUNK_USERS):
        rows = slice(start, start + CHUNK_USERS)
        scores = np.asarray(score(candidates.user_idx[rows], candidates.item_idx[rows]))
        ranks.append(positive_rank(scores, candidates.valid[rows]))
    if ranks:
        rank[known] = np.concatenate(ranks)
    hr, ndcg = hit_ratio_ndcg_of_ranks(rank, k)
    movies = np.unique(test.movie_ids())
    return {f"hr{k}": hr, f"ndcg{k}": ndcg, "n_users": len(test),
            "unknown_users": int((~known).sum()),
            "unknown_movies": int((~item_ids.lookup(movies)[1]).sum()),
            "merged": int((test.negatives == test.positives[:, None]).any(1).sum())}


def run_ncf_metrics(run, test: NcfTest, k: int = 10) -> dict:
    """:func:`ncf_metrics` of a saved :class:`~movierec.runs.Run`, scored with its model's
    ranking score (as :func:`~movierec.evaluation.ranking.score_candidates` scores)."""
    return ncf_metrics(test, run.user_ids, run.item_ids,
                       lambda users, items: score_candidates(run.model, users, items,
                                                             chunk=SCORE_CHUNK), k)
