"""What a person sees, for every model, in one run: suggestions for new people and neighbours on
the map. Writes its section of BENCHMARKS.md.

Usage (repo root, the real data in ../shared/data or $MOVIEREC_DATA_DIR):

    .venv/bin/python benchmarks/journeys.py [--models recommended,mf,...] [--out BENCHMARKS.md]

Protocol: ML-1M, 600 people held out of training entirely (seed 0), 2% of the other ratings for
validation. Every model trains through the CLI (``train --json --new-people 600 --test-size
0.02``), which then measures the new-person protocol (each person gives 3, 5 or 10 random
ratings and gets 10 suggestions from the movies with 10+ training ratings; a hit is one they
rated 4 or 5 stars) and neighbour quality (10 nearest neighbours by cosine among the movies
with 20+ training ratings: genre agreement and the series check). The references (the most-rated
list, item-kNN, EASE) are measured in-process on the same people. Then: suggestion latency, the
sci-fi fan of issue 9 and the neighbours of The Matrix, for the runs trained here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from core import data_dir, write_section  # noqa: E402 - benchmarks/core.py, after the path
from dashboard import suggestion_ms  # noqa: E402
from peers import machine  # noqa: E402

DATA = ["--dataset", "ml-1m", "--fraction", "1.0", "--test-size", "0.02", "--seed", "0",
        "--new-people", "600"]
# (name, label, CLI arguments after DATA)
RECIPES = [
    ("recommended", "`--preset recommended` (newcomer)", ["--preset", "recommended"]),
    ("ease", "`ease` (EASE, lambda 500)", ["--model", "ease"]),
    ("seednet-map", "`--preset seednet-map`", ["--preset", "seednet-map"]),
    ("seednet", "`seednet` (notebook defaults, 10 epochs)", ["--model", "seednet"]),
    ("mf", "`mf` (defaults)", ["--model", "mf"]),
    ("autorec", "`autorec` (defaults)", ["--model", "autorec"]),
    ("bpr", "`bpr` (defaults)", ["--model", "bpr"]),
]
SCI_FI_FAN = {2571: 5.0, 1196: 5.0, 1200: 5.0, 589: 5.0, 541: 5.0, 1721: 1.0}
THE_MATRIX = 2571
GIVEN = (3, 5, 10)


def train(env: dict, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "movierec", "train", *DATA, *extra, "--json", "--quiet",
           "--no-ranking-eval"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    return json.loads(out.stdout)


def people_cells(rows: list[dict], method: str) -> list[str]:
    by_k = {r["given"]: r for r in rows if r["method"] == method}
    cells = []
    for k in GIVEN:
        r = by_k[k]
        cells += [f"{r['precision']:.3f}", f"{r['popular_share']:.2f}", f"{r['distinct']:,}"]
    return cells


def detail_rows(rows: list[dict], method: str, label: str) -> list[str]:
    return [f"| {label} | {r['given']} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['ndcg']:.3f} | {r['popular_share']:.2f} | {r['distinct']:,} | "
            f"{r['novelty']:.2f} |" for r in rows if r["method"] == method]


def references(dataset) -> list[dict]:
    from movierec.config import DataConfig
    from movierec.evaluation.people import PeopleProtocol, new_person_table, reference_rankers
    from movierec.split import make_split

    split = make_split(dataset, DataConfig("ml-1m", 1.0, 0.02, 0, new_people=600))
    table = new_person_table(reference_rankers(split.train), split.people, split.train,
                             PeopleProtocol(given=GIVEN))
    return table.to_dict(orient="records")


def fan_table(run, titles) -> list[str]:
    from movierec.inference import because, recommend

    top = recommend(run, SCI_FI_FAN, top=10)
    reasons = because(run, top["movie_id"].tolist(), SCI_FI_FAN)
    lines = ["| # | suggestion | genres | because you rated |", "|---:|---|---|---|"]
    for place, (row, reason) in enumerate(zip(top.itertuples(), reasons, strict=True), 1):
        lines.append(f"| {place} | {row.title} | {', '.join(row.genres)} | "
                     f"{titles.get(reason, '') if reason else ''} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(name for name, _, _ in RECIPES),
                        help="which recipes to run (default: all)")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    chosen = [r for r in RECIPES if r[0] in args.models.split(",")]

    from movierec.data import load_dataset
    from movierec.inference import similar
    from movierec.runs import RunStore

    results = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MOVIEREC_DATA_DIR": str(data_dir()),
               "MOVIEREC_CACHE_DIR": str(tmp / "cache"), "MOVIEREC_HOME": str(tmp / "home")}
        for key, _, extra in chosen:
            print(f"{key}...", file=sys.stderr, flush=True)
            results[key] = train(env, extra)
        print("references...", file=sys.stderr, flush=True)
        dataset = load_dataset("ml-1m", data_dir=data_dir(), cache_dir=tmp / "cache",
                               allow_download=False)
        refs = references(dataset)
        titles = dict(zip(dataset.movies["movie_id"], dataset.movies["title"], strict=True))
        store = RunStore(tmp / "home" / "runs")
        runs = {key: store.load(doc["run_id"]) for key, doc in results.items()}

        lines = [f"**Machine:** {machine()}", "",
                 "Protocol: ML-1M (`../shared/data/ml-1m`), 600 people held out of training "
                 "entirely (seed 0) and 2% of the other ratings for validation; every model "
                 "learns from the same 979,920 ratings of 5,440 people. **New people:** each "
                 "held-out person gives K of their ratings, chosen at random, and gets 10 "
                 "suggestions from the movies with 10+ training ratings, never one they gave; "
                 "a hit is a suggestion they rated 4 or 5 stars among the rest. top-100: the "
                 "share of suggestions among the 100 most-rated movies; distinct: different "
                 "movies suggested across the 600 people. **Neighbours:** each movie with 20+ "
                 "training ratings and its 10 nearest by the cosine that Explore uses; genre "
                 "agreement is the mean Jaccard overlap of genres, the series check the share "
                 "of films from a series (found from titles) with another film of the series "
                 "among them.", "",
                 "### New people (targets for `recommended`: precision >= 0.40 at K=3 and "
                 ">= 0.45 at K=10, with >= 600 distinct movies and a top-100 share <= 0.6)", "",
                 "| model | train s | P@10 K=3 | top-100 | distinct | P@10 K=5 | top-100 | "
                 "distinct | P@10 K=10 | top-100 | distinct | genre agreement | series check |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        first = next(iter(results.values()))
        neighbours_ref = {r["vectors"]: r for r in first["quality"]["neighbours"]}
        for ref in ("most rated", "item-kNN", "EASE"):
            extra_cells = ["", ""]
            if ref == "item-kNN":
                knn = neighbours_ref["item-kNN"]
                extra_cells = [f"{knn['genre_agreement']:.3f}", f"{knn['series_check']:.0%}"]
            lines.append(f"| reference: {ref} | | " + " | ".join(people_cells(refs, ref))
                         + " | " + " | ".join(extra_cells) + " |")
        chance = neighbours_ref["chance"]
        lines.append(f"| chance (random neighbours) | | | | | | | | | | | "
                     f"{chance['genre_agreement']:.3f} | {chance['series_check']:.1%} |")
        for key, label, _ in chosen:
            doc = results[key]
            own = next(r for r in doc["quality"]["neighbours"] if r["vectors"] == "this run")
            lines.append(f"| {label} | {doc['train_seconds']:.1f} | "
                         + " | ".join(people_cells(doc["quality"]["people"], "this run"))
                         + f" | {own['genre_agreement']:.3f} | {own['series_check']:.0%} |")
        lines += ["", f"Series check over {chance['series_movies']} films of "
                  "series found in the titles with another film of their series among the "
                  f"{chance['movies']:,} movies compared. train s: the training epochs alone; "
                  "measuring the suggestions afterwards is not included.", "",
                  "### Recall, NDCG and novelty (same people)", "",
                  "| model | K | precision@10 | recall@10 | NDCG@10 | top-100 | distinct | "
                  "novelty (bits) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for ref in ("most rated", "item-kNN", "EASE"):
            lines += detail_rows(refs, ref, f"reference: {ref}")
        for key, label, _ in chosen:
            lines += detail_rows(results[key]["quality"]["people"], "this run", label)

        lines += ["", "### Speed of a suggestion (one person, fold-in + top 10 + reasons, "
                  "median of 20)", "", "| model | 3 ratings | 10 ratings |", "|---|---:|---:|"]
        ten = dict(list(SCI_FI_FAN.items()) + [(1, 4.0), (260, 5.0), (1210, 4.0), (2028, 3.0)])
        three = dict(list(SCI_FI_FAN.items())[:3])
        for key, label, _ in chosen:
            lines.append(f"| {label} | {suggestion_ms(runs[key], three):.0f} ms | "
                         f"{suggestion_ms(runs[key], ten):.0f} ms |")

        fan = ", ".join(f"{titles[m]} {s:g}*" for m, s in SCI_FI_FAN.items())
        for key in [k for k in ("recommended", "mf") if k in runs]:
            lines += ["", f"### A sci-fi fan on `{key}`: {fan}", ""]
            lines += fan_table(runs[key], titles)
        for key in [k for k in ("recommended", "seednet-map", "seednet") if k in runs]:
            near = similar(runs[key], THE_MATRIX, top=10, min_ratings=20)
            lines += ["", f"### Nearest neighbours of The Matrix on `{key}`", "",
                      ", ".join(f"{t} ({s:.2f})" for t, s in zip(near["title"],
                                                                 near["similarity"],
                                                                 strict=True))]
    text = "\n".join(lines)
    write_section(Path(args.out), "journeys",
                  "## What people see: new people and neighbours (benchmarks/journeys.py)",
                  text)
    print(text)


if __name__ == "__main__":
    main()
