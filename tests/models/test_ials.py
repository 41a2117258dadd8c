"""iALS: each solve is the exact minimiser of its side's objective, a sweep never raises the
whole objective, a new person's factors are the same solve, and (where the real data is here)
the `top-n` preset on the NCF paper's exact ML-1M test."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from movierec.config import DataConfig
from movierec.models import get_model_spec
from movierec.models.ials import _csr, solve_side
from tests.conftest import SHARED_DATA, requires_shared_data

SCALE = (1.0, 2.0, 3.0, 4.0, 5.0)


def objective(x: torch.Tensor, users: torch.Tensor, items: torch.Tensor, a0: float,
              reg: float, nu: float) -> torch.Tensor:
    """The iALS loss of Rendle et al. 2022 on a 0/1 matrix ``x``, written out in full."""
    scores = users @ items.T
    rated = ((scores - 1) ** 2 * x).sum()
    unrated = a0 * (scores ** 2).sum()
    n_user, n_item = x.sum(1), x.sum(0)
    penalty = reg * (((n_user + a0 * x.shape[1]) ** nu * (users ** 2).sum(1)).sum()
                     + ((n_item + a0 * x.shape[0]) ** nu * (items ** 2).sum(1)).sum())
    return rated + unrated + penalty


def random_pattern(seed: int = 0, n_users: int = 30, n_items: int = 12):
    rng = np.random.default_rng(seed)
    x = (rng.random((n_users, n_items)) < 0.3).astype(np.float64)
    x[np.arange(n_users), rng.integers(0, n_items, n_users)] = 1.0   # everyone rated one
    rows, cols = np.nonzero(x)
    return torch.tensor(x), rows, cols


def test_solve_is_the_exact_minimiser_of_its_side():
    x, rows, cols = random_pattern()
    items = torch.randn(x.shape[1], 4, dtype=torch.float64)
    indptr, indices = _csr(rows, cols, x.shape[0])
    users = solve_side(indptr, indices, items, 0.3, 0.05, 1.0).requires_grad_(True)
    loss = objective(x, users, items, 0.3, 0.05, 1.0)
    (grad,) = torch.autograd.grad(loss, users)
    assert grad.abs().max() < 1e-8 * max(1.0, float(loss.detach()))
    with torch.no_grad():   # and a step away in any direction costs more
        for _ in range(10):
            moved = users + 1e-3 * torch.randn_like(users)
            assert objective(x, moved, items, 0.3, 0.05, 1.0) > loss


def test_csr_drops_repeated_pairs():
    indptr, indices = _csr(np.array([1, 0, 1, 1]), np.array([2, 0, 2, 0]), 3)
    assert indptr.tolist() == [0, 1, 3, 3]
    assert indices.tolist() == [0, 0, 2]


def test_each_sweep_lowers_the_objective_and_learns_the_pattern():
    x, rows, cols = random_pattern(1, n_users=60, n_items=20)
    spec = get_model_spec("ials")
    config = spec.config({"dim": 6, "unobserved_weight": 0.2, "reg": 0.01})
    torch.manual_seed(0)
    model = spec.build(x.shape[0], x.shape[1], SCALE, config)
    users, items = torch.as_tensor(rows), torch.as_tensor(cols)
    stars = torch.full((len(rows),), 4.0)
    losses, errors = [], []
    for epoch in range(1, 6):
        model.fit_epoch(users, items, stars, epoch)
        losses.append(float(objective(x, model.user_factors.weight.double(),
                                      model.item_factors.weight.double(), 0.2, 0.01, 1.0)))
        errors.append(float(model.training_loss(users, items, stars,
                                                torch.Generator().manual_seed(0))[0]))
    assert all(b <= a * (1 + 1e-5) for a, b in zip(losses, losses[1:], strict=False))
    assert errors[-1] < 0.35   # rated movies score above most random ones (0.5 at chance)
    assert errors[-1] < errors[0]


def test_person_vector_is_the_user_solve():
    x, rows, cols = random_pattern(2)
    spec = get_model_spec("ials")
    model = spec.build(x.shape[0], x.shape[1], SCALE, spec.config({"dim": 5}))
    model.fit_epoch(torch.as_tensor(rows), torch.as_tensor(cols),
                    torch.full((len(rows),), 4.0), 1)
    liked = torch.tensor([0, 3, 7])
    vec = model.person_vector(torch.tensor([0, 3, 7, 5]), torch.tensor([5.0, 4.0, 5.0, 1.0]))
    expected = solve_side(np.array([0, 3]), liked.numpy(), model.item_factors.weight.detach(),
                          model.config.unobserved_weight, model.config.reg,
                          model.config.reg_exponent)[0]
    torch.testing.assert_close(vec, expected)   # the 1-star movie is not a pick
    scores = model.score_all(vec[None])[0]
    assert scores.shape == (x.shape[1],)


@pytest.mark.parametrize("bad", [{"dim": 0}, {"unobserved_weight": 0}, {"reg": -1},
                                 {"reg_exponent": 3}, {"init_std": 0}])
def test_settings_out_of_range_are_refused(bad):
    from movierec.errors import ConfigError
    with pytest.raises(ConfigError):
        get_model_spec("ials").config(bad)


@requires_shared_data
@pytest.mark.slow
def test_top_n_preset_on_the_ncf_papers_exact_test(tmp_path):
    """Issue 10: the `top-n` recipe trained on the 994,169 training ratings of the paper's
    split, scored on its own candidates, above published NeuMF (0.726 / 0.445) and EASE."""
    import dataclasses

    from movierec.data import load_dataset
    from movierec.data.ncf import read_test_negative
    from movierec.evaluation.ncf import run_ncf_metrics
    from movierec.experiment import start_training
    from movierec.presets import PRESETS

    preset = PRESETS["top-n"]
    dataset = load_dataset("ml-1m", data_dir=SHARED_DATA, allow_download=False)
    data = dataclasses.replace(preset.data, split="ncf",
                               holdout=str(SHARED_DATA / "ncf-ml-1m" / "test.rating"))
    train = dataclasses.replace(preset.train, ranking_eval=False)
    training = start_training(dataset, data, preset.model,
                              get_model_spec(preset.model).config(dict(preset.model_settings)),
                              train)
    list(training.epochs())
    assert training.run.n_train == 994_169
    result = run_ncf_metrics(training.run, read_test_negative(SHARED_DATA / "ncf-ml-1m" /
                                                              "test.negative"))
    print(result)
    assert result["n_users"] == 6040 and result["unknown_users"] == 0
    assert result["hr10"] > 0.726 and result["ndcg10"] > 0.445


@requires_shared_data
def test_top_n_preset_holds_out_at_most_one_percent():
    """The preset's own validation (each user's latest rating) is at most 1% of ML-1M."""
    from movierec.data import load_dataset
    from movierec.presets import PRESETS
    from movierec.split import make_split

    data = PRESETS["top-n"].data
    assert data == DataConfig(dataset="ml-1m", split="leave-one-out")
    split = make_split(load_dataset("ml-1m", data_dir=SHARED_DATA, allow_download=False), data)
    assert len(split.validation) == split.n_users == 6040
    assert len(split.validation) <= 0.01 * (len(split.train) + len(split.validation))
