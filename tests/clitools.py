"""Running the command line in tests: ``main(argv)`` in this process (fast: no interpreter start
or imports) or ``python -m movierec`` in a fresh one (the real entry point), with one result
type and one check of the user-error contract for both."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from movierec.cli import main

ROOT = Path(__file__).resolve().parents[1]

# What a plain ``python`` process does not print (its default warning filters): any other
# warning would be one more line on the real command's stderr.
_SILENT_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@dataclass
class Result:
    """What a command did: its exit status and what it wrote on stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str


def run_main(capture, *argv: str) -> Result:
    """``main(argv)`` in this process, its output read from ``capture`` (pytest's capfd or
    capsys). An argparse mistake ends in ``SystemExit``; its code is the exit status. The
    warnings a real process would print are added to stderr, as it would show them."""
    capture.readouterr()                               # not what came before
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code
    out, err = capture.readouterr()
    for w in caught:
        if not issubclass(w.category, _SILENT_WARNINGS):
            err += warnings.formatwarning(w.message, w.category, w.filename, w.lineno)
    return Result(code, out, err)


def run_process(*argv: str, env_extra: dict | None = None, cwd: Path = ROOT,
                timeout: float = 300) -> Result:
    """``python -m movierec`` in a fresh process, with this test's locations."""
    return wait(start_process(*argv, env_extra=env_extra, cwd=cwd), timeout=timeout)


def start_process(*argv: str, env_extra: dict | None = None,
                  cwd: Path = ROOT) -> subprocess.Popen:
    """``python -m movierec`` started (several can start at once: see :func:`wait`)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "movierec", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


def wait(process: subprocess.Popen, timeout: float = 300) -> Result:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return Result(process.returncode, out, err)


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit status 2, exactly one stderr line that starts with ``error: `` and holds each of
    ``fragments``, and no traceback."""
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
