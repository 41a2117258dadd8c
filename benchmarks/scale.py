"""MovieLens 32M on one machine, training across processes, and the installable package: the
targets of issue 11, measured in one command; writes the ``scale`` section of BENCHMARKS.md.

Usage (repo root; Chromium at /usr/bin/chromium for the page timings, the real ML-1M in
../shared/data or $MOVIEREC_DATA_DIR for the torchrun comparison):

    .venv/bin/python benchmarks/scale.py [--work DIR] [--skip-pages] [--skip-torchrun]
                                         [--skip-install] [--out BENCHMARKS.md]

ML-32M cannot be downloaded here, so every 32M figure is on ``synthesize --like ml-32m`` (the
release's numbers of users, movies and ratings, half stars, long tails, planted tastes): the
files go through the same parser as the real release. Each step runs in its own process
through the CLI (its peak memory is its own). ``--work`` keeps the generated data, its cache
and the runs (about 3 GB) for a later look; by default they go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from core import data_dir, write_section  # noqa: E402 - benchmarks/core.py
from dashboard import CHROMIUM, start_app, wait_idle  # noqa: E402 - benchmarks/dashboard.py
from peers import machine  # noqa: E402 - benchmarks/peers.py

NAME = "synthetic-32m"


def cli(env: dict, *args: str, check: bool = True) -> tuple[dict | list | None, float, float]:
    """Run ``python -m movierec ARGS --json``: (its JSON, wall seconds, peak MB of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-W", "ignore", "-m", "movierec", *args, "--json"],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if check and done.returncode != 0:
        raise SystemExit(f"movierec {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    doc = json.loads(done.stdout) if done.stdout.strip() else None
    return doc, wall, (peak / 1024 if peak > before else float("nan"))


def python(env: dict, code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON document."""
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"a measurement failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


FIRST_PARSE = """
import json, resource, time
from movierec.data import load_dataset
start = time.perf_counter()
ds = load_dataset({name!r})
print(json.dumps({{"seconds": time.perf_counter() - start, "ratings": ds.n_ratings,
                  "synthetic": ds.synthetic,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

LIBRARY = """
import json, statistics, time
from movierec.embeddings import ProjectionConfig, movie_map
from movierec.inference import find_movies, recommend, similar
from movierec.runs import RunStore
store = RunStore()
out = {{}}
for key, run_id in {runs!r}.items():
    run = store.load(run_id)
    popular = run.movie_table().sort_values("n_ratings", ascending=False)["movie_id"]
    rated = {{int(m): float(1 + i % 5) for i, m in enumerate(popular.iloc[::97].head(10))}}
    three = dict(list(rated.items())[:3])
    recommend(run, three, top=10)
    times = []
    for i in range(20):
        start = time.perf_counter()
        recommend(run, rated if i % 2 else three, top=10)
        times.append(time.perf_counter() - start)
    out[key + "_suggest_ms"] = 1000 * statistics.median(times)
    start = time.perf_counter()
    similar(run, int(popular.iloc[0]), top=10)
    out[key + "_similar_ms"] = 1000 * (time.perf_counter() - start)
    start = time.perf_counter()
    find_movies(run, "midnight promise", limit=8)
    out[key + "_search_first_ms"] = 1000 * (time.perf_counter() - start)
    start = time.perf_counter()
    find_movies(run, "crimson harbor", limit=8)
    out[key + "_search_ms"] = 1000 * (time.perf_counter() - start)
    out[key + "_movies"] = int(len(popular))
run = store.load({map_run!r})
steps = []
start = time.perf_counter()
mapped = movie_map(run, ProjectionConfig(), store, progress=lambda d, t: steps.append(d))
out["map_seconds"] = time.perf_counter() - start
out["map_movies"] = int(len(mapped))
out["map_progress_reports"] = len(steps)
print(json.dumps(out))
"""


def pages(env: dict, rows: list, restarted: bool = False) -> None:
    """Every page of the dashboard on the 32M runs, in headless Chromium; ``restarted``: only
    the Data page, on a server started again (its numbers then come from the cache dir)."""
    from playwright.sync_api import sync_playwright

    server, port = start_app(env, ["-m", "ui.launch"])
    shots = Path(env["MOVIEREC_HOME"]) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-background-networking", "--disable-gpu"])
            tab = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
            tab.set_default_timeout(300_000)
            tab.goto(f"http://127.0.0.1:{port}/")
            tab.locator("h1").first.wait_for()
            wait_idle(tab, 300)

            def visit(title: str, ready: str, label: str, pick_dataset: bool = False,
                      count: tuple[str, int] | None = None) -> None:
                start = time.perf_counter()
                tab.locator("[data-testid=stSidebarNav] a", has_text=title).click()
                tab.get_by_role("heading", name=title, exact=True).wait_for()
                if pick_dataset:
                    tab.get_by_text("Dataset").first.wait_for()
                    box = tab.locator("[data-testid=stSelectbox]").first
                    box.click()
                    tab.get_by_role("option", name=NAME, exact=False).first.click()
                    start = time.perf_counter()
                tab.get_by_text(ready).first.wait_for()
                if count is not None:   # (selector, how many): until the last of them is drawn
                    tab.locator(count[0]).nth(count[1] - 1).wait_for()
                wait_idle(tab, 300)
                rows.append((label, time.perf_counter() - start, "<= 5 s"))
                tab.screenshot(path=str(shots / f"{title.lower().replace(' ', '-')}.png"),
                               full_page=True)

            if restarted:
                visit("Data", "32,000,204", "Data page after a restart of the server (its "
                      "numbers kept in the cache dir)", pick_dataset=True)
                browser.close()
                return
            visit("Data", "32,000,204", "Data page: 32M's numbers and charts, first visit to a "
                  "fresh server (numbers kept when the data was parsed)", pick_dataset=True)
            visit("Train", "Parameters", "Train page (form, diagram, runs list)")
            visit("Learning curves", "Final metrics", "Learning curves page")
            visit("Explore", "movies shown", "Explore page, map of the 20,000 most rated stored")
            visit("Recommend", "Popular picks to start with", "Recommend page (with its 12 "
                  "popular picks to rate)", count=("[data-testid=stSlider]", 12))
            start = time.perf_counter()
            tab.get_by_label("Search by title").fill("midnight promise")
            tab.get_by_label("Search by title").press("Enter")
            tab.get_by_text("Midnight Promise").first.wait_for()
            wait_idle(tab, 300)
            rows.append(("title search over 87,585 movies (Recommend, browser)",
                         time.perf_counter() - start, "<= 5 s"))
            visit("Data", "32,000,204", "Data page again")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def torchrun_rows(rows: list, tmp: Path) -> None:
    """mf on the real ML-1M, one process against torchrun with 2, same epochs and batch."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MOVIEREC_DATA_DIR": str(data_dir()),
           "MOVIEREC_CACHE_DIR": str(tmp / "cache-1m"), "MOVIEREC_HOME": str(tmp / "home-1m")}
    one, wall_one, _ = cli(env, "train", "--dataset", "ml-1m", "--model", "mf",
                           "--no-quality")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-W", "ignore", "-m", "torch.distributed.run",
                           "--nproc-per-node", "2", "--standalone", "-m", "movierec", "train",
                           "--dataset", "ml-1m", "--model", "mf", "--no-quality", "--json"],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    wall_two = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"torchrun failed:\n{done.stderr[-3000:]}")
    two = json.loads(done.stdout)
    gap = abs(two["val_rmse"] - one["val_rmse"])
    rows.append(("ML-1M mf, 1 process: val RMSE / s per epoch",
                 f"{one['val_rmse']:.4f} / {one['train_seconds'] / one['epochs']:.1f}", ""))
    rows.append(("ML-1M mf, torchrun --nproc-per-node 2 (same 12 epochs, batch 8,192 split "
                 "4,096 + 4,096): val RMSE / s per epoch",
                 f"{two['val_rmse']:.4f} / {two['train_seconds'] / two['epochs']:.1f}", ""))
    rows.append(("val RMSE gap, 2 processes against 1", f"{gap:.2e}", "<= 0.005"))
    rows.append(("wall time with start-up and loading, 1 process / 2 processes",
                 f"{wall_one:.0f} s / {wall_two:.0f} s", ""))


def install_rows(rows: list, tmp: Path) -> None:
    """`pip install .` into a new venv (dependencies from the package index), then the
    command."""
    venv = tmp / "clean-venv"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(ROOT)], check=True,
                   cwd=tmp)
    installed = time.perf_counter() - start
    done = subprocess.run([str(venv / "bin" / "movierec"), "datasets", "--json"], cwd=tmp,
                          capture_output=True, text=True)
    ok = done.returncode == 0 and any(r["name"] == "ml-32m"
                                      for r in json.loads(done.stdout)["datasets"])
    rows.append(("pip install . in a new venv (torch and the rest from the index)",
                 f"{installed:.0f} s", "works"))
    rows.append(("then `movierec datasets`", "works" if ok else "FAILED", "works"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", help="keep data, cache and runs here (default: a temporary "
                                       "folder, deleted afterwards)")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-torchrun", action="store_true")
    parser.add_argument("--skip-install", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"),
                        help="write the section into this file ('' to only print)")
    args = parser.parse_args()
    tmp = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="movierec-scale-"))
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MOVIEREC_DATA_DIR": str(tmp / "data"),
           "MOVIEREC_CACHE_DIR": str(tmp / "cache"), "MOVIEREC_HOME": str(tmp / "home")}
    rows: list[tuple[str, object, str]] = []
    try:
        folder = tmp / "data" / NAME
        if not (folder / "ratings.csv").is_file():
            made, wall, peak = cli(env, "synthesize", "--like", "ml-32m", "--out", str(folder))
            rows.append(("synthesize --like ml-32m (32,000,204 ratings written)",
                         f"{wall:.1f} s, {peak:,.0f} MB", "<= 120 s"))
        shutil.rmtree(tmp / "cache", ignore_errors=True)
        parsed = python(env, FIRST_PARSE.format(name=NAME))
        rows.append(("first parse of ratings.csv + movies.csv, checked, cached",
                     f"{parsed['seconds']:.1f} s, {parsed['peak_mb']:,.0f} MB", "<= 60 s"))

        mf, wall, _ = cli(env, "train", "--dataset", NAME, "--model", "mf", "--epochs", "1")
        epoch = mf["history"][-1]
        rows.append(("cached load (`load_seconds` of train --json)",
                     f"{mf['load_seconds']:.2f} s", "<= 3 s"))
        rows.append((f"mf, one epoch (batch 8,192, {mf['n_train']:,} ratings, validation "
                     f"included; val RMSE {epoch['val_rmse']:.3f})",
                     f"{epoch['seconds']:.1f} s", "<= 45 s"))
        rows.append(("mf training process, peak memory (load, split, model, epoch)",
                     f"{mf['peak_rss_mb']:,.0f} MB", "<= 8,000 MB"))
        rows.append(("mf, whole command (load, split, 99 negatives per user, epoch, save, "
                     "neighbour quality)", f"{wall:.0f} s", ""))
        quality, wall, _ = cli(env, "evaluate", "--run", mf["run_id"])
        rows.append(("evaluate the mf run (RMSE, HR@10, neighbour quality on the 10,000 most "
                     "rated)", f"{wall:.0f} s", ""))

        rec, wall, _ = cli(env, "train", "--preset", "recommended", "--dataset", NAME,
                           "--max-movies", "8000", "--max-users", "50000")
        people = rec["quality"].get("people") or []
        after3 = next((r for r in people if r["method"] == "this run" and r["given"] == 3), {})
        top3 = next((r for r in people if r["method"] == "most rated" and r["given"] == 3), {})
        rows.append(("suggestions model: train --preset recommended --max-movies 8000 "
                     "--max-users 50000 (600 new people held out, measured)",
                     f"{wall:.0f} s, {rec['peak_rss_mb']:,.0f} MB", "<= 8,000 MB"))
        if after3:
            rows.append(("its precision@10 after 3 ratings, new people (most-rated list)",
                         f"{after3['precision']:.3f} ({top3.get('precision', float('nan')):.3f})",
                         ""))

        lib = python(env, LIBRARY.format(runs={"mf": mf["run_id"], "newcomer": rec["run_id"]},
                                         map_run=mf["run_id"]))
        rows.append(("fold-in + top-10 on the mf run, median of 20 (3 and 10 ratings)",
                     f"{lib['mf_suggest_ms']:.0f} ms", "<= 300 ms"))
        rows.append(("top-10 on the suggestions run, median of 20",
                     f"{lib['newcomer_suggest_ms']:.0f} ms", "<= 300 ms"))
        rows.append((f"similar movies among {lib['mf_movies']:,} (mf run)",
                     f"{lib['mf_similar_ms']:.0f} ms", ""))
        rows.append(("title search, first / later queries (library)",
                     f"{lib['mf_search_first_ms']:.0f} / {lib['mf_search_ms']:.0f} ms", ""))
        rows.append((f"t-SNE map of the {lib['map_movies']:,} most rated movies (openTSNE, "
                     f"{lib['map_progress_reports']} progress reports)",
                     f"{lib['map_seconds']:.1f} s", "<= 60 s"))
        if not args.skip_pages:
            pages(env, rows)
            pages(env, rows, restarted=True)
        if not args.skip_torchrun:
            torchrun_rows(rows, tmp)
        if not args.skip_install:
            install_rows(rows, tmp)
    finally:
        if not args.work:
            shutil.rmtree(tmp, ignore_errors=True)

    lines = [f"Machine: {machine()}. No GPU was lent to this task: no GPU figures.",
             "Data: `synthesize --like ml-32m` (synthetic, MovieLens 32M's sizes), read "
             "through the same parser as the real release; the torchrun rows use the real "
             "ML-1M.", "",
             "| step | measured | target |", "|---|---:|---|"]
    for label, value, target in rows:
        shown = f"{value:.2f} s" if isinstance(value, float) else str(value)
        lines.append(f"| {label} | {shown} | {target} |")
    body = "\n".join(lines)
    print(body)
    if args.out:
        write_section(Path(args.out), "scale",
                      "## Scale: MovieLens 32M on one machine, torchrun, pip install "
                      "(`benchmarks/scale.py`)", body)


if __name__ == "__main__":
    main()
