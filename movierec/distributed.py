"""Training across processes that ``torchrun`` started: the process group, which process speaks
(rank 0), and each process's share of every batch (see docs/SCALE.md).

Without torchrun (``WORLD_SIZE`` unset or 1) every helper here answers as for one process and
nothing is initialised.
"""

from __future__ import annotations

import contextlib
import datetime
import inspect
import os
import re
from collections.abc import Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from movierec.errors import ConfigError

TIMEOUT_VARIABLE = "MOVIEREC_DIST_TIMEOUT"
# Seconds a collective waits for a peer (a process that died or hangs) before it fails: a
# validation on rank 0, which the others wait for, must fit in it.
DEFAULT_TIMEOUT = 600.0
# Seconds the other processes of a machine wait while its first one loads (maybe downloads
# and parses) the dataset.
LOAD_TIMEOUT = 3 * 3600.0

_load_group = None   # a gloo group with LOAD_TIMEOUT, for the wait of load_first_per_machine


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        raise ConfigError(f"${name} must be a whole number, got "
                          f"{os.environ.get(name)!r}") from None


def _joined() -> bool:
    return dist.is_available() and dist.is_initialized()


def launched() -> bool:
    """True in a process that torchrun started together with others (``WORLD_SIZE`` > 1)."""
    return _env_int("WORLD_SIZE", 1) > 1


def rank() -> int:
    """This process's place among all of them (0 alone, or without a process group)."""
    return dist.get_rank() if _joined() else 0


def world_size() -> int:
    """How many processes train together (1 without a process group)."""
    return dist.get_world_size() if _joined() else 1


def local_rank() -> int:
    """This process's place among those of its machine (its GPU under CUDA)."""
    return _env_int("LOCAL_RANK", 0) if _joined() else 0


def is_main() -> bool:
    """Whether this process is the one that prints, validates and saves (rank 0)."""
    return rank() == 0


def error_prefix() -> str:
    """``rank R: `` in a process started by torchrun with others (known before the group is
    joined, from torchrun's ``RANK``); empty otherwise."""
    return f"rank {_env_int('RANK', 0)}: " if launched() else ""


def timeout() -> float:
    """Seconds a collective waits for its peers: ``$MOVIEREC_DIST_TIMEOUT``, else
    :data:`DEFAULT_TIMEOUT`."""
    text = os.environ.get(TIMEOUT_VARIABLE, "")
    try:
        value = float(text) if text else DEFAULT_TIMEOUT
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise ConfigError(f"${TIMEOUT_VARIABLE} must be a positive number of seconds, got "
                          f"{text!r}")
    return value


def init() -> None:
    """Join the process group that torchrun's environment describes (``RANK``,
    ``WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT`` or its rendezvous): gloo for CPU tensors,
    and nccl for CUDA tensors when a GPU is present, each process then on ``cuda:LOCAL_RANK``."""
    global _load_group
    wait = datetime.timedelta(seconds=timeout())
    backend = "gloo"
    if torch.cuda.is_available():
        backend = "cpu:gloo,cuda:nccl"
        if _env_int("LOCAL_RANK", 0) < torch.cuda.device_count():
            torch.cuda.set_device(_env_int("LOCAL_RANK", 0))
    dist.init_process_group(backend, timeout=wait)
    _load_group = dist.new_group(backend="gloo",
                                 timeout=datetime.timedelta(seconds=LOAD_TIMEOUT))


def destroy() -> None:
    """Leave the process group (nothing when none was joined)."""
    global _load_group
    if _joined():
        dist.destroy_process_group()
    _load_group = None


@contextlib.contextmanager
def session() -> Iterator[None]:
    """The body runs inside the process group when torchrun started this process with others,
    and as it always did otherwise."""
    if not launched():
        yield
        return
    init()
    try:
        yield
    finally:
        destroy()


@contextlib.contextmanager
def load_first_per_machine() -> Iterator[None]:
    """The body (loading a dataset) runs on each machine's first process, then on the others,
    which then find the parsed data in the cache instead of parsing it all at once. If the
    first process fails, torchrun stops the others."""
    if world_size() == 1:
        yield
        return
    first = local_rank() == 0
    if not first:
        dist.barrier(group=_load_group)
    yield
    if first:
        dist.barrier(group=_load_group)


def all_sum(values: torch.Tensor) -> torch.Tensor:
    """``values`` summed over every process (``values`` itself in one process)."""
    if world_size() > 1:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def peer_failure(exc: BaseException) -> str | None:
    """One line on what went wrong when ``exc`` is a collective that failed because another
    process died or stopped answering (gloo raises a RuntimeError that names it, nccl a
    DistBackendError); None for any other error."""
    text = str(exc).strip()
    if not (isinstance(exc, dist.DistError) or "gloo" in text.lower()):
        return None
    line = text.splitlines()[0] if text else type(exc).__name__
    return re.sub(r"^\[[^\]]*\]\s*", "", line)   # gloo's "[source file:line] " prefix


def batch_bounds(n: int, batch_size: int, world: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each global batch of an epoch over ``n`` ordered ratings.

    Batches hold ``batch_size`` ratings, the last one what is left; among ``world`` > 1
    processes a last batch of fewer than ``world`` ratings joins the one before it, so that
    every process gets a part of every batch.

    Raises:
        ConfigError: fewer ratings, or a smaller batch, than processes.
    """
    if world > 1 and (batch_size < world or n < world):
        raise ConfigError(f"{world} processes need a batch size and a training set of at least "
                          f"{world} ratings each, got a batch of {batch_size} and {n} ratings")
    bounds = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < world:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def shard(start: int, end: int, rank: int, world: int) -> tuple[int, int]:
    """The contiguous part of batch ``[start, end)`` that process ``rank`` of ``world`` trains
    on: parts of all processes are disjoint, cover the batch and differ by one rating at most."""
    n = end - start
    return start + n * rank // world, start + n * (rank + 1) // world


class Objective(nn.Module):
    """A model's :meth:`~movierec.models.base.Recommender.training_loss` as ``forward``, so that
    DistributedDataParallel, which hooks ``forward``, averages its gradients. ``weight``
    scales what is minimised: a process's share of the batch times the number of processes,
    which makes the average of unequal parts the gradient of the whole batch."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, user_idx: torch.Tensor, item_idx: torch.Tensor, target: torch.Tensor,
                generator: torch.Generator | None, weight: float):
        total, loss, out = self.model.training_loss(user_idx, item_idx, target, generator)
        return (total if weight == 1 else total * weight), loss, out


def data_parallel(model: nn.Module, device: torch.device) -> nn.Module:
    """The model's training objective in DistributedDataParallel. Rank 0's weights and buffers
    are copied to the others once; buffers are not synchronised afterwards (batch-norm running
    averages stay each process's own, and rank 0's are the ones validated and saved)."""
    ids = [device.index] if device.type == "cuda" else None
    # torch 2.13 renamed broadcast_buffers (which also skipped the first copy of buffers).
    no_sync = "forward_sync_buffers" if "forward_sync_buffers" in \
        inspect.signature(DistributedDataParallel).parameters else "broadcast_buffers"
    return DistributedDataParallel(Objective(model), device_ids=ids, **{no_sync: False})
