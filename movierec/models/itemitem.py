"""Item-to-item linear models that turn a person's ratings straight into scores for every movie
(no fold-in): EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019) and
the newcomer model, a denoising variant fitted to people who have rated only a few movies (after
Steck, "Autoencoders that don't overfit towards the Identity", NeurIPS 2020)."""

from __future__ import annotations

import typing
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from movierec.errors import ConfigError
from movierec.limits import MAX_ITEMS
from movierec.models.base import Recommender, ranking_error
from movierec.tuning.space import Range


def gram_matrix(x: sp.csr_matrix, row_weights: np.ndarray | None = None) -> np.ndarray:
    """``X^T diag(w) X`` as a dense float64 array."""
    weighted = x if row_weights is None else sp.diags(row_weights) @ x
    return np.asarray((x.T @ weighted).toarray(), dtype=np.float64)


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """EASE's closed form: ``B = I - P diag(1 / diag(P))`` with ``P = (G + l2 I)^-1``, so that
    ``diag(B) = 0`` (a movie never predicts itself)."""
    regularised = gram.copy()
    regularised[np.diag_indices_from(regularised)] += l2
    inverse = np.linalg.inv(regularised)
    weights = -inverse / np.diag(inverse)[None, :]
    weights[np.diag_indices_from(weights)] = 0.0
    return weights


class ItemItemModel(Recommender):
    """A person is the vector ``x`` of their ratings over all movies (weighted by stars as the
    subclass says); their scores are ``x W - discount(x) * popular``, one matrix product.

    The training users' ratings are kept as buffers (CSR, saved with the run), so a training
    user's vector is their row. Scores rank movies; they are not stars.
    """

    output = "score"
    closed_form = True
    _resizable_buffers = ("user_items", "user_stars")
    # Models whose person vector is a movie vector keep one n x n weight matrix and the typical
    # rating's scores; a subclass with a vector of its own sets this False.
    square_weights = True

    def __init__(self, n_users: int, n_items: int, rating_scale: tuple[float, ...]) -> None:
        super().__init__(n_users, n_items, rating_scale)
        if n_items > MAX_ITEMS:
            raise ConfigError(f"{type(self).__name__} keeps a {n_items:,} x {n_items:,} matrix "
                              f"(about {n_items ** 2 * 4 / 2 ** 30:.1f} GB); it handles up to "
                              f"{MAX_ITEMS:,} movies: keep the most rated ones with "
                              "max_movies (--max-movies on the command line)")
        if self.square_weights:
            self.register_buffer("weights", torch.zeros(n_items, n_items))
            self.register_buffer("popular", torch.zeros(n_items))
        self.register_buffer("user_offsets", torch.zeros(n_users + 1, dtype=torch.long))
        self.register_buffer("user_items", torch.zeros(0, dtype=torch.long))
        self.register_buffer("user_stars", torch.zeros(0))
        # A parameter that nothing trains, so that device and dtype can be read off the model.
        self.anchor = nn.Parameter(torch.zeros(0), requires_grad=False)

    _learned = ("weights",)

    def workspace_bytes(self, n_train: int) -> int:
        """The solve's n x n matrices: the sparse product of who rated what (up to 12 bytes an
        entry), the float64 Gram matrix, its copy, its inverse and the weights before rounding to
        float32, and the training ratings as CSR."""
        return 48 * self.n_items ** 2 + 24 * n_train

    def n_parameters(self) -> int:
        return sum(getattr(self, name).numel() for name in self._learned)

    # --- what subclasses say -------------------------------------------------------------------
    def star_weight(self, stars: torch.Tensor) -> torch.Tensor:
        """The weight of a rating in a person's vector (1 for every rating by default)."""
        return torch.ones_like(stars)

    def discount(self, n_rated: torch.Tensor) -> torch.Tensor:
        """How many times ``popular`` is taken off the scores of a person with ``n_rated``
        ratings (none by default)."""
        return torch.zeros_like(n_rated)

    # --- people as vectors ---------------------------------------------------------------------
    def person_vector(self, item_idx: torch.Tensor, stars: torch.Tensor,
                      skipped: torch.Tensor | None = None) -> torch.Tensor:
        vec = torch.zeros(self.n_items, device=self.weights.device)
        vec[item_idx.to(vec.device)] = self.star_weight(stars.to(vec.device).float())
        return vec

    def _stored(self, user_idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The stored ratings of the training users ``user_idx``: for each, its row (place in
        ``user_idx``) and its position in ``user_items`` / ``user_stars``, by row then movie."""
        starts, ends = self.user_offsets[user_idx], self.user_offsets[user_idx + 1]
        lengths = ends - starts
        first = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)[:-1]])
        positions = torch.repeat_interleave(starts - first, lengths) + \
            torch.arange(int(lengths.sum()), device=lengths.device)
        rows = torch.repeat_interleave(torch.arange(len(user_idx), device=lengths.device),
                                       lengths)
        return rows, positions

    def _rows(self, user_idx: torch.Tensor) -> torch.Tensor:
        """Sparse rows ``(len(user_idx), n_items)`` of the training users' vectors."""
        rows, positions = self._stored(user_idx)
        return torch.sparse_coo_tensor(torch.stack([rows, self.user_items[positions]]),
                                       self.star_weight(self.user_stars[positions]),
                                       size=(len(user_idx), self.n_items), is_coalesced=True,
                                       check_invariants=False)

    def user_vectors(self, user_idx: torch.Tensor) -> torch.Tensor:
        flat = user_idx.reshape(-1)
        return self._rows(flat).to_dense().reshape(*user_idx.shape, self.n_items)

    def _discount_of(self, user_vec: torch.Tensor) -> torch.Tensor:
        return self.discount((user_vec != 0).sum(-1).to(user_vec.dtype))

    def score_vectors(self, user_vec: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        raw = (user_vec * self.weights[:, item_idx].T).sum(-1)
        return raw - self._discount_of(user_vec) * self.popular[item_idx]

    def score_all(self, user_vec: torch.Tensor) -> torch.Tensor:
        return user_vec @ self.weights - self._discount_of(user_vec)[:, None] * self.popular

    def forward(self, user_idx: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        """Scores of pairs: each distinct user's row is multiplied once (sparse) by the weights,
        then the asked movies are read off."""
        users, items = torch.broadcast_tensors(user_idx, item_idx)
        unique, inverse = torch.unique(users.reshape(-1), return_inverse=True)
        rows = self._rows(unique)
        raw = torch.sparse.mm(rows, self.weights)[inverse, items.reshape(-1)]
        n_rated = (self.user_offsets[unique + 1] - self.user_offsets[unique]).to(raw.dtype)
        out = raw - self.discount(n_rated)[inverse] * self.popular[items.reshape(-1)]
        return out.reshape(users.shape)

    # --- training ------------------------------------------------------------------------------
    def training_loss(self, user_idx, item_idx, target, generator=None):
        """The ranking error (see :func:`~movierec.models.base.ranking_error`): these models
        are fitted by :meth:`fit_epoch`; this is measured, never stepped on."""
        return ranking_error(self, user_idx, item_idx, generator)

    def _store_people(self, user_idx: torch.Tensor, item_idx: torch.Tensor,
                      rating: torch.Tensor) -> sp.csr_matrix:
        """Keep the training ratings as CSR buffers; returns the weighted users x movies
        matrix."""
        order = torch.argsort(user_idx * self.n_items + item_idx)
        counts = torch.bincount(user_idx, minlength=self.n_users)
        self.user_offsets = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        self.user_items = item_idx[order].clone()
        self.user_stars = rating[order].float().clone()
        values = self.star_weight(self.user_stars).cpu().numpy().astype(np.float64)
        return sp.csr_matrix((values, self.user_items.cpu().numpy(),
                              self.user_offsets.cpu().numpy()),
                             shape=(self.n_users, self.n_items))

    def _put(self, name: str, array: np.ndarray) -> None:
        getattr(self, name).copy_(torch.as_tensor(array, dtype=torch.float32))

    def architecture(self) -> list[dict]:
        n = self.n_items
        return [
            {"name": "person", "kind": f"Input: a person's ratings over {n:,} movies",
             "shape": f"(batch, {n})", "params": 0, "inputs": []},
            {"name": "weights", "kind": f"Item-to-item weights {n:,} x {n:,} (closed form)",
             "shape": f"(batch, {n})", "params": self.weights.numel(), "inputs": ["person"]},
            {"name": "score", "kind": "Score of every movie", "shape": f"(batch, {n})",
             "params": 0, "inputs": ["weights"]},
        ]


@dataclass(frozen=True)
class EASEConfig:
    """Hyperparameters of :class:`EASE`.

    Attributes:
        l2: the L2 penalty lambda on the item-to-item weights (Steck used 500 on ML-20M).
    """

    # What a study draws from (movierec.tuning): the one penalty.
    SEARCH_SPACE: typing.ClassVar[dict] = {"l2": Range(10, 5000, log=True)}

    l2: float = 500.0

    def __post_init__(self) -> None:
        if not self.l2 > 0:
            raise ConfigError(f"l2 must be > 0, got {self.l2:g}")


class EASE(ItemItemModel):
    """EASE: the weights ``B`` minimise ``||X - X B||^2 + l2 ||B||^2`` with ``diag(B) = 0``, X
    the 0/1 matrix of who rated what; a person's scores are ``x B``. A movie's vector for
    neighbours is its row of ``B + B^T``."""

    def __init__(self, n_users: int, n_items: int, rating_scale: tuple[float, ...],
                 config: EASEConfig = EASEConfig()) -> None:
        super().__init__(n_users, n_items, rating_scale)
        self.config = config

    def fit_epoch(self, user_idx, item_idx, rating, epoch) -> None:
        rated = self._store_people(user_idx, item_idx, rating)
        self._put("weights", ease_weights(gram_matrix(rated), self.config.l2))

    def item_embeddings(self) -> torch.Tensor:
        return self.weights + self.weights.T


@dataclass(frozen=True)
class NewcomerConfig:
    """Hyperparameters of :class:`Newcomer`.

    Attributes:
        given: how many ratings the simulated newcomers give (each training person is shown
            as if they had rated only that many of their movies, for each number in turn).
        l2: the L2 penalty on the weights.
        liked: a rating at or above this is a movie the person liked (what is predicted).
        low_star_weight: the weight of a lowest-star rating in a person's vector (the highest
            weighs 1, linear in between), so that a 1-star movie pulls in its kind less.
        discount: how much of the typical person's scores is taken off a person's, so that
            suggestions follow their taste rather than the all-time favourites (0: none).
        discount_halfway: the number of ratings at which the discount reaches half its
            strength: people with few ratings lean more on what is generally liked.
        neighbour_l2: the L2 penalty of the EASE weights whose rows are the movie vectors
            (for similar movies and the map).
    """

    # What a study draws from (movierec.tuning): the penalties, the low stars' weight and the
    # popularity discount.
    SEARCH_SPACE: typing.ClassVar[dict] = {
        "l2": Range(1, 200, log=True), "low_star_weight": Range(0.2, 1.0),
        "discount": Range(0.0, 3.0), "discount_halfway": Range(0.0, 10.0),
        "neighbour_l2": Range(50, 5000, log=True)}

    given: tuple[int, ...] = (1, 3, 5, 10, 20)
    l2: float = 20.0
    liked: float = 4.0
    low_star_weight: float = 0.8
    discount: float = 1.25
    discount_halfway: float = 2.0
    neighbour_l2: float = 500.0

    def __post_init__(self) -> None:
        if not self.given or any(not 1 <= k <= 10_000 for k in self.given):
            raise ConfigError(f"given must list numbers of ratings from 1 to 10000, got "
                              f"{self.given}")
        for name in ("l2", "neighbour_l2"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name):g}")
        if not 0 <= self.low_star_weight <= 1:
            raise ConfigError(f"low_star_weight must be in [0, 1], got "
                              f"{self.low_star_weight:g}")
        if not 0 <= self.discount <= 10:
            raise ConfigError(f"discount must be in [0, 10], got {self.discount:g}")
        if not self.discount_halfway >= 0:
            raise ConfigError(f"discount_halfway must be >= 0, got {self.discount_halfway:g}")


class Newcomer(ItemItemModel):
    """Suggestions for people who have rated a few movies.

    Every training person is shown as a newcomer who rated only ``K`` of their movies, kept at
    random, and the weights learn to predict which of their other movies they liked. The
    expectation over which movies are kept has a closed form (the dropout view of EASE), so
    there is no sampling: with ``q_u = min(K / n_u, 1)`` the chance that one of user ``u``'s
    ``n_u`` ratings is shown,

        W = (X^T diag(E[q^2]) X + diag(X^T (E[q] - E[q^2]) x^2) + l2 I)^-1 X^T diag(E[q(1-q)]) Y

    with X the star-weighted ratings, Y the liked movies and the expectation over ``given``;
    no movie predicts itself. A person's scores are then ``x W`` minus ``discount`` times a
    typical rating's contribution per rating given, the discount growing with the number of
    ratings (``K / (K + discount_halfway)``): the fewer ratings, the more the suggestions lean on
    what everyone likes; the more, the more on the person's own taste.
    """

    def __init__(self, n_users: int, n_items: int, rating_scale: tuple[float, ...],
                 config: NewcomerConfig = NewcomerConfig()) -> None:
        super().__init__(n_users, n_items, rating_scale)
        self.config = config
        self.register_buffer("neighbours", torch.zeros(n_items, n_items))

    def workspace_bytes(self, n_train: int) -> int:
        """Three sparse products (the shown ratings' Gram matrix, shown against liked, and the
        EASE one for neighbours) and about six dense float64 n x n matrices at the peak:
        measured 11 GB with 10,000 movies and 28 million ratings."""
        return 96 * self.n_items ** 2 + 40 * n_train

    def star_weight(self, stars: torch.Tensor) -> torch.Tensor:
        low, high = float(self.stars[0]), float(self.stars[-1])
        position = (stars - low) / max(high - low, 1e-9)
        return self.config.low_star_weight + (1 - self.config.low_star_weight) * position

    def discount(self, n_rated: torch.Tensor) -> torch.Tensor:
        c = self.config
        return c.discount * n_rated * n_rated / (n_rated + c.discount_halfway)

    def fit_epoch(self, user_idx, item_idx, rating, epoch) -> None:
        c = self.config
        x = self._store_people(user_idx, item_idx, rating)
        n = np.maximum(np.diff(x.indptr), 1).astype(np.float64)
        shown = np.minimum(np.asarray(c.given, dtype=np.float64)[:, None] / n[None, :], 1.0)
        both = (shown ** 2).mean(0)                     # two given ratings both shown
        one = shown.mean(0)                             # one shown
        shown_other_hidden = (shown * (1 - shown)).mean(0)
        gram = gram_matrix(x, both)
        gram[np.diag_indices_from(gram)] += np.asarray(
            x.multiply(x).T @ (one - both)).ravel() + c.l2
        liked = sp.csr_matrix(((self.user_stars >= c.liked).cpu().numpy().astype(np.float64),
                               x.indices, x.indptr), shape=x.shape)
        cross = np.asarray((x.T @ (sp.diags(shown_other_hidden) @ liked)).toarray())
        cross[np.diag_indices_from(cross)] = 0.0        # a shown movie is never also hidden
        weights = np.linalg.solve(gram, cross)
        frequency = np.asarray(x.sum(0)).ravel()
        self._put("weights", weights)
        self._put("popular", (frequency / max(frequency.sum(), 1e-12)) @ weights)
        # Movie vectors for neighbours: EASE on who rated what, symmetrised.
        binary = sp.csr_matrix((np.ones_like(x.data), x.indices, x.indptr), shape=x.shape)
        neighbours = ease_weights(gram_matrix(binary), c.neighbour_l2)
        self._put("neighbours", neighbours + neighbours.T)

    _learned = ("weights", "popular", "neighbours")

    def architecture(self) -> list[dict]:
        n = self.n_items
        layers = super().architecture()
        layers[-1] = {"name": "score", "kind": "Score of every movie, minus the discounted "
                      "popularity", "shape": f"(batch, {n})", "params": self.popular.numel(),
                      "inputs": ["weights"]}
        layers.append({"name": "movie vectors", "kind": f"EASE weights {n:,} x {n:,}, "
                       "symmetrised (for similar movies and the map)", "shape": f"({n}, {n})",
                       "params": self.neighbours.numel(), "inputs": []})
        return layers

    def item_embeddings(self) -> torch.Tensor:
        """Each movie's row of symmetrised EASE weights: movies are alike when the same movies
        predict them and they predict the same movies."""
        return self.neighbours
