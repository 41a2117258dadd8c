"""Top-N quality with the NCF protocol: each user's held-out movie is ranked among itself and
99 movies that user never rated; HR@k is the share ranked in the top k, NDCG@k rewards higher
places (He et al., "Neural Collaborative Filtering", WWW 2017)."""

from __future__ import annotations

import numpy as np
import torch

from movierec.interactions import Interactions

N_NEGATIVES = 99


def one_per_user(test: Interactions, seed: int = 0) -> np.ndarray:
    """Row numbers of one random test rating per user who has any (the held-out positive)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(test))
    users = test.user_idx[order]
    _, first = np.unique(users, return_index=True)
    return np.sort(order[first])


def sample_candidates(seen: Interactions, users: np.ndarray, positives: np.ndarray,
                      n_negatives: int = N_NEGATIVES, seed: int = 0) -> np.ndarray:
    """Candidate items per test user: column 0 is the positive, the rest are ``n_negatives``
    distinct items the user has not rated anywhere in ``seen`` (train and test together).

    Returns:
        ``(len(users), 1 + n_negatives)`` item positions.
    """
    rng = np.random.default_rng(seed)
    n_items = seen.n_items
    rated = np.unique(seen.user_idx.astype(np.int64) * n_items + seen.item_idx)
    counts = np.bincount(seen.user_idx, minlength=seen.n_users)
    if (counts[users] + n_negatives > n_items).any():
        raise ValueError("a user has rated too many movies to draw the negatives")
    out = np.empty((len(users), 1 + n_negatives), dtype=np.int64)
    out[:, 0] = positives
    for row, user in enumerate(users):
        chosen: list[int] = []
        taken = set()
        while len(chosen) < n_negatives:
            draw = rng.integers(0, n_items, 2 * n_negatives)
            keys = user * n_items + draw
            pos = np.searchsorted(rated, keys)
            unrated = draw[(pos >= len(rated)) | (rated[np.minimum(pos, len(rated) - 1)] != keys)]
            for item in unrated:
                if item not in taken:
                    taken.add(int(item))
                    chosen.append(int(item))
                    if len(chosen) == n_negatives:
                        break
        out[row, 1:] = chosen
    return out


def hit_ratio_ndcg(scores: np.ndarray, k: int = 10) -> tuple[float, float]:
    """HR@k and NDCG@k from candidate scores whose column 0 is the positive.

    The positive's rank counts the candidates scored strictly higher, plus half of the ties,
    so a model that scores everything alike gets no credit for the order it was given.
    """
    scores = np.asarray(scores, dtype=np.float64)
    positive = scores[:, :1]
    higher = (scores[:, 1:] > positive).sum(1)
    ties = (scores[:, 1:] == positive).sum(1)
    rank = higher + ties / 2.0
    hit = rank < k
    ndcg = np.where(hit, 1.0 / np.log2(np.floor(rank) + 2.0), 0.0)
    return float(hit.mean()), float(ndcg.mean())


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


def ranking_metrics(model, train: Interactions, test: Interactions, k: int = 10,
                    seed: int = 0) -> dict:
    """HR@k and NDCG@k of ``model`` with the NCF protocol on one test rating per user.

    Returns:
        ``{"hr10": ..., "ndcg10": ..., "n_users": ...}`` (keys follow ``k``).
    """
    rows = one_per_user(test, seed)
    users, positives = test.user_idx[rows], test.item_idx[rows]
    seen = Interactions(np.concatenate([train.user_idx, test.user_idx]),
                        np.concatenate([train.item_idx, test.item_idx]),
                        np.concatenate([train.rating, test.rating]),
                        np.concatenate([train.timestamp, test.timestamp]),
                        train.user_ids, train.item_ids, train.rating_scale)
    candidates = sample_candidates(seen, users, positives, seed=seed)
    hr, ndcg = hit_ratio_ndcg(score_candidates(model, users, candidates), k)
    return {f"hr{k}": hr, f"ndcg{k}": ndcg, "n_users": int(len(users))}
