"""Top-N quality with the NCF protocol: each user's held-out movie is ranked among itself and
99 movies that user never rated (drawn here, or fixed by a published test file); HR@k is the
share ranked in the top k, NDCG@k rewards higher places (He et al., "Neural Collaborative
Filtering", WWW 2017)."""

from __future__ import annotations

import numpy as np
import torch

from movierec.data.candidates import Candidates, sampled_candidates
from movierec.interactions import Interactions


def positive_rank(scores: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Rank of column 0 (the positive) in each row of candidate ``scores``: the candidates
    scored strictly higher, plus half of the ties, so a model that scores everything alike
    gets no credit for the order it was given.

    Args:
        valid: where given, only its True candidates count, and a row whose column 0 is
            False ranks last (infinity).
    """
    scores = np.asarray(scores, dtype=np.float64)
    positive = scores[:, :1]
    higher, ties = scores[:, 1:] > positive, scores[:, 1:] == positive
    if valid is None:
        return higher.sum(1) + ties.sum(1) / 2.0
    others = valid[:, 1:]
    rank = (higher & others).sum(1) + (ties & others).sum(1) / 2.0
    return np.where(valid[:, 0], rank, np.inf)


def hit_ratio_ndcg_of_ranks(rank: np.ndarray, k: int = 10) -> tuple[float, float]:
    """HR@k and NDCG@k from the positives' ranks (0 is first): a hit when the rank is below
    ``k``, and then a gain of ``1 / log2(floor(rank) + 2)``."""
    hit = rank < k
    ndcg = np.where(hit, 1.0 / np.log2(np.floor(np.where(hit, rank, 0)) + 2.0), 0.0)
    return float(hit.mean()), float(ndcg.mean())


def hit_ratio_ndcg(scores: np.ndarray, k: int = 10,
                   valid: np.ndarray | None = None) -> tuple[float, float]:
    """HR@k and NDCG@k from candidate scores whose column 0 is the positive (ranked by
    :func:`positive_rank`, over the ``valid`` candidates where given)."""
    return hit_ratio_ndcg_of_ranks(positive_rank(scores, valid), k)


@torch.no_grad()
def score_candidates(model, users: np.ndarray, candidates: np.ndarray,
                     device: torch.device | None = None, chunk: int = 1 << 16) -> np.ndarray:
    """The model's ranking score for every candidate (predicted stars, or a score for models
    trained to rank)."""
    was_training = model.training
    model.eval()
    try:
        device = device or next(model.parameters()).device
        u = torch.as_tensor(users, device=device)[:, None]
        items = torch.as_tensor(candidates, device=device)
        flat_users, flat_items = u.expand_as(items).reshape(-1), items.reshape(-1)
        scores = [model.ranking_score(model(flat_users[s:s + chunk], flat_items[s:s + chunk]))
                  for s in range(0, len(flat_items), chunk)]
        return torch.cat(scores).reshape(items.shape).cpu().numpy()
    finally:
        model.train(was_training)


def candidate_metrics(model, candidates: Candidates, k: int = 10,
                      device: torch.device | None = None) -> tuple[float, float]:
    """HR@k and NDCG@k of ``model`` on ``candidates`` (over their valid ones)."""
    scores = score_candidates(model, candidates.user_idx, candidates.item_idx, device)
    return hit_ratio_ndcg(scores, k, candidates.valid)


def ranking_metrics(model, train: Interactions, test: Interactions, k: int = 10,
                    seed: int = 0, candidates: Candidates | None = None) -> dict:
    """HR@k and NDCG@k of ``model`` with the NCF protocol: on one test rating per user among
    99 sampled negatives (:func:`sampled_candidates`), or on fixed ``candidates`` when given
    (then ``train``, ``test`` and ``seed`` are not used).

    Returns:
        ``{"hr10": ..., "ndcg10": ..., "n_users": ...}`` (keys follow ``k``).
    """
    if candidates is None:
        candidates = sampled_candidates(train, test, seed)
    hr, ndcg = candidate_metrics(model, candidates, k)
    return {f"hr{k}": hr, f"ndcg{k}": ndcg, "n_users": int(len(candidates))}
