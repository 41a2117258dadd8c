"""Measure the core issue's targets on this machine and print a markdown table.

Usage (from the repo root, with the real data in ../shared/data or $MOVIEREC_DATA_DIR):

    .venv/bin/python benchmarks/core.py [--skip-train] [--out results.md]

It times loading ML-1M (movierec cold, movierec cached, and the notebook's pandas
``engine='python'`` read), then trains through the CLI exactly as the README says and reports
each run's validation metrics and training seconds. Caches and runs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRAIN_RUNS = [
    ("seednet, notebook hyperparameters, 10 epochs",
     ["--model", "seednet", "--epochs", "10"]),
    ("seednet, dropout 0.25 (preset seednet-light-dropout), 10 epochs",
     ["--preset", "seednet-light-dropout"]),
    ("mf, defaults (12 epochs)", ["--model", "mf"]),
    ("notebook replay preset (1%, 20 + 5 epochs)", ["--preset", "notebook"]),
]


def write_section(path: Path, name: str, heading: str, body: str) -> None:
    """Put ``heading`` and ``body`` into ``path`` (BENCHMARKS.md) between the markers of section
    ``name``, replacing that section if it is there and leaving the others as they are."""
    start, end = f"<!-- {name}: start -->", f"<!-- {name}: end -->"
    block = f"{start}\n{heading}\n\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else "# movierec benchmarks\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def data_dir() -> Path:
    env = os.environ.get("MOVIEREC_DATA_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def time_loads(tmp: Path) -> list[tuple[str, float]]:
    import pandas as pd

    from movierec.data import load_dataset

    ddir = data_dir()
    rows = []
    t = time.perf_counter()
    pd.read_csv(ddir / "ml-1m" / "ratings.dat", engine="python", sep="::",
                names=["userid", "movieid", "rating", "timestamp"])
    pd.read_csv(ddir / "ml-1m" / "movies.dat", engine="python", sep="::",
                names=["movieid", "title", "genre"], encoding="latin-1")
    rows.append(("notebook: pandas read_csv(engine='python')", time.perf_counter() - t))
    cold = []
    for i in range(3):
        t = time.perf_counter()
        load_dataset("ml-1m", data_dir=ddir, cache_dir=tmp / f"cache{i}", allow_download=False)
        cold.append(time.perf_counter() - t)
    rows.append(("movierec: first parse (cold cache), best of 3", min(cold)))
    warm = []
    for _ in range(5):
        t = time.perf_counter()
        load_dataset("ml-1m", data_dir=ddir, cache_dir=tmp / "cache0", allow_download=False)
        warm.append(time.perf_counter() - t)
    rows.append(("movierec: cached reload (parquet), best of 5", min(warm)))
    return rows


def train(tmp: Path, extra: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MOVIEREC_HOME": str(tmp / "home"),
           "MOVIEREC_CACHE_DIR": str(tmp / "cache0"), "MOVIEREC_DATA_DIR": str(data_dir())}
    cmd = [sys.executable, "-m", "movierec", "train", "--dataset", "ml-1m", "--fraction", "1.0",
           "--test-size", "0.1", "--seed", "0", "--json", "--quiet", "--no-save", "--no-quality",
           *extra]
    if "notebook" in extra:
        cmd = [c for c in cmd if c not in ("--fraction", "1.0")]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()
    import torch

    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python "
             f"{platform.python_version()}, torch {torch.__version__} "
             f"({'CUDA' if torch.cuda.is_available() else 'CPU'}), "
             f"{time.strftime('%Y-%m-%d')}", ""]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        lines += ["| loading ML-1M (1,000,209 ratings) | seconds |", "|---|---:|"]
        lines += [f"| {label} | {seconds:.3f} |" for label, seconds in time_loads(tmp)]
        if not args.skip_train:
            lines += ["", "| training on ML-1M, 90/10 split, seed 0 | epochs | train s | "
                      "val RMSE | val MAE | val accuracy |", "|---|---:|---:|---:|---:|---:|"]
            for label, extra in TRAIN_RUNS:
                doc = train(tmp, extra)
                lines.append(f"| {label} | {doc['epochs']} | {doc['train_seconds']:.1f} | "
                             f"{doc['val_rmse']:.4f} | {doc['val_mae']:.4f} | "
                             f"{doc['val_accuracy']:.4f} |")
                print(lines[-1], file=sys.stderr, flush=True)
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
