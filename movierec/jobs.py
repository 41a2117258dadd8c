"""Background training shared by many callers (the dashboard's browser sessions).

One worker thread trains queued jobs one at a time (a 2-core machine gains nothing from two at
once). A job for a configuration that is already queued, running or saved as a finished run is
shared rather than repeated, so the same settings asked twice train once. Jobs save their run
after every epoch, can be stopped between batches, and report progress that any thread may read.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from movierec.config import DataConfig, TrainConfig
from movierec.data.dataset import Dataset
from movierec.data.loader import load_dataset
from movierec.errors import MovieRecError
from movierec.experiment import Training, continue_training
from movierec.recipe import Recipe
from movierec.run import run_key
from movierec.runs import RunStore
from movierec.workflows import Stopped, start, train

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running", "measuring")


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
                    "finished": self.finished}

    def _update(self, **changes) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self, name, value)


class JobManager:
    """Queue of training jobs with one worker thread.

    Args:
        runs_dir, data_dir, cache_dir: locations (see :mod:`movierec.paths`).
        loader: how a dataset is loaded by name (tests substitute their own).
    """

    def __init__(self, runs_dir=None, data_dir=None, cache_dir=None,
                 loader: Callable[[str], Dataset] | None = None) -> None:
        self.store = RunStore(runs_dir)
        self._loader = loader or (lambda name: load_dataset(
            name, data_dir=data_dir, cache_dir=cache_dir, allow_download=False))
        self._jobs: dict[str, Job] = {}
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._dataset: Dataset | None = None
        self._closed = False
        self._worker = threading.Thread(target=self._work, name="movierec-trainer", daemon=True)
        self._worker.start()
        atexit.register(self.close)

    def close(self, timeout: float = 30.0) -> None:
        """Stop every job (finished epochs are saved) and end the worker."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for job in self._jobs.values():
                job.stop()
        self._queue.put(None)
        self._worker.join(timeout)

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

    # --- worker -------------------------------------------------------------------------------
    def _dataset_named(self, name: str) -> Dataset:
        if self._dataset is None or self._dataset.name != name:
            self._dataset = self._loader(name)
        return self._dataset

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._run(job)
            except Exception as exc:  # noqa: BLE001 - a bug must not kill the worker
                log.exception("training job %s failed", job.key)
                job._update(status="failed", finished=time.time(),
                            message=f"internal error: {type(exc).__name__}: {exc}")

    def _run(self, job: Job) -> None:
        if job._stop.is_set():
            job._update(status="stopped", finished=time.time(), message="stopped before it began")
            return
        if self._closed:
            return
        job._update(status="running")
        spec = job.spec
        try:
            if spec.resume_run:
                run = self.store.load(spec.resume_run, with_trainer_state=True)
                training = continue_training(run, self._dataset_named(run.data_config.dataset))
            else:
                training = start(Recipe(spec.data_config, spec.model_name, spec.model_config,
                                        spec.train_config, spec.epoch_plan),
                                 self._dataset_named(spec.data_config.dataset))
        except MovieRecError as exc:
            job._update(status="failed", finished=time.time(), message=str(exc))
            return
        job._update(run_id=training.run.run_id, history=list(training.run.history),
                    start_epochs=training.run.epochs)
        self._train(job, training)

    def _train(self, job: Job, training: Training) -> None:
        def on_batch(done: int, total: int) -> None:
            job._update(batches=(done, total))
            if job._stop.is_set():
                raise Stopped

        def after_training(run) -> None:
            job._update(history=list(run.history))
            if not job._stop.is_set():
                job._update(status="measuring", batches=(0, 0))

        def on_quality(label: str, done: int, total: int) -> None:
            job._update(batches=(done, total), message=f"measuring: {label}")
            if job._stop.is_set():
                raise Stopped

        try:
            result = train(training, job.spec.epoch_plan, store=self.store, save_each_epoch=True,
                           on_epoch=lambda _: job._update(history=list(training.run.history)),
                           on_batch=on_batch, on_quality=on_quality,
                           after_training=after_training, tolerate_measure_errors=True)
        except MovieRecError as exc:
            job._update(status="failed", finished=time.time(), message=str(exc))
            return
        kept = training.run.epochs
        if not result.completed:
            job._update(status="stopped", finished=time.time(), history=list(
                training.run.history), message=f"stopped by request after {kept} epochs"
                + ("" if kept else "; nothing was saved"),
                run_id=training.run.run_id if kept else None)
            return
        notes = result.notes
        job._update(status="done", finished=time.time(), message="finished" + (
            "; quality not measured (stopped)" if notes.get("quality") == "stopped" else
            f"; quality not measured: {notes['quality']}" if "quality" in notes else
            "".join(f"; {name} quality not measured: {why}" for name, why in notes.items())))
