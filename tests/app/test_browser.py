"""The real app in a real browser: Playwright drives Debian's Chromium against
`streamlit run app.py` on a free 127.0.0.1 port, with the offline demo data. Screenshots of a
failure are saved under test-artifacts/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.data.tiny import zip_bytes

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("MOVIEREC_CHROMIUM", "/usr/bin/chromium")

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM),
                                reason=f"no Chromium at {CHROMIUM}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(isolated_locations):
    port = free_port()
    log = open(isolated_locations / "streamlit.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not start: " + (isolated_locations / "streamlit.log")
                        .read_text()[-2000:])
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture
def page(app_url, request):
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-background-networking", "--disable-gpu",
            "--disable-dev-shm-usage"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1400})
        tab.set_default_timeout(60_000)
        tab.goto(app_url)
        yield tab
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            ARTIFACTS.mkdir(exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        browser.close()


def settle(tab, quiet_for: float = 1.0) -> None:
    """Wait until Streamlit has finished running the script."""
    calm_since = None
    deadline = time.time() + 120
    while time.time() < deadline:
        busy = tab.locator("[data-testid=stStatusWidget]").count() + \
            tab.locator("[data-testid=stSpinner]").count()
        if busy:
            calm_since = None
        elif calm_since is None:
            calm_since = time.time()
        elif time.time() - calm_since >= quiet_for:
            return
        time.sleep(0.2)
    raise AssertionError("the app kept running for two minutes")


def go(tab, title: str) -> None:
    tab.locator("[data-testid=stSidebarNav] a", has_text=title).click()
    tab.get_by_role("heading", name=title, exact=True).wait_for()
    settle(tab)


def no_exception(tab) -> None:
    assert tab.locator("[data-testid=stException]").count() == 0, \
        tab.locator("[data-testid=stException]").first.inner_text()


def test_train_explore_and_recommend_in_chromium(page, tmp_path):
    tab = page
    # Data: MovieLens is not here (empty data folder), so take the synthetic demo set.
    tab.get_by_role("heading", name="Data", exact=True).wait_for()
    settle(tab)
    # A zip that is not MovieLens is refused with a message, and the page goes on working.
    foreign = tmp_path / "holiday-photos.zip"
    foreign.write_bytes(zip_bytes({"photos/readme.txt": b"not ratings"}))
    tab.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(foreign))
    tab.get_by_text("That file cannot be used").wait_for()
    settle(tab)
    no_exception(tab)
    tab.get_by_role("button", name="Use the synthetic demo set").click()
    tab.get_by_text("Synthetic data.").wait_for()
    settle(tab)
    no_exception(tab)

    # Train a small model through the form and watch its curve.
    go(tab, "Train")
    tab.locator("[data-testid=stSelectbox]").filter(has_text="Model").locator("input").click()
    tab.get_by_role("option", name="mf · Biased matrix factorisation").click()
    settle(tab)
    epochs = tab.get_by_label("epochs", exact=True)
    epochs.fill("3")
    epochs.press("Tab")
    tab.get_by_role("button", name="Train", exact=True).click()
    tab.get_by_text("is ready").wait_for(timeout=120_000)
    settle(tab)
    no_exception(tab)
    assert tab.locator("[data-testid=stVegaLiteChart]").count() >= 1
    assert tab.get_by_text("Validation RMSE").count() >= 1

    # Explore: the t-SNE map, then a movie's neighbours.
    go(tab, "Explore")
    tab.get_by_text("movies shown").wait_for(timeout=120_000)
    assert tab.locator("[data-testid=stVegaLiteChart]").count() == 1
    search = tab.get_by_label("Find a movie")
    search.fill("silent")
    search.press("Enter")
    tab.get_by_text("Nearest neighbours of").wait_for()
    settle(tab)
    no_exception(tab)

    # Recommend: rate three movies from the starter strip, get suggestions.
    go(tab, "Recommend")
    tab.get_by_text("Popular picks to start with").wait_for()
    for rated in range(1, 4):
        tab.locator("[aria-label='5 out of 5 stars']").first.click()
        tab.get_by_text(f"Your ratings ({rated})").wait_for()
        settle(tab)
    tab.get_by_text("ranked in").wait_for()
    assert tab.locator("[data-testid=stDataFrame]").count() == 1   # the suggestions table
    no_exception(tab)
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "browser-recommend.png"), full_page=True)


def test_two_browser_sessions_share_a_training_but_not_ratings(app_url, isolated_locations,
                                                              tmp_path):
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-background-networking", "--disable-gpu",
            "--disable-dev-shm-usage"])
        tabs = []
        try:
            for _ in range(2):                       # two contexts: two people, two sessions
                tab = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
                tab.set_default_timeout(60_000)
                tab.goto(app_url)
                tab.get_by_role("button", name="Use the synthetic demo set").click()
                tab.get_by_text("Synthetic data.").wait_for()
                settle(tab)
                go(tab, "Train")
                epochs = tab.get_by_label("epochs", exact=True)
                epochs.fill("4")
                epochs.press("Tab")
                settle(tab)
                tabs.append(tab)
            # Both ask for the notebook's network with the same settings, one right after the
            # other: one training serves both.
            for tab in tabs:
                tab.get_by_role("button", name="Train", exact=True).click()
            ready = []
            for tab in tabs:
                tab.get_by_text("is ready").wait_for(timeout=180_000)
                settle(tab)
                no_exception(tab)
                ready.append(tab.locator("[data-testid=stAlertContentSuccess]").inner_text())
            runs = [p.name for p in (isolated_locations / "home" / "runs").iterdir()
                    if not p.name.startswith(".")]
            assert len(runs) == 1 and all(runs[0] in text for text in ready), (runs, ready)

            # Ratings stay with their person: a bad import changes nothing, a good one adds
            # two ratings in the first session only.
            first, second = tabs
            go(first, "Recommend")
            go(second, "Recommend")
            bad = tmp_path / "bad.csv"
            bad.write_text("movie_id,rating\n1,5\n1,4\n")
            first.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(bad))
            first.get_by_text("movie 1 is rated a second time").wait_for()
            first.get_by_text("Your ratings (0)").wait_for()
            good = tmp_path / "good.csv"
            good.write_text("movie_id,rating\n1,5\n2,3\n")
            first.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(good))
            first.get_by_text("Your ratings (2)").wait_for()
            settle(first)
            no_exception(first)
            go(second, "Learning curves")
            go(second, "Recommend")
            second.get_by_text("Your ratings (0)").wait_for()
            no_exception(second)
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            for number, tab in enumerate(tabs):
                tab.screenshot(path=str(ARTIFACTS / f"two-sessions-{number}.png"),
                               full_page=True)
            raise
        finally:
            browser.close()
