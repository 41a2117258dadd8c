"""Small building blocks shared by the models."""

from __future__ import annotations

import torch
from torch import nn


def cheap_dropout(x: torch.Tensor, p: float, training: bool,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Inverted dropout, as ``torch.nn.functional.dropout``, with a faster mask on the CPU.

    PyTorch's CPU dropout draws one Bernoulli sample per element, which took half of a training
    step of the notebook's network. Here one 64-bit random draw gives four 16-bit uniforms, so
    the keep probability is quantised to 1/65536. GPUs keep PyTorch's own kernel.

    Args:
        generator: CPU random stream for the mask (the global one when None).
    """
    if not training or p == 0.0:
        return x
    if p >= 1.0:
        return torch.zeros_like(x)
    if x.device.type != "cpu":
        return nn.functional.dropout(x, p, True)
    keep = 1.0 - p
    n = x.numel()
    words = torch.randint(-(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64,
                          generator=generator)
    uniform16 = words.view(torch.int16)[:n].view(x.shape)
    threshold = int(round(keep * 65536)) - 32768
    mask = (uniform16 < threshold).to(x.dtype).mul_(1.0 / keep)
    return x * mask


class Dropout(nn.Module):
    """``nn.Dropout`` backed by :func:`cheap_dropout`; the trainer sets ``generator`` so that a
    run's dropout masks come from its own seeded stream."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cheap_dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
