"""The body of a training job, and the worker process it runs in.

:func:`run_job` trains one :class:`~movierec.jobs.JobSpec` and tells how it goes through a
``report(**changes)`` callback (fields of :class:`~movierec.jobs.Job`). The job manager calls
it in a worker process (:func:`spawn` starts one, :func:`main` is its body), so a job that
crashes, runs out of memory or is killed takes nothing else down, and a niced process with its
own torch threads leaves the dashboard's pages their share of the cores; tests may call it in a
thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from movierec.errors import MovieRecError

if TYPE_CHECKING:
    from movierec.data.dataset import Dataset
    from movierec.jobs import JobSpec

log = logging.getLogger(__name__)

Report = Callable[..., None]
# How often batch progress is sent (finer reports cost the pipe and the reader for nothing).
REPORT_EVERY = 0.2


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker process runs.

    Attributes:
        nice: added to the process's niceness (``os.nice``): the server's pages come first.
        threads: torch's intra-op threads; 0: torch's default (one per core).
    """

    nice: int = 10
    threads: int = 0

    @classmethod
    def from_env(cls, parallel: int = 1) -> WorkerSettings:
        """From ``$MOVIEREC_JOB_NICE`` and ``$MOVIEREC_JOB_THREADS``; without the latter, the
        cores shared out among ``parallel`` jobs."""
        cores = os.cpu_count() or 1
        return cls(nice=_env_int("MOVIEREC_JOB_NICE", 10, 0, 19),
                   threads=_env_int("MOVIEREC_JOB_THREADS", max(1, cores // parallel), 1, 1024))


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise MovieRecError(f"${name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise MovieRecError(f"${name} must be between {low} and {high}, not {value}")
    return value


def run_job(spec: JobSpec, runs_dir: str, loader: Callable[[str], Dataset], report: Report,
            should_stop: Callable[[], bool]) -> None:
    """Train ``spec`` into the runs folder ``runs_dir``, reporting every change of state; ends
    with a report whose ``status`` is ``done``, ``stopped`` or ``failed``. Raises only on a
    bug (the caller reports it)."""
    from movierec.experiment import continue_training
    from movierec.recipe import Recipe
    from movierec.runs import RunStore
    from movierec.workflows import Stopped, start, train

    if should_stop():
        report(status="stopped", finished=time.time(), message="stopped before it began")
        return
    report(status="running")
    store = RunStore(runs_dir)
    try:
        if spec.resume_run:
            run = store.load(spec.resume_run, with_trainer_state=True)
            training = continue_training(run, loader(run.data_config.dataset))
        else:
            training = start(Recipe(spec.data_config, spec.model_name, spec.model_config,
                                    spec.train_config, spec.epoch_plan),
                             loader(spec.data_config.dataset))
    except MovieRecError as exc:
        report(status="failed", finished=time.time(), message=str(exc))
        return
    report(run_id=training.run.run_id, history=list(training.run.history),
           start_epochs=training.run.epochs)
    last = [0.0]

    def on_batch(done: int, total: int) -> None:
        if done == total or time.monotonic() - last[0] >= REPORT_EVERY:
            last[0] = time.monotonic()
            report(batches=(done, total))
        if should_stop():
            raise Stopped

    def after_training(run) -> None:
        report(history=list(run.history))
        if not should_stop():
            report(status="measuring", batches=(0, 0))

    def on_quality(label: str, done: int, total: int) -> None:
        report(batches=(done, total), message=f"measuring: {label}")
        if should_stop():
            raise Stopped

    try:
        result = train(training, spec.epoch_plan, store=store, save_each_epoch=True,
                       on_epoch=lambda _: report(history=list(training.run.history)),
                       on_batch=on_batch, on_quality=on_quality,
                       after_training=after_training, tolerate_measure_errors=True)
    except MovieRecError as exc:
        report(status="failed", finished=time.time(), message=str(exc))
        return
    kept = training.run.epochs
    if not result.completed:
        report(status="stopped", finished=time.time(), history=list(training.run.history),
               message=f"stopped by request after {kept} epochs"
               + ("" if kept else "; nothing was saved"),
               run_id=training.run.run_id if kept else None)
        return
    notes = result.notes
    report(status="done", finished=time.time(), message="finished" + (
        "; quality not measured (stopped)" if notes.get("quality") == "stopped" else
        f"; quality not measured: {notes['quality']}" if "quality" in notes else
        "".join(f"; {name} quality not measured: {why}" for name, why in notes.items())))


def spawn(payload: tuple) -> tuple[subprocess.Popen, Connection, Connection]:
    """Start a worker process (``python -m movierec.jobworker``) for ``payload``
    (``spec, runs_dir, loader, settings``); returns the process, the connection its reports
    come on and the one that asks it to stop.

    A fresh interpreter rather than a fork of the server (whose threads a fork would copy
    half-way) or :mod:`multiprocessing`'s spawn (which runs the parent's ``__main__`` again,
    and under Streamlit that is the page being drawn)."""
    control_in, control_out = os.pipe()
    report_in, report_out = os.pipe()
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    control = Connection(control_out, readable=False)
    reports = Connection(report_in, writable=False)
    process = None
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "movierec.jobworker", str(control_in), str(report_out)],
            pass_fds=(control_in, report_out), stdin=subprocess.DEVNULL, env=env)
        # The parent's import path first, so that what the payload names unpickles there too.
        control.send([p for p in sys.path if isinstance(p, str)])
        control.send(payload)
    except BaseException:
        control.close()
        reports.close()
        if process is not None:
            process.kill()
            process.wait()
        raise
    finally:
        os.close(control_in)
        os.close(report_out)
    return process, reports, control


def main(argv: list[str]) -> None:
    """A worker process: train the job sent down the control pipe, sending each report back
    down the report pipe. A ``"stop"`` on the control pipe asks it to stop after the current
    batch, and so does the pipe's end (the server is gone); finished epochs are saved either
    way."""
    control = Connection(int(argv[0]), writable=False)
    reports = Connection(int(argv[1]), readable=False)
    # Ctrl-C in the server's terminal reaches the whole process group: the server stops its
    # jobs itself, after the current batch, so the interrupt is not for this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stopped = False

    def should_stop() -> bool:
        nonlocal stopped
        try:
            while not stopped and control.poll():
                stopped = control.recv() == "stop"
        except (EOFError, OSError):
            stopped = True     # the server is gone
        return stopped

    def report(**changes) -> None:
        nonlocal stopped
        try:
            reports.send(changes)
        except OSError:        # the server is gone: stop, keeping the finished epochs
            stopped = True

    try:
        sys.path[:0] = [p for p in control.recv() if p not in sys.path]
        spec, runs_dir, loader, settings = control.recv()
        if settings.nice:
            with contextlib.suppress(OSError):
                os.nice(settings.nice)
        from movierec.process import tune_allocator

        tune_allocator()
        import torch

        if settings.threads:
            torch.set_num_threads(settings.threads)
        run_job(spec, runs_dir, loader, report, should_stop)
    except BaseException as exc:  # noqa: BLE001 - told to the server, then the process ends
        traceback.print_exc()
        report(status="failed", finished=time.time(),
               message=f"internal error: {type(exc).__name__}: {exc}")
    finally:
        reports.close()


def describe_exit(code: int | None) -> str:
    """Why a worker process that sent no outcome ended, in words."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        why = f"the training process was killed by {name}"
        if -code == signal.SIGKILL:
            why += " (the system does this when memory runs out)"
        return why
    return f"the training process ended unexpectedly (exit status {code})"


if __name__ == "__main__":
    main(sys.argv[1:])
