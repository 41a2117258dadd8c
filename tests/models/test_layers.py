"""The fast CPU dropout behaves like dropout."""

from __future__ import annotations

import torch

from movierec.models.layers import cheap_dropout


def test_drops_the_right_share_and_rescales():
    x = torch.ones(200_000)
    g = torch.Generator().manual_seed(0)
    y = cheap_dropout(x, 0.3, True, g)
    kept = (y != 0).float().mean().item()
    assert abs(kept - 0.7) < 0.01
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / 0.7))
    assert abs(y.mean().item() - 1.0) < 0.02


def test_off_in_eval_and_reproducible():
    x = torch.randn(1000)
    assert torch.equal(cheap_dropout(x, 0.5, False), x)
    a = cheap_dropout(x, 0.5, True, torch.Generator().manual_seed(1))
    b = cheap_dropout(x, 0.5, True, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_gradient_follows_the_mask():
    x = torch.randn(64, 8, requires_grad=True)
    y = cheap_dropout(x, 0.5, True, torch.Generator().manual_seed(2))
    y.sum().backward()
    assert torch.equal(x.grad == 0, y == 0)
