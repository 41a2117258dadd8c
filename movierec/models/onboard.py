"""The onboarding model: suggestions for a newcomer who either answers the strip of popular movies
the Recommend page shows (rating those they have seen, skipping the rest) or searches for movies
they love, each way in fitted in closed form to people shown exactly that way (after Steck,
"Autoencoders that don't overfit towards the Identity", NeurIPS 2020, for the dropout closed form;
the strip after Rashid et al., "Getting to know you", IUI 2002, and Golbandi, Koren & Lempel,
"Adaptive bootstrapping of recommender systems using decision trees", WSDM 2011)."""

from __future__ import annotations

import typing
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from movierec.errors import ConfigError
from movierec.models.itemitem import ItemItemModel, ease_weights, gram_matrix
from movierec.models.onboard_fit import rating_features, ridge, search_moments, seen_moments
from movierec.strip import nearest_in_pool, pick_varied
from movierec.tuning.space import Range

# A strip's probabilities are kept off 0 and 1, where the entropy of an answer vanishes.
_EDGE = 0.01


@dataclass(frozen=True)
class OnboardConfig:
    """Hyperparameters of :class:`Onboard`.

    Attributes:
        pool: the most rated movies the strip asks about; skipping one of them is information.
        shown: movies on one strip (the Recommend page's 12).
        rounds: strips each training person is shown while the strip head is fitted.
        given: how many random ratings the searchers give (each training person is shown
            as if they had rated only that many of their movies, for each number in turn).
        liked: a rating at or above this is a movie the person liked (what is predicted).
        low_star_weight: a lowest-star rating's weight in a person's vector (the highest
            weighs 1), in (0, 1].
        l2_search, l2_strip: the L2 penalties of the search and strip heads.
        strip_weight: how much the simulated strip answers weigh against the searchers in the
            strip head's fit.
        discount_search, discount_strip: how much of the share of people who liked a movie is
            taken off its score in each head, so that suggestions follow the person's taste
            rather than the all-time favourites. Ratings of popular movies carry little taste,
            so the strip head takes off less.
        gate_power: a person is scored by the strip head in proportion to the share of their
            answers that are about pool movies (ratings of them and skips), raised to this
            power: searchers, whose ratings spread over the long tail, get the search head.
        seen_l2: the L2 penalty of the head that predicts which pool movies a person has seen.
        neighbour_l2: the L2 penalty of the EASE weights whose rows are the movie vectors.
    """

    # What a study draws from (movierec.tuning): both heads' penalties and popularity
    # discounts, the gate, the low stars' weight and the neighbour penalty.
    SEARCH_SPACE: typing.ClassVar[dict] = {
        "l2_search": Range(0.5, 50, log=True), "l2_strip": Range(5, 500, log=True),
        "discount_search": Range(0.0, 1.5), "discount_strip": Range(0.0, 1.5),
        "gate_power": Range(0.5, 6.0), "low_star_weight": Range(0.3, 1.0),
        "neighbour_l2": Range(50, 5000, log=True)}

    pool: int = 400
    shown: int = 12
    rounds: int = 3
    given: tuple[int, ...] = (1, 3, 5, 10, 20)
    liked: float = 4.0
    low_star_weight: float = 0.8
    l2_search: float = 5.0
    l2_strip: float = 60.0
    strip_weight: float = 1.0
    discount_search: float = 1.0
    discount_strip: float = 0.6
    gate_power: float = 3.0
    seen_l2: float = 20.0
    neighbour_l2: float = 500.0

    def __post_init__(self) -> None:
        if not (isinstance(self.pool, int) and 2 <= self.pool <= 5_000):
            raise ConfigError(f"pool must be a whole number from 2 to 5000, got {self.pool}")
        if not (isinstance(self.shown, int) and 1 <= self.shown <= 100):
            raise ConfigError(f"shown must be a whole number from 1 to 100, got {self.shown}")
        if not (isinstance(self.rounds, int) and 1 <= self.rounds <= 20):
            raise ConfigError(f"rounds must be a whole number from 1 to 20, got {self.rounds}")
        if not self.given or any(not 1 <= k <= 10_000 for k in self.given):
            raise ConfigError(f"given must list numbers of ratings from 1 to 10000, got "
                              f"{self.given}")
        if not 0 < self.low_star_weight <= 1:
            raise ConfigError(f"low_star_weight must be in (0, 1], got {self.low_star_weight:g}")
        for name in ("l2_search", "l2_strip", "seen_l2", "neighbour_l2"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name):g}")
        if not 0 <= self.strip_weight <= 100:
            raise ConfigError(f"strip_weight must be in [0, 100], got {self.strip_weight:g}")
        for name in ("discount_search", "discount_strip"):
            if not 0 <= getattr(self, name) <= 2:
                raise ConfigError(f"{name} must be in [0, 2], got {getattr(self, name):g}")
        if not 0 <= self.gate_power <= 20:
            raise ConfigError(f"gate_power must be in [0, 20], got {self.gate_power:g}")


class Onboard(ItemItemModel):
    """Suggestions for newcomers, for both ways in.

    A person is a vector over ``n + 2P + 1`` features: the weight of each rating (every movie),
    the stars of each rated pool movie around the middle of the scale, a 1 for each pool movie
    shown and skipped, and a constant. Two heads turn it into scores of every movie, each a
    ridge regression of "liked, and not yet shown" in closed form:

    - the *search* head is fitted to every training person shown as if they had rated only
      ``K`` of their movies, kept at random (the expectation over which is kept has a closed
      form, so there is no sampling);
    - the *strip* head is fitted, besides, to every training person answering ``rounds`` strips
      exactly as the page shows them: the strip is chosen by this model, they rate the movies
      they have rated and skip the rest.

    Each head takes ``discount`` times the share of people who liked a movie off its score;
    a person's scores blend the heads by the share of their answers that are about pool movies.
    A third head predicts which pool movies the person has seen, from the same features; the
    next strip asks about the movies whose answer is most uncertain among those they have
    probably seen (probability times entropy, after Rashid et al. 2002), never two near
    neighbours together. Movie vectors, for similar movies and the map, are the rows of EASE's
    symmetrised weights.
    """

    square_weights = False   # two heads over its own features instead
    uses_skips = True

    def __init__(self, n_users: int, n_items: int, rating_scale: tuple[float, ...],
                 config: OnboardConfig = OnboardConfig()) -> None:
        super().__init__(n_users, n_items, rating_scale)
        self.config = config
        p = min(config.pool, n_items)
        self.n_pool = p
        d = self.n_features
        self.register_buffer("search_weights", torch.zeros(d, n_items))
        self.register_buffer("strip_weights", torch.zeros(d, n_items))
        self.register_buffer("liked_share", torch.zeros(n_items))
        self.register_buffer("pool", torch.arange(p, dtype=torch.long))
        self.register_buffer("pool_near", torch.zeros(p, min(3, max(p - 1, 0)),
                                                      dtype=torch.long))
        self.register_buffer("seen_weights", torch.zeros(3 * p + 1, p))
        self.register_buffer("neighbours", torch.zeros(n_items, n_items))

    _learned = ("search_weights", "strip_weights", "liked_share", "seen_weights",
                "neighbours")

    @property
    def n_features(self) -> int:
        return self.n_items + 2 * self.n_pool + 1

    def workspace_bytes(self, n_train: int) -> int:
        """Dense float64 matrices of the solves: three Gram matrices and three right-hand
        sides of ``n + 2P + 1`` features (and a copy each while solving), the EASE solve of
        the movie vectors, and sparse features of every rating and simulated answer."""
        d, n = self.n_features, self.n_items
        return 8 * (4 * d * d + 4 * d * n) + 48 * n * n + 120 * n_train

    # --- people as vectors -----------------------------------------------------------------
    def star_weight(self, stars: torch.Tensor) -> torch.Tensor:
        low, high = float(self.stars[0]), float(self.stars[-1])
        position = (stars - low) / max(high - low, 1e-9)
        return self.config.low_star_weight + (1 - self.config.low_star_weight) * position

    def star_deviation(self, stars: torch.Tensor) -> torch.Tensor:
        """Stars around the middle of the scale, from -1 (lowest) to 1 (highest)."""
        low, high = float(self.stars[0]), float(self.stars[-1])
        return (2 * stars - low - high) / max(high - low, 1e-9)

    def _pool_slot(self) -> torch.Tensor:
        """Each movie's place in the pool, -1 outside it."""
        slot = torch.full((self.n_items,), -1, dtype=torch.long, device=self.pool.device)
        slot[self.pool] = torch.arange(self.n_pool, device=self.pool.device)
        return slot

    def person_vector(self, item_idx: torch.Tensor, stars: torch.Tensor,
                      skipped: torch.Tensor | None = None) -> torch.Tensor:
        device = self.search_weights.device
        item_idx, stars = item_idx.to(device), stars.to(device).float()
        vec = torch.zeros(self.n_features, device=device)
        vec[item_idx] = self.star_weight(stars)
        slot = self._pool_slot()[item_idx]
        in_pool = slot >= 0
        vec[self.n_items + slot[in_pool]] = self.star_deviation(stars[in_pool])
        if skipped is not None and len(skipped):
            skipped_slot = self._pool_slot()[skipped.to(device)]
            skipped_slot = skipped_slot[skipped_slot >= 0]
            vec[self.n_items + self.n_pool + skipped_slot] = 1.0
        vec[-1] = 1.0
        return vec

    def _rows(self, user_idx: torch.Tensor) -> torch.Tensor:
        """Sparse feature rows ``(len(user_idx), n + 2P + 1)`` of training users (who skipped
        nothing)."""
        rows, positions = self._stored(user_idx)
        items, stars = self.user_items[positions], self.user_stars[positions]
        slot = self._pool_slot()[items]
        in_pool = slot >= 0
        count = len(user_idx)
        everyone = torch.arange(count, device=rows.device)
        index = torch.cat([torch.stack([rows, items]),
                           torch.stack([rows[in_pool], self.n_items + slot[in_pool]]),
                           torch.stack([everyone, torch.full_like(everyone,
                                                                  self.n_features - 1)])], dim=1)
        values = torch.cat([self.star_weight(stars), self.star_deviation(stars[in_pool]),
                            torch.ones(count, device=rows.device)])
        return torch.sparse_coo_tensor(index, values, (count, self.n_features),
                                       check_invariants=False).coalesce()

    def _gate(self, user_vec: torch.Tensor) -> torch.Tensor:
        """The strip head's share of each person's scores: the share of their answers about
        pool movies, to the power ``gate_power`` (1 for someone who has answered nothing)."""
        n, p = self.n_items, self.n_pool
        return self._gate_of((user_vec[..., :n] != 0).sum(-1).float(),
                             (user_vec[..., self.pool] != 0).sum(-1).float(),
                             (user_vec[..., n + p:n + 2 * p] != 0).sum(-1).float())

    def _gate_of(self, rated: torch.Tensor, pool_rated: torch.Tensor,
                 skipped: torch.Tensor) -> torch.Tensor:
        answers = rated + skipped
        share = torch.where(answers > 0, (pool_rated + skipped) / answers.clamp_min(1),
                            torch.ones_like(answers))
        return share ** self.config.gate_power

    def _sparse_gate(self, rows: torch.Tensor) -> torch.Tensor:
        """:meth:`_gate` of sparse feature rows, without making them dense."""
        row, column = rows.indices()
        count = rows.shape[0]
        n, p = self.n_items, self.n_pool
        rated = column < n
        in_pool = torch.zeros(n, dtype=torch.bool, device=column.device)
        in_pool[self.pool] = True
        pool_rated = rated & in_pool[column.clamp_max(n - 1)]
        skipped = (column >= n + p) & (column < n + 2 * p)

        def per_row(mask: torch.Tensor) -> torch.Tensor:
            return torch.bincount(row[mask], minlength=count).float()
        return self._gate_of(per_row(rated), per_row(pool_rated), per_row(skipped))

    def _blend(self, search: torch.Tensor, strip: torch.Tensor, gate: torch.Tensor,
               liked: torch.Tensor) -> torch.Tensor:
        c = self.config
        return ((1 - gate)[..., None] * (search - c.discount_search * liked)
                + gate[..., None] * (strip - c.discount_strip * liked))

    def user_vectors(self, user_idx: torch.Tensor) -> torch.Tensor:
        flat = user_idx.reshape(-1)
        return self._rows(flat).to_dense().reshape(*user_idx.shape, self.n_features)

    def score_vectors(self, user_vec: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        search = (user_vec * self.search_weights[:, item_idx].T).sum(-1)
        strip = (user_vec * self.strip_weights[:, item_idx].T).sum(-1)
        gate = self._gate(user_vec)
        c = self.config
        liked = self.liked_share[item_idx]
        return ((1 - gate) * (search - c.discount_search * liked)
                + gate * (strip - c.discount_strip * liked))

    def score_all(self, user_vec: torch.Tensor) -> torch.Tensor:
        return self._blend(user_vec @ self.search_weights, user_vec @ self.strip_weights,
                           self._gate(user_vec), self.liked_share)

    def forward(self, user_idx: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        """Scores of pairs: each distinct user's feature row is multiplied once (sparse) by
        both heads, then the asked movies are read off."""
        users, items = torch.broadcast_tensors(user_idx, item_idx)
        unique, inverse = torch.unique(users.reshape(-1), return_inverse=True)
        rows = self._rows(unique)
        gate = self._sparse_gate(rows)
        flat = items.reshape(-1)
        search = torch.sparse.mm(rows, self.search_weights)[inverse, flat]
        strip = torch.sparse.mm(rows, self.strip_weights)[inverse, flat]
        c = self.config
        liked = self.liked_share[flat]
        out = ((1 - gate[inverse]) * (search - c.discount_search * liked)
               + gate[inverse] * (strip - c.discount_strip * liked))
        return out.reshape(users.shape)

    # --- the strip ---------------------------------------------------------------------------
    def _seen_inputs(self, user_vec: torch.Tensor) -> torch.Tensor:
        """The seen head's inputs: the pool movies' rating weights, their stars, the skips and
        the constant."""
        n = self.n_items
        return torch.cat([user_vec[..., self.pool], user_vec[..., n:]], dim=-1)

    def seen_probability(self, user_vec: torch.Tensor) -> torch.Tensor:
        """For each pool movie, the chance that the person has seen it (and could rate it),
        given what they rated and skipped: ``(..., P)``, kept within [0.01, 0.99]."""
        return (self._seen_inputs(user_vec) @ self.seen_weights).clamp(_EDGE, 1 - _EDGE)

    def strip_scores(self, user_vec: torch.Tensor) -> torch.Tensor:
        """How much asking about each pool movie is worth: the chance of an answer times its
        entropy (an answer that is almost sure tells little)."""
        p = self.seen_probability(user_vec)
        entropy = -(p * torch.log2(p) + (1 - p) * torch.log2(1 - p))
        return p * entropy

    # --- training ----------------------------------------------------------------------------
    def fit_epoch(self, user_idx, item_idx, rating, epoch) -> None:
        c = self.config
        x = self._store_people(user_idx, item_idx, rating)
        n_users, n, p = self.n_users, self.n_items, self.n_pool
        counts = np.bincount(x.indices, minlength=n)
        pool = np.lexsort((np.arange(n), -counts))[:p]
        self.pool.copy_(torch.as_tensor(pool))
        slot = np.full(n, -1)
        slot[pool] = np.arange(p)
        stars = self.user_stars.cpu().numpy().astype(np.float64)
        liked = sp.csr_matrix(((stars >= c.liked).astype(np.float64), x.indices.copy(),
                               x.indptr.copy()), shape=x.shape)
        liked.eliminate_zeros()
        deviation = self.star_deviation(torch.as_tensor(stars)).numpy()
        rating_rows = rating_features(x, deviation, slot, self.n_features)
        per_user = np.repeat(np.arange(n_users), np.diff(x.indptr))
        own_liked = sp.csr_matrix(((stars >= c.liked).astype(np.float64),
                                   (np.arange(len(stars)), x.indices)), shape=(len(stars), n))
        gram_search, cross_search = search_moments(rating_rows, per_user, liked, own_liked,
                                                    c.given, n_users)
        self._put("search_weights", ridge(gram_search, cross_search, c.l2_search))

        # Movie vectors: EASE on who rated what, symmetrised; they also keep a strip varied.
        binary = sp.csr_matrix((np.ones_like(x.data), x.indices, x.indptr), shape=x.shape)
        neighbours = ease_weights(gram_matrix(binary), c.neighbour_l2)
        neighbours += neighbours.T
        self._put("neighbours", neighbours)
        self.pool_near = torch.as_tensor(nearest_in_pool(neighbours[pool]))

        rated = sp.csr_matrix((stars, x.indices, x.indptr), shape=x.shape)[:, pool].toarray()
        seen = rated > 0
        chances = np.minimum(np.arange(1, c.rounds + 1) * c.shown / p, 1.0)
        gram, cross = seen_moments(
            seen, np.where(seen, self.star_weight(torch.as_tensor(rated)).numpy(), 0.0),
            np.where(seen, self.star_deviation(torch.as_tensor(rated)).numpy(), 0.0), chances)
        self._put("seen_weights", ridge(gram, cross, c.seen_l2))
        strip_rows, strip_liked = self._simulate_strips(x, liked, deviation, slot)
        gram = gram_search + c.strip_weight * np.asarray((strip_rows.T @ strip_rows).toarray())
        cross = cross_search + c.strip_weight * np.asarray(
            (strip_rows.T @ strip_liked).toarray())
        self._put("strip_weights", ridge(gram, cross, c.l2_strip))
        self._put("liked_share", np.asarray(liked.sum(0)).ravel() / max(n_users, 1))

    def _simulate_strips(self, x: sp.csr_matrix, liked: sp.csr_matrix, deviation: np.ndarray,
                         slot: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Every training person answers ``rounds`` strips, each chosen by this model from
        their answers so far (as the Recommend page does): they rate the movies they rated
        and skip the rest. Returns one feature row per person and round, and the movies they
        liked among those not yet shown."""
        c = self.config
        n_users, n, p = self.n_users, self.n_items, self.n_pool
        pool = self.pool.cpu().numpy()
        near = self.pool_near.cpu().numpy()
        seen_weights = self.seen_weights.cpu().numpy().astype(np.float64)
        rated_pool = x[:, pool].toarray() != 0                       # users x P
        weight_pool = x[:, pool].toarray()
        deviation_pool = sp.csr_matrix((deviation, x.indices, x.indptr),
                                       shape=x.shape)[:, pool].toarray()
        shown = np.zeros((n_users, p), dtype=bool)
        feature_rows, liked_rows = [], []
        for _ in range(c.rounds):
            answered = shown & rated_pool
            skipped = shown & ~rated_pool
            inputs = np.hstack([np.where(answered, weight_pool, 0.0),
                                np.where(answered, deviation_pool, 0.0),
                                skipped.astype(np.float64), np.ones((n_users, 1))])
            probability = np.clip(inputs @ seen_weights, _EDGE, 1 - _EDGE)
            worth = probability * -(probability * np.log2(probability)
                                    + (1 - probability) * np.log2(1 - probability))
            for user in range(n_users):
                shown[user, pick_varied(worth[user], near, ~shown[user], c.shown)] = True
            answered = shown & rated_pool
            skipped = shown & ~rated_pool
            users, slots = np.nonzero(answered)
            skip_users, skip_slots = np.nonzero(skipped)
            columns = np.concatenate([pool[slots], n + slots, n + p + skip_slots,
                                      np.full(n_users, self.n_features - 1)])
            rows = np.concatenate([users, users, skip_users, np.arange(n_users)])
            values = np.concatenate([weight_pool[users, slots], deviation_pool[users, slots],
                                     np.ones(len(skip_users)), np.ones(n_users)])
            feature_rows.append(sp.csr_matrix((values, (rows, columns)),
                                              shape=(n_users, self.n_features)))
            shown_movies = sp.csr_matrix((np.ones(shown.sum()), (np.nonzero(shown)[0],
                                                                  pool[np.nonzero(shown)[1]])),
                                         shape=(n_users, n))
            liked_rows.append(liked - liked.multiply(shown_movies))
        strip_liked = sp.vstack(liked_rows).tocsr()
        strip_liked.eliminate_zeros()
        return sp.vstack(feature_rows).tocsr(), strip_liked

    def architecture(self) -> list[dict]:
        n, p, d = self.n_items, self.n_pool, self.n_features
        return [
            {"name": "person", "kind": f"Input: ratings of {n:,} movies, stars and skips of "
             f"the {p:,} strip movies", "shape": f"(batch, {d})", "params": 0, "inputs": []},
            {"name": "search head", "kind": f"Weights {d:,} x {n:,} (closed form, people "
             "who searched)", "shape": f"(batch, {n})", "params": d * n, "inputs": ["person"]},
            {"name": "strip head", "kind": f"Weights {d:,} x {n:,} (closed form, people who "
             "answered strips)", "shape": f"(batch, {n})", "params": d * n,
             "inputs": ["person"]},
            {"name": "score", "kind": "Blend by the share of answers about strip movies, "
             "minus the discounted share who liked each movie", "shape": f"(batch, {n})",
             "params": n, "inputs": ["search head", "strip head"]},
            {"name": "seen head", "kind": f"Weights {3 * p + 1:,} x {p:,}: which strip movies "
             "the person has seen (picks the next strip)", "shape": f"(batch, {p})",
             "params": self.seen_weights.numel(), "inputs": ["person"]},
            {"name": "movie vectors", "kind": f"EASE weights {n:,} x {n:,}, symmetrised (for "
             "similar movies and the map)", "shape": f"({n}, {n})",
             "params": self.neighbours.numel(), "inputs": []},
        ]

    def item_embeddings(self) -> torch.Tensor:
        """Each movie's row of symmetrised EASE weights."""
        return self.neighbours
