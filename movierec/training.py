"""One training loop for every model: it yields a record per epoch, and the CLI, the dashboard
and the tests all consume the same generator (stopping early is ``break``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch

from movierec import distributed
from movierec.config import TrainConfig
from movierec.data.candidates import Candidates, sampled_candidates
from movierec.errors import ConfigError, TrainingDiverged
from movierec.evaluation.ranking import candidate_metrics
from movierec.interactions import Interactions
from movierec.models.base import Recommender
from movierec.models.layers import Dropout
from movierec.models.lazy_adam import LazyAdam
from movierec.split import Split

EVAL_BATCH = 1 << 16
# A closed-form model's training metrics are measured on this many training ratings at most
# (a fixed seeded sample): measuring all of them could take longer than the solve itself.
CLOSED_FORM_SAMPLE = 100_000
# The validation of a process that does not validate (among processes, all but rank 0).
_NOT_VALIDATED = {"loss": math.nan, "rmse": math.nan, "mae": math.nan, "accuracy": math.nan}


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch did. ``train_*`` are measured on the fly (dropout on); ``val_*`` on the
    held-out ratings with the model in evaluation mode. RMSE, MAE and accuracy are NaN for
    models that score rather than predict stars; HR@10 and NDCG@10 are None when not measured.
    ``seconds`` is the time of the training steps and of the rating metrics; the ranking
    metrics' own time is in ``ranking_seconds``."""

    epoch: int
    train_loss: float
    train_rmse: float
    train_accuracy: float
    val_loss: float
    val_rmse: float
    val_mae: float
    val_accuracy: float
    lr: float
    seconds: float
    val_hr10: float | None = None
    val_ndcg10: float | None = None
    ranking_seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when present, else the CPU; ``cuda`` without a GPU is a ConfigError.
    Among processes started by torchrun, CUDA is each process's own GPU, ``cuda:LOCAL_RANK``."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but no CUDA GPU is available")
    if name.startswith("cuda") and distributed.world_size() > 1:
        if name != "cuda":
            raise ConfigError(f"device {name!r}: among processes started by torchrun each one "
                              "uses its own GPU, cuda:LOCAL_RANK; ask for cuda or auto")
        return torch.device("cuda", distributed.local_rank())
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device 'mps' was asked for but is not available")
    return torch.device(name)


@dataclass(frozen=True, eq=False)
class _Tensors:
    """One side of a split as tensors that already sit on the device."""

    user_idx: torch.Tensor
    item_idx: torch.Tensor
    rating: torch.Tensor
    target: torch.Tensor
    star_idx: torch.Tensor

    @classmethod
    def of(cls, data: Interactions, model: Recommender, device: torch.device) -> _Tensors:
        rating = torch.as_tensor(data.rating, dtype=torch.float32, device=device)
        return cls(torch.as_tensor(data.user_idx, device=device),
                   torch.as_tensor(data.item_idx, device=device),
                   rating, model.targets(rating), model.star_index(rating))

    def __len__(self) -> int:
        return len(self.rating)

    def sample(self, n: int, seed: int) -> _Tensors:
        """At most ``n`` of the ratings, drawn once at random (seeded), in their order."""
        if len(self) <= n:
            return self
        rows = np.sort(np.random.default_rng(seed).choice(len(self), n, replace=False))
        rows = torch.as_tensor(rows, device=self.rating.device)
        return _Tensors(self.user_idx[rows], self.item_idx[rows], self.rating[rows],
                        self.target[rows], self.star_idx[rows])


@torch.no_grad()
def evaluate(model: Recommender, data: Interactions, device: torch.device | None = None,
             batch_size: int = EVAL_BATCH) -> dict:
    """Loss, RMSE, MAE and accuracy of ``model`` (in evaluation mode) on ``data``.

    The model's training flag is restored afterwards.
    """
    device = device or next(model.parameters()).device
    tensors = _Tensors.of(data, model, device)
    return _evaluate_tensors(model, tensors, batch_size)


@torch.no_grad()
def _evaluate_tensors(model: Recommender, t: _Tensors, batch_size: int = EVAL_BATCH) -> dict:
    was_training = model.training
    model.eval()
    try:
        loss = sq = ab = hits = 0.0
        generator = torch.Generator().manual_seed(0)   # negatives of models that rank
        for start in range(0, len(t), batch_size):
            end = start + batch_size
            users, items = t.user_idx[start:end], t.item_idx[start:end]
            _, data_loss, out = model.training_loss(users, items, t.target[start:end],
                                                    generator)
            n = len(out)
            loss += float(data_loss) * n
            if model.output != "score":
                err = model.expected_rating(out) - t.rating[start:end]
                sq += float(err.square().sum())
                ab += float(err.abs().sum())
                hits += float((model.predicted_class(out) == t.star_idx[start:end]).sum())
        n = max(len(t), 1)
        if model.output == "score":
            return {"loss": loss / n, "rmse": math.nan, "mae": math.nan, "accuracy": math.nan}
        return {"loss": loss / n, "rmse": math.sqrt(sq / n), "mae": ab / n,
                "accuracy": hits / n}
    finally:
        model.train(was_training)


class EpochLoop:
    """The one training loop: epochs of ``model`` on ``split.train`` (Adam, or a closed-form
    solve), validating on the held-out ratings after each. :class:`movierec.experiment.Training`
    wraps it with the run it trains.

    Among N processes started by torchrun (see :mod:`movierec.distributed`), every process
    takes its part of each batch (``batch_size`` stays the whole batch), the model's gradients
    are averaged by DistributedDataParallel, the training metrics summed over all the parts,
    and rank 0 alone validates. Closed-form models are refused there.

    Args:
        model: a freshly built model, or one being continued.
        split: train and test ratings over the model's id maps.
        config: batch size, learning rate, seed, device.
        state: what :meth:`state_dict` returned at the end of an earlier session; the run then
            goes on exactly as if it had never stopped (optimizer, shuffling and dropout
            random streams included).
    """

    def __init__(self, model: Recommender, split: Split, config: TrainConfig,
                 state: dict | None = None) -> None:
        if split.n_users != model.n_users or split.n_items != model.n_items:
            raise ConfigError("the model's tables do not match the split's id maps")
        self.world = distributed.world_size()
        if self.world > 1 and model.closed_form:
            raise ConfigError(f"{type(model).__name__} is fitted in closed form, on all the "
                              "ratings at once, and cannot be trained across processes; train "
                              "it without torchrun")
        self.config = config
        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        self.train_data = _Tensors.of(split.train, model, self.device)
        self.validation_data = _Tensors.of(split.validation, model, self.device)
        # Among processes, rank 0 alone validates; the others go on to the next epoch.
        self.validates = distributed.is_main()
        ranking_eval = config.ranking_eval and self.validates
        self._ranking: Candidates | None = None   # fixed by a test file, else sampled
        if ranking_eval and split.candidates is not None:
            self._ranking = split.candidates
        elif ranking_eval and len(split.validation):
            try:
                self._ranking = sampled_candidates(split.train, split.validation, config.seed)
            except ValueError:   # tiny data: too few unrated movies for 99 negatives
                self._ranking = None
        self.generator = torch.Generator().manual_seed(config.seed)
        # Among processes the epoch's order comes from the stream above, alike in all of them,
        # and the dropout masks and sampled negatives from each process's own stream.
        self.step_generator = self.generator if self.world == 1 else torch.Generator()
        for module in model.modules():
            if isinstance(module, Dropout):
                module.generator = self.step_generator
        if state is None:
            model.on_train_start(self.train_data.rating, self.train_data.user_idx,
                                 self.train_data.item_idx)
        # The fused kernel does the whole Adam update in one pass (a third faster per step).
        fused = self.device.type in ("cpu", "cuda")
        if self.world > 1:
            # DistributedDataParallel averages dense gradients; the rows of a batch differ
            # from process to process.
            model.sparse_updates = False
        if model.closed_form:
            self.optimizer = None
        elif model.sparse_updates:
            self.optimizer = LazyAdam(model.param_groups(config.weight_decay), lr=config.lr)
        else:
            self.optimizer = torch.optim.Adam(model.param_groups(config.weight_decay),
                                              lr=config.lr, fused=fused)
        self._objective = distributed.Objective(model) if self.world == 1 else \
            distributed.data_parallel(model, self.device)
        self.epoch = 0
        if state is not None:
            self.load_state_dict(state)

    def state_dict(self) -> dict:
        """Optimizer and random-stream state: with the weights, all a continuation needs."""
        return {"optimizer": None if self.optimizer is None else self.optimizer.state_dict(),
                "generator": self.generator.get_state(), "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        """Take back what :meth:`state_dict` returned."""
        if self.optimizer is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.epoch = int(state["epoch"])

    def _steps(self, lr: float, on_batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One epoch of minibatch steps; returns the summed loss, squared error and hits."""
        model, opt, data = self.model, self.optimizer, self.train_data
        rank, world = distributed.rank(), self.world
        bounds = distributed.batch_bounds(len(data), self.config.batch_size, world)
        n_batches = len(bounds)
        model.train()
        order = model.training_order(data.item_idx, self.generator)
        if world > 1:
            seed = int(np.random.SeedSequence([self.config.seed, self.epoch, rank])
                       .generate_state(1)[0])
            self.step_generator.manual_seed(seed)
            if self.device.type == "cuda":   # GPU dropout draws from CUDA's own stream
                torch.cuda.manual_seed(seed)
        loss_sum = torch.zeros((), device=self.device)
        sq_sum = torch.zeros((), device=self.device)
        hit_sum = torch.zeros((), device=self.device)
        for b, (start, end) in enumerate(bounds):
            lo, hi = distributed.shard(start, end, rank, world)
            idx = order[lo:hi]
            users, items = data.user_idx[idx], data.item_idx[idx]
            total, loss, out = self._objective(users, items, data.target[idx],
                                               self.step_generator,
                                               (hi - lo) * world / (end - start))
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(idx)
                if model.output != "score":
                    sq_sum += (model.expected_rating(out) - data.rating[idx]).square().sum()
                    hit_sum += (model.predicted_class(out) == data.star_idx[idx]).sum()
            if (b % 32 == 31 or b == n_batches - 1) and not torch.isfinite(loss_sum):
                raise TrainingDiverged(
                    f"the training loss became {float(loss.detach()):g} in epoch {self.epoch} "
                    f"(batch {b + 1} of {n_batches}); lower the learning rate (now "
                    f"{lr:g}) or the batch size and train again")
            if on_batch is not None:
                on_batch(b + 1, n_batches)
        if world > 1:
            loss_sum, sq_sum, hit_sum = distributed.all_sum(
                torch.stack([loss_sum, sq_sum, hit_sum]))
        return loss_sum, sq_sum, hit_sum

    def _fit_closed_form(self, on_batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One epoch of a closed-form model: its solve on all the training ratings; the
        training metrics are then measured like the validation ones, on a fixed sample of at
        most :data:`CLOSED_FORM_SAMPLE` training ratings."""
        data = self.train_data
        self.model.train()
        self.model.fit_epoch(data.user_idx, data.item_idx, data.rating, self.epoch)
        if on_batch is not None:
            on_batch(1, 1)
        measured = _evaluate_tensors(self.model, data.sample(CLOSED_FORM_SAMPLE,
                                                             self.config.seed))
        n = len(data)
        return (torch.tensor(measured["loss"] * n), torch.tensor(measured["rmse"] ** 2 * n),
                torch.tensor(measured["accuracy"] * n))

    def epochs(self, n: int, on_batch: Callable[[int, int], None] | None = None) \
            -> Iterator[EpochRecord]:
        """Train ``n`` more epochs, yielding an :class:`EpochRecord` after each.

        Args:
            on_batch: called with (batches done, batches per epoch) for progress displays.
        Raises:
            TrainingDiverged: the loss became NaN or infinite; the model is then unusable.
        """
        if n < 1:
            raise ConfigError(f"epochs must be at least 1, got {n}")
        model, opt, data = self.model, self.optimizer, self.train_data
        for _ in range(n):
            self.epoch += 1
            lr = self.config.lr * self.config.lr_decay ** (self.epoch - 1)
            start = time.perf_counter()
            if opt is None:
                loss_sum, sq_sum, hit_sum = self._fit_closed_form(on_batch)
            else:
                for group in opt.param_groups:
                    group["lr"] = lr
                loss_sum, sq_sum, hit_sum = self._steps(lr, on_batch)
            model.eval()
            val = (_evaluate_tensors(model, self.validation_data) if self.validates
                   else _NOT_VALIDATED)
            if self.validates and not math.isfinite(val["loss"]):
                raise TrainingDiverged(f"the validation loss became {val['loss']:g} in epoch "
                                       f"{self.epoch}; lower the learning rate (now {lr:g})")
            seconds = time.perf_counter() - start
            hr = ndcg = None
            if self._ranking is not None:
                hr, ndcg = candidate_metrics(model, self._ranking, device=self.device)
            n_train = len(data)
            scored = model.output == "score"
            yield EpochRecord(
                epoch=self.epoch,
                train_loss=float(loss_sum) / n_train,
                train_rmse=math.nan if scored else math.sqrt(float(sq_sum) / n_train),
                train_accuracy=math.nan if scored else float(hit_sum) / n_train,
                val_loss=val["loss"], val_rmse=val["rmse"], val_mae=val["mae"],
                val_accuracy=val["accuracy"], lr=lr, seconds=seconds,
                val_hr10=hr, val_ndcg10=ndcg,
                ranking_seconds=time.perf_counter() - start - seconds,
            )
