"""Item-based AutoRec: each movie's column of training ratings is encoded into a hidden code and
decoded back into a rating for every user (Sedhain, Menon, Sanner & Xie, "AutoRec:
Autoencoders Meet Collaborative Filtering", WWW 2015)."""

from __future__ import annotations

import typing
from dataclasses import dataclass

import torch
from torch import nn

from movierec.errors import ConfigError
from movierec.models.base import Recommender
from movierec.tuning.space import Range


@dataclass(frozen=True)
class AutoRecConfig:
    """Hyperparameters of :class:`AutoRec`.

    Attributes:
        hidden: size of a movie's code (500 in the paper).
        reg: the paper's lambda: weight of half the squared encoder and decoder weights,
            against the squared errors summed over all training ratings (applied as weight
            decay).
        init_std: standard deviation of the initial weights.
    """

    # What a study draws from (movierec.tuning): the code's size, the paper's lambda and the
    # Adam schedule, over the model's 20 epochs.
    SEARCH_SPACE: typing.ClassVar[dict] = {
        "hidden": Range(200, 1000, log=True, integer=True), "reg": Range(10, 1000, log=True),
        "lr": Range(1e-3, 1e-2, log=True), "lr_decay": Range(0.8, 1.0)}

    hidden: int = 500
    reg: float = 150.0
    init_std: float = 0.005

    def __post_init__(self) -> None:
        if not 1 <= self.hidden <= 8192:
            raise ConfigError(f"hidden must be 1..8192, got {self.hidden}")
        if not self.reg >= 0:
            raise ConfigError(f"reg must be >= 0, got {self.reg:g}")
        if not self.init_std > 0:
            raise ConfigError(f"init_std must be > 0, got {self.init_std:g}")


class AutoRec(Recommender):
    """I-AutoRec: code(movie) = sigmoid(V r_movie + c); rating(user, movie) = W_user . code + b.

    The training ratings that form each movie's input are kept as buffers (saved with the run),
    so that any movie's code can be computed later; a user's vector is their decoder row and
    bias, which is what fold-in fits for a new person.
    """

    output = "rating"
    _resizable_buffers = ("input_users", "input_ratings")

    def __init__(self, n_users: int, n_items: int, rating_scale: tuple[float, ...],
                 config: AutoRecConfig = AutoRecConfig()) -> None:
        super().__init__(n_users, n_items, rating_scale)
        self.config = config
        h = config.hidden
        self.encoder = nn.EmbeddingBag(n_users, h, mode="sum")
        self.code_bias = nn.Parameter(torch.zeros(h))
        self.decoder = nn.Embedding(n_users, h)
        self.user_bias = nn.Embedding(n_users, 1)
        for table in (self.encoder, self.decoder):
            nn.init.normal_(table.weight, 0.0, config.init_std)
        nn.init.constant_(self.user_bias.weight, float(sum(rating_scale)) / len(rating_scale))
        # Each movie's training ratings, grouped by movie (CSR): offsets, users, stars.
        self.register_buffer("item_offsets", torch.zeros(n_items + 1, dtype=torch.long))
        self.register_buffer("input_users", torch.zeros(0, dtype=torch.long))
        self.register_buffer("input_ratings", torch.zeros(0))
        self.register_buffer("n_train", torch.tensor(1.0))

    def on_train_start(self, rating, user_idx=None, item_idx=None) -> None:
        if user_idx is None or item_idx is None:
            raise ValueError("AutoRec needs the training users and movies")
        order = torch.argsort(item_idx, stable=True)
        counts = torch.bincount(item_idx, minlength=self.n_items)
        self.item_offsets = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        self.input_users = user_idx[order].clone()
        self.input_ratings = rating[order].clone()
        self.n_train.fill_(float(len(rating)))
        self.user_bias.weight.data.fill_(float(rating.mean()))

    def activation_bytes(self, batch_size: int, n_train: int) -> int:
        """A batch decodes its movies for every user (about ``batch / ratings per movie``
        movies, a few more where batches straddle movies): codes, decoded ratings and their
        gradients."""
        movies = batch_size * self.n_items // max(n_train, 1) + 2
        return 4 * movies * (2 * self.n_users + 3 * self.config.hidden) + 16 * batch_size

    def training_order(self, item_idx: torch.Tensor, generator: torch.Generator) \
            -> torch.Tensor:
        """Ratings grouped by movie, movies in random order: each batch then encodes few
        movies."""
        rank = torch.randperm(self.n_items, generator=generator).to(item_idx.device)
        return torch.argsort(rank[item_idx], stable=True)

    def codes(self, items: torch.Tensor) -> torch.Tensor:
        """Hidden codes of ``items`` (positions), from their training ratings."""
        starts, ends = self.item_offsets[items], self.item_offsets[items + 1]
        lengths = ends - starts
        offsets = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)[:-1]])
        if len(items) == 0:
            return self.code_bias.new_zeros(0, self.config.hidden)
        positions = torch.repeat_interleave(starts - offsets, lengths) + \
            torch.arange(int(lengths.sum()), device=items.device)
        bag = self.encoder(self.input_users[positions], offsets,
                           per_sample_weights=self.input_ratings[positions])
        return torch.sigmoid(bag + self.code_bias)

    def _item_codes(self, item_idx: torch.Tensor) -> torch.Tensor:
        """Codes per pair, each movie encoded once (an embedding lookup, whose backward pass
        sums the gradients of repeated movies far faster than indexing does)."""
        unique, inverse = torch.unique(item_idx, return_inverse=True)
        return nn.functional.embedding(inverse, self.codes(unique))

    def user_vectors(self, user_idx: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.decoder(user_idx), self.user_bias(user_idx)], dim=-1)

    def score_vectors(self, user_vec: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        return (user_vec[:, :-1] * self._item_codes(item_idx)).sum(-1) + user_vec[:, -1]

    def param_groups(self, weight_decay: float) -> list[dict]:
        """The paper's L2 term on the encoder and decoder weights, as the optimizer's weight
        decay: its gradient, reg / n_train x weight per mean-squared-error step, without
        computing the term itself at every batch."""
        decayed = [self.encoder.weight, self.decoder.weight]
        others = [p for p in self.parameters() if all(p is not q for q in decayed)]
        return [{"params": decayed,
                 "weight_decay": weight_decay + self.config.reg / float(self.n_train)},
                {"params": others, "weight_decay": weight_decay}]

    def training_loss(self, user_idx, item_idx, target, generator=None):
        """Squared error of the decoded ratings (the L2 term is in :meth:`param_groups`).
        Batches hold few movies (see :meth:`training_order`), so each movie is decoded for
        every user with one matrix product, as the paper does, and the rated entries are read
        off."""
        unique, inverse = torch.unique(item_idx, return_inverse=True)
        decoded = torch.addmm(self.user_bias.weight.T, self.codes(unique), self.decoder.weight.T)
        out = decoded.reshape(-1).take(inverse * self.n_users + user_idx)
        loss = nn.functional.mse_loss(out, target)
        return loss, loss, out

    def item_embeddings(self) -> torch.Tensor:
        """Every movie's code: what AutoRec has learned to say about it."""
        return self.codes(torch.arange(self.n_items, device=self.code_bias.device))

    def architecture(self) -> list[dict]:
        h = self.config.hidden
        return [
            {"name": "movie ratings", "kind": f"Input: a movie's ratings by {self.n_users:,} "
             "users (0 where unrated)", "shape": f"(batch, {self.n_users})", "params": 0,
             "inputs": []},
            {"name": "encoder", "kind": f"Dense {self.n_users:,} x {h}, sigmoid",
             "shape": f"(batch, {h})", "params": self.encoder.weight.numel()
             + self.code_bias.numel(), "inputs": ["movie ratings"]},
            {"name": "decoder", "kind": f"Dense {h} x {self.n_users:,}, identity",
             "shape": f"(batch, {self.n_users})", "params": self.decoder.weight.numel()
             + self.user_bias.weight.numel(), "inputs": ["encoder"]},
        ]
