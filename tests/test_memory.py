"""Settings that cannot fit in memory are refused before anything is allocated."""

from __future__ import annotations

import resource

import pytest
import torch

from movierec import memory
from movierec.cli import main
from movierec.errors import ConfigError
from movierec.models import get_model_spec
from movierec.runs import RunStore

GB = 2**30
ML32M = (200_948, 87_585, 31_000_000)   # users, movies, training ratings of MovieLens 32M


def _estimate(model: str, settings: dict | None = None, shape=(6_040, 3_706, 900_000),
              batch_size: int | None = None) -> memory.MemoryEstimate:
    spec = get_model_spec(model)
    return memory.estimate(spec, spec.config(settings), *shape,
                           batch_size or spec.train_defaults.batch_size)


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def test_a_17_gb_layer_is_estimated_without_allocating_it():
    before = _peak_rss()
    need = _estimate("seednet", {"hidden": "65536,65536"})
    # The 65536 x 65536 layer alone is 17.2e9 bytes; Adam keeps three more copies of it.
    assert need.parameters >= 65536 * 65536 * 4
    assert need.optimizer >= 3 * 65536 * 65536 * 4
    assert need.activations >= 4096 * 65536 * 4        # a batch through the wide layers
    assert _peak_rss() - before < GB


def test_the_notebook_network_and_mf_on_32m_fit_in_8_gb():
    small = _estimate("seednet")
    assert small.total < 0.5 * GB
    big = _estimate("mf", shape=ML32M)
    rows = ML32M[0] + ML32M[1]
    assert big.parameters == pytest.approx(rows * 65 * 4, rel=0.01)   # 64 factors + a bias
    assert big.optimizer == pytest.approx(3 * rows * 65 * 4, rel=0.01)
    assert big.total < 8 * GB
    memory.check_fits(get_model_spec("mf"), get_model_spec("mf").config(), *ML32M, 8192,
                      torch.device("cpu"), available=12 * GB)


def test_activations_grow_with_the_batch():
    one = _estimate("seednet", batch_size=1024).activations
    four = _estimate("seednet", batch_size=4096).activations
    assert one > 0 and four == pytest.approx(4 * one, rel=0.05)


def test_models_whose_step_cannot_run_on_meta_say_their_activations():
    need = _estimate("autorec")   # its step uses torch.unique, which meta tensors lack
    assert need.activations > 0 and need.parameters > 0


def test_closed_form_models_count_their_solver_not_adam():
    ease = _estimate("ease", shape=(6_040, 3_706, 900_000))
    assert ease.optimizer == 0 and ease.activations == 0
    assert ease.workspace >= 3 * 3_706 ** 2 * 8
    ials = _estimate("ials", shape=ML32M)
    assert ials.optimizer == 0 and 0 < ials.total < 8 * GB


def test_check_fits_refuses_with_the_estimate_and_what_is_available():
    spec = get_model_spec("ease")
    with pytest.raises(ConfigError) as err:
        memory.check_fits(spec, spec.config(), 100_000, 19_000, 10_000_000, 65536,
                          torch.device("cpu"), available=8 * GB)
    text = str(err.value)
    assert "needs about" in text and "8.0 GB available" in text and "solver work space" in text


def test_processes_on_one_machine_share_its_memory(monkeypatch):
    spec = get_model_spec("mf")
    need = memory.estimate(spec, spec.config(), *ML32M, 8192).total
    monkeypatch.setattr(memory, "available_bytes", lambda device: int(1.5 * need))
    memory.check_fits(spec, spec.config(), *ML32M, 8192, torch.device("cpu"))
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="share of 2 processes"):
        memory.check_fits(spec, spec.config(), *ML32M, 8192, torch.device("cpu"))


def test_available_memory_is_read_on_this_machine():
    room = memory.available_bytes(torch.device("cpu"))
    assert room is None or 0 < room < 2**50


def test_cli_refuses_a_huge_layer_with_exit_2(monkeypatch, capsys):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 16 * GB)
    code = main(["train", "--dataset", "demo", "--model", "seednet", "--set",
                 "hidden=65536,65536", "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: seednet on ") and "needs about" in err
    assert "16.0 GB available" in err and "Traceback" not in err
    assert RunStore().list() == []


def test_32m_embedding_tables_that_cannot_fit_are_refused():
    spec = get_model_spec("mf")
    wide = spec.config({"dim": 4096})   # 288,533 rows x 4,097 floats, four copies with Adam
    need = memory.estimate(spec, wide, *ML32M, 8192)
    assert need.parameters + need.optimizer >= 4 * 288_533 * 4097 * 4
    with pytest.raises(ConfigError, match="mf on 200,948 users x 87,585 movies needs about"):
        memory.check_fits(spec, wide, *ML32M, 8192, torch.device("cpu"), available=16 * GB)
