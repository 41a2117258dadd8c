"""movierec against its peers on MovieLens 1M, side by side in one run; writes BENCHMARKS.md.

Usage (repo root, with Surprise installed from requirements-dev.txt and the real data in
../shared/data or $MOVIEREC_DATA_DIR):

    .venv/bin/python benchmarks/peers.py [--folds 5] [--quick] [--out BENCHMARKS.md]

On one random 90/10 split (seed 0; ``--folds 5`` adds a 5-fold pass for the peers and the best
model) it measures Surprise's SVD and BaselineOnly (RMSE, MAE, fit seconds) and every movierec
recipe below (RMSE, MAE, accuracy, training seconds, seconds to first reach SVD's RMSE, peak
memory), the notebook's own training recipe (Keras' batch of 32) against movierec's for the same
network, top-N quality with the NCF protocol (HR@10, NDCG@10), loading ML-1M, the t-SNE map and
fold-in latency. Ratios measured in the same run are the headline; absolute times vary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from core import data_dir, time_loads, write_section  # noqa: E402 - benchmarks/core.py

# (label, CLI arguments): movierec recipes trained on the 90/10 split.
RECIPES = [
    ("mf (defaults)", ["--model", "mf"]),
    ("mf, fast schedule (batch 32768, lr 0.03)", ["--model", "mf", "--epochs", "6",
                                                  "--batch-size", "32768", "--lr", "0.03"]),
    ("mf, 128 factors, lr decay", ["--model", "mf", "--epochs", "20", "--set", "dim=128",
                                   "--set", "reg=0.04", "--lr-decay", "0.9"]),
    ("autorec (I-AutoRec)", ["--model", "autorec"]),
    ("seednet (notebook hyperparameters)", ["--model", "seednet", "--epochs", "10"]),
    ("seednet, dropout 0.25", ["--preset", "seednet-light-dropout"]),
]
RANKING = [
    ("bpr (trained to rank)", ["--model", "bpr", "--epochs", "20"]),
    ("mf (trained for stars)", ["--model", "mf"]),
]


def machine() -> str:
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU (CPU)"
    return (f"{cpu}, {os.cpu_count()} cores{memory}; {device}; Python "
            f"{platform.python_version()}, torch {torch.__version__}; {time.strftime('%Y-%m-%d')}")


def cli_train(env: dict, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "movierec", "train", "--dataset", "ml-1m", "--seed", "0",
           "--json", "--quiet", "--no-save", "--no-quality"]
    if "--preset" not in extra:
        cmd += ["--fraction", "1.0", "--test-size", "0.1"]
    cmd += extra
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    return json.loads(out.stdout)


def surprise_fit(train, test) -> dict:
    from surprise import SVD, BaselineOnly, Dataset, Reader, accuracy

    frame = train.to_frame()
    trainset = Dataset.load_from_df(frame[["user_id", "movie_id", "rating"]],
                                    Reader(rating_scale=(1, 5))).build_full_trainset()
    test_frame = test.to_frame()
    testset = list(zip(test_frame["user_id"], test_frame["movie_id"], test_frame["rating"],
                       strict=True))
    results = {}
    for name, algo in (("Surprise BaselineOnly", BaselineOnly(verbose=False)),
                       ("Surprise SVD (defaults)", SVD(random_state=0))):
        start = time.perf_counter()
        algo.fit(trainset)
        seconds = time.perf_counter() - start
        predictions = algo.test(testset)
        results[name] = {"rmse": accuracy.rmse(predictions, verbose=False),
                         "mae": accuracy.mae(predictions, verbose=False), "seconds": seconds}
    return results


def time_to(history: list[dict], target: float) -> float | None:
    """Training seconds until the first epoch whose validation RMSE is at or under target."""
    elapsed = 0.0
    for record in history:
        elapsed += record["seconds"]
        if record["val_rmse"] <= target:
            return elapsed
    return None


def kfold(data, folds: int, seed: int = 0):
    from movierec.split import Split
    order = np.random.default_rng(seed).permutation(len(data))
    for part in np.array_split(order, folds):
        mask = np.zeros(len(data), dtype=bool)
        mask[part] = True
        yield Split(train=data.take(~mask), validation=data.take(mask))


def notebook_recipe(env: dict, ours: dict, quick: bool) -> list[str]:
    """The notebook's own training (Keras' default batch of 32, Adam at Keras' 0.001) for one
    epoch against movierec's training of the same network (``ours``: its 10-epoch run)."""
    notebook = cli_train(env, ["--model", "seednet", "--epochs", "1", "--batch-size", "32",
                               "--lr", "0.001", "--no-ranking-eval"]
                         + (["--fraction", "0.1"] if quick else []))
    a = notebook["history"][0]
    per_epoch = statistics.median(r["seconds"] for r in ours["history"])
    best = min(ours["history"], key=lambda r: r["val_rmse"])
    return [
        "Same network (seednet with the notebook's hyperparameters), same split.", "",
        "| training | s per epoch | epochs | train s | val RMSE | val accuracy |",
        "|---|---:|---:|---:|---:|---:|",
        f"| notebook recipe: batch 32, Adam 0.001 | {a['seconds']:.1f} | 1 | "
        f"{notebook['train_seconds']:.1f} | {a['val_rmse']:.4f} | {a['val_accuracy']:.4f} |",
        f"| movierec: batch 4096, Adam 0.003, fused Adam, own dropout masks | {per_epoch:.1f} | "
        f"{len(ours['history'])} | {ours['train_seconds']:.1f} | {ours['val_rmse']:.4f} | "
        f"{ours['val_accuracy']:.4f} |", "",
        f"One epoch is **{a['seconds'] / per_epoch:.1f}x** faster with movierec's training"
        + (" (notebook recipe on 10% of the data: --quick)" if quick else "")
        + f"; movierec's best epoch (RMSE {best['val_rmse']:.4f}) came after "
        f"{sum(r['seconds'] for r in ours['history'][:ours['history'].index(best) + 1]):.0f} s.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=0, help="also run a k-fold pass")
    parser.add_argument("--quick", action="store_true",
                        help="shorter notebook-recipe comparison (10%% of the data)")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()


    from movierec.config import DataConfig
    from movierec.data import load_dataset
    from movierec.split import make_split

    lines = ["Every number below comes from one run on one machine:", "",
             f"**Machine:** {machine()}", "",
             "Split: ML-1M (`../shared/data/ml-1m`), random 90/10, seed 0 (movierec's "
             "`make_split`); every model below learns from the same 900,188 ratings and is "
             "scored on the same 100,021.", ""]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MOVIEREC_DATA_DIR": str(data_dir()),
               "MOVIEREC_CACHE_DIR": str(tmp / "cache"), "MOVIEREC_HOME": str(tmp / "home")}
        os.environ["MOVIEREC_CACHE_DIR"] = env["MOVIEREC_CACHE_DIR"]
        loads = time_loads(tmp)
        dataset = load_dataset("ml-1m", data_dir=data_dir(), allow_download=False)
        split = make_split(dataset, DataConfig("ml-1m"))
        print("peers...", file=sys.stderr, flush=True)
        peers = surprise_fit(split.train, split.validation)
        svd = peers["Surprise SVD (defaults)"]

        rows = []
        for label, extra in RECIPES:
            print(label, "...", file=sys.stderr, flush=True)
            doc = cli_train(env, [*extra, "--no-ranking-eval"])
            reach = time_to(doc["history"], svd["rmse"])
            rows.append((label, doc, reach))

        lines += ["## Rating prediction (RMSE target: best model <= 0.835 within 120 s)", "",
                  "| model | val RMSE | val MAE | accuracy | train s | s to SVD's RMSE | "
                  "vs SVD's fit time | peak memory |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, r in peers.items():
            lines.append(f"| {name} | {r['rmse']:.4f} | {r['mae']:.4f} | | {r['seconds']:.1f} "
                         "| | | |")
        for label, doc, reach in rows:
            reach_text = f"{reach:.1f}" if reach is not None else "not reached"
            ratio = f"{reach / svd['seconds']:.2f}x" if reach is not None else ""
            lines.append(
                f"| movierec {label} | {doc['val_rmse']:.4f} | {doc['val_mae']:.4f} | "
                f"{doc['val_accuracy']:.4f} | {doc['train_seconds']:.1f} | {reach_text} | "
                f"{ratio} | {doc['peak_rss_mb']:.0f} MB |")
        best = min(rows, key=lambda r: r[1]["val_rmse"])
        lines += ["", f"Best movierec model: **{best[0]}**, RMSE {best[1]['val_rmse']:.4f} "
                  f"in {best[1]['train_seconds']:.0f} s of training. Surprise SVD: "
                  f"{svd['rmse']:.4f} in {svd['seconds']:.1f} s. Peak memory is the training "
                  "process's maximum resident set (data, model and optimizer included).", ""]

        if args.folds:
            print("folds...", file=sys.stderr, flush=True)
            lines += kfold_rows(dataset, args.folds)

        print("ranking...", file=sys.stderr, flush=True)
        lines += ["## Top-N with sampled negatives and a random held-out rating (not the NCF "
                  "paper's protocol)", "",
                  "One random rating per user held out (the timestamps in this copy are all 0, "
                  "so not the latest), ranked among itself and 99 movies that user never rated, "
                  "drawn here (seeded). A random rating is much easier to find than the latest "
                  "one, so these numbers are not comparable with the paper's (NeuMF 0.726 / "
                  "0.445): for that comparison see \"Top-N on the NCF paper's exact test\" "
                  "(`benchmarks/topn.py`).",
                  "", "| model | HR@10 | NDCG@10 | train s | peak memory |",
                  "|---|---:|---:|---:|---:|"]
        for label, extra in RANKING:
            doc = cli_train(env, [*extra, "--split", "leave-one-out"])
            last = doc["history"][-1]
            lines.append(f"| movierec {label} | {last['val_hr10']:.4f} | "
                         f"{last['val_ndcg10']:.4f} | {doc['train_seconds']:.1f} | "
                         f"{doc['peak_rss_mb']:.0f} MB |")
        lines.append("")

        print("notebook recipe...", file=sys.stderr, flush=True)
        lines += ["## The notebook's recipe against movierec's", ""]
        seednet = next(doc for label, doc, _ in rows if label.startswith("seednet (notebook"))
        lines += notebook_recipe(env, seednet, args.quick) + [""]

        lines += ["## Loading ML-1M", "", "| loading | seconds |", "|---|---:|"]
        lines += [f"| {label} | {seconds:.3f} |" for label, seconds in loads]
        lines += [""]

        print("map and fold-in...", file=sys.stderr, flush=True)
        lines += map_and_fold_in(env, tmp) + [""]
    text = "\n".join(f"#{line}" if line.startswith("## ") else line for line in lines)
    write_section(Path(args.out), "peers",
                  "## Against the peers: accuracy and speed (benchmarks/peers.py)", text)
    print(text)


def kfold_rows(dataset, folds: int) -> list[str]:
    """Surprise SVD and movierec's mf and autorec (registry defaults) on the same k folds."""
    import dataclasses

    from movierec.interactions import Interactions
    from movierec.models import get_model_spec
    from movierec.training import EpochLoop

    data = Interactions.from_ratings(dataset.ratings, dataset.rating_scale)
    scores: dict[str, list[float]] = {"Surprise SVD (defaults)": [], "movierec mf": [],
                                      "movierec autorec": []}
    for number, part in enumerate(kfold(data, folds), start=1):
        print(f"  fold {number}/{folds}", file=sys.stderr, flush=True)
        svd = surprise_fit(part.train, part.validation)["Surprise SVD (defaults)"]
        scores["Surprise SVD (defaults)"].append(svd["rmse"])
        for name in ("mf", "autorec"):
            spec = get_model_spec(name)
            model = spec.build(part.n_users, part.n_items, dataset.rating_scale, seed=0)
            config = dataclasses.replace(spec.train_defaults, ranking_eval=False)
            trainer = EpochLoop(model, part, config)
            scores[f"movierec {name}"].append(list(trainer.epochs(config.epochs))[-1].val_rmse)
    lines = [f"## {folds}-fold cross-validation (RMSE, mean +- sd over the folds)", "",
             "Same folds for every model; movierec models with their registry defaults, "
             "last epoch.", "", "| model | RMSE |", "|---|---:|"]
    lines += [f"| {name} | {statistics.mean(v):.4f} +- {statistics.stdev(v):.4f} |"
              for name, v in scores.items()]
    return lines + [""]


def map_and_fold_in(env: dict, tmp: Path) -> list[str]:
    """The dashboard benchmark's library timings on an mf run trained here."""
    from dashboard import library_timings  # benchmarks/dashboard.py

    subprocess.run([sys.executable, "-m", "movierec", "train", "--dataset", "ml-1m", "--model",
                    "mf", "--quiet", "--no-ranking-eval", "--no-quality"], env=env, check=True,
                   cwd=ROOT)
    lib = library_timings(tmp / "home" / "runs", "latest")
    return ["## Map and suggestions (mf run on all of ML-1M)", "",
            "| what | time |", "|---|---:|",
            f"| t-SNE of {lib['n_movies']:,} movie embeddings, movierec settings | "
            f"{lib['tsne']:.1f} s |",
            f"| t-SNE, scikit-learn defaults | {lib['tsne_default']:.1f} s |",
            f"| fold-in + top-10 + reasons for a person with 10 ratings (median of 20) | "
            f"{lib['suggest_ms']:.0f} ms |"]


if __name__ == "__main__":
    main()
