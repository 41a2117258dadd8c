"""Measure the dashboard's targets in a real browser on MovieLens 1M and print a table.

Usage (repo root; needs Chromium at /usr/bin/chromium and ../shared/data or $MOVIEREC_DATA_DIR):

    .venv/bin/python benchmarks/dashboard.py [--runs-dir DIR] [--out results.md]

It trains the recommended model (mf, about 25 s) into a temporary runs folder unless
``--runs-dir`` names one holding an mf run on all of ML-1M (or ``--run`` names a run), starts
the app as ``make run`` does on a free port, and drives Chromium with Playwright:

* first page render: from opening the app to the Data page showing ML-1M's numbers;
* page switches: from a sidebar click to the next page's content, once data is loaded;
* the t-SNE map of every rated movie: from opening Explore to the map (first visit computes
  it; the second reads it from beside the run), plus the library call alone;
* suggestions: from the click that gives the 10th rating to the refreshed suggestions, plus
  the library's fold-in + top-10 alone (median of 20).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
CHROMIUM = os.environ.get("MOVIEREC_CHROMIUM", "/usr/bin/chromium")

from core import data_dir  # noqa: E402 - benchmarks/core.py, after the path


def wait_idle(tab, timeout: float = 120.0) -> None:
    """Until Streamlit's running indicator has been gone for 0.3 s."""
    deadline, calm = time.time() + timeout, None
    while time.time() < deadline:
        if tab.locator("[data-testid=stStatusWidget]").count():
            calm = None
        elif calm is None:
            calm = time.time()
        elif time.time() - calm > 0.3:
            return
        time.sleep(0.05)
    raise TimeoutError("the app did not settle")


def start_app(env: dict, launcher: list[str]) -> tuple[subprocess.Popen, int]:
    """Start the dashboard (``python LAUNCHER``) on a free local port; returns once it listens.
    The caller terminates the process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, *launcher, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            if server.poll() is not None:
                raise SystemExit("the dashboard did not start") from None
            time.sleep(0.2)


def timed(tab, action, ready) -> float:
    start = time.perf_counter()
    action()
    ready()
    return time.perf_counter() - start


def library_timings(runs_dir: Path, run_id: str) -> dict:
    from movierec.embeddings import ProjectionConfig, project
    from movierec.runs import RunStore

    run = RunStore(runs_dir).load(run_id)
    seen = run.item_counts > 0
    vectors = run.model.item_embeddings().detach().numpy()[seen]
    start = time.perf_counter()
    project(vectors, ProjectionConfig())
    tsne = time.perf_counter() - start
    from sklearn.manifold import TSNE
    start = time.perf_counter()
    TSNE(init="pca", random_state=0).fit_transform(vectors)
    tsne_default = time.perf_counter() - start
    popular = run.movie_table().sort_values("n_ratings", ascending=False)["movie_id"]
    rated = {int(m): float(1 + i % 5) for i, m in enumerate(popular.head(10))}
    return {"n_movies": int(seen.sum()), "tsne": tsne, "tsne_default": tsne_default,
            "suggest_ms": suggestion_ms(run, rated)}


def suggestion_ms(run, rated: dict[int, float], repeats: int = 20) -> float:
    """Median milliseconds for a person's top 10 with their reasons (after one warm-up)."""
    from movierec.inference import because, recommend

    recommend(run, rated)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        top = recommend(run, rated, top=10)
        because(run, top["movie_id"].tolist(), rated)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", help="use a run in this folder instead of training one")
    parser.add_argument("--run", help="the run to use (default: the newest mf run on all of "
                                      "ML-1M)")
    parser.add_argument("--out", help="also write the table to this file")
    parser.add_argument("--launcher", choices=["make-run", "streamlit-run"], default="make-run",
                        help="start the app as `make run` does (python -m ui.launch, default) "
                             "or with plain `streamlit run app.py`")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MOVIEREC_DATA_DIR": str(data_dir()),
               "MOVIEREC_CACHE_DIR": str(tmp / "cache"),
               "MOVIEREC_HOME": str(tmp / "home")}
        from movierec.runs import RunStore

        runs_dir = tmp / "home" / "runs"
        if args.runs_dir:
            source = RunStore(args.runs_dir)
            run_id = args.run or next(
                r["run_id"] for r in reversed(source.list())
                if r["status"] == "ok" and r["dataset"] == "ml-1m" and r["model"] == "mf"
                and r["fraction"] == 1.0)
            # The app sees this run alone, and without a saved map, so that the first visit
            # to Explore computes it.
            shutil.copytree(source.path(run_id), runs_dir / run_id,
                            ignore=shutil.ignore_patterns("extras"))
        else:
            subprocess.run([sys.executable, "-m", "movierec", "train", "--dataset", "ml-1m",
                            "--model", "mf", "--quiet"], env=env, check=True, cwd=ROOT)
            run_id = RunStore(runs_dir).resolve("latest")
        lib = library_timings(runs_dir, run_id)

        launcher = ["-m", "ui.launch"] if args.launcher == "make-run" else \
            ["-m", "streamlit", "run", "app.py"]
        server, port = start_app(env, launcher)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
                    "--no-sandbox", "--disable-background-networking", "--disable-gpu"])
                rows = []
                url = f"http://127.0.0.1:{port}/"
                for label in ("first visit after the server started",
                              "a new visitor (empty browser cache) on a running server"):
                    context = browser.new_context(viewport={"width": 1400, "height": 1400})
                    tab = context.new_page()
                    tab.set_default_timeout(120_000)
                    start = time.perf_counter()
                    tab.goto(url)
                    tab.locator("h1").first.wait_for()
                    title = time.perf_counter() - start
                    tab.wait_for_function("document.body.innerText.includes('1,000,209')",
                                          polling=50)
                    numbers = time.perf_counter() - start
                    rows.append((f"Data page title, {label}", title, "< 3 s"))
                    rows.append((f"Data page with ML-1M's numbers, {label}", numbers, "< 3 s"))
                    wait_idle(tab)
                    time.sleep(5)   # the background import of torch, as while a user reads
                    if "first" in label:
                        context.close()

                def nav(title: str, ready_text: str) -> float:
                    def click():
                        tab.locator("[data-testid=stSidebarNav] a", has_text=title).click()
                    took = timed(tab, click, lambda: (tab.get_by_role(
                        "heading", name=title, exact=True).wait_for(),
                        tab.get_by_text(ready_text).first.wait_for()))
                    wait_idle(tab)
                    return took

                switches = [
                    ("Train", "Parameters"), ("Learning curves", "Final metrics"),
                    ("Recommend", "Popular picks to start with"),
                    ("Data", "1,000,209"), ("Train", "Parameters"),
                ]
                switch_times = [nav(t, r) for t, r in switches]
                explore_first = nav("Explore", "movies shown")
                rows.append((f"t-SNE map of {lib['n_movies']:,} movies, first visit to Explore",
                             explore_first, "< 10 s"))
                switch_times.append(nav("Learning curves", "Final metrics"))
                explore_again = nav("Explore", "movies shown")
                switch_times.append(explore_again)
                rows.append(("page switch, median of 7 (Train, Curves, Recommend, Data, "
                             "Explore again...)", statistics.median(switch_times), "< 1 s"))
                rows.append(("page switch, slowest of 7", max(switch_times), "< 1 s"))

                nav("Recommend", "Popular picks to start with")
                for count in range(1, 10):   # rated cards stay on the strip: the next card
                    tab.locator("[aria-label='4 out of 5 stars']").nth(count - 1).click()
                    tab.get_by_text(f"Your ratings ({count})").wait_for()
                    wait_idle(tab)
                click = timed(tab, lambda: tab.locator("[aria-label='5 out of 5 stars']").nth(9)
                              .click(), lambda: tab.get_by_text("Fitted to your 10 ratings")
                              .wait_for())
                rows.append(("suggestions after the click giving a 10th rating (browser)",
                             click, "< 100 ms"))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)

    import torch
    started = "python -m ui.launch (make run)" if args.launcher == "make-run" else \
        "streamlit run app.py"
    lines = [f"Machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, Chromium "
             f"headless, {time.strftime('%Y-%m-%d')}; run {run_id}; app started with {started}",
             "",
             "| dashboard on ML-1M | seconds | target |", "|---|---:|---|"]
    lines += [f"| {label} | {secs:.2f} | {target} |" for label, secs, target in rows]
    lines += ["", "| library alone | value |", "|---|---:|",
              f"| t-SNE of {lib['n_movies']:,} movie embeddings (movierec settings) | "
              f"{lib['tsne']:.2f} s |",
              f"| t-SNE, scikit-learn defaults | {lib['tsne_default']:.2f} s |",
              f"| fold-in + top-10 + reasons for 10 ratings, median of 20 | "
              f"{lib['suggest_ms']:.1f} ms |"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
