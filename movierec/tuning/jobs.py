"""Search studies run in the background for the dashboard: each is ``python -m movierec tune``
in a niced process of its own, writing its study to the runs folder's storage, where the Tune
page reads the trials as they finish. A stop is a Ctrl-C to that process: the trial under way
fails, the finished ones stay in the study, and no test is run."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from movierec.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@dataclass(eq=False)
class StudyJob:
    """One ``tune`` process. Read it through :meth:`snapshot`.

    Attributes:
        study: the study's name. trials: the trials it was asked for. argv: its arguments.
        first_trial: how many trials the study had when it started (its own come after).
    """

    study: str
    trials: int
    argv: list[str]
    process: subprocess.Popen
    out_path: Path
    err_path: Path
    first_trial: int = 0
    started: float = field(default_factory=time.time)
    stop_asked: bool = False

    def snapshot(self) -> dict:
        """``status`` (running, done, stopped, failed), ``message``, and ``result`` (the
        command's JSON, once it ended with one)."""
        code = self.process.poll()
        result, message = None, ""
        if code is not None:
            with contextlib.suppress(OSError, ValueError):
                text = self.out_path.read_text()
                result = json.loads(text) if text.strip() else None
            with contextlib.suppress(OSError):
                errors = [line for line in self.err_path.read_text().splitlines()
                          if line.startswith("error: ")]
                message = errors[-1].removeprefix("error: ") if errors else ""
        if code is None:
            status = "running"
        elif code == 0:
            status = "done"
        elif self.stop_asked or code == 130:
            status = "stopped"
        else:
            status = "failed"
            message = message or f"the study's process ended with status {code}"
        return {"study": self.study, "status": status, "message": message, "result": result,
                "trials": self.trials, "first_trial": self.first_trial,
                "started": self.started, "pid": self.process.pid}

    def stop(self) -> None:
        """Ask the study to stop: the trial under way fails, the others are kept."""
        self.stop_asked = True
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.send_signal(signal.SIGINT)


class StudyJobs:
    """The background studies of one server (a study name runs once at a time here).

    Args:
        runs_dir, data_dir, cache_dir: the locations the processes use.
        nice: added to their niceness, so the pages come first (default
            ``$MOVIEREC_JOB_NICE``, else 10, as for training jobs).
    """

    def __init__(self, runs_dir, data_dir=None, cache_dir=None, nice: int | None = None) -> None:
        # Absolute: the processes run in the repository's folder.
        self.runs_dir, self.data_dir, self.cache_dir = (
            None if folder is None else Path(folder).expanduser().resolve()
            for folder in (runs_dir, data_dir, cache_dir))
        if nice is None:
            from movierec.jobworker import WorkerSettings

            nice = WorkerSettings.from_env().nice
        self.nice = nice
        self._jobs: dict[str, StudyJob] = {}
        self._started = itertools.count()     # each process's own log files
        self._lock = threading.Lock()
        self._logs = Path(tempfile.mkdtemp(prefix="movierec-studies-"))
        atexit.register(self.close)

    def start(self, study: str, argv: list[str], trials: int, first_trial: int = 0) \
            -> StudyJob:
        """Start ``python -m movierec tune ARGV --study STUDY --json`` (ARGV without those).

        Raises:
            ConfigError: this study is already running here.
        """
        with self._lock:
            running = self._jobs.get(study)
            if running is not None and running.process.poll() is None:
                raise ConfigError(f"study {study!r} is already running")
            n = next(self._started)
            out, err = self._logs / f"{n}.json", self._logs / f"{n}.log"
            locations = [*(["--data-dir", str(self.data_dir)] if self.data_dir else []),
                         *(["--cache-dir", str(self.cache_dir)] if self.cache_dir else []),
                         "--runs-dir", str(self.runs_dir)]
            command = [sys.executable, "-m", "movierec", *locations, "tune", *argv,
                       "--study", study, "--trials", str(trials), "--json", "--quiet"]
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
            # Niced by nice(1): a preexec_fn is unsafe in a server's threads.
            if self.nice and shutil.which("nice"):
                command = ["nice", "-n", str(self.nice), *command]
            with open(out, "w") as stdout, open(err, "w") as stderr:
                process = subprocess.Popen(command, stdout=stdout, stderr=stderr,
                                           stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
            job = StudyJob(study, trials, command, process, out, err, first_trial)
            self._jobs[study] = job
            return job

    def get(self, study: str) -> StudyJob | None:
        with self._lock:
            return self._jobs.get(study)

    def running(self) -> list[StudyJob]:
        with self._lock:
            return [j for j in self._jobs.values() if j.process.poll() is None]

    def close(self, timeout: float = 30.0) -> None:
        """Stop every study still running and wait for the processes to end."""
        for job in self.running():
            job.stop()
        deadline = time.monotonic() + timeout
        for job in list(self._jobs.values()):
            try:
                job.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                job.process.kill()
                job.process.wait()
