"""Take the README's screenshots of the running app in headless Chromium.

Usage (repo root; the app started with MOVIEREC_DATA_DIR pointing at the real data and a runs
folder holding the runs to show, e.g. ``MOVIEREC_HOME=/tmp/shots make run``):

    .venv/bin/python docs/screenshots/take.py [--url http://localhost:8501] [--out docs/screenshots]

It opens every page as a newcomer would: the Data page, the Train page, the Learning curves of
all runs, Explore on the run it opens with (The Matrix searched), Recommend with a sci-fi
fan's ratings imported (The Matrix, The Empire Strikes Back, Aliens, Terminator 2 and Blade
Runner at 5 stars, Titanic at 1) and a second run beside the first, and a fresh Recommend page
where a newcomer rates five movies of the strip, and the Tune page on the newest study
(``--only`` takes some of these).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

FAN = "movie_id,rating\n2571,5\n1196,5\n1200,5\n589,5\n541,5\n1721,1\n"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8501")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--compare", help="run id to put beside the first on Recommend")
    parser.add_argument("--only", default="data,train,curves,explore,recommend,onboarding,tune",
                        help="which screenshots to take (default: all)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    out = Path(args.out)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 2400})

        def shoot(path: str, heading: str, name: str, wait_text: str | None = None,
                  full: bool = True) -> None:
            tab.goto(f"{args.url}/{path}")
            tab.get_by_role("heading", name=heading, exact=True).wait_for(timeout=60_000)
            if wait_text:
                tab.get_by_text(wait_text).first.wait_for(timeout=180_000)
            tab.wait_for_timeout(2500)
            tab.screenshot(path=str(out / name), full_page=full)

        if "data" in only:
            shoot("", "Data", "1-data.png", "Training on")
        if "train" in only:
            shoot("train", "Train", "2-train.png", "Selected run")
        if "curves" in only:
            curves(tab, args.url, out)
        if "explore" in only:
            explore(tab, args.url, out)
        if "recommend" in only:
            recommend(tab, args.url, out, Path(tmp), args.compare)
        if "tune" in only:
            shoot("tune", "Tune", "7-tune.png", "click a column to sort")
        if "onboarding" in only:
            fresh = browser.new_page(viewport={"width": 1400, "height": 2400})
            onboarding(fresh, args.url, out)
        browser.close()


def curves(tab, url: str, out: Path) -> None:
    tab.goto(f"{url}/curves")
    tab.get_by_role("heading", name="Learning curves", exact=True).wait_for()
    runs = tab.get_by_label("Runs")
    for _ in range(10):                         # add every run, one option at a time
        runs.focus()
        tab.keyboard.press("ArrowDown")
        options = tab.get_by_role("option")
        if options.count() == 0:
            break
        tab.keyboard.press("Enter")
        tab.wait_for_timeout(1500)
    tab.keyboard.press("Escape")
    tab.get_by_text("What people see").wait_for()
    tab.wait_for_timeout(3000)
    tab.screenshot(path=str(out / "3-curves.png"), full_page=True)


def explore(tab, url: str, out: Path) -> None:
    tab.goto(f"{url}/explore")
    tab.get_by_text("movies shown").wait_for(timeout=180_000)
    tab.get_by_label("Find a movie").fill("matrix, the")
    tab.keyboard.press("Enter")
    tab.get_by_text("Nearest neighbours of").wait_for(timeout=60_000)
    tab.wait_for_timeout(3000)
    tab.screenshot(path=str(out / "4-explore.png"), full_page=True)


def recommend(tab, url: str, out: Path, tmp: Path, compare: str | None) -> None:
    tab.goto(f"{url}/recommend")
    tab.get_by_text("Popular picks to start with").wait_for(timeout=120_000)
    fan = tmp / "sci-fi-fan.csv"
    fan.write_text(FAN)
    tab.locator("input[type=file]").set_input_files(str(fan))
    tab.get_by_text("Your ratings (6)").wait_for(timeout=60_000)
    if compare:
        tab.get_by_label("Compare with another run").click()
        tab.get_by_role("option", name=compare).click()
        tab.get_by_text("suggestions are on both lists").wait_for(timeout=60_000)
    tab.get_by_text("ranked in").first.wait_for(timeout=60_000)
    tab.wait_for_timeout(3000)
    tab.screenshot(path=str(out / "5-recommend.png"), full_page=True)


def onboarding(tab, url: str, out: Path) -> None:
    """A newcomer on a fresh page rates five movies of the strip (5, 4, 5, 3, 4 stars)."""
    tab.goto(f"{url}/recommend")
    tab.get_by_text("Popular picks to start with").wait_for(timeout=120_000)
    for card, stars in enumerate((5, 4, 5, 3, 4)):
        tab.locator(f"[aria-label='{stars} out of 5 stars']").nth(card).click()
        tab.get_by_text(f"Your ratings ({card + 1})").wait_for(timeout=60_000)
        tab.wait_for_timeout(1000)
    tab.get_by_text("Fitted to your 5 ratings").wait_for(timeout=60_000)
    tab.wait_for_timeout(3000)
    tab.screenshot(path=str(out / "6-onboarding.png"), full_page=True)


if __name__ == "__main__":
    main()
