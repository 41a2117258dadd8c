"""Background training shared by many callers (the dashboard's browser sessions).

Each job trains in a worker process of its own (:mod:`movierec.jobworker`), niced below the
server and with its own share of torch's threads, so pages stay quick while it trains and a job
that crashes or is killed (out of memory, say) ends as a failed job while the server goes on.
Queued jobs run one at a time by default (``parallel``: side by side, each checking the memory
left when it starts). A job for a configuration that is already queued, running or saved as a
finished run is shared rather than repeated, so the same settings asked twice train once. Jobs
save their run after every epoch, can be stopped between batches, and report progress that any
thread may read.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from movierec.config import DataConfig, TrainConfig, to_dict
from movierec.data.dataset import Dataset
from movierec.data.loader import load_dataset
from movierec.errors import MovieRecError
from movierec.jobworker import WorkerSettings, describe_exit, run_job, spawn
from movierec.recipe import Recipe
from movierec.run import run_key
from movierec.runs import RunStore

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running", "measuring")
FINAL = ("done", "stopped", "failed")
# How often a job's process is looked at while it sends nothing (an outcome, or a death).
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class JobSpec:
    """What to train: a new run from a recipe, or ``more_epochs`` of an existing run.

    Attributes:
        data_config, model_name, model_config, train_config: a new run's settings.
        plan: epochs per training call (a preset's continuation is a second one); empty means
            ``train_config.epochs`` in one.
        resume_run: id of a run to continue instead (the configs are then ignored).
        more_epochs: epochs to add when continuing.
    """

    data_config: DataConfig | None = None
    model_name: str = ""
    model_config: object = None
    train_config: TrainConfig | None = None
    plan: tuple[int, ...] = ()
    resume_run: str | None = None
    more_epochs: int = 0

    @classmethod
    def of(cls, recipe: Recipe) -> JobSpec:
        """The job that trains ``recipe`` (see :func:`movierec.recipe.make_recipe`)."""
        return cls(recipe.data, recipe.model, recipe.model_config, recipe.train, recipe.plan)

    @property
    def epoch_plan(self) -> tuple[int, ...]:
        if self.resume_run:
            return (self.more_epochs,)
        return self.plan or (self.train_config.epochs,)

    @property
    def config_key(self) -> str:
        """The key of the configs (what a saved run records, see :func:`run_key`)."""
        return run_key(self.data_config, self.model_name, self.model_config, self.train_config)

    @property
    def key(self) -> str:
        if self.resume_run:
            return f"resume:{self.resume_run}:+{self.more_epochs}"
        plan = self.epoch_plan
        return self.config_key + ("" if len(plan) == 1 else "-plan" + "+".join(map(str, plan)))

    @property
    def planned_epochs(self) -> int:
        return sum(self.epoch_plan)

    def describe(self) -> str:
        """What the job trains, in one line (the Train page shows it beside the progress)."""
        if self.resume_run:
            return f"{self.more_epochs} more epochs of run {self.resume_run}"
        model = ", ".join(f"{k} {_word(v)}" for k, v in to_dict(self.model_config).items())
        train = ", ".join(f"{k} {_word(v)}" for k, v in to_dict(self.train_config).items()
                          if k != "epochs")
        return (f"{self.model_name} ({model}) on {self.data_config.dataset}; "
                f"{'+'.join(map(str, self.epoch_plan))} epochs, {train}")


def _word(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(eq=False)
class Job:
    """One training job. Read it through :meth:`snapshot`; change it only through the manager
    (and :meth:`stop`)."""

    spec: JobSpec
    status: str = "queued"          # queued, running, measuring, done, stopped, failed
    message: str = ""
    run_id: str | None = None
    history: list[dict] = field(default_factory=list)
    start_epochs: int = 0           # epochs the run had before this job
    batches: tuple[int, int] = (0, 0)
    submitted: float = field(default_factory=time.time)
    finished: float | None = None
    pid: int | None = None          # its worker process, while it runs in one
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def key(self) -> str:
        return self.spec.key

    def stop(self) -> None:
        """Ask the job to stop after the current batch; finished epochs are kept."""
        self._stop.set()

    def snapshot(self) -> dict:
        """A consistent copy of the job's state, safe to read from any thread."""
        with self._lock:
            return {"key": self.key, "status": self.status, "message": self.message,
                    "run_id": self.run_id, "history": list(self.history),
                    "start_epochs": self.start_epochs, "batches": self.batches,
                    "planned_epochs": self.spec.planned_epochs,
                    "model": self.spec.model_name, "submitted": self.submitted,
                    "finished": self.finished, "pid": self.pid,
                    "settings": self.spec.describe()}

    def _update(self, **changes) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self, name, value)


class JobManager:
    """Queue of training jobs, trained by ``parallel`` workers.

    Args:
        runs_dir, data_dir, cache_dir: locations (see :mod:`movierec.paths`).
        loader: how a dataset is loaded by name (tests substitute their own); with
            ``processes`` it must pickle (a module-level function or a partial of one).
        processes: train each job in a worker process (the default); False trains in a
            thread of this process (tests that patch the training code).
        parallel: jobs trained at once; default ``$MOVIEREC_JOBS``, else 1.
        settings: the worker processes' niceness and threads (default: from the environment,
            see :meth:`WorkerSettings.from_env`).
    """

    def __init__(self, runs_dir=None, data_dir=None, cache_dir=None,
                 loader: Callable[[str], Dataset] | None = None, processes: bool = True,
                 parallel: int | None = None, settings: WorkerSettings | None = None) -> None:
        self.store = RunStore(runs_dir)
        self._loader = loader or functools.partial(
            load_dataset, data_dir=data_dir, cache_dir=cache_dir, allow_download=False)
        self.processes = processes
        self.parallel = parallel or _jobs_from_env()
        self.settings = settings or WorkerSettings.from_env(self.parallel)
        self._jobs: dict[str, Job] = {}
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._datasets: dict[str, Dataset] = {}
        self._closed = False
        self._workers = [threading.Thread(target=self._work, name=f"movierec-jobs-{i}",
                                          daemon=True) for i in range(self.parallel)]
        for worker in self._workers:
            worker.start()
        atexit.register(self.close)

    def close(self, timeout: float = 30.0) -> None:
        """Stop every job (finished epochs are saved) and end the workers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for job in self._jobs.values():
                job.stop()
        for _ in self._workers:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def submit(self, spec: JobSpec) -> Job:
        """Queue ``spec`` unless the same job is queued, running or finished already.

        A new run whose configs match a finished run on disk comes back at once as a ``done``
        job naming that run.
        """
        key = spec.key
        with self._lock:
            if self._closed:
                raise RuntimeError("this job manager is closed")
            job = self._jobs.get(key)
            if job is not None and (job.status in ACTIVE or job.status == "done"):
                return job
            if not spec.resume_run:
                existing = self.store.find(spec.config_key, spec.planned_epochs)
                if existing is not None:
                    job = Job(spec, status="done", run_id=existing, finished=time.time(),
                              message="trained before; loaded from disk")
                    self._jobs[key] = job
                    return job
            job = Job(spec)
            self._jobs[key] = job
            self._queue.put(job)
            return job

    def get(self, key: str) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def active(self) -> list[Job]:
        """Jobs queued or running, oldest first."""
        with self._lock:
            return [j for j in self._jobs.values() if j.status in ACTIVE]

    def forget(self, run_id: str) -> None:
        """Drop finished jobs that point at ``run_id`` (after it was deleted)."""
        with self._lock:
            for key in [k for k, j in self._jobs.items()
                        if j.run_id == run_id and j.status not in ACTIVE]:
                del self._jobs[key]

    def wait(self, job: Job, timeout: float | None = None) -> dict:
        """Block until ``job`` leaves the queue (tests and scripts); returns its snapshot."""
        deadline = None if timeout is None else time.time() + timeout
        while job.status in ACTIVE:
            if deadline is not None and time.time() > deadline:
                raise TimeoutError(f"job {job.key} still {job.status}")
            time.sleep(0.05)
        return job.snapshot()

    # --- workers ------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                if job._stop.is_set() or self._closed:
                    job._update(status="stopped", finished=time.time(),
                                message="stopped before it began")
                elif self.processes:
                    job._update(status="running")    # no longer waiting for a worker
                    self._in_process(job)
                else:
                    run_job(job.spec, str(self.store.root), self._cached_loader,
                            job._update, job._stop.is_set)
            except Exception as exc:  # noqa: BLE001 - a bug must not kill the worker
                log.exception("training job %s failed", job.key)
                job._update(status="failed", finished=time.time(),
                            message=f"internal error: {type(exc).__name__}: {exc}")

    def _cached_loader(self, name: str) -> Dataset:
        """The loader, remembering the last dataset (jobs in threads share this process)."""
        with self._lock:
            found = self._datasets.get(name)
        if found is None:
            found = self._loader(name)
            with self._lock:
                self._datasets = {name: found}
        return found

    def _in_process(self, job: Job) -> None:
        """Train ``job`` in a worker process, passing its reports on until it ends; a process
        that ends without an outcome (killed, crashed) fails the job with the reason."""
        process, reports, control = spawn(
            (job.spec, str(self.store.root), self._loader, self.settings))
        job._update(pid=process.pid)
        outcome, asked = None, False
        try:
            while True:
                if job._stop.is_set() and not asked:
                    asked = True
                    with contextlib.suppress(OSError):
                        control.send("stop")
                try:
                    if not reports.poll(POLL_SECONDS):
                        if process.poll() is None:
                            continue
                        if not reports.poll(0):
                            break
                    changes = reports.recv()
                except (EOFError, OSError):
                    break
                if changes.get("status") in FINAL:
                    outcome = changes     # told once the process is gone
                else:
                    job._update(**changes)
        finally:
            reports.close()
            control.close()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if outcome is None:
            snap = job.snapshot()
            kept = len(snap["history"]) - snap["start_epochs"]
            saved = f"; its {kept} finished epochs are saved as run {snap['run_id']}" \
                if kept and snap["run_id"] else ""
            outcome = {"status": "failed", "finished": time.time(),
                       "message": describe_exit(process.returncode) + saved}
        job._update(**outcome, pid=None)


def _jobs_from_env() -> int:
    raw = os.environ.get("MOVIEREC_JOBS", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise MovieRecError(f"$MOVIEREC_JOBS must be a whole number from 1 to 64, not {raw!r}")
    return int(raw)
