"""The NCF paper's exact top-N test on MovieLens 1M, in one command; writes its section of
BENCHMARKS.md.

Usage (repo root, with the real data in ../shared/data or $MOVIEREC_DATA_DIR, which must hold
``ml-1m/`` and ``ncf-ml-1m/``):

    .venv/bin/python benchmarks/topn.py [--quick] [--no-contract] [--out BENCHMARKS.md]

The protocol is the paper's (He et al., "Neural Collaborative Filtering", WWW 2017): each of the
6,040 users' latest rating (``ncf-ml-1m/test.rating``) is held out, every model trains on the
994,169 others (``train --split ncf``), and ``evaluate --ncf ncf-ml-1m/test.negative`` ranks the
held-out movie among the file's own 99 negatives (HR@10, NDCG@10). Each model trains in its own
process through the CLI, so its peak memory is its own. With the contract run (the default),
the ``top-n`` preset is also trained as a user with a copy of ML-1M that already lacks the test
ratings would train it (``train --preset top-n --data-dir DIR``, 1% or less held out for
validation), the copy written to a temporary folder and deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from core import data_dir, write_section  # noqa: E402 - benchmarks/core.py
from peers import machine  # noqa: E402 - benchmarks/peers.py

# (label, train arguments): every model with its registry defaults unless said.
MODELS = [
    ("`mf` (defaults: trained for stars)", ["--model", "mf"]),
    ("`bpr` (defaults)", ["--model", "bpr"]),
    ("`ease`, l2 = 1000", ["--model", "ease", "--set", "l2=1000"]),
    ("`ials` (defaults)", ["--model", "ials"]),
    ("**`--preset top-n`**", ["--preset", "top-n"]),
]
QUICK = {"`ease`, l2 = 1000", "**`--preset top-n`**"}
PUBLISHED = [
    ("NeuMF with pre-training (He et al. 2017, published)", "0.726", "0.445"),
]


def cli(env: dict, args: list[str]) -> dict:
    """Run ``python -m movierec ARGS --json --quiet`` and return its JSON document."""
    done = subprocess.run([sys.executable, "-m", "movierec", *args, "--json", "--quiet"],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"movierec {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def most_rated(ddir: Path, cache: Path) -> dict:
    """The most-rated-first list (training counts) on the exact test."""
    import numpy as np

    from movierec.config import DataConfig
    from movierec.data import load_dataset
    from movierec.data.ncf import read_test_negative
    from movierec.evaluation.ncf import ncf_metrics
    from movierec.split import make_split

    dataset = load_dataset("ml-1m", data_dir=ddir, cache_dir=cache, allow_download=False)
    split = make_split(dataset, DataConfig(dataset="ml-1m", split="ncf",
                                           holdout=str(ddir / "ncf-ml-1m" / "test.rating")))
    counts = np.bincount(split.train.item_idx, minlength=split.n_items).astype(float)
    test = read_test_negative(ddir / "ncf-ml-1m" / "test.negative")
    return ncf_metrics(test, split.train.user_ids, split.train.item_ids,
                       lambda users, items: counts[items])


def contract_dir(ddir: Path, out: Path) -> Path:
    """A data dir whose ``ml-1m`` lacks the 6,040 test ratings (the other files linked)."""
    held = {tuple(line.split("::")[:2])
            for line in (ddir / "ncf-ml-1m" / "test.rating").read_text().splitlines() if line}
    target = out / "ml-1m"
    target.mkdir(parents=True)
    with open(ddir / "ml-1m" / "ratings.dat", encoding="latin-1") as src, \
            open(target / "ratings.dat", "w", encoding="latin-1") as dst:
        for line in src:
            if tuple(line.split("::")[:2]) not in held:
                dst.write(line)
    for name in ("movies.dat", "users.dat", "README"):
        if (ddir / "ml-1m" / name).exists():
            shutil.copy(ddir / "ml-1m" / name, target / name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only ease and the top-n preset")
    parser.add_argument("--no-contract", action="store_true",
                        help="skip training top-n on a copy of ML-1M without the test ratings")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()

    ddir = data_dir()
    negatives = ddir / "ncf-ml-1m" / "test.negative"
    if not negatives.exists() or not (ddir / "ml-1m").exists():
        raise SystemExit(f"needs {ddir}/ml-1m and {ddir}/ncf-ml-1m (set MOVIEREC_DATA_DIR)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "MOVIEREC_DATA_DIR": str(ddir), "MOVIEREC_CACHE_DIR":
               str(tmp / "cache"), "MOVIEREC_HOME": str(tmp / "home"), "PYTHONPATH": str(ROOT)}
        popular = most_rated(ddir, tmp / "cache")
        rows.append(("most rated first (training counts)", popular["hr10"], popular["ndcg10"],
                     None, None, None, "994,169"))
        for label, extra in MODELS:
            if args.quick and label not in QUICK:
                continue
            print(f"training {label}...", file=sys.stderr, flush=True)
            run = cli(env, ["train", "--dataset", "ml-1m", *extra, "--split", "ncf",
                            "--no-quality"])
            result = cli(env, ["evaluate", "--run", run["run_id"], "--ncf", str(negatives)])
            rows.append((label, result["hr10"], result["ndcg10"], run["train_seconds"],
                         run["peak_rss_mb"], result["seconds"], f"{run['n_train']:,}"))
        if not args.no_contract:
            print("training top-n on a copy without the test ratings...", file=sys.stderr,
                  flush=True)
            copy = contract_dir(ddir, tmp / "data")
            run = cli(env, ["train", "--preset", "top-n", "--dataset", "ml-1m", "--data-dir",
                            str(copy), "--no-quality"])
            result = cli(env, ["evaluate", "--run", run["run_id"], "--ncf", str(negatives)])
            rows.append(("`--preset top-n --data-dir` (a copy without the test ratings; "
                         f"{run['n_test']:,} held out for validation)", result["hr10"],
                         result["ndcg10"], run["train_seconds"], run["peak_rss_mb"],
                         result["seconds"], f"{run['n_train']:,}"))

    def cell(value, fmt):
        return "" if value is None else format(value, fmt)

    lines = ["| model | HR@10 | NDCG@10 | train s | peak memory MB | evaluate s | trained on |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for label, hr, ndcg, seconds, peak, evaluate_s, n in rows:
        lines.append(f"| {label} | {hr:.4f} | {ndcg:.4f} | {cell(seconds, '.1f')} | "
                     f"{cell(peak, '.0f')} | {cell(evaluate_s, '.2f')} | {n} |")
    for label, hr, ndcg in PUBLISHED:
        lines.append(f"| {label} | {hr} | {ndcg} | | | | 994,169 |")
    body = (f"Protocol: the NCF paper's exact test. Each of the 6,040 users' latest rating "
            f"(`ncf-ml-1m/test.rating`) is held out; models train on the other ratings "
            f"(`train --split ncf`) with the settings shown; `evaluate --ncf "
            f"ncf-ml-1m/test.negative` ranks the held-out movie among the file's own 99 "
            f"negatives (a negative equal to it counts once). Peak memory is the training "
            f"process's; evaluate s is the time to score all 6,040 users.\n"
            f"Machine: {machine()}. Measured with `benchmarks/topn.py`.\n\n" + "\n".join(lines))
    write_section(args.out, "topn",
                  "## Top-N on the NCF paper's exact test, ML-1M (benchmarks/topn.py)", body)
    print(body)


if __name__ == "__main__":
    main()
