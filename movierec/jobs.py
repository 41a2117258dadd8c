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
from movierec.experiment import Training, continue_training, start_training
from movierec.models import get_model_spec
from movierec.runs import RunStore, run_key

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running", "measuring")


class _StopRequested(Exception):
    pass


@dataclass(frozen=True)
class JobSpec:
    """What to train: a new run from configs, or ``more_epochs`` of an existing run.

    Attributes:
        data_config, model_name, model_config, train_config: a new run's settings.
        resume_run: id of a run to continue instead (the configs are then ignored).
        more_epochs: epochs to add when continuing.
    """

    data_config: DataConfig | None = None
    model_name: str = ""
    model_config: object = None
    train_config: TrainConfig | None = None
    resume_run: str | None = None
    more_epochs: int = 0

    @classmethod
    def new(cls, data_config: DataConfig, model_name: str, model_config=None,
            train_config: TrainConfig | None = None) -> JobSpec:
        spec = get_model_spec(model_name)
        return cls(data_config, model_name, model_config or spec.config_cls(),
                   train_config or spec.train_defaults)

    @property
    def key(self) -> str:
        if self.resume_run:
            return f"resume:{self.resume_run}:+{self.more_epochs}"
        return run_key(self.data_config, self.model_name, self.model_config, self.train_config)

    @property
    def planned_epochs(self) -> int:
        return self.more_epochs if self.resume_run else self.train_config.epochs


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
                existing = self.store.find(key)
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
                training = start_training(self._dataset_named(spec.data_config.dataset),
                                          spec.data_config, spec.model_name, spec.model_config,
                                          spec.train_config)
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
                raise _StopRequested

        try:
            for _ in training.epochs(job.spec.planned_epochs, on_batch=on_batch):
                self.store.save(training.run)
                job._update(history=list(training.run.history))
        except _StopRequested:
            training.rewind()
            kept = training.run.epochs
            if kept:
                self.store.save(training.run)
            job._update(status="stopped", finished=time.time(), history=list(
                training.run.history), message=f"stopped by request after {kept} epochs"
                + ("" if kept else "; nothing was saved"),
                run_id=training.run.run_id if kept else None)
            return
        except MovieRecError as exc:
            job._update(status="failed", finished=time.time(), message=str(exc))
            return
        job._update(status="measuring", batches=(0, 0))
        job._update(status="done", finished=time.time(),
                    message="finished" + self._measure(job, training))

    def _measure(self, job: Job, training: Training) -> str:
        """Measure the finished run as people see it and store the tables beside it; returns
        a note for the job's message when that failed (the run itself is kept)."""
        from movierec.evaluation.report import measure_run, save_quality

        def progress(label: str, done: int, total: int) -> None:
            job._update(batches=(done, total), message=f"measuring: {label}")
            if job._stop.is_set():
                raise _StopRequested

        notes: dict[str, str] = {}
        try:
            save_quality(self.store, training.run.run_id,
                         measure_run(training.run, training.split, progress=progress,
                                     notes=notes))
        except _StopRequested:
            return "; quality not measured (stopped)"
        except MovieRecError as exc:
            return f"; quality not measured: {exc}"
        return "".join(f"; {name} quality not measured: {why}" for name, why in notes.items())
