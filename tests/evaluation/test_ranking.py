"""The NCF ranking protocol: candidates, HR@10 and NDCG@10 against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from movierec.data.candidates import Candidates, draw_negatives, one_per_user
from movierec.evaluation.ranking import hit_ratio_ndcg, positive_rank, ranking_metrics
from movierec.interactions import IdMap, Interactions
from movierec.split import holdout_per_user


def test_hit_ratio_and_ndcg_by_hand():
    scores = np.array([
        [5.0, 1.0, 2.0, 3.0],    # positive first: rank 0 -> hit, ndcg 1/log2(2) = 1
        [1.0, 5.0, 4.0, 3.0],    # three above: rank 3
        [2.0, 2.0, 2.0, 1.0],    # two ties: rank 1
    ])
    hr, ndcg = hit_ratio_ndcg(scores, k=2)
    # hits: row 0 (rank 0) and row 2 (rank 1); NDCG = (1 + 1/log2(3)) / 3
    assert hr == pytest.approx(2 / 3)
    assert ndcg == pytest.approx((1 + 1 / np.log2(3)) / 3)
    assert hit_ratio_ndcg(scores, k=10)[0] == 1.0


def test_candidates_are_unrated_and_distinct():
    rng = np.random.default_rng(0)
    n_users, n_items = 30, 300
    pairs = {(u, i) for u in range(n_users) for i in rng.choice(n_items, 40, replace=False)}
    u, i = np.array(sorted(pairs)).T
    data = Interactions(u, i, np.full(len(u), 4.0, np.float32), np.zeros(len(u), np.int64),
                        IdMap(np.arange(n_users) + 1, "user"), IdMap(np.arange(n_items) + 1),
                        (1.0, 2.0, 3.0, 4.0, 5.0))
    split = holdout_per_user(data, 1, seed=0)
    rows = one_per_user(split.validation)
    assert len(rows) == n_users
    users, positives = split.validation.user_idx[rows], split.validation.item_idx[rows]
    cand = draw_negatives(data, users, positives, seed=1)
    assert cand.shape == (n_users, 100) and (cand[:, 0] == positives).all()
    for user, row in zip(users, cand, strict=True):
        assert len(set(row)) == 100
        assert not {(user, int(x)) for x in row[1:]} & pairs


class Oracle(torch.nn.Module):
    """Scores the held-out pairs 1 and everything else 0 (or the reverse)."""

    def __init__(self, test: Interactions, flip: bool = False):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.known = set(zip(test.user_idx.tolist(), test.item_idx.tolist(), strict=True))
        self.flip = flip

    def forward(self, users, items):
        hits = [(u, i) in self.known for u, i in zip(users.tolist(), items.tolist(),
                                                     strict=True)]
        return torch.tensor(hits, dtype=torch.float32) * (-1 if self.flip else 1)

    def ranking_score(self, out):
        return out


def test_an_oracle_scores_one_and_its_opposite_zero(demo):
    from movierec.config import DataConfig
    from movierec.split import make_split
    data = make_split(demo, DataConfig("demo", 0.3))
    best = ranking_metrics(Oracle(data.validation), data.train, data.validation)
    assert best["hr10"] == 1.0 and best["ndcg10"] == 1.0
    worst = ranking_metrics(Oracle(data.validation, flip=True), data.train, data.validation)
    assert worst["hr10"] == 0.0 and worst["ndcg10"] == 0.0
    assert best["n_users"] == len(np.unique(data.validation.user_idx))


def test_fixed_candidates_merge_repeats_and_drop_unknown_movies():
    movies = IdMap(np.array([10, 20, 30]))
    cand = Candidates.from_movie_ids(np.array([0, 1]), np.array([[20, 10, 20, 10, 99],
                                                                  [99, 10, 20, 30, 30]]), movies)
    assert cand.item_idx.tolist() == [[1, 0, 1, 0, 0], [0, 0, 1, 2, 2]]
    assert cand.valid.tolist() == [[True, True, False, False, False],
                                   [False, True, True, True, False]]
    scores = np.array([[1.0, 2.0, 9.0, 9.0, 9.0],
                       [5.0, 1.0, 1.0, 1.0, 1.0]])
    # row 0: only movie 10 counts, above: rank 1; row 1: its held-out movie is unknown
    assert positive_rank(scores, cand.valid).tolist() == [1.0, np.inf]
    assert positive_rank(scores).tolist() == [4.0, 0.0]
    assert hit_ratio_ndcg(scores, k=2, valid=cand.valid) == pytest.approx((0.5,
                                                                           0.5 / np.log2(3)))
    with pytest.raises(ValueError, match="Candidates"):
        Candidates(np.array([0]), cand.item_idx, cand.valid)
