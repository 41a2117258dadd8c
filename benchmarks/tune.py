"""Search studies on MovieLens 1M (issue 19), each through the CLI in a process of its own, with
the default recipe trained beside it and scored the same way; writes its section of
BENCHMARKS.md.

Usage (repo root, real data in ../shared/data or $MOVIEREC_DATA_DIR):

    .venv/bin/python benchmarks/tune.py [--only NAME ...] [--runs-dir DIR] [--scale F]
        [--two-workers] [--out BENCHMARKS.md]

Every study scores its trials on a validation split carved from the training part (and on
validation people for ``onboarding``); the best setting is then retrained on the whole training
part and scored once on the held-out side (``test_value``). The default recipe is trained on the
same split and scored by the same objective on the same held-out side. ``--runs-dir`` keeps the
studies (SQLite ``studies.db``) and their results, so a second call resumes them and the table
covers every study run there; ``--scale`` multiplies every
study's trials and time budget. ``--two-workers`` runs two processes on one SQLite study and
checks that their trials add up with none repeated.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from core import data_dir, write_section  # noqa: E402 - benchmarks/core.py
from peers import machine  # noqa: E402 - benchmarks/peers.py

# name -> (what the study tunes, the baseline's train arguments, tune arguments, budget s).
# The seednet-map study keeps to settings that train within 120 s here (the preset's 22 epochs
# at batch 2048 take about 100 s).
STUDIES = {
    "mf-rmse": (["--model", "mf"], ["--model", "mf"],
                ["--objective", "rmse", "--trials", "40"], 1200),
    # The same with the epochs searched too (10 to 40; the model's own space keeps its 12).
    "mf-rmse-epochs": (["--model", "mf"], ["--model", "mf"],
                       ["--objective", "rmse", "--trials", "40",
                        "--space", "epochs=10:40:int"], 1200),
    "seednet-map": (["--preset", "seednet-map"], ["--preset", "seednet-map"],
                    ["--objective", "map", "--trials", "16",
                     "--space", "embedding_dim=16:64:log:int",
                     "--space", "hidden=128+128+128,64+64+64", "--space", "dropout=0:0.5",
                     "--space", "embedding_dropout=0:0.5", "--space", "lr=0.002:0.01:log",
                     "--space", "lr_decay=0.85:1"], 1500),
    "recommended-onboarding": (["--preset", "recommended"], ["--preset", "recommended"],
                               ["--objective", "onboarding", "--trials", "12"], 900),
    "ials-hr10": (["--preset", "top-n"], ["--preset", "top-n"],
                  ["--objective", "hr10", "--trials", "12"], 900),
    "autorec-rmse": (["--model", "autorec"], ["--model", "autorec"],
                     ["--objective", "rmse", "--trials", "1000",
                      "--space", "epochs=20:60:int"], 3600),
}


def cli(env: dict, args: list[str], check: bool = True) -> dict:
    """``python -m movierec ARGS --json --quiet``'s JSON document."""
    done = subprocess.run([sys.executable, "-m", "movierec", *args, "--json", "--quiet"],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode not in (0, 130) and check:
        raise SystemExit(f"movierec {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def baseline_value(env: dict, objective: str, args: list[str]) -> tuple[float, float]:
    """The default recipe's test score by ``objective`` (and its training seconds)."""
    import pandas as pd

    from movierec.tuning.objectives import get_objective

    found = cli(env, ["train", *args])
    quality = {name: pd.DataFrame(rows) for name, rows in found.get("quality", {}).items()}
    return get_objective(objective).from_quality(found["history"], quality), \
        found["train_seconds"]


def study(env: dict, name: str, scale: float) -> dict:
    target, base, tune, budget = STUDIES[name]
    tune = list(tune)
    at = tune.index("--trials") + 1
    tune[at] = str(max(1, round(int(tune[at]) * scale)))
    objective = tune[tune.index("--objective") + 1]
    began = time.perf_counter()
    found = cli(env, ["tune", *target, *tune, "--study", name, "--timeout",
                      str(round(budget * scale))])
    found["command_seconds"] = time.perf_counter() - began
    found["longest_trial"] = longest_trials(Path(env["MOVIEREC_HOME"]) / "runs" /
                                            "studies.db").get(name)
    found["baseline"], found["baseline_seconds"] = baseline_value(env, objective, base)
    if name == "ials-hr10":
        found["ncf"] = ncf_test(env, found["best_params"])
    return found


def ncf_test(env: dict, params: dict) -> dict:
    """The best iALS setting and the top-n preset on the NCF paper's exact test, once each:
    trained on every rating but the paper's held-out ones, ranked among its 99 negatives."""
    negatives = str(data_dir() / "ncf-ml-1m" / "test.negative")
    found = {}
    for label, args in (("best", ["--model", "ials", *[x for k, v in params.items()
                                                       for x in ("--set", f"{k}={v}")]]),
                        ("top-n", ["--preset", "top-n"])):
        run = cli(env, ["train", *args, "--split", "ncf", "--no-quality"])
        scored = cli(env, ["evaluate", "--run", run["run_id"], "--ncf", negatives])
        found[label] = {"hr10": scored["hr10"], "ndcg10": scored["ndcg10"],
                        "train_seconds": run["train_seconds"]}
    return found


def two_workers(env: dict, runs: Path) -> str:
    """Two processes on one SQLite study of mf on demo data: their trials must add up."""
    args = ["tune", "--dataset", "demo", "--model", "mf", "--objective", "rmse",
            "--study", "two-workers", "--no-test", "--json", "--quiet"]
    began = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "movierec", *args, "--trials", str(n)],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
             for n in (12, 8)]
    docs = [json.loads(p.communicate(timeout=900)[0]) for p in procs]
    seconds = time.perf_counter() - began
    with sqlite3.connect(runs / "studies.db") as db:
        numbers = [n for (n,) in db.execute(
            "SELECT t.number FROM trials t JOIN studies s ON s.study_id = t.study_id "
            "WHERE s.study_name = 'two-workers'")]
    mine = [sorted(d["trials_this_process"]) for d in docs]
    overlap = set(mine[0]) & set(mine[1])
    return (f"Two processes on one SQLite study (`mf` on `demo`, 12 + 8 trials, at once): "
            f"{len(numbers)} trials in the study, {len(set(numbers))} distinct numbers, "
            f"{len(overlap)} run by both; best {docs[0]['best_value']:.4f} and "
            f"{docs[1]['best_value']:.4f} as each saw it at its end; {seconds:.0f} s.")


def longest_trials(db: Path) -> dict[str, float]:
    """Each study's longest trial in seconds (from the study's own records)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT s.study_name, MAX(CAST(a.value_json AS REAL)) FROM trial_user_attributes a "
            "JOIN trials t ON t.trial_id = a.trial_id JOIN studies s ON s.study_id = t.study_id "
            "WHERE a.key = 'seconds' GROUP BY s.study_name").fetchall()
    return dict(rows)


def table(results: dict, longest: dict[str, float]) -> str:
    lines = ["| study | objective | trials (complete / pruned / failed) | longest trial s "
             "| best on validation | **test, best retrained** | test, default recipe | wall s "
             "| train share |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        share = r["train_seconds"] / r["seconds"] if r["seconds"] else math.nan
        lines.append(
            f"| `{name}` | {r['objective']} ({r['direction']}) | {r['n_trials']} "
            f"({r['n_complete']} / {r['n_pruned']} / {r['n_failed']}) "
            f"| {r.get('longest_trial') or longest.get(name, math.nan):.0f} "
            f"| {r['best_value']:.4f} "
            f"| **{r['test_value']:.4f}** | {r['baseline']:.4f} | {r['command_seconds']:.0f} "
            f"| {share:.0%} |")
    lines.append("")
    for name, r in results.items():
        if "ncf" in r:
            best, preset = r["ncf"]["best"], r["ncf"]["top-n"]
            lines.append(f"- `{name}` on the NCF paper's exact test (its `test.rating` held "
                         "out, its `test.negative` candidates; tested once): best HR@10 "
                         f"{best['hr10']:.4f}, NDCG@10 {best['ndcg10']:.4f}; the `top-n` "
                         f"preset {preset['hr10']:.4f}, {preset['ndcg10']:.4f}.")
        params = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in r["best_params"].items())
        lines.append(f"- `{name}`: best trial {r['best_trial']} ({params}), run "
                     f"`{r['best_run_id']}`.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=list(STUDIES), default=list(STUDIES),
                        help="the studies to run (none: write the table of those run before)")
    parser.add_argument("--runs-dir", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--two-workers", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    runs = args.runs_dir or Path(tempfile.mkdtemp(prefix="movierec-tune-"))
    runs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MOVIEREC_DATA_DIR": str(data_dir()), "MOVIEREC_HOME": str(runs),
           "MOVIEREC_CACHE_DIR": str(runs / "cache")}
    env.pop("MOVIEREC_RUNS_DIR", None)
    # Each study's result is kept in the runs folder, so that studies run by separate calls
    # share one table.
    saved = runs / "results.json"
    results = json.loads(saved.read_text()) if saved.exists() else {}
    for name in args.only:
        results[name] = study(env, name, args.scale)
        saved.write_text(json.dumps(results, indent=1))
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    results = {name: results[name] for name in STUDIES if name in results}
    body = (f"**Machine:** {machine()}. Data: ML-1M (`../shared/data/ml-1m`). Each study's "
            "trials train on the training part less a validation split carved from it (and, "
            "for `onboarding`, less as many validation people as the recipe holds out), and "
            "are scored there; the best setting is retrained on the whole training part and "
            "scored once on the held-out side, like the default recipe beside it. `train "
            "share`: the study's time spent in training epochs (validation included), the "
            "rest being model building, measuring, sampling and storage.\n\n"
            + table(results, longest_trials(runs / "runs" / "studies.db")))
    if args.two_workers:
        body += "\n\n" + two_workers(env, runs / "runs")
    print(body)
    if args.out:
        write_section(args.out, "tune", "## Search studies (benchmarks/tune.py)", body)


if __name__ == "__main__":
    main()
