"""Biased matrix factorisation: rating = global mean + user bias + movie bias + user . movie
(Koren, Bell & Volinsky, "Matrix Factorization Techniques for Recommender Systems", 2009)."""

from __future__ import annotations

import typing
from dataclasses import dataclass

import torch
from torch import nn

from movierec.errors import ConfigError
from movierec.models.base import Recommender
from movierec.models.lazy_adam import distinct_rows, sparse_lookup
from movierec.tuning.space import Range

# Users plus movies beyond which ``sparse="auto"`` updates only a batch's rows (MovieLens 10M
# has 80,559, 20M 165,771 and 32M 288,533).
SPARSE_ROWS = 100_000


@dataclass(frozen=True)
class MFConfig:
    """Hyperparameters of :class:`MF`.

    Attributes:
        dim: size of the user and movie factor vectors.
        reg: L2 weight on the factors and biases of the users and movies in each batch.
        init_std: standard deviation of the initial factors.
        sparse: update only the rows of the factors and biases a batch touched (lazy Adam,
            see :mod:`movierec.models.lazy_adam`): ``yes``, ``no``, or ``auto`` (yes when the
            users and movies number more than :data:`SPARSE_ROWS`, as in MovieLens 20M and
            larger, where updating every row at every step would take most of an epoch).
    """

    # What a study draws from (movierec.tuning): the factors' size and penalty and the Adam
    # schedule. The epochs stay the model's, so that the pruner compares trials epoch by epoch.
    SEARCH_SPACE: typing.ClassVar[dict] = {
        "dim": Range(32, 512, log=True, integer=True), "reg": Range(0.005, 0.2, log=True),
        "lr": Range(5e-4, 1e-2, log=True), "lr_decay": Range(0.8, 1.0)}

    HASHED_WHEN_SET: typing.ClassVar[tuple[str, ...]] = ("sparse",)

    dim: int = 64
    reg: float = 0.05
    init_std: float = 0.01
    sparse: str = "auto"

    def __post_init__(self) -> None:
        if not 1 <= self.dim <= 4096:
            raise ConfigError(f"dim must be 1..4096, got {self.dim}")
        if not self.reg >= 0:
            raise ConfigError(f"reg must be >= 0, got {self.reg:g}")
        if not self.init_std > 0:
            raise ConfigError(f"init_std must be > 0, got {self.init_std:g}")
        if self.sparse not in ("auto", "yes", "no"):
            raise ConfigError(f"sparse must be auto, yes or no, got {self.sparse!r}")


class MF(Recommender):
    """Biased matrix factorisation trained with squared error."""

    output = "rating"

    def __init__(self, n_users: int, n_items: int, rating_scale: tuple[float, ...],
                 config: MFConfig = MFConfig()) -> None:
        super().__init__(n_users, n_items, rating_scale)
        self.config = config
        self.user_factors = nn.Embedding(n_users, config.dim)
        self.item_factors = nn.Embedding(n_items, config.dim)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        for table in (self.user_factors, self.item_factors):
            nn.init.normal_(table.weight, 0.0, config.init_std)
        for table in (self.user_bias, self.item_bias):
            nn.init.zeros_(table.weight)
        self.register_buffer("global_mean", torch.tensor(float(sum(rating_scale)) /
                                                         len(rating_scale)))
        self.sparse_updates = config.sparse == "yes" or (
            config.sparse == "auto" and n_users + n_items > SPARSE_ROWS)

    def architecture(self) -> list[dict]:
        return [
            self._index_input("user"), self._index_input("movie"),
            self._embedding_row("user_factors", self.user_factors, "user"),
            self._embedding_row("movie_factors", self.item_factors, "movie"),
            self._embedding_row("user_bias", self.user_bias, "user", "Embedding (bias)"),
            self._embedding_row("movie_bias", self.item_bias, "movie", "Embedding (bias)"),
            {"name": "dot", "kind": "Dot product", "shape": "(batch, 1)", "params": 0,
             "inputs": ["user_factors", "movie_factors"]},
            {"name": "rating", "kind": "Sum + global mean", "shape": "(batch, 1)", "params": 0,
             "inputs": ["dot", "user_bias", "movie_bias"]},
        ]

    def on_train_start(self, rating, user_idx=None, item_idx=None) -> None:
        self.global_mean.fill_(float(rating.mean()))

    def user_vectors(self, user_idx: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.user_bias(user_idx), self.user_factors(user_idx)], dim=-1)

    def score_vectors(self, user_vec: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        dot = (user_vec[:, 1:] * self.item_factors(item_idx)).sum(-1)
        return self.global_mean + user_vec[:, 0] + self.item_bias(item_idx).squeeze(-1) + dot

    def training_loss(self, user_idx, item_idx, target, generator=None):
        """Squared error plus L2 on the batch's factors and biases (looked up once, with
        index_select, whose backward pass is a third faster on the CPU than an embedding's)."""
        if self.sparse_updates and torch.is_grad_enabled():
            # Gradients of the batch's rows alone, for the trainer's LazyAdam, the L2 term's
            # added by the lookups: the same objective as below, in fewer passes.
            users, items = distinct_rows(user_idx), distinct_rows(item_idx)
            decay = 2 * self.config.reg / len(user_idx)
            pu = sparse_lookup(self.user_factors.weight, *users, decay)
            qi = sparse_lookup(self.item_factors.weight, *items, decay)
            bu = sparse_lookup(self.user_bias.weight, *users, decay).squeeze(-1)
            bi = sparse_lookup(self.item_bias.weight, *items, decay).squeeze(-1)
            out = self.global_mean + bu + bi + (pu * qi).sum(-1)
            loss = nn.functional.mse_loss(out, target)
            return loss, loss, out
        else:
            pu = self.user_factors.weight.index_select(0, user_idx)
            qi = self.item_factors.weight.index_select(0, item_idx)
            bu = self.user_bias.weight.index_select(0, user_idx).squeeze(-1)
            bi = self.item_bias.weight.index_select(0, item_idx).squeeze(-1)
        out = self.global_mean + bu + bi + (pu * qi).sum(-1)
        loss = nn.functional.mse_loss(out, target)
        if self.config.reg == 0:
            return loss, loss, out
        sq = pu.square().sum(-1) + qi.square().sum(-1) + bu.square() + bi.square()
        return loss + self.config.reg * sq.mean(), loss, out

    def item_embeddings(self) -> torch.Tensor:
        return self.item_factors.weight
