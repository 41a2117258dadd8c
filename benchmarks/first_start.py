"""A fresh clone's `make run`, timed from the command to the first page drawn in Chromium: the
set-up a new user goes through. Writes the ``first-start`` section of BENCHMARKS.md.

Usage (repo root; needs git, make, Chromium at /usr/bin/chromium and the dev tools for
Playwright):

    .venv/bin/python benchmarks/first_start.py [--port 8599] [--out BENCHMARKS.md]

It clones this checkout's HEAD into a temporary folder, runs `make run ARGS=...` there (which
creates .venv and installs requirements.txt with pip as configured on this machine, then starts
the dashboard), and reports when the install finished, when the server answered and when the
Data page showed its title. It talks only to 127.0.0.1, stops the server and removes the clone.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.core import write_section  # noqa: E402

CHROMIUM = os.environ.get("MOVIEREC_CHROMIUM", "/usr/bin/chromium")


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def first_start(port: int, timeout: float, rev: str = "HEAD", pip_cache: bool = True) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="movierec-first-start-") as tmp:
        clone = Path(tmp) / "movierec"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "checkout", "-q", rev], cwd=clone, check=True)
        env = {**os.environ, "MOVIEREC_HOME": str(Path(tmp) / "home"),
               "MOVIEREC_CACHE_DIR": str(Path(tmp) / "cache")}
        if not pip_cache:   # as on a fresh machine: every package fetched (and built) again
            env["PIP_NO_CACHE_DIR"] = "1"
        args = f"--server.port {port} --server.address 127.0.0.1 --server.headless true"
        start = time.perf_counter()
        server = subprocess.Popen(["make", "run", f"ARGS={args}"], cwd=clone, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        found: dict[str, float] = {}
        try:
            # (.installed: the stamp of Makefiles before make run installed the runtime alone)
            stamps = [clone / ".venv" / name for name in (".runtime-installed", ".installed")]
            while not _answers(port):
                if "installed" not in found and any(s.exists() for s in stamps):
                    found["installed"] = time.perf_counter() - start
                if server.poll() is not None:
                    raise SystemExit(f"make run ended with status {server.returncode}")
                if time.perf_counter() - start > timeout:
                    raise SystemExit(f"no server after {timeout:.0f} s")
                time.sleep(0.5)
            found.setdefault("installed", time.perf_counter() - start)
            found["server"] = time.perf_counter() - start
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
                    "--no-sandbox", "--disable-background-networking"])
                tab = browser.new_page()
                tab.goto(f"http://127.0.0.1:{port}/", timeout=timeout * 1000)
                tab.get_by_role("heading", name="Data").first.wait_for(timeout=timeout * 1000)
                found["drawn"] = time.perf_counter() - start
                browser.close()
            found["venv_mb"] = sum(p.stat().st_size for p in (clone / ".venv").rglob("*")
                                   if p.is_file()) / 2**20
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        shutil.rmtree(clone, ignore_errors=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8599)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--rev", default="HEAD", help="the commit to clone (default HEAD)")
    parser.add_argument("--compare", metavar="REV",
                        help="an older commit measured the same way, turn about (its make run "
                             "may not take ARGS: it is served on port 8501)")
    parser.add_argument("--repeat", type=int, default=1, help="starts of each (median shown)")
    parser.add_argument("--no-pip-cache", action="store_true",
                        help="pip without its cache, as on a fresh machine")
    parser.add_argument("--print-only", action="store_true",
                        help="print the figures, leave BENCHMARKS.md as it is")
    args = parser.parse_args()
    revs = [(args.rev, args.port)] + ([(args.compare, 8501)] if args.compare else [])
    found: dict[str, list[dict]] = {rev: [] for rev, _ in revs}
    for _ in range(args.repeat):
        for rev, port in revs:   # turn about, so that neither always goes first
            found[rev].append(first_start(port, args.timeout, rev,
                                          pip_cache=not args.no_pip_cache))
            print(rev, found[rev][-1], file=sys.stderr)
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
               f"{platform.python_version()}, pip as configured here, "
               + ("without its cache (as on a fresh machine)" if args.no_pip_cache
                  else "with its cache as it was"))

    def cell(rev: str, key: str) -> str:
        values = sorted(f[key] for f in found[rev])
        return f"{statistics.median(values):.0f}" + (
            f" ({', '.join(f'{v:.0f}' for v in values)})" if len(values) > 1 else "")

    names = {rev: subprocess.run(["git", "log", "-1", "--format=%h, %as", rev], cwd=ROOT,
                                 capture_output=True, text=True).stdout.strip()
             for rev, _ in revs}
    lines = [f"Protocol: `git clone` of the commit into a temporary folder, then `make run` "
             "there (a new .venv, its pip installs, then the dashboard), timed until the Data "
             f"page's title shows in headless Chromium; {args.repeat} start(s) of each, turn "
             f"about, median (all values). Machine: {machine}; {time.strftime('%Y-%m-%d')}.",
             "", "| commit | runtime installed, s | server answers, s | first page drawn, s "
             "| .venv MB |", "|---|---:|---:|---:|---:|"]
    for rev, _ in revs:
        lines.append(f"| {rev} ({names[rev]}) | {cell(rev, 'installed')} | {cell(rev, 'server')} | "
                     f"{cell(rev, 'drawn')} | {found[rev][-1]['venv_mb']:,.0f} |")
    lines += ["", "Reproduce: `.venv/bin/python benchmarks/first_start.py --no-pip-cache "
              "--repeat 3" + (f" --compare {args.compare}`." if args.compare else "`.")]
    body = "\n".join(lines)
    if not args.print_only:
        write_section(args.out, "first-start", "## A fresh clone's `make run`", body)
    print(body)


if __name__ == "__main__":
    main()
