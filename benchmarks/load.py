"""Many people on one Streamlit server: visit times, server CPU and memory under load.

Usage (repo root; Chromium at /usr/bin/chromium, the data in ../shared/data or $MOVIEREC_DATA_DIR):

    .venv/bin/python benchmarks/load.py [--runs-dir DIR] [--run RUN_ID] [--people 1,4,16]
        [--repeat 3] [--clients 1,16] [--train] [--sessions 50] [--ttl 5] [--deadline 1500]
        [--streamlit="--server.fileWatcherType none"] [--out FILE.md] [--json FILE]

Without ``--runs-dir`` it trains the ``recommended`` preset on ML-1M with the CLI (1-2 min). The
run is copied into a temporary MOVIEREC_HOME and the app started with ``streamlit run app.py``
(plus ``--streamlit``) on a free 127.0.0.1 port. Each person is a fresh context (a new session,
an empty browser cache) of one headless Chromium. After an unmeasured warm-up visit:

* visit: open ``/recommend`` until ready (open); import a CSV of the person's own 3-8 ratings of
  popular movies until the suggestion table has rows (upload); both (visit); the sidebar link to
  Explore until settled (explore) and back (back). A caption with another count than the
  person's means sessions crossed: a failure. Ready: the script not running, no running icon or
  spinner, for 0.5 s, timed where that calm began (the status widget alone is no work: it also
  holds the "source file changed" prompt).
* ``--people``: N visits started together, ``--repeat`` times; CPU seconds of the server's
  process tree (/proc) per visit; the server's RSS before, at most (every 0.2 s) and after.
* ``--sessions S`` (first): RSS after the warm-up, then S visits two at a time, each closing its
  context; a session is dropped ``--ttl`` s after it disconnects, so RSS is followed for up to a
  minute more.
* ``--train`` (last): single visits; then a trainer starts seednet (100 epochs, stopped at the
  end) on all of ML-1M from the Train page: its pace (batches/s off the progress bar) 30 s
  alone, then while single visits follow one another; finished epochs from history.json.
* ``--clients 1,16``: N visits at once by websocket clients (benchmarks/wsclient.py: Streamlit's
  own messages, no browser), so that the load costs the machine little beside the server; with
  ``--train`` the visits while seednet trains are theirs too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
CHROMIUM = os.environ.get("MOVIEREC_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
        "--disable-dev-shm-usage"]
STEPS = ("open", "upload", "visit", "explore", "back")
UPLOADER = "Import ratings (CSV with movie_id and rating)"
FITTED = re.compile(r"Fitted to your (\d+) ratings")
PROGRESS = re.compile(r"epoch (\d+) of (\d+): batch ([\d,]+) of ([\d,]+)")
# Why the page is busy, or "" when it is not.
BUSY = """() => {
    const app = document.querySelector("[data-testid=stApp]");
    const state = app && app.getAttribute("data-test-script-state");
    if (!["notRunning", "compilationError"].includes(state)) return `script ${state}`;
    const shown = document.querySelector(
        "[data-testid=stStatusWidgetRunningIcon], [data-testid=stSpinner]");
    return shown ? shown.dataset.testid : "";
}"""

from core import data_dir  # noqa: E402 - benchmarks/core.py, after the path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()   # from the state on: comm may hold spaces


def tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and its live descendants (a job's worker process too)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(entry.name)] = int(_stat(int(entry.name))[1])
    family, more = {root}, {root}
    while more:
        more = {pid for pid, parent in parents.items() if parent in more} - family
        family |= more
    total = 0
    for pid in family:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += sum(int(f) for f in _stat(pid)[11:15])   # utime stime cutime cstime
    return total / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sampler(threading.Thread):
    """The largest RSS of ``pid``, sampled every 0.2 s in the ``with`` block."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, rss_mb(pid), threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.join()


def start_server(env: dict, extra: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(   # python itself, no shell: its pid is the server's
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", *extra],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the app did not start:\n" + log.read_text()[-2000:])
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit("the app did not answer within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if server.poll() is None:
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(server.pid, sig)
                server.wait(timeout=wait)


# --- one person in the browser ---------------------------------------------------------------
async def settle(page, timeout: float, quiet: float = 0.5) -> float:
    """Wait until the page has not been busy for ``quiet`` s; returns when that calm began.
    Raises on an exception shown on the page."""
    end, calm, why = time.monotonic() + timeout, None, ""
    while time.monotonic() < end:
        why = await page.evaluate(BUSY)
        if why:
            calm = None
        elif calm is None:
            calm = time.perf_counter()
        elif time.perf_counter() - calm >= quiet:
            shown = page.locator("[data-testid=stException]")
            if await shown.count():
                raise RuntimeError("exception on the page: "
                                   + (await shown.first.inner_text())[:300])
            return calm
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the app kept running for {timeout:.0f} s ({why})")


async def go(page, title: str, timeout: float) -> float:
    start = time.perf_counter()
    await page.locator("[data-testid=stSidebarNav] a", has_text=title).click()
    await page.get_by_role("heading", name=title, exact=True).wait_for()
    return await settle(page, timeout) - start


def failure(exc: Exception) -> str:
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"


async def visit(browser, url: str, person: dict, timeout: float, switch: bool = True,
                context=None) -> dict:
    """One person's visit; ``steps`` holds the seconds of each step done, ``error`` why not.
    In a fresh browser context (empty cache), or in a new tab of ``context`` (a person coming
    back: the browser has Streamlit's frontend cached; the server gives the tab a new
    session)."""
    result = {"person": person["id"], "count": person["count"], "steps": {}, "error": None,
              "served": None}
    own = context is None
    if own:
        context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = None
    try:
        page = await context.new_page()
        page.set_default_timeout(timeout * 1000)
        start = time.perf_counter()
        await page.goto(url + "/recommend")
        await page.get_by_role("heading", name="Recommend", exact=True).wait_for()
        uploader = page.locator("[data-testid=stFileUploader]").filter(has_text=UPLOADER)
        await uploader.locator("input[type=file]").wait_for(state="attached")
        ready = await settle(page, timeout)
        result["steps"]["open"] = ready - start
        served = re.search(r"Suggestions from run \S+ \((\S+) on",
                           await page.locator("body").inner_text())
        result["served"] = served and served.group(1)
        upload = time.perf_counter()
        await uploader.locator("input[type=file]").set_input_files(files=[{
            "name": f"person-{person['id']}.csv", "mimeType": "text/csv",
            "buffer": person["csv"].encode()}])
        caption = page.get_by_text(FITTED).first
        await caption.wait_for()
        told = int(FITTED.search(await caption.inner_text()).group(1))
        if told != person["count"]:
            raise RuntimeError(f"sessions crossed: the caption says {told} ratings, the person "
                               f"gave {person['count']}")
        # A fresh browser draws the table's frame first, its rows once their code has loaded.
        await page.locator("[data-testid=stTable] tbody tr").first.wait_for()
        drawn = await settle(page, timeout)
        result["steps"]["upload"] = drawn - upload
        result["steps"]["visit"] = ready - start + drawn - upload   # without our 0.5 s checks
        if switch:
            result["steps"]["explore"] = await go(page, "Explore", timeout)
            result["steps"]["back"] = await go(page, "Recommend", timeout)
            if int(FITTED.search(await caption.inner_text()).group(1)) != person["count"]:
                raise RuntimeError("back on Recommend the ratings are not the person's")
    except Exception as exc:  # noqa: BLE001 - a failed visit is a result, not the end
        result["error"] = failure(exc)
    finally:
        if own:
            await context.close()
        elif page is not None:
            await page.close()
    return result


async def returning(browser, url, pid, people, repeat, timeout) -> dict:
    """Single visits of a person whose browser has been here before (new tab, new session,
    the frontend's files cached): one unmeasured visit, then ``repeat`` measured ones."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        await visit(browser, url, next(people), timeout, switch=False, context=context)
        cpu, results = tree_cpu(pid), []
        for _ in range(repeat):
            results.append(await visit(browser, url, next(people), timeout, switch=False,
                                       context=context))
        return {"results": results, "cpu": tree_cpu(pid) - cpu}
    finally:
        await context.close()


def make_people(movie_ids: list[int], scale, seed: int = 0):
    """An endless supply of people: the i-th rates 3 + i % 6 popular movies of its own."""
    stars = [f"{float(s):g}" for s in scale]
    i = 0
    while True:
        rng = random.Random(seed * 1_000_003 + i)
        rated = rng.sample(movie_ids, 3 + i % 6)
        yield {"id": i, "count": len(rated), "csv": "movie_id,rating\n" + "".join(
            f"{m},{rng.choice(stars)}\n" for m in rated)}
        i += 1


# --- the measurements -----------------------------------------------------------------------
def quantile(values: list[float], q: float) -> float | None:
    values = sorted(values)
    return values[round(q * (len(values) - 1))] if values else None


def summary(results: list[dict], steps=STEPS) -> dict:
    out = {}
    for step in steps:
        times = [r["steps"][step] for r in results if step in r["steps"]]
        out[step] = {"ok": len(times), "total": len(results), "p50": quantile(times, 0.5),
                     "p95": quantile(times, 0.95)}
    return out


async def batch(browser, url, pid, people, n, timeout, switch=True) -> dict:
    return await together(lambda person: visit(browser, url, person, timeout, switch), pid,
                          people, n)


async def together(one, pid, people, n) -> dict:
    """``n`` visits by ``one(person)`` at once; the server's CPU and RSS around them."""
    cpu, before = tree_cpu(pid), rss_mb(pid)
    with Sampler(pid) as sampler:
        results = await asyncio.gather(*(one(next(people)) for _ in range(n)))
    return {"results": results, "cpu": tree_cpu(pid) - cpu,
            "rss": [before, sampler.peak, rss_mb(pid)]}


async def sessions_test(browser, url, pid, people, count, ttl, timeout) -> dict:
    base = peak = rss_mb(pid)
    results = []
    for start in range(0, count, 2):
        done = await batch(browser, url, pid, people, min(2, count - start), timeout, False)
        results += done["results"]
        peak = max(peak, done["rss"][1])
    closed = rss_mb(pid)
    await asyncio.sleep(ttl + 2)
    trace, end = [], time.monotonic() + 60
    while time.monotonic() < end:
        trace.append(rss_mb(pid))
        if len(trace) > 15 and min(trace[-15:]) >= min(trace[:-15]):
            break   # nothing freed for 15 s
        await asyncio.sleep(1)
    return {"sessions": count, "ok": sum(not r["error"] for r in results),
            "errors": [r["error"] for r in results if r["error"]], "after_first_visit": base,
            "max": peak, "closed": closed, "after_ttl": trace[-1], "growth": trace[-1] - base,
            "waited_s": ttl + 2 + len(trace)}


async def pace_now(page, until: float) -> tuple[float, int, int, int]:
    """(when, batches trained so far, batches per epoch, epochs planned), from the trainer's
    progress bar once it counts batches."""
    while time.perf_counter() < until:
        text = await page.locator("body").inner_text()
        if "Training failed" in text:
            raise RuntimeError("the training failed: " + text.split("Training failed", 1)[1][:200])
        found = PROGRESS.search(text)
        if found and int(found.group(3).replace(",", "")):
            epoch, planned, done, total = (int(g.replace(",", "")) for g in found.groups())
            return time.perf_counter(), (epoch - 1) * total + done, total, planned
        await asyncio.sleep(0.5)
    raise RuntimeError("the Train page showed no training progress in time")


def seednet_history(runs: Path, known: set[str]) -> tuple[str | None, list[dict]]:
    """The seednet run that was not there before, and its history (saved every epoch)."""
    for folder in runs.iterdir():
        try:
            if folder.name not in known and json.loads(
                    (folder / "config.json").read_text()).get("model") == "seednet":
                return folder.name, json.loads((folder / "history.json").read_text())
        except (OSError, ValueError):
            pass
    return None, []


def browser_visitor(browser, url: str, timeout: float):
    async def one(person: dict) -> dict:
        return await visit(browser, url, person, timeout, False)
    return one


def client_visitor(url: str, timeout: float):
    """Visits by :mod:`wsclient` (Streamlit's protocol, no browser)."""
    import wsclient

    async def one(person: dict) -> dict:
        result = await wsclient.visit(url, person["csv"], person["count"], timeout)
        return {**result, "person": person["id"], "served": None}
    return one


async def client_batch(url, pid, people, n, timeout) -> dict:
    return await together(client_visitor(url, timeout), pid, people, n)


async def train_test(browser, url, people, runs: Path, repeat, timeout, visitor,
                     every: float = 0.0, alone_s=30) -> dict:
    """Single visits before and while seednet trains (one after another, or one starting
    every ``every`` s); the training's pace without and with them."""
    out = {"idle": [await visitor(next(people)) for _ in range(repeat)], "during": [],
           "notes": []}
    known = {p.name for p in runs.iterdir()}
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(timeout * 1000)
    try:
        await page.goto(url + "/train")
        await page.get_by_role("heading", name="Train", exact=True).wait_for()
        await settle(page, timeout)
        await page.locator("[data-testid=stSelectbox]").filter(has_text="Model") \
            .locator("input").click()
        await page.get_by_role("option").filter(has_text=re.compile(r"^seednet")).first.click()
        await settle(page, timeout)
        if "Data: ml-1m, 100% of the ratings" not in await page.locator("body").inner_text():
            out["notes"].append("the Train page's data settings are not all of ML-1M")
        epochs = page.get_by_label("epochs", exact=True)   # longer than the test: it is stopped
        await epochs.fill("100")
        await epochs.press("Tab")
        await page.get_by_role("button", name="Train", exact=True).click()
        clicked = time.perf_counter()
        first = await pace_now(page, clicked + 300)
        out["start_s"] = first[0] - clicked
        await asyncio.sleep(alone_s)
        calm = await pace_now(page, time.perf_counter() + 60)
        alone = len(seednet_history(runs, known)[1])   # epochs finished before any visit
        if every:   # people arrive every ``every`` s, whether the last visit ended or not
            pending = []
            while len(pending) < repeat or time.perf_counter() - calm[0] < alone_s:
                pending.append(asyncio.ensure_future(visitor(next(people))))
                await asyncio.sleep(every)
            out["during"] = list(await asyncio.gather(*pending))
        while len(out["during"]) < repeat or time.perf_counter() - calm[0] < alone_s:
            out["during"].append(await visitor(next(people)))
            if time.perf_counter() - calm[0] > 300:
                break
        busy = await pace_now(page, time.perf_counter() + 60)
        out["pace"] = {"batches_per_epoch": first[2], "planned_epochs": first[3],
                       "alone": (calm[1] - first[1]) / (calm[0] - first[0]),
                       "with_visits": (busy[1] - calm[1]) / (busy[0] - calm[0])}
        out["run_id"], history = seednet_history(runs, known)
        out["epochs"] = [{"epoch": e["epoch"], "seconds": e["seconds"],
                          "visits": e["epoch"] > alone} for e in history]
        stop = page.get_by_role("button", name="Stop training")
        if await stop.count():
            await stop.click()
            await page.get_by_text("Training stopped").wait_for(timeout=120_000)
    except Exception as exc:  # noqa: BLE001 - reported; the server is stopped anyway
        out["notes"].append(failure(exc))
    finally:
        await context.close()
    return out


async def bench(args, url: str, pid: int, people, out: dict) -> None:
    """Fills ``out`` as it goes, so that what was measured before a deadline is reported."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            out["warm_up"] = await visit(browser, url, next(people), args.step_timeout * 2)
            if out["warm_up"]["error"]:
                raise SystemExit(f"the warm-up visit failed: {out['warm_up']['error']}")
            if args.sessions:
                out["sessions"] = await sessions_test(browser, url, pid, people, args.sessions,
                                                      args.ttl, args.step_timeout)
            out["returning"] = await returning(browser, url, pid, people,
                                               max(args.repeat, 3), args.step_timeout)
            for n in args.people:
                out["batches"][n] = [await batch(browser, url, pid, people, n, args.step_timeout)
                                     for _ in range(args.repeat)]
                print(f"{n} at once: done", file=sys.stderr, flush=True)
            for n in args.clients:
                out["clients"][n] = [await client_batch(url, pid, people, n, args.step_timeout)
                                     for _ in range(args.repeat)]
                print(f"{n} clients at once: done", file=sys.stderr, flush=True)
            if args.train:
                visitor = client_visitor(url, args.step_timeout) if args.clients else \
                    browser_visitor(browser, url, args.step_timeout)
                out["train"] = await train_test(browser, url, people, args.runs,
                                                max(args.repeat, 3), args.step_timeout, visitor,
                                                args.visit_every)
                out["train"]["visitors"] = "websocket clients" if args.clients else "browsers"
        finally:
            await browser.close()


# --- setup and report -----------------------------------------------------------------------
def prepare_run(args, env: dict, runs: Path) -> str:
    from movierec.runs import RunStore

    if args.runs_dir:
        source = RunStore(args.runs_dir)
        run_id = source.resolve(args.run) if args.run else next(
            (r["run_id"] for r in reversed(source.list())
             if r["status"] == "ok" and r["dataset"] == "ml-1m"), None)
        if run_id is None:
            raise SystemExit(f"error: no sound ML-1M run in {args.runs_dir}")
        shutil.copytree(source.path(run_id), runs / run_id)
        return run_id
    done = subprocess.run([sys.executable, "-m", "movierec", "train", "--preset", "recommended",
                           "--runs-dir", str(runs), "--json"], cwd=ROOT, env=env, timeout=600,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit("training the recommended preset failed:\n" + done.stderr[-2000:])
    lines = done.stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("{"))
    return json.loads("\n".join(lines[start:]))["run_id"]


def fmt(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def load_tables(who: str, by_size: dict, steps) -> list[str]:
    """The step times and the server's cost of batches of ``who`` (people, clients) by size."""
    lines = [f"| {who} at once | step | ok/total | p50 s | p95 s |", "|---:|---|---:|---:|---:|"]
    for n, batches in by_size.items():
        for step, x in summary([r for b in batches for r in b["results"]], steps).items():
            lines.append(f"| {n} | {step} | {x['ok']}/{x['total']} | {fmt(x['p50'])} | "
                         f"{fmt(x['p95'])} |")
    lines += ["", f"| {who} at once | visits | server CPU s per visit | RSS before MB | "
              "RSS max MB | RSS after MB |", "|---:|---:|---:|---:|---:|---:|"]
    for n, batches in by_size.items():
        visits = sum(len(b["results"]) for b in batches)
        lines.append(f"| {n} | {visits} | {sum(b['cpu'] for b in batches) / visits:.2f} | "
                     f"{batches[0]['rss'][0]:.0f} | {max(b['rss'][1] for b in batches):.0f} | "
                     f"{batches[-1]['rss'][2]:.0f} |")
    return lines


def report(args, data: dict, run: dict, log_text: str) -> str:
    from peers import machine

    lines = [f"Machine: {machine()}. Data: ML-1M ({data_dir()}). Run {run['run_id']} "
             f"({run['model']} on {run['dataset']}). Commit {args.commit} when the server "
             "started. "
             f"`{shlex.join(['streamlit', 'run', 'app.py', *args.extra])}`, Chromium headless, "
             "one context per person.", ""]
    lines += load_tables("people", data["batches"], STEPS)
    if data.get("clients"):
        lines += ["", "Websocket clients (benchmarks/wsclient.py: Streamlit's own messages, no "
                  "browser), N at once:", ""]
        lines += load_tables("clients", data["clients"], ("open", "upload", "visit"))
    if data.get("returning"):
        back = data["returning"]
        s = summary(back["results"], ("open", "upload", "visit"))
        lines += ["", "A person coming back (a new tab of a browser that has Streamlit's "
                  "frontend cached; a new session), one at a time:", "",
                  "| step | ok/total | p50 s | p95 s |", "|---|---:|---:|---:|"]
        lines += [f"| {step} | {x['ok']}/{x['total']} | {fmt(x['p50'])} | {fmt(x['p95'])} |"
                  for step, x in s.items()]
        lines.append(f"| server CPU s per visit | | "
                     f"{back['cpu'] / max(len(back['results']), 1):.2f} | |")
    if "train" in data:
        t = data["train"]
        idle, during = (summary(t[k], ("visit",))["visit"] for k in ("idle", "during"))
        served = sorted({str(r["served"]) for r in t["during"]})
        ratio = during["p50"] / idle["p50"] if idle["p50"] and during["p50"] else None
        lines += ["", f"While seednet trains on all of ML-1M (run {t.get('run_id')}), single "
                  f"visits by {t.get('visitors', 'browsers')}"
                  + (f", one starting every {args.visit_every:g} s" if args.visit_every else
                     ", one after another") + " (the model they were served: "
                  f"{', '.join(served)}):", "",
                  "| single visits | ok/total | p50 s | p95 s |", "|---|---:|---:|---:|"]
        lines += [f"| {label} | {s['ok']}/{s['total']} | {fmt(s['p50'])} | {fmt(s['p95'])} |"
                  for label, s in (("nothing trains", idle), ("seednet trains", during))]
        lines.append(f"| ratio of the p50s | | {fmt(ratio)} | |")
        if "pace" in t:
            pace, per = t["pace"], t["pace"]["batches_per_epoch"]
            lines += ["", f"| training pace ({pace['planned_epochs']} epochs planned, "
                      f"{per} batches each; the job started in {t['start_s']:.0f} s) | "
                      "batches/s | s per epoch at this pace |", "|---|---:|---:|"]
            lines += [f"| {label} | {pace[key]:.1f} | {per / pace[key]:.0f} |" for label, key in
                      (("nobody visits", "alone"), ("people visit", "with_visits"))
                      if pace[key] > 0]
        if t.get("epochs"):
            lines += ["", "Epochs finished (history.json): " + ", ".join(
                f"{e['epoch']}: {e['seconds']:.0f} s ({'with' if e['visits'] else 'no'} visits)"
                for e in t["epochs"]) + "."]
        lines += [f"\nTraining note: {note}" for note in t["notes"]]
    if "sessions" in data:
        s = data["sessions"]
        lines += ["", f"Memory: {s['sessions']} sessions ({s['ok']} ok), two at a time, "
                  f"disconnectedSessionTTL {args.ttl} s:", "",
                  "| server RSS MB | value |", "|---|---:|",
                  f"| after the first visit | {s['after_first_visit']:.0f} |",
                  f"| max during the sessions | {s['max']:.0f} |",
                  f"| right after the last closed | {s['closed']:.0f} |",
                  f"| {s['waited_s']:.0f} s later (TTL + cleanup) | {s['after_ttl']:.0f} |",
                  f"| growth over the first visit (target <= 100) | {s['growth']:+.0f} |"]
    errors = [r["error"] for kind in ("batches", "clients") for b in data[kind].values()
              for x in b for r in x["results"] if r["error"]]
    errors += data.get("sessions", {}).get("errors", [])
    lines += [f"\nFailed visit: {e}" for e in sorted(set(errors))]
    if data.get("deadline_hit"):
        lines.append(f"\nThe deadline ({args.deadline:.0f} s) ended the benchmark early.")
    lines.append(f"\nServer log: {log_text.count('Traceback (most recent')} traceback(s).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", help="use a run of this folder instead of training one")
    parser.add_argument("--run", help="the run to use (default: the newest sound ML-1M run)")
    parser.add_argument("--people", default="1,4,16", help="how many visit at once, in turn",
                        type=lambda s: [int(n) for n in s.split(",")])
    parser.add_argument("--repeat", type=int, default=3, help="batches of each size")
    parser.add_argument("--clients", default="", help="also this many websocket clients at "
                        "once, in turn (benchmarks/wsclient.py); the visits while training are "
                        "then theirs", type=lambda s: [int(n) for n in s.split(",") if n])
    parser.add_argument("--train", action="store_true", help="also visit while seednet trains")
    parser.add_argument("--visit-every", type=float, default=0.0, help="with --train: a visit "
                        "starts every this many seconds (default: one after another)")
    parser.add_argument("--sessions", type=int, default=0, help="memory test: this many visits")
    parser.add_argument("--ttl", type=int, default=5, help="server.disconnectedSessionTTL")
    parser.add_argument("--streamlit", default="", help="more options for streamlit run "
                        "(one string: --streamlit='--server.fileWatcherType none')")
    parser.add_argument("--step-timeout", type=float, default=120, help="seconds per step")
    parser.add_argument("--deadline", type=float, default=1500, help="seconds for everything")
    parser.add_argument("--out", help="also write the table to this file")
    parser.add_argument("--json", help="write the raw numbers to this file")
    args = parser.parse_args()
    started = time.monotonic()

    def git(*words: str) -> str:
        return subprocess.run(["git", *words], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    args.extra = shlex.split(args.streamlit) + (
        ["--server.disconnectedSessionTTL", str(args.ttl)] if args.sessions else [])
    from movierec.runs import RunStore

    with tempfile.TemporaryDirectory(prefix="movierec-load-") as name:
        tmp = Path(name)
        args.runs = tmp / "home" / "runs"
        args.runs.mkdir(parents=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MOVIEREC_DATA_DIR": str(data_dir()),
               "MOVIEREC_HOME": str(tmp / "home"), "MOVIEREC_CACHE_DIR": str(tmp / "cache")}
        run_id = prepare_run(args, env, args.runs)
        run = next(r for r in RunStore(args.runs).list() if r["run_id"] == run_id)
        loaded = RunStore(args.runs).load(run_id)
        popular = loaded.movie_table().sort_values("n_ratings", ascending=False)["movie_id"]
        people = make_people([int(m) for m in popular.head(300)], loaded.rating_scale)
        del loaded
        log_path = tmp / "server.log"
        status = git("status", "--porcelain", "--untracked-files=no").splitlines()
        args.commit = git("rev-parse", "--short", "HEAD") + (
            " + uncommitted changes to " + ", ".join(line.split()[-1] for line in status)
            if status else "")
        server, url = start_server(env, args.extra, log_path)
        left = args.deadline - (time.monotonic() - started)
        watchdog = threading.Timer(max(left, 1) + 90, lambda: (stop_server(server), os._exit(3)))
        watchdog.daemon = True
        watchdog.start()
        data: dict = {"batches": {}, "clients": {}}
        try:
            asyncio.run(asyncio.wait_for(bench(args, url, server.pid, people, data), left))
        except asyncio.TimeoutError:   # TimeoutError itself from Python 3.11 on
            data["deadline_hit"] = True
        finally:
            stop_server(server)
            watchdog.cancel()
        log_text = log_path.read_text(errors="replace")
    text = report(args, data, run, log_text)
    print(text)
    if "Traceback" in log_text:
        print(log_text[log_text.index("Traceback"):][:3000], file=sys.stderr)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"run": run, **data}, indent=1, default=str))


if __name__ == "__main__":
    main()
