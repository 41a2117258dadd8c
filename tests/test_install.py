"""`pip install .` gives a `movierec` command that works away from the checkout, and torchrun
runs the installed package. The dependencies come from the test environment (a .pth file) so
that the test needs no network; benchmarks/scale.py installs into a truly clean venv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A new venv with movierec installed from this checkout (built as a wheel)."""
    root = tmp_path_factory.mktemp("install")
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
                           str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return venv


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(MOVIEREC_DATA_DIR=str(tmp / "data"), MOVIEREC_CACHE_DIR=str(tmp / "cache"),
               MOVIEREC_HOME=str(tmp / "home"), OMP_NUM_THREADS="1")
    return env


def test_the_movierec_command_runs_the_installed_package(installed, tmp_path):
    env = _env(tmp_path)
    where = subprocess.run([str(installed / "bin" / "python"), "-c",
                            "import movierec; print(movierec.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert str(installed) in where and str(ROOT) not in where
    shown = subprocess.run([str(installed / "bin" / "movierec"), "--help"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "train" in shown.stdout
    listed = subprocess.run([str(installed / "bin" / "movierec"), "datasets", "--json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    names = {row["name"] for row in json.loads(listed.stdout)["datasets"]}
    assert {"ml-1m", "ml-32m", "demo"} <= names
    bad = subprocess.run([str(installed / "bin" / "movierec"), "train", "--fraction", "2"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error:")


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
