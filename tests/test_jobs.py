"""Background training jobs: shared when equal, stoppable, reported, saved."""

from __future__ import annotations

import dataclasses
import math
import threading

import pytest
import torch

from movierec.config import TrainConfig
from movierec.errors import ConfigError
from movierec.jobs import JobManager, JobSpec
from movierec.recipe import make_recipe
from movierec.runs import RunStore


@pytest.fixture
def manager(tmp_path, demo):
    jobs = JobManager(runs_dir=tmp_path / "runs", loader=lambda name: demo)
    yield jobs
    jobs.close()


def spec(epochs=2, seed=0, model="mf", plan=None):
    recipe = make_recipe(model=model, data={"dataset": "demo", "fraction": 0.3},
                         train={"epochs": epochs, "batch_size": 2048, "seed": seed})
    return JobSpec.of(dataclasses.replace(recipe, plan=plan or recipe.plan))


def test_same_configs_train_once(manager, tmp_path):
    first = manager.submit(spec())
    again = manager.submit(spec())
    assert again is first
    done = manager.wait(first, timeout=120)
    assert done["status"] == "done" and len(done["history"]) == 2
    run_id = done["run_id"]
    assert RunStore(tmp_path / "runs").load(run_id).epochs == 2
    # A new manager (a restarted server) finds the finished run on disk instead of training.
    fresh = JobManager(runs_dir=tmp_path / "runs", loader=lambda name: pytest.fail("trained"))
    cached = fresh.submit(spec())
    fresh.close()
    assert cached.status == "done" and cached.run_id == run_id
    # Different settings are a different job.
    other = manager.submit(spec(seed=1))
    assert other is not first
    assert manager.wait(other, timeout=120)["run_id"] != run_id


def test_a_plan_with_a_continuation_trains_all_of_it_and_is_its_own_job(manager, tmp_path):
    planned = spec(epochs=2, plan=(2, 1))
    assert planned.planned_epochs == 3 and planned.key != spec(epochs=2).key
    done = manager.wait(manager.submit(planned), timeout=120)
    assert done["status"] == "done" and [h["epoch"] for h in done["history"]] == [1, 2, 3]
    store = RunStore(tmp_path / "runs")
    assert store.load(done["run_id"]).epochs == 3
    # The two-epoch recipe is not the three-epoch run, and the plan finds its own run again.
    assert store.find(planned.config_key, 2) is None
    assert store.find(planned.config_key, 3) == done["run_id"]
    assert manager.submit(spec(epochs=2)).status in ("queued", "running")


def test_stop_keeps_whole_epochs(manager, tmp_path):
    job = manager.submit(spec(epochs=50, model="seednet"))
    seen = threading.Event()
    while not seen.is_set():
        snap = job.snapshot()
        if len(snap["history"]) >= 1:
            seen.set()
    job.stop()
    done = manager.wait(job, timeout=120)
    assert done["status"] == "stopped" and 1 <= len(done["history"]) < 50
    run = RunStore(tmp_path / "runs").load(done["run_id"])
    assert run.epochs == len(done["history"])
    # A stopped run is not mistaken for the finished configuration.
    assert manager.submit(spec(epochs=50, model="seednet")).status in ("queued", "running")


def test_continue_a_run(manager, tmp_path):
    first = manager.wait(manager.submit(spec()), timeout=120)
    more = manager.submit(JobSpec(resume_run=first["run_id"], more_epochs=1))
    done = manager.wait(more, timeout=120)
    assert done["status"] == "done" and [h["epoch"] for h in done["history"]] == [1, 2, 3]
    assert RunStore(tmp_path / "runs").load(first["run_id"]).epochs == 3


def test_failures_are_reported_not_raised(tmp_path):
    from movierec.errors import DataError

    def missing(name):
        raise DataError(f"{name} is not here")

    manager = JobManager(runs_dir=tmp_path / "runs", loader=missing)
    done = manager.wait(manager.submit(spec()), timeout=30)
    assert done["status"] == "failed" and "demo is not here" in done["message"]
    # The worker lives on.
    assert manager.wait(manager.submit(spec(seed=4)), timeout=30)["status"] == "failed"
    manager.close()


def test_a_diverging_loss_fails_cleanly_and_is_never_reused(manager, tmp_path, monkeypatch):
    # Learning rates past any sane value are refused before training starts...
    with pytest.raises(ConfigError, match="lr must be in"):
        TrainConfig(lr=1e12)
    # ...and a loss that still blows up (here: NaN from the third epoch's first batch on) stops
    # the job with a clear message, keeping only the whole epochs before it.
    from movierec.models.mf import MF
    original, calls = MF.training_loss, []
    batches_per_epoch = -(-int(0.3 * 0.9 * 100_000) // 2048)

    def diverging(self, user_idx, *args, **kwargs):
        # Not the validation passes, nor the memory check's batch on PyTorch's meta device.
        if self.training and user_idx.device.type != "meta":
            calls.append(1)
        loss, data_loss, out = original(self, user_idx, *args, **kwargs)
        if len(calls) > 2 * batches_per_epoch:
            loss = loss * float("nan")
        return loss, data_loss, out

    monkeypatch.setattr(MF, "training_loss", diverging)
    job_spec = spec(epochs=4)
    done = manager.wait(manager.submit(job_spec), timeout=120)
    assert done["status"] == "failed" and "lower the learning rate" in done["message"]
    store = RunStore(tmp_path / "runs")
    (row,) = store.list()
    assert row["status"] == "ok" and row["epochs"] == 2 and math.isfinite(row["val_loss"])
    loaded = store.load(row["run_id"])
    assert all(torch.isfinite(v).all() for v in loaded.model.state_dict().values())
    # Not finished as planned, so the same settings are trained again, not served from disk.
    assert store.find(job_spec.key) is None
    monkeypatch.setattr(MF, "training_loss", original)
    again = manager.submit(job_spec)
    assert manager.wait(again, timeout=120)["status"] == "done"
