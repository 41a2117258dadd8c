"""Adam that updates only the rows a batch touched, for embedding tables too large to sweep at
every step.

Dense Adam on MovieLens 32M's tables (288,533 rows of factors) zeroes, fills and updates 75 MB
of gradients and moments at every step, whatever the batch size: about 0.3 s a step here,
over 15 minutes an epoch at a batch of 8,192. With sparse gradients (``F.embedding(...,
sparse=True)``) each step costs what its batch touches. PyTorch's own ``SparseAdam`` goes
through general sparse-tensor arithmetic and was slower still here (0.4 s a step), so this
optimiser gathers the touched rows, updates them with Adam's rule and writes them back.

As in every lazy Adam, a row's moments decay only in steps that touch it; the bias correction
counts every step of the optimiser (TensorFlow Addons' LazyAdam does the same).
"""

from __future__ import annotations

import torch


class _Rows(torch.autograd.Function):
    """``weight[rows]`` for distinct, sorted ``rows``. Its backward pass leaves the gradient of
    those rows beside ``weight`` (``weight.row_grads``) for :class:`LazyAdam`, rather than as a
    sparse ``weight.grad``, which autograd would hand over uncoalesced: a sort and a sum of
    duplicates per table at every step. It adds the gradient of an L2 term
    ``decay / 2 * sum over the batch of |weight[idx]|^2`` on the way (``counts``: how often
    each row is in the batch), cheaper than autograd's squares."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, rows: torch.Tensor, counts: torch.Tensor | None,
                decay: float) -> torch.Tensor:
        out = weight.index_select(0, rows)
        # The rows as looked up: the optimiser updates them without reading them again.
        ctx.weight, ctx.rows, ctx.decay, ctx.looked_up = weight, rows, decay, out
        if decay:
            ctx.save_for_backward(out, counts)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        if ctx.decay:
            out, counts = ctx.saved_tensors
            grad = grad.addcmul(out, counts.to(out.dtype)[:, None], value=ctx.decay)
        pending = getattr(ctx.weight, "row_grads", None)
        if pending is None:
            pending = ctx.weight.row_grads = []
        pending.append((ctx.rows, grad, ctx.looked_up))
        return None, None, None, None


def distinct_rows(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The distinct values of ``idx`` (sorted), where each element of ``idx`` is among them, and
    how often each occurs: share them between the tables looked up by the same index."""
    return torch.unique(idx, return_inverse=True, return_counts=True)


def sparse_lookup(weight: torch.Tensor, rows: torch.Tensor, where: torch.Tensor,
                  counts: torch.Tensor, decay: float = 0.0) -> torch.Tensor:
    """``weight[idx]`` (``rows, where, counts = distinct_rows(idx)``) with its gradient left for
    :class:`LazyAdam`, plus that of ``decay / 2 * sum |weight[idx]|^2`` when ``decay`` is set."""
    return _Rows.apply(weight, rows, counts, decay).index_select(0, where)


class LazyAdam(torch.optim.Optimizer):
    """Adam with row-wise lazy updates for sparse gradients and the usual update for dense
    ones.

    Args:
        params: parameters or parameter groups (``weight_decay`` per group, applied to the
            rows touched, as an L2 term's gradient).
        lr, betas, eps, weight_decay: as :class:`torch.optim.Adam`.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                row_grads = getattr(p, "row_grads", None)
                if p.grad is None and not row_grads:
                    continue
                state = self.state[p]
                if not state:
                    # Both moments of a row side by side: one gather and one scatter per step.
                    state["step"] = torch.zeros((), dtype=torch.float64)
                    state["moments"] = p.new_zeros((p.shape[0], 2, *p.shape[1:]))
                state["step"] += 1
                t = float(state["step"])
                size = group["lr"] * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t)
                grad = p.grad
                if row_grads:
                    rows, values, weights = row_grads[0] if len(row_grads) == 1 else \
                        _merge(row_grads, p.shape) + (None,)
                    p.row_grads = None
                    self._rows(p, state, rows, values, weights, group, size)
                elif grad.is_sparse:
                    grad = grad.coalesce()
                    self._rows(p, state, grad.indices()[0], grad.values(), None, group, size)
                else:
                    if group["weight_decay"]:
                        grad = grad.add(p, alpha=group["weight_decay"])
                    m, v = state["moments"].unbind(1)
                    m.lerp_(grad, 1 - beta1)
                    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    denom = v.sqrt().add_(group["eps"] * (1 - beta2 ** t) ** 0.5)
                    p.addcdiv_(m, denom, value=-size)
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                p.row_grads = None

    @staticmethod
    def _rows(p: torch.Tensor, state: dict, rows: torch.Tensor, grad: torch.Tensor,
              weights: torch.Tensor | None, group: dict, size: float) -> None:
        """Adam's update of ``p``'s ``rows`` (distinct), whose gradient is ``grad`` and whose
        current values are ``weights`` (read here when None)."""
        beta1, beta2 = group["betas"]
        weights = p.index_select(0, rows) if weights is None else weights.detach()
        if group["weight_decay"]:
            grad = grad.add(weights, alpha=group["weight_decay"])
        moments = state["moments"].index_select(0, rows)
        m, v = moments.unbind(1)
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        t = float(state["step"])
        denom = v.sqrt().add_(group["eps"] * (1 - beta2 ** t) ** 0.5)
        state["moments"].index_copy_(0, rows, moments)
        p.index_copy_(0, rows, weights.addcdiv_(m, denom, value=-size))


def _merge(row_grads: list[tuple[torch.Tensor, torch.Tensor]], shape) \
        -> tuple[torch.Tensor, torch.Tensor]:
    """One (distinct rows, their summed gradients) from several lookups of a table."""
    grad = torch.sparse_coo_tensor(torch.cat([r for r, _ in row_grads])[None],
                                   torch.cat([g for _, g in row_grads]), shape).coalesce()
    return grad.indices()[0], grad.values()
