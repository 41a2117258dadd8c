"""LazyAdam is Adam on the rows a batch touches; mf switches to it on large tables."""

from __future__ import annotations

import copy as copy_module

import pytest
import torch
from torch import nn

from movierec.config import DataConfig, TrainConfig
from movierec.experiment import start_training
from movierec.models import get_model_spec
from movierec.models.lazy_adam import LazyAdam
from movierec.models.mf import SPARSE_ROWS


def _adam_pair(weight_decay: float = 0.0):
    torch.manual_seed(0)
    a = nn.Parameter(torch.randn(50, 8))
    b = nn.Parameter(a.detach().clone())
    return a, b, torch.optim.Adam([a], lr=0.01, weight_decay=weight_decay), \
        LazyAdam([b], lr=0.01, weight_decay=weight_decay)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_dense_gradients_follow_adam_exactly(weight_decay):
    a, b, adam, lazy = _adam_pair(weight_decay)
    target = torch.randn(50, 8)
    for _ in range(20):
        for p, opt in ((a, adam), (b, lazy)):
            opt.zero_grad()
            ((p - target) ** 2).sum().backward()
            opt.step()
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_sparse_gradients_touching_every_row_follow_adam():
    a, b, adam, lazy = _adam_pair()
    rows = torch.arange(50).repeat(2)[torch.randperm(100)]   # every row, twice, shuffled
    target = torch.randn(100, 8)
    for _ in range(20):
        adam.zero_grad()
        ((a.index_select(0, rows) - target) ** 2).sum().backward()
        adam.step()
        lazy.zero_grad()
        ((nn.functional.embedding(rows, b, sparse=True) - target) ** 2).sum().backward()
        assert b.grad.is_sparse
        lazy.step()
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_rows_a_batch_does_not_touch_stay_put():
    _, b, _, lazy = _adam_pair()
    before = b.detach().clone()
    rows = torch.tensor([3, 7, 7])
    ((nn.functional.embedding(rows, b, sparse=True)) ** 2).sum().backward()
    lazy.step()
    changed = (b.detach() != before).any(1)
    assert changed.nonzero().flatten().tolist() == [3, 7]


def test_resumed_lazy_adam_goes_on_identically():
    _, b, _, lazy = _adam_pair()
    rows = torch.tensor([1, 2, 3])
    for _ in range(3):
        lazy.zero_grad()
        (nn.functional.embedding(rows, b, sparse=True) ** 2).sum().backward()
        lazy.step()
    copy = nn.Parameter(b.detach().clone())
    again = LazyAdam([copy], lr=0.01)
    again.load_state_dict(copy_module.deepcopy(lazy.state_dict()))
    for p, opt in ((b, lazy), (copy, again)):
        opt.zero_grad()
        (nn.functional.embedding(rows, p, sparse=True) ** 2).sum().backward()
        opt.step()
    torch.testing.assert_close(b, copy)


def test_mf_updates_rows_only_on_large_tables(demo):
    spec = get_model_spec("mf")
    assert not spec.build(6_040, 3_706, (1.0, 2.0, 3.0, 4.0, 5.0)).sparse_updates
    assert spec.build(SPARSE_ROWS, 1, (1.0, 2.0, 3.0, 4.0, 5.0)).sparse_updates
    assert not spec.build(SPARSE_ROWS, 1, (1.0,), spec.config({"sparse": "no"})).sparse_updates
    with pytest.raises(Exception, match="sparse"):
        spec.config({"sparse": "maybe"})
    # Forced on a small set, it trains as well as dense Adam does.
    results = {}
    for mode in ("no", "yes"):
        training = start_training(demo, DataConfig("demo"), "mf", spec.config({"sparse": mode}),
                                  TrainConfig(epochs=4, batch_size=1024, seed=0,
                                              ranking_eval=False))
        if mode == "yes":
            assert isinstance(training.trainer.optimizer, LazyAdam)
        results[mode] = [r.val_rmse for r in training.epochs()]
    assert results["yes"][-1] < results["yes"][0]
    assert results["yes"][-1] == pytest.approx(results["no"][-1], abs=0.03)


def test_mf_row_updates_take_the_gradient_of_the_same_objective():
    spec = get_model_spec("mf")
    torch.manual_seed(0)
    dense = spec.build(40, 30, (1.0, 2.0, 3.0, 4.0, 5.0), spec.config({"sparse": "no"}))
    rows = spec.build(40, 30, (1.0, 2.0, 3.0, 4.0, 5.0), spec.config({"sparse": "yes"}))
    rows.load_state_dict(dense.state_dict())
    users, items = torch.randint(0, 40, (64,)), torch.randint(0, 30, (64,))
    target = torch.rand(64) * 4 + 1
    total, loss, _ = dense.training_loss(users, items, target)
    total.backward()
    _, sparse_loss, _ = rows.training_loss(users, items, target)
    sparse_loss.backward()
    assert float(sparse_loss.detach()) == pytest.approx(float(loss.detach()))
    for name, p in rows.named_parameters():
        (touched, grad, _), = p.row_grads
        expected = dict(dense.named_parameters())[name].grad
        torch.testing.assert_close(grad, expected[touched], rtol=1e-5, atol=1e-7)
        untouched = torch.ones(len(expected), dtype=torch.bool)
        untouched[touched] = False
        assert (expected[untouched] == 0).all()


def test_id_maps_index_many_ids_through_a_table():
    import numpy as np

    from movierec.errors import UnknownIdError
    from movierec.interactions import LOOKUP_TABLE_FROM, IdMap
    ids = np.array([3, 10, 11, 500, 70_000])
    many = np.random.default_rng(0).choice(ids, LOOKUP_TABLE_FROM + 1)
    table = IdMap(ids).index(many)
    np.testing.assert_array_equal(table, np.searchsorted(ids, many))
    with pytest.raises(UnknownIdError, match="unknown movie id 12"):
        IdMap(ids).index(np.concatenate([many, [12]]))
