"""Implicit alternating least squares (iALS): matrix factorisation fitted to who rated what,
every unrated movie counting as a weak zero, by exact alternating solves (Hu, Koren & Volinsky,
"Collaborative Filtering for Implicit Feedback Datasets", ICDM 2008), with the regularisation
that grows with each user's and movie's number of ratings of Rendle, Krichene, Zhang & Koren,
"Revisiting the Performance of iALS on Item Recommendation Benchmarks", RecSys 2022."""

from __future__ import annotations

import typing
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from movierec.errors import ConfigError
from movierec.models.base import Recommender, ranking_error
from movierec.tuning.space import Range

# Users (or movies) whose systems are assembled and solved together: a chunk's d x d matrices
# take chunk * d * d * 4 bytes (128 MB at d = 256).
SOLVE_CHUNK = 512


@dataclass(frozen=True)
class IALSConfig:
    """Hyperparameters of :class:`IALS`.

    Attributes:
        dim: size of the user and movie factors.
        unobserved_weight: the weight (alpha_0) of the squared score of every pair that was not
            rated, against 1 for each rated pair.
        reg: the L2 penalty lambda on the factors.
        reg_exponent: the penalty of a user (movie) is ``reg * (n + unobserved_weight * N)**
            reg_exponent``, n its ratings and N the number of movies (users); 0 gives every
            one the same penalty.
        init_std: standard deviation of the initial factors, times 1/sqrt(dim).
    """

    # What a study draws from (movierec.tuning): the factors' size, the unrated pairs' weight
    # and both penalty settings, over the model's 8 sweeps.
    SEARCH_SPACE: typing.ClassVar[dict] = {
        "dim": Range(32, 512, log=True, integer=True),
        "unobserved_weight": Range(0.01, 1.0, log=True), "reg": Range(1e-4, 0.1, log=True),
        "reg_exponent": Range(0.0, 1.5)}

    dim: int = 128
    unobserved_weight: float = 0.1
    reg: float = 0.005
    reg_exponent: float = 1.0
    init_std: float = 0.1

    def __post_init__(self) -> None:
        if not 1 <= self.dim <= 2048:
            raise ConfigError(f"dim must be 1..2048, got {self.dim}")
        if not self.unobserved_weight > 0:
            raise ConfigError(f"unobserved_weight must be > 0, got {self.unobserved_weight:g}")
        if not self.reg > 0:
            raise ConfigError(f"reg must be > 0, got {self.reg:g}")
        if not 0 <= self.reg_exponent <= 2:
            raise ConfigError(f"reg_exponent must be in [0, 2], got {self.reg_exponent:g}")
        if not self.init_std > 0:
            raise ConfigError(f"init_std must be > 0, got {self.init_std:g}")


def solve_side(indptr: np.ndarray, indices: np.ndarray, other: torch.Tensor,
               unobserved_weight: float, reg: float, reg_exponent: float) -> torch.Tensor:
    """The exact least-squares factors of one side given the other's.

    Row ``r`` of the CSR pattern (``indptr``, ``indices``) lists the columns it rated; its
    factor ``w`` minimises ``sum_rated (w.h - 1)^2 + a0 sum_all (w.h)^2 + lam_r |w|^2``, so
    ``w = (H_r^T H_r + a0 H^T H + lam_r I)^-1 H_r^T 1``, one Cholesky solve per row, in chunks.
    """
    n, d = len(indptr) - 1, other.shape[1]
    gram = unobserved_weight * (other.T @ other)
    counts = torch.as_tensor(np.diff(indptr), dtype=other.dtype)
    penalty = reg * (counts + unobserved_weight * other.shape[0]) ** reg_exponent
    eye = torch.eye(d, dtype=other.dtype)
    out = torch.empty(n, d, dtype=other.dtype)
    index = torch.as_tensor(indices, dtype=torch.long)
    for start in range(0, n, SOLVE_CHUNK):
        end = min(n, start + SOLVE_CHUNK)
        lhs = torch.empty(end - start, d, d, dtype=other.dtype)
        rhs = torch.empty(end - start, d, dtype=other.dtype)
        for k, row in enumerate(range(start, end)):
            rated = other[index[indptr[row]:indptr[row + 1]]]
            torch.matmul(rated.T, rated, out=lhs[k])
            rhs[k] = rated.sum(0)
        lhs += gram + penalty[start:end, None, None] * eye
        factor = torch.linalg.cholesky(lhs)
        out[start:end] = torch.cholesky_solve(rhs[:, :, None], factor)[:, :, 0]
    return out


def _csr(rows: np.ndarray, cols: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, indices) of the distinct (row, col) pairs, rows in order."""
    n_cols = int(cols.max()) + 1 if len(cols) else 1
    pattern = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_rows, n_cols))
    pattern.sum_duplicates()
    return pattern.indptr, pattern.indices


class IALS(Recommender):
    """Score = user factors . movie factors, fitted so that rated pairs score near 1 and every
    other pair near 0 (with a small weight). Each epoch solves all users exactly given the
    movies, then all movies given the users. A new person's factors are one such solve over the
    movies they liked (no fold-in steps). Scores rank movies; they are not stars."""

    output = "score"
    closed_form = True

    def __init__(self, n_users: int, n_items: int, rating_scale: tuple[float, ...],
                 config: IALSConfig = IALSConfig()) -> None:
        super().__init__(n_users, n_items, rating_scale)
        self.config = config
        self.user_factors = nn.Embedding(n_users, config.dim)
        self.item_factors = nn.Embedding(n_items, config.dim)
        scale = config.init_std / config.dim ** 0.5
        for table in (self.user_factors, self.item_factors):
            nn.init.normal_(table.weight, 0.0, scale)
            table.weight.requires_grad_(False)
        self._pattern: tuple | None = None

    def workspace_bytes(self, n_train: int) -> int:
        """The rating pattern by user and by movie (CSR, twice), both sides' factors as float32
        copies and one chunk of d x d systems with their Cholesky factors."""
        d = self.config.dim
        return 2 * 12 * n_train + 2 * 4 * d * (self.n_users + self.n_items) \
            + 3 * 4 * SOLVE_CHUNK * d * d

    def architecture(self) -> list[dict]:
        c = self.config
        return [
            self._index_input("user"), self._index_input("movie"),
            self._embedding_row("user_factors", self.user_factors, "user"),
            self._embedding_row("movie_factors", self.item_factors, "movie"),
            {"name": "score", "kind": f"Dot product (alternating least squares, unrated pairs "
             f"weighted {c.unobserved_weight:g})", "shape": "(batch, 1)", "params": 0,
             "inputs": ["user_factors", "movie_factors"]},
        ]

    def user_vectors(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.user_factors(user_idx)

    def score_vectors(self, user_vec: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        return (user_vec * self.item_factors(item_idx)).sum(-1)

    def score_all(self, user_vec: torch.Tensor) -> torch.Tensor:
        return user_vec @ self.item_factors.weight.T

    def item_embeddings(self) -> torch.Tensor:
        return self.item_factors.weight

    def expected_rating(self, out: torch.Tensor) -> torch.Tensor:
        return out

    def training_loss(self, user_idx, item_idx, target, generator=None):
        """The ranking error (see :func:`~movierec.models.base.ranking_error`): measured,
        never stepped on; the factors come from :meth:`fit_epoch`."""
        return ranking_error(self, user_idx, item_idx, generator)

    def fit_epoch(self, user_idx, item_idx, rating, epoch) -> None:
        """One sweep: every user's factors given the movies', then every movie's given the
        users'."""
        if self._pattern is None or self._pattern[0] != len(user_idx):
            users, items = user_idx.cpu().numpy(), item_idx.cpu().numpy()
            self._pattern = (len(user_idx), _csr(users, items, self.n_users),
                             _csr(items, users, self.n_items))
        _, by_user, by_item = self._pattern
        c = self.config
        weights = self.item_factors.weight
        device, dtype = weights.device, weights.dtype
        items = weights.detach().cpu().float()
        users = solve_side(*by_user, items, c.unobserved_weight, c.reg, c.reg_exponent)
        items = solve_side(*by_item, users, c.unobserved_weight, c.reg, c.reg_exponent)
        with torch.no_grad():
            self.user_factors.weight.copy_(users.to(device, dtype))
            self.item_factors.weight.copy_(items.to(device, dtype))

    @torch.no_grad()
    def person_vector(self, item_idx: torch.Tensor, stars: torch.Tensor,
                      skipped: torch.Tensor | None = None) -> torch.Tensor:
        """A new person's factors: the exact solve over the movies they rated at or above their
        own average (all of them when every rating is the same)."""
        c = self.config
        liked = torch.unique(item_idx[stars >= stars.float().mean()].cpu())
        indptr = np.array([0, len(liked)])
        factors = self.item_factors.weight.detach().cpu().float()
        vec = solve_side(indptr, liked.numpy(), factors, c.unobserved_weight, c.reg,
                         c.reg_exponent)[0]
        return vec.to(self.item_factors.weight.device)
