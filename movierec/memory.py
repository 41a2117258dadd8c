"""Will a training fit in memory? Estimate before building anything, refuse up front.

A model asked for with ``--set hidden=65536,65536`` (a 17 GB layer), or ``mf`` with large factors
on MovieLens 32M, would otherwise be allocated first and kill the process, or the dashboard that
everyone shares, when memory runs out. :func:`estimate` sizes the model on PyTorch's ``meta``
device (shapes only, no memory), adds what Adam keeps, what one batch saves for the backward
pass (measured by running the batch on ``meta`` tensors), the ratings held as tensors and a
closed-form model's work space; :func:`check_fits` compares it with the memory available.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from movierec.errors import ConfigError

# Bytes per training rating kept while training: the split's numpy arrays (user, item, rating)
# and the trainer's tensors of them (user, item, rating, target, star index); the order of an
# epoch and the batch gathers on top. Measured on ML-1M with mf: about 70 bytes per rating.
BYTES_PER_RATING = 72
# What the backward pass and the optimiser's temporaries add to the saved activations.
ACTIVATION_FACTOR = 2.0
# Refuse when the estimate is above this share of the memory available.
HEADROOM = 0.9


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes one training process needs, by part."""

    parameters: int
    optimizer: int
    activations: int
    ratings: int
    workspace: int

    @property
    def total(self) -> int:
        return self.parameters + self.optimizer + self.activations + self.ratings \
            + self.workspace

    def describe(self) -> str:
        parts = [("parameters", self.parameters), ("gradients and Adam state", self.optimizer),
                 ("activations of a batch", self.activations), ("ratings", self.ratings),
                 ("solver work space", self.workspace)]
        return ", ".join(f"{name} {gb(n)}" for name, n in parts if n)


def gb(n: float) -> str:
    """``n`` bytes as a short human size."""
    if n >= 2**30:
        return f"{n / 2**30:.1f} GB"
    return f"{n / 2**20:.0f} MB"


def _saved_bytes(model, batch_size: int) -> int | None:
    """Bytes the autograd graph of one training batch saves, measured on meta tensors;
    None when the model's step cannot run on the meta device."""
    saved = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal saved
        saved += tensor.numel() * tensor.element_size()
        return tensor

    try:
        with torch.device("meta"):
            users = torch.zeros(batch_size, dtype=torch.long)
            items = torch.zeros(batch_size, dtype=torch.long)
            target = model.targets(torch.ones(batch_size) * model.stars.new_ones(()))
        model.train()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model.training_loss(users, items, target, None)
    except (NotImplementedError, RuntimeError, TypeError, ValueError):
        return None
    return saved


def estimate(spec, model_config, n_users: int, n_items: int, n_train: int,
             batch_size: int) -> MemoryEstimate:
    """What training ``spec``'s model with ``model_config`` on ``n_train`` ratings of
    ``n_users`` x ``n_items`` needs, before any of it is allocated."""
    with torch.device("meta"):
        model = spec.build(n_users, n_items, (1.0, 2.0, 3.0, 4.0, 5.0), model_config)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    trainable = sum(p.numel() * p.element_size() for p in model.parameters()
                    if p.requires_grad)
    optimizer = 0 if model.closed_form else 3 * trainable    # gradient, Adam's two moments
    activations = 0
    if not model.closed_form:
        saved = _saved_bytes(model, min(batch_size, max(n_train, 1)))
        if saved is None:
            saved = model.activation_bytes(min(batch_size, max(n_train, 1)), n_train)
        activations = int(ACTIVATION_FACTOR * saved)
    workspace = model.workspace_bytes(n_train)
    return MemoryEstimate(parameters=params + buffers, optimizer=optimizer,
                          activations=activations, ratings=BYTES_PER_RATING * n_train,
                          workspace=workspace)


def _cgroup_room() -> int | None:
    """Room left under this container's cgroup (v2 or v1) memory limit, if it has one."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            return max(int(limit) - usage, 0)
    return None


def available_bytes(device: torch.device) -> int | None:
    """Memory a new allocation can use now: free GPU memory on CUDA; on the CPU the kernel's
    ``MemAvailable`` (or the cgroup's room, when smaller). None where it cannot be read."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    room = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                room = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        room = None
    if room is None:
        try:
            room = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            room = None
    cgroup = _cgroup_room()
    if cgroup is not None:
        room = cgroup if room is None else min(room, cgroup)
    return room


def check_fits(spec, model_config, n_users: int, n_items: int, n_train: int,
               batch_size: int, device: torch.device,
               available: int | None = None) -> MemoryEstimate:
    """Refuse a training that cannot fit, before anything is allocated.

    Args:
        available: the bytes to compare with (default: :func:`available_bytes`; divided among
            the processes torchrun starts on this machine, which each hold a copy).
    Raises:
        ConfigError: the estimate is above ``HEADROOM`` of the memory available; the message
            gives the estimate by part and what is available.
    """
    need = estimate(spec, model_config, n_users, n_items, n_train, batch_size)
    per_machine = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    if available is None:
        available = available_bytes(device)
        if available is not None and device.type == "cpu":
            available //= max(per_machine, 1)
    if available is not None and need.total > HEADROOM * available:
        where = "GPU" if device.type == "cuda" else "this machine"
        share = f" (its share of {per_machine} processes)" if per_machine > 1 else ""
        raise ConfigError(
            f"{spec.name} on {n_users:,} users x {n_items:,} movies needs about "
            f"{gb(need.total)} to train ({need.describe()}), but {where} has "
            f"{gb(available)} available{share}; choose smaller settings (embedding sizes, "
            "layer widths, batch size) or a smaller fraction of the data")
    return need
