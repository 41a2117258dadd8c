"""The interface every recommender implements, so that training, evaluation, fold-in and the
dashboard work with any registered model."""

from __future__ import annotations

import torch
from torch import nn

RATING_NOISE_VAR = 0.8   # squared-error likelihood variance used by fold-in for rating models


def ranking_error(model: Recommender, user_idx: torch.Tensor, item_idx: torch.Tensor,
                  generator: torch.Generator | None = None) \
        -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The "loss" of models fitted in closed form, measured, never stepped on: the share of
    movies drawn at random (4 per rating) that score above a rated movie, ties counting half
    (0.5 for a model that scores everything alike). Returned as ``training_loss`` returns."""
    negatives = torch.randint(0, model.n_items, (len(user_idx), 4),
                              generator=generator).to(user_idx.device)
    # one pass: a model that shares work per user scores all five movies of a rating together
    scores = model(user_idx[:, None], torch.cat([item_idx[:, None], negatives], dim=1))
    positive, negative = scores[:, 0], scores[:, 1:]
    above = (negative > positive[:, None]).float() + 0.5 * (negative == positive[:, None])
    loss = above.mean()
    return loss, loss, positive


class Recommender(nn.Module):
    """Base class of movierec models.

    A model scores ``(user_idx, item_idx)`` pairs. It splits into a per-user vector
    (:meth:`user_vectors`) and the rest (:meth:`score_vectors`), which is what lets fold-in fit a
    vector for a new person with every model parameter frozen.

    Subclasses set ``output`` to ``"classes"`` (logits over the star values, trained with
    cross-entropy) or ``"rating"`` (one predicted rating, trained with squared error).
    """

    output = "rating"
    # Models fitted in closed form (or by alternating solves) rather than by minibatch steps:
    # the trainer calls fit_epoch once per epoch instead, and builds no optimizer.
    closed_form = False
    # Models whose training_loss gives sparse gradients (only the rows of a batch) set this;
    # the trainer then updates them with LazyAdam.
    sparse_updates = False
    # Models whose person vector learns from the movies a person was shown and skipped (they can
    # score someone who has only skipped); the others only never suggest a skipped movie.
    uses_skips = False
    # Buffers whose length depends on the training data: sized from a saved state on load.
    _resizable_buffers: tuple[str, ...] = ()

    def __init__(self, n_users: int, n_items: int, rating_scale: tuple[float, ...]) -> None:
        super().__init__()
        if n_users < 1 or n_items < 1:
            raise ValueError("a model needs at least one user and one item")
        self.n_users = int(n_users)
        self.n_items = int(n_items)
        self.register_buffer("stars", torch.tensor(rating_scale, dtype=torch.float32),
                             persistent=False)

    # --- to implement -------------------------------------------------------------------------
    def user_vectors(self, user_idx: torch.Tensor) -> torch.Tensor:
        """The learned vector of each user in ``user_idx``: shape ``(*user_idx.shape, D)``."""
        raise NotImplementedError

    def score_vectors(self, user_vec: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        """Model output for user vectors ``(N, D)`` and items ``(N,)``: logits ``(N, K)`` for
        ``classes`` models, ratings ``(N,)`` for ``rating`` models."""
        raise NotImplementedError

    def item_embeddings(self) -> torch.Tensor:
        """One vector per ``item_idx`` (``(n_items, d)``): what similarity and maps use."""
        raise NotImplementedError

    def architecture(self) -> list[dict]:
        """The network layer by layer, for diagrams: dicts with ``name``, ``kind``, ``shape``
        (output shape, batch first), ``params`` and ``inputs`` (names of feeding layers).
        This default lists the top-level modules in order; models override it."""
        layers, previous = [], []
        for name, module in self.named_children():
            layers.append({"name": name, "kind": type(module).__name__, "shape": "",
                           "params": sum(p.numel() for p in module.parameters()),
                           "inputs": previous})
            previous = [name]
        return layers

    @staticmethod
    def _index_input(who: str) -> dict:
        """The architecture row of the ``user`` or ``movie`` index input."""
        return {"name": who, "kind": f"Input ({who} index)", "shape": "(batch, 1)",
                "params": 0, "inputs": []}

    @staticmethod
    def _embedding_row(name: str, table: nn.Embedding, source: str,
                       kind: str | None = None) -> dict:
        """The architecture row of embedding ``table`` looked up by index input ``source``."""
        rows, width = table.weight.shape
        return {"name": name, "kind": kind or f"Embedding {rows:,} x {width}",
                "shape": f"(batch, {width})", "params": table.weight.numel(),
                "inputs": [source]}

    def n_parameters(self) -> int:
        """How many numbers the model learned (parameters, or a closed-form model's weights)."""
        return sum(p.numel() for p in self.parameters())

    # --- optional -----------------------------------------------------------------------------
    def person_vector(self, item_idx: torch.Tensor, stars: torch.Tensor,
                      skipped: torch.Tensor | None = None) -> torch.Tensor | None:
        """A new person's user vector computed straight from their ratings (and the movies
        they were shown and skipped, for models that use that), for models that encode people
        directly; None (the default) means it is fitted by fold-in."""
        return None

    def fit_epoch(self, user_idx: torch.Tensor, item_idx: torch.Tensor, rating: torch.Tensor,
                  epoch: int) -> None:
        """One epoch of a ``closed_form`` model: a solve on all the training ratings."""
        raise NotImplementedError(f"{type(self).__name__} trains by minibatch steps")

    def activation_bytes(self, batch_size: int, n_train: int) -> int:
        """Bytes one training batch saves for its backward pass. The memory check measures
        this on PyTorch's meta device; a model whose step cannot run there says it here."""
        return 0

    def workspace_bytes(self, n_train: int) -> int:
        """Bytes a training needs beyond the parameters, Adam's state and the ratings (a
        closed-form solve's matrices); 0 by default."""
        return 0

    # --- shared -----------------------------------------------------------------------------
    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A saved run's data-sized buffers are as long as its training set: size them to match.
        for name in self._resizable_buffers:
            saved = state_dict.get(prefix + name)
            if saved is not None:
                setattr(self, name, torch.empty_like(saved))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def score_all(self, user_vec: torch.Tensor) -> torch.Tensor:
        """Outputs for every item and each of the user vectors ``(P, D)``: ``(P, n_items)``
        (``(P, n_items, K)`` for ``classes`` models)."""
        items = torch.arange(self.n_items, device=user_vec.device)
        out = [self.score_vectors(vec.expand(self.n_items, -1), items) for vec in user_vec]
        return torch.stack(out)

    def on_train_start(self, rating: torch.Tensor, user_idx: torch.Tensor | None = None,
                       item_idx: torch.Tensor | None = None) -> None:
        """Hook called once before the first epoch with the training ratings (and their
        users and movies)."""

    def param_groups(self, weight_decay: float) -> list[dict]:
        """Optimizer parameter groups (one group with ``weight_decay`` by default)."""
        return [{"params": list(self.parameters()), "weight_decay": weight_decay}]

    def training_order(self, item_idx: torch.Tensor, generator: torch.Generator) \
            -> torch.Tensor:
        """The order in which an epoch visits the training ratings (random by default)."""
        return torch.randperm(len(item_idx), generator=generator).to(item_idx.device)

    def forward(self, user_idx: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        """Output for every pair; ``user_idx`` and ``item_idx`` broadcast against each other,
        so one user against all items is ``model(torch.tensor([u]), torch.arange(n))``."""
        users, items = torch.broadcast_tensors(user_idx, item_idx)
        shape = users.shape
        out = self.score_vectors(self.user_vectors(users.reshape(-1)), items.reshape(-1))
        return out.reshape(*shape, *out.shape[1:])

    def star_index(self, rating: torch.Tensor) -> torch.Tensor:
        """Position of each rating among the star values (ratings must lie on the scale)."""
        return torch.bucketize(rating, self.stars.to(rating.device))

    def targets(self, rating: torch.Tensor) -> torch.Tensor:
        """What the loss compares outputs with: class indices or the ratings themselves."""
        if self.output == "classes":
            return self.star_index(rating)
        return rating

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss of outputs against targets (cross-entropy or squared error)."""
        if self.output == "classes":
            return nn.functional.cross_entropy(out, target)
        return nn.functional.mse_loss(out, target)

    def training_loss(self, user_idx: torch.Tensor, item_idx: torch.Tensor,
                      target: torch.Tensor, generator: torch.Generator | None = None) \
            -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One batch's objective.

        Returns:
            (what to minimise, the data loss alone for reporting, the outputs).
        """
        out = self.score_vectors(self.user_vectors(user_idx), item_idx)
        loss = self.loss(out, target)
        return loss, loss, out

    def fold_in_loss(self, vec: torch.Tensor, items: torch.Tensor, stars: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """What fold-in minimises for one person's ratings (a negative log-likelihood summed
        over the ratings): cross-entropy for ``classes`` models, squared error over a noise
        variance of ``RATING_NOISE_VAR`` stars for ``rating`` models."""
        out = self.score_vectors(vec.expand(len(items), -1), items)
        scale = 1.0 if self.output == "classes" else 1.0 / (2 * RATING_NOISE_VAR)
        return self.loss(out, self.targets(stars)) * len(items) * scale

    def expected_rating(self, out: torch.Tensor) -> torch.Tensor:
        """Predicted stars from outputs: probabilities times stars for ``classes`` models, the
        output clipped to the scale for ``rating`` models."""
        if self.output == "classes":
            return out.softmax(-1) @ self.stars
        return out.clamp(float(self.stars[0]), float(self.stars[-1]))

    def ranking_score(self, out: torch.Tensor) -> torch.Tensor:
        """What top-N lists sort by: the expected rating (before clipping) by default."""
        if self.output == "classes":
            return out.softmax(-1) @ self.stars
        return out

    def predicted_class(self, out: torch.Tensor) -> torch.Tensor:
        """Index of the predicted star value: the argmax class, or the nearest star."""
        if self.output == "classes":
            return out.argmax(-1)
        return (out.unsqueeze(-1) - self.stars).abs().argmin(-1)

    @torch.no_grad()
    def predict(self, user_idx: torch.Tensor, item_idx: torch.Tensor) -> torch.Tensor:
        """Predicted stars for pairs (broadcasting as in :meth:`forward`); no gradients."""
        return self.expected_rating(self(user_idx, item_idx))
