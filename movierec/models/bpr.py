"""Matrix factorisation trained to rank, not to predict stars: every rating is an interaction,
and each one is pushed above movies sampled from the rest (Rendle et al., "BPR: Bayesian
Personalized Ranking from Implicit Feedback", UAI 2009; with ``loss="bce"``, the pointwise
sampled-negatives objective of He et al., "Neural Collaborative Filtering", WWW 2017)."""

from __future__ import annotations

import typing
from dataclasses import dataclass

import torch
from torch import nn

from movierec.errors import ConfigError
from movierec.models.base import Recommender
from movierec.tuning.space import Range

LOSSES = ("bpr", "bce")


@dataclass(frozen=True)
class BPRConfig:
    """Hyperparameters of :class:`BPR`.

    Attributes:
        dim: size of the user and movie factors.
        negatives: movies sampled per interaction as ones the user did not pick.
        loss: ``bpr`` (pairwise: positive above each negative) or ``bce`` (positives 1,
            negatives 0).
        reg: L2 weight on the factors and biases used in each batch.
        init_std: standard deviation of the initial factors.
    """

    # What a study draws from (movierec.tuning): the factors' size, the negatives per pick, the
    # penalty and Adam's rate.
    SEARCH_SPACE: typing.ClassVar[dict] = {
        "dim": Range(16, 256, log=True, integer=True), "negatives": Range(1, 16, integer=True),
        "reg": Range(1e-6, 1e-2, log=True), "lr": Range(1e-3, 2e-2, log=True)}

    dim: int = 64
    negatives: int = 4
    loss: str = "bpr"
    reg: float = 1e-4
    init_std: float = 0.01

    def __post_init__(self) -> None:
        if not 1 <= self.dim <= 4096:
            raise ConfigError(f"dim must be 1..4096, got {self.dim}")
        if not 1 <= self.negatives <= 1000:
            raise ConfigError(f"negatives must be 1..1000, got {self.negatives}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if not self.reg >= 0:
            raise ConfigError(f"reg must be >= 0, got {self.reg:g}")
        if not self.init_std > 0:
            raise ConfigError(f"init_std must be > 0, got {self.init_std:g}")


class BPR(Recommender):
    """Score = movie bias + user factors . movie factors; higher means more likely watched.
    Its scores rank movies; they are not stars, so RMSE and accuracy do not apply."""

    output = "score"

    def __init__(self, n_users: int, n_items: int, rating_scale: tuple[float, ...],
                 config: BPRConfig = BPRConfig()) -> None:
        super().__init__(n_users, n_items, rating_scale)
        self.config = config
        self.user_factors = nn.Embedding(n_users, config.dim)
        self.item_factors = nn.Embedding(n_items, config.dim)
        self.item_bias = nn.Embedding(n_items, 1)
        for table in (self.user_factors, self.item_factors):
            nn.init.normal_(table.weight, 0.0, config.init_std)
        nn.init.zeros_(self.item_bias.weight)

    def architecture(self) -> list[dict]:
        return [
            self._index_input("user"), self._index_input("movie"),
            self._embedding_row("user_factors", self.user_factors, "user"),
            self._embedding_row("movie_factors", self.item_factors, "movie"),
            self._embedding_row("movie_bias", self.item_bias, "movie", "Embedding (bias)"),
            {"name": "score", "kind": f"Dot product + bias, {self.config.loss} loss against "
             f"{self.config.negatives} sampled movies", "shape": "(batch, 1)", "params": 0,
             "inputs": ["user_factors", "movie_factors", "movie_bias"]},
        ]

    def user_vectors(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.user_factors(user_idx)

    def score_vectors(self, user_vec: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        return self.item_bias(item_idx).squeeze(-1) + (user_vec * self.item_factors(item_idx)
                                                       ).sum(-1)

    def item_embeddings(self) -> torch.Tensor:
        return self.item_factors.weight

    def expected_rating(self, out: torch.Tensor) -> torch.Tensor:
        return out

    def _ranking_loss(self, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        """``positive`` (N,) against ``negative`` (N, K) or (1, K)."""
        if self.config.loss == "bpr":
            return -nn.functional.logsigmoid(positive[:, None] - negative).mean()
        pos = nn.functional.softplus(-positive).mean()
        return pos + nn.functional.softplus(negative).mean()

    def _negatives(self, shape, generator, device) -> torch.Tensor:
        return torch.randint(0, self.n_items, shape, generator=generator).to(device)

    def training_loss(self, user_idx, item_idx, target, generator=None):
        pu, qi = self.user_factors(user_idx), self.item_factors(item_idx)
        bi = self.item_bias(item_idx).squeeze(-1)
        negatives = self._negatives((len(user_idx), self.config.negatives), generator,
                                    user_idx.device)
        qj, bj = self.item_factors(negatives), self.item_bias(negatives).squeeze(-1)
        positive = bi + (pu * qi).sum(-1)
        negative = bj + (pu[:, None, :] * qj).sum(-1)
        loss = self._ranking_loss(positive, negative)
        sq = pu.square().sum(-1) + qi.square().sum(-1) + qj.square().sum((-1, -2)) \
            + bi.square() + bj.square().sum(-1)
        return loss + self.config.reg * sq.mean(), loss, positive

    def fold_in_loss(self, vec, items, stars, generator=None):
        """A new person's movies rated at or above their own average are what they pick;
        movies sampled from the rest are what they do not."""
        liked = items[stars >= stars.mean()]
        negatives = self._negatives((1, 200), generator, items.device)
        negatives = negatives[~torch.isin(negatives, items)][None, :]
        positive = self.score_vectors(vec.expand(len(liked), -1), liked)
        negative = self.score_vectors(vec.expand(negatives.shape[1], -1), negatives[0])[None, :]
        return self._ranking_loss(positive, negative) * len(liked)
