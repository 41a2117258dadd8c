"""`pip install .` gives a `movierec` command that works away from the checkout, and torchrun
runs the installed package. The dependencies come from the test environment (a .pth file) so
that the test needs no network; benchmarks/scale.py installs into a truly clean venv. The
package is built from a copy of the checkout (what git tracks, and untracked files it does not
ignore), so that the build leaves no build/ or *.egg-info in the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _build_outputs() -> dict[str, int]:
    """What a build leaves in the checkout: build/ and *.egg-info, with their times."""
    return {p.name: p.stat().st_mtime_ns for p in [ROOT / "build", *ROOT.glob("*.egg-info")]
            if p.exists()}


def copy_of_the_checkout(to: Path) -> Path:
    """The files of the checkout that git tracks or would track (not ignored ones: no venv,
    caches or earlier builds), copied to ``to``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, check=True, capture_output=True,
                            timeout=60).stdout.decode().split("\0")
    copied = 0
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():            # tracked files deleted in the work tree are skipped
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)
            copied += 1
    assert copied and (to / "pyproject.toml").is_file() and (to / "movierec" / "cli").is_dir()
    return to


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A new venv with movierec installed from a copy of this checkout (built as a wheel)."""
    root = tmp_path_factory.mktemp("install")
    source = copy_of_the_checkout(root / "source")
    before = _build_outputs()
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], check=True, capture_output=True, text=True
                          ).stdout.strip()
    (Path(site) / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # This environment's pip, run for the new venv (which has none of its own).
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                           str(source)],
                          capture_output=True, text=True, timeout=600, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _build_outputs() == before               # the build left nothing in the checkout
    assert not (ROOT / "build").exists(), "build/ in the checkout: a second copy of the package"
    return venv


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(MOVIEREC_DATA_DIR=str(tmp / "data"), MOVIEREC_CACHE_DIR=str(tmp / "cache"),
               MOVIEREC_HOME=str(tmp / "home"), OMP_NUM_THREADS="1")
    return env


def test_the_movierec_command_runs_the_installed_package(installed, tmp_path):
    env = _env(tmp_path)
    command = str(installed / "bin" / "movierec")
    # Four independent processes, started together (each spends its time importing).
    started = [subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for argv in [
        [str(installed / "bin" / "python"), "-c", "import movierec; print(movierec.__file__)"],
        [command, "--help"], [command, "datasets", "--json"], [command, "train", "--fraction",
                                                                "2"]]]
    results = []
    for process in started:
        out, err = process.communicate(timeout=120)
        results.append((process.returncode, out, err))          # (status, stdout, stderr)
    where, shown, listed, bad = results
    assert where[0] == 0, where[2]
    assert str(installed) in where[1] and str(ROOT) not in where[1]
    assert shown[0] == 0 and "train" in shown[1]
    assert listed[0] == 0, listed[2]
    names = {row["name"] for row in json.loads(listed[1])["datasets"]}
    assert {"ml-1m", "ml-32m", "demo"} <= names
    assert bad[0] == 2 and bad[2].startswith("error:")


def test_torchrun_trains_with_the_installed_package(installed, tmp_path):
    env = _env(tmp_path)
    done = subprocess.run([str(installed / "bin" / "python"), "-m", "torch.distributed.run",
                           "--nproc-per-node", "2", "--standalone", "-m", "movierec", "train",
                           "--dataset", "demo", "--model", "mf", "--epochs", "1",
                           "--no-quality", "--json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(done.stdout)
    assert doc["world_size"] == 2 and len(doc["history"]) == 1
    assert Path(doc["run_dir"]).is_dir() and str(tmp_path) in doc["run_dir"]
