"""The notebook's network: movie and user embeddings, dense layers with dropout and batch norm,
a softmax over the star values (after Riley Wilson's Keras example, as adapted in the conx
notebook "Recommending Movies")."""

from __future__ import annotations

import typing
from dataclasses import dataclass

import torch
from torch import nn

from movierec.errors import ConfigError
from movierec.models.base import Recommender
from movierec.models.layers import Dropout
from movierec.tuning.space import Choice, Range


@dataclass(frozen=True)
class SeedNetConfig:
    """Hyperparameters of :class:`SeedNet`; the defaults are the notebook's.

    Attributes:
        embedding_dim: size of the movie and of the user embedding (32 in the notebook).
        hidden: units of each dense layer, in order (three layers of 128).
        dropout: dropout after each dense layer's ReLU (0.5).
        embedding_dropout: dropout on each flattened embedding (0.5).
        batch_norm: batch normalisation after every dense layer but the last (after dense1 and
            dense2 in the notebook).
    """

    # What a study draws from (movierec.tuning): the embedding size, the layers, both dropouts
    # and the Adam schedule; the notebook's layers and batch norm stay.
    SEARCH_SPACE: typing.ClassVar[dict] = {
        "embedding_dim": Range(8, 128, log=True, integer=True),
        "hidden": Choice(("128,128,128", "256,128", "64,64,64")),
        "dropout": Range(0.0, 0.6), "embedding_dropout": Range(0.0, 0.6),
        "lr": Range(1e-3, 1e-2, log=True), "lr_decay": Range(0.8, 1.0)}

    embedding_dim: int = 32
    hidden: tuple[int, ...] = (128, 128, 128)
    dropout: float = 0.5
    embedding_dropout: float = 0.5
    batch_norm: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.embedding_dim <= 4096:
            raise ConfigError(f"embedding_dim must be 1..4096, got {self.embedding_dim}")
        if not self.hidden or any(not 1 <= h <= 65536 for h in self.hidden):
            raise ConfigError(f"hidden must list one or more layer sizes of 1..65536, got "
                              f"{self.hidden}")
        for name in ("dropout", "embedding_dropout"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {value:g}")


class SeedNet(Recommender):
    """Embeddings -> dense(ReLU, dropout[, batch norm]) x N -> softmax over the star values.

    Initialised as Keras does (uniform embeddings in +-0.05, Glorot-uniform dense weights, zero
    biases, batch norm momentum 0.99 and epsilon 1e-3), as the notebook's network was.
    """

    output = "classes"

    def __init__(self, n_users: int, n_items: int, rating_scale: tuple[float, ...],
                 config: SeedNetConfig = SeedNetConfig()) -> None:
        super().__init__(n_users, n_items, rating_scale)
        self.config = config
        d = config.embedding_dim
        self.movie_embed = nn.Embedding(n_items, d)
        self.user_embed = nn.Embedding(n_users, d)
        self.movie_flatten = Dropout(config.embedding_dropout)
        self.user_flatten = Dropout(config.embedding_dropout)
        layers: list[nn.Module] = []
        width = 2 * d
        for i, units in enumerate(config.hidden):
            dense = nn.Linear(width, units)
            nn.init.xavier_uniform_(dense.weight)
            nn.init.zeros_(dense.bias)
            layers += [dense, nn.ReLU(), Dropout(config.dropout)]
            if config.batch_norm and i < len(config.hidden) - 1:
                layers.append(nn.BatchNorm1d(units, eps=1e-3, momentum=0.01))
            width = units
        self.dense = nn.Sequential(*layers)
        self.out = nn.Linear(width, len(rating_scale))
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        for table in (self.movie_embed, self.user_embed):
            nn.init.uniform_(table.weight, -0.05, 0.05)

    def architecture(self) -> list[dict]:
        d = self.config.embedding_dim
        layers = [
            self._index_input("movie"), self._index_input("user"),
            self._embedding_row("movie_embed", self.movie_embed, "movie"),
            self._embedding_row("user_embed", self.user_embed, "user"),
            {"name": "movie_flatten", "kind": f"Flatten, dropout {self.movie_flatten.p:g}",
             "shape": f"(batch, {d})", "params": 0, "inputs": ["movie_embed"]},
            {"name": "user_flatten", "kind": f"Flatten, dropout {self.user_flatten.p:g}",
             "shape": f"(batch, {d})", "params": 0, "inputs": ["user_embed"]},
            {"name": "concat", "kind": "Concatenate", "shape": f"(batch, {2 * d})", "params": 0,
             "inputs": ["movie_flatten", "user_flatten"]},
        ]
        previous, number, norms = "concat", 0, 0
        modules = list(self.dense)
        for i, module in enumerate(modules):
            if isinstance(module, nn.Linear):
                number += 1
                drop = next((m.p for m in modules[i + 1:i + 3] if isinstance(m, Dropout)), 0.0)
                layers.append({"name": f"dense{number}",
                               "kind": f"Dense, ReLU, dropout {drop:g}",
                               "shape": f"(batch, {module.out_features})",
                               "params": sum(p.numel() for p in module.parameters()),
                               "inputs": [previous]})
                previous = f"dense{number}"
            elif isinstance(module, nn.BatchNorm1d):
                norms += 1
                layers.append({"name": f"batch norm{norms}", "kind": "BatchNormalization",
                               "shape": f"(batch, {module.num_features})",
                               "params": sum(p.numel() for p in module.parameters()),
                               "inputs": [previous]})
                previous = f"batch norm{norms}"
        layers.append({"name": "output", "kind": f"Dense, softmax over {self.out.out_features} "
                       "star values", "shape": f"(batch, {self.out.out_features})",
                       "params": sum(p.numel() for p in self.out.parameters()),
                       "inputs": [previous]})
        return layers

    def user_vectors(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.user_embed(user_idx)

    def score_vectors(self, user_vec: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        movie = self.movie_flatten(self.movie_embed(item_idx))
        user = self.user_flatten(user_vec)
        return self.out(self.dense(torch.cat([movie, user], dim=-1)))

    def item_embeddings(self) -> torch.Tensor:
        """The movie embedding table: the notebook's ``propagate_to("movie_flatten", ...)``
        (dropout is off outside training)."""
        return self.movie_embed.weight
