"""Training across processes: each process's share of every batch, and real runs of two CPU
processes under torchrun (one run saved, the same learning as one process, a failure or a hang
in one process ending them all within seconds)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from movierec import distributed
from movierec.cli import main
from movierec.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

# Trains like `python -m movierec`, and after each epoch checks in every process that the
# weights and their last gradients are those of every other process (DDP averaged them; the
# processes trained on different ratings). FAULT=raise makes rank 1 fail in epoch 2 with a
# user error; FAULT=hang makes it stop answering there.
DRIVER = """
import os, sys, time
import torch
import torch.distributed as dist
from movierec import training
from movierec.cli import main
from movierec.errors import DataError

steps = training.EpochLoop._steps

def checked_steps(self, lr, on_batch):
    if self.epoch == 2 and dist.get_rank() == 1:
        if os.environ.get("FAULT") == "raise":
            raise DataError("injected fault")
        if os.environ.get("FAULT") == "hang":
            time.sleep(600)
    sums = steps(self, lr, on_batch)
    params = list(self.model.parameters())
    flat = torch.cat([p.detach().reshape(-1) for p in params]
                     + [p.grad.reshape(-1) for p in params])
    copies = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(copies, flat)
    if not all(torch.equal(flat, c) for c in copies):
        raise AssertionError("weights or gradients differ between the processes")
    if dist.get_rank() == 0:
        print(f"epoch {self.epoch}: weights and gradients alike", file=sys.stderr)
    return sums

training.EpochLoop._steps = checked_steps
sys.exit(main(sys.argv[1:]))
"""


def torchrun(tmp_path, *argv, driver: bool = False, env_extra=None, timeout: float = 120) \
        -> tuple[subprocess.CompletedProcess, float]:
    """``torchrun --nproc-per-node 2 -m movierec train ...`` (or the driver script above), with
    this test's folders; returns the result and its seconds."""
    if driver:
        script = tmp_path / "driver.py"
        script.write_text(DRIVER)
        target = [str(script)]
    else:
        target = ["-m", "movierec"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
               "--standalone", *target, "train", "--dataset", "demo", "--data-dir",
               str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"), "--runs-dir",
               str(tmp_path / "runs"), "--json", *argv]
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=timeout, check=False)
    return result, time.monotonic() - start


@pytest.mark.parametrize("n, batch, world", [
    (1000, 100, 1), (1000, 100, 3), (1001, 100, 4), (1003, 100, 4), (7, 3, 3), (5, 8, 2),
    (98_139, 8192, 2)])
def test_every_process_takes_its_part_of_every_batch(n, batch, world):
    bounds = distributed.batch_bounds(n, batch, world)
    # the batches follow each other over all n ratings, none smaller than the processes
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert all(end - start >= world for start, end in bounds)
    assert all(end - start == batch for start, end in bounds[:-1])
    for start, end in bounds:
        parts = [distributed.shard(start, end, r, world) for r in range(world)]
        covered = [i for lo, hi in parts for i in range(lo, hi)]
        assert covered == list(range(start, end))        # disjoint, in order, all of it
        sizes = [hi - lo for lo, hi in parts]
        assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
        # each part's weight makes the average of the parts' gradients the batch's gradient
        assert sum(s * world / (end - start) for s in sizes) / world == pytest.approx(1.0)


def test_one_process_batches_as_before():
    assert distributed.batch_bounds(10, 4, 1) == [(0, 4), (4, 8), (8, 10)]
    assert distributed.batch_bounds(9, 4, 2) == [(0, 4), (4, 9)]   # a last 1 joins the one before
    assert distributed.shard(8, 10, 0, 1) == (8, 10)


def test_too_small_a_batch_for_the_processes_is_refused():
    with pytest.raises(ConfigError, match="batch size"):
        distributed.batch_bounds(100, 2, 4)
    with pytest.raises(ConfigError, match="3 ratings"):
        distributed.batch_bounds(3, 100, 4)


def test_without_torchrun_nothing_is_distributed(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not distributed.launched() and distributed.error_prefix() == ""
    assert distributed.world_size() == 1 and distributed.rank() == 0 and distributed.is_main()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert not distributed.launched()


def test_collective_failures_are_told_apart():
    gloo = RuntimeError("[/src/third_party/gloo/gloo/transport/tcp/pair.cc:553] Connection "
                        "closed by peer [127.0.0.1]:1234. This is typically caused by a crash")
    assert distributed.peer_failure(gloo).startswith("Connection closed by peer")
    assert distributed.peer_failure(RuntimeError("shape mismatch")) is None


def test_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(distributed.TIMEOUT_VARIABLE, "12.5")
    assert distributed.timeout() == 12.5
    monkeypatch.setenv(distributed.TIMEOUT_VARIABLE, "soon")
    with pytest.raises(ConfigError, match="MOVIEREC_DIST_TIMEOUT"):
        distributed.timeout()


def test_other_commands_are_refused_under_torchrun(monkeypatch, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert main(["runs"]) == 2
    assert capsys.readouterr().err == ("error: rank 1: only train runs across processes; run "
                                       "runs without torchrun\n")


@pytest.mark.slow
def test_two_processes_learn_what_one_does(tmp_path, capsys):
    settings = ["--model", "mf", "--epochs", "2", "--batch-size", "4096", "--no-quality"]
    assert main(["train", "--dataset", "demo", *settings, "--runs-dir", str(tmp_path / "one"),
                 "--json", "--quiet"]) == 0
    one = json.loads(capsys.readouterr().out)
    result, _ = torchrun(tmp_path, *settings)
    assert result.returncode == 0, result.stderr
    two = json.loads(result.stdout)                       # rank 0's document alone
    assert two["world_size"] == 2 and two["batch_per_process"] == 2048
    assert one["world_size"] == 1 and one["batch_per_process"] == 4096
    assert [r["epoch"] for r in two["history"]] == [1, 2]
    assert two["n_train"] == one["n_train"]
    # mf has no dropout: the same steps, up to the order of floating-point sums
    for a, b in zip(one["history"], two["history"], strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], abs=1e-4)
        assert b["val_rmse"] == pytest.approx(a["val_rmse"], abs=1e-4)
    runs = list((tmp_path / "runs").iterdir())
    assert [p.name for p in runs] == [two["run_id"]]      # one run, saved once
    # one set of progress lines: rank 1 is silent
    assert result.stderr.count("epoch   2  train loss") == 1


@pytest.mark.slow
def test_seednet_trains_with_alike_weights_in_every_process(tmp_path):
    result, _ = torchrun(tmp_path, "--model", "seednet", "--epochs", "2", "--fraction", "0.5",
                         "--batch-size", "1023", "--no-quality", "--no-ranking-eval",
                         driver=True)
    assert result.returncode == 0, result.stderr
    assert "epoch 2: weights and gradients alike" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["world_size"] == 2 and doc["batch_per_process"] == 512
    assert len(doc["history"]) == 2 and doc["val_rmse"] < doc["history"][0]["val_rmse"] + 0.05
    assert len(list((tmp_path / "runs").iterdir())) == 1


@pytest.mark.slow
def test_closed_form_models_are_refused(tmp_path):
    result, _ = torchrun(tmp_path, "--model", "ease")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors and all("fitted in closed form" in line and "without torchrun" in line
                          for line in errors), result.stderr
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("fault, expected", [
    ("raise", "error: rank 1: injected fault"),
    ("hang", "error: rank 0: another process failed or stopped answering"),
])
def test_a_fault_in_one_process_ends_them_all(tmp_path, fault, expected):
    result, seconds = torchrun(tmp_path, "--model", "mf", "--epochs", "3", "--no-quality",
                               driver=True, env_extra={"FAULT": fault,
                                                       distributed.TIMEOUT_VARIABLE: "5"})
    assert result.returncode != 0
    assert expected in result.stderr, result.stderr
    assert "epoch 1: weights and gradients alike" in result.stderr
    assert seconds < 60
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
