"""Background training jobs: shared when equal, stoppable, reported, saved; each in a worker
process of its own that may die without taking the server along."""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import threading
import time

import pytest
import torch

from movierec.config import TrainConfig
from movierec.errors import ConfigError, DataError, MovieRecError
from movierec.jobs import JobManager, JobSpec
from movierec.jobworker import WorkerSettings
from movierec.recipe import make_recipe
from movierec.runs import RunStore


@pytest.fixture
def manager(tmp_path, isolated_locations):
    """Jobs in worker processes, loading the demo data as the dashboard's manager does."""
    jobs = JobManager(runs_dir=tmp_path / "runs", settings=WorkerSettings(nice=5, threads=1))
    yield jobs
    jobs.close()


@pytest.fixture
def threaded(tmp_path, demo):
    """Jobs in a thread of this process, so that a test can patch the training code."""
    jobs = JobManager(runs_dir=tmp_path / "runs", loader=lambda name: demo, processes=False)
    yield jobs
    jobs.close()


def _missing(name):
    raise DataError(f"{name} is not here")


def _broken(name):
    raise RuntimeError("a bug in the loader")


def _first_epoch(job, timeout=120):
    deadline = time.monotonic() + timeout
    while not job.snapshot()["history"]:
        assert job.status in ("queued", "running"), job.snapshot()
        assert time.monotonic() < deadline, "no epoch finished"
        time.sleep(0.05)
    return job.snapshot()


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
    manager = JobManager(runs_dir=tmp_path / "runs", loader=_missing)
    done = manager.wait(manager.submit(spec()), timeout=60)
    assert done["status"] == "failed" and "demo is not here" in done["message"]
    # The worker lives on.
    assert manager.wait(manager.submit(spec(seed=4)), timeout=60)["status"] == "failed"
    manager.close()


def test_a_bug_in_the_worker_process_fails_the_job_with_its_message(tmp_path):
    manager = JobManager(runs_dir=tmp_path / "runs", loader=_broken)
    done = manager.wait(manager.submit(spec()), timeout=60)
    manager.close()
    assert done["status"] == "failed"
    assert done["message"] == "internal error: RuntimeError: a bug in the loader"


def test_jobs_train_in_a_niced_process_of_their_own(manager, tmp_path):
    job = manager.submit(spec(epochs=30, model="seednet"))
    snap = _first_epoch(job)
    pid = snap["pid"]
    assert pid is not None and pid != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 5)
    assert snap["batches"][1] > 0 and snap["model"] == "seednet"
    job.stop()
    done = manager.wait(job, timeout=60)
    assert done["status"] == "stopped" and done["pid"] is None
    with pytest.raises(ProcessLookupError):   # the process is gone, not left behind
        os.kill(pid, 0)


def test_a_killed_job_fails_within_seconds_and_the_next_one_trains(manager, tmp_path):
    job = manager.submit(spec(epochs=50, model="seednet"))
    snap = _first_epoch(job)
    os.kill(snap["pid"], signal.SIGKILL)
    killed = time.monotonic()
    done = manager.wait(job, timeout=10)
    assert time.monotonic() - killed < 10
    assert done["status"] == "failed" and "SIGKILL" in done["message"]
    assert "memory runs out" in done["message"]
    # The epochs it finished are on disk, whole, and say so.
    run = RunStore(tmp_path / "runs").load(done["run_id"])
    assert run.epochs >= len(snap["history"]) >= 1
    assert f"saved as run {done['run_id']}" in done["message"]
    # The manager goes on: a killed job is not reused, the next one trains.
    after = manager.wait(manager.submit(spec()), timeout=120)
    assert after["status"] == "done"
    assert manager.submit(spec(epochs=50, model="seednet")) is not job


def test_jobs_queue_one_after_another_by_default_and_side_by_side_when_asked(tmp_path,
                                                                            isolated_locations):
    for parallel in (1, 2):
        jobs = JobManager(runs_dir=tmp_path / f"runs{parallel}", parallel=parallel,
                          settings=WorkerSettings(nice=5, threads=1))
        first, second = jobs.submit(spec(seed=1)), jobs.submit(spec(seed=2))
        states = set()
        while first.status in ("queued", "running", "measuring") \
                or second.status in ("queued", "running", "measuring"):
            states.add((first.status, second.status))
            time.sleep(0.02)
        jobs.close()
        assert first.status == second.status == "done"
        both_running = ("running", "running") in states
        assert both_running == (parallel == 2), states


def test_worker_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MOVIEREC_JOB_NICE", "7")
    monkeypatch.setenv("MOVIEREC_JOB_THREADS", "3")
    assert WorkerSettings.from_env() == WorkerSettings(nice=7, threads=3)
    monkeypatch.delenv("MOVIEREC_JOB_THREADS")
    assert WorkerSettings.from_env(parallel=64).threads == 1
    for bad in ("x", "-1", "20"):
        monkeypatch.setenv("MOVIEREC_JOB_NICE", bad)
        with pytest.raises(MovieRecError, match="MOVIEREC_JOB_NICE"):
            WorkerSettings.from_env()
    monkeypatch.setenv("MOVIEREC_JOBS", "0")
    with pytest.raises(MovieRecError, match="MOVIEREC_JOBS"):
        JobManager(runs_dir="unused")


def test_a_diverging_loss_fails_cleanly_and_is_never_reused(threaded, tmp_path, monkeypatch):
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
    done = threaded.wait(threaded.submit(job_spec), timeout=120)
    assert done["status"] == "failed" and "lower the learning rate" in done["message"]
    store = RunStore(tmp_path / "runs")
    (row,) = store.list()
    assert row["status"] == "ok" and row["epochs"] == 2 and math.isfinite(row["val_loss"])
    loaded = store.load(row["run_id"])
    assert all(torch.isfinite(v).all() for v in loaded.model.state_dict().values())
    # Not finished as planned, so the same settings are trained again, not served from disk.
    assert store.find(job_spec.key) is None
    monkeypatch.setattr(MF, "training_loss", original)
    again = threaded.submit(job_spec)
    assert threaded.wait(again, timeout=120)["status"] == "done"
