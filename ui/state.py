"""Every ``st.cache_*`` and every session-state key of the dashboard, and small helpers the
pages share. Pages read and write state only through this module."""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from movierec import paths
from movierec.config import DataConfig
from movierec.data import RELEASES, Release, load_dataset
from movierec.data.loader import load_stats
from movierec.data.sources import custom_folders, find_release, is_synthetic_folder, locate
from movierec.errors import MovieRecError

if TYPE_CHECKING:  # torch and scikit-learn load in the background (see warm_up)
    from collections.abc import Callable

    from movierec.embeddings import ProjectionConfig
    from movierec.jobs import JobManager
    from movierec.runs import Run, RunStore
    from movierec.starters import Strip

# torch._dynamo: the first optimiser of a process (the fold-in warm-up) imports it, 1.5 s.
HEAVY_MODULES = ("movierec.jobs", "movierec.inference", "movierec.embeddings", "torch._dynamo")

# --- pages ------------------------------------------------------------------------------------
PAGES = {
    "data": ("pages/data.py", "Data", ":material/database:"),
    "train": ("pages/train.py", "Train", ":material/model_training:"),
    "curves": ("pages/curves.py", "Learning curves", ":material/show_chart:"),
    "explore": ("pages/explore.py", "Explore", ":material/scatter_plot:"),
    "recommend": ("pages/recommend.py", "Recommend", ":material/recommend:"),
}


def navigation():
    """The app's page router (app.py runs it)."""
    return st.navigation([st.Page(path, title=title, icon=icon)
                          for path, title, icon in PAGES.values()])


def through_app() -> None:
    """Make sure a page runs inside app.py's navigation.

    Because the folder is called ``pages/``, the first visit to a page's URL after the server
    starts runs that file the old way (Streamlit's pages-directory mode), without app.py's
    layout and page titles. Registering the navigation and rerunning switches the whole server
    to ``st.navigation`` for good. Pages loaded on their own (AppTest) are left alone.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the old mode
        return
    if PagesManager.uses_pages_directory:
        navigation()
        st.rerun()


# --- session-state keys -----------------------------------------------------------------------
DATASET = "dataset"            # name of the chosen dataset
FRACTION = "fraction"          # share of ratings kept (the notebook's chop)
TEST_SIZE = "test_size"        # share held out
SEED = "seed"                  # seed of chop, split and training
SPLIT = "split"                # random or leave-one-out
NEW_PEOPLE = "new_people"      # people held out of training for the new-person protocol
MAX_MOVIES = "max_movies"      # keep the ratings of the N most rated movies (0: all)
MAX_USERS = "max_users"        # keep the ratings of N random people (0: all)
RUN_ID = "run_id"              # the selected run
COMPARE = "compare"            # runs overlaid on the Learning curves page
JOB_KEY = "job_key"            # this session's current training job
RATINGS = "ratings"            # {dataset: {movie_id: stars}} rated on the Recommend page
MAP_MOVIE = "map_movie"        # movie highlighted on the Explore map
MAP_RUN = "map_run"            # the run whose map Explore shows
OFFLINE = "offline"            # a download failed in this session (the demo is then offered)
IMPORTED = "imported_file"     # id of the ratings file last imported (not imported twice)
COMPARE_RUN = "compare_run"    # a second run whose suggestions Recommend shows beside
SKIPPED = "skipped"            # {dataset: [movie_id]} shown on the strip and not seen
STRIP = "strip"                # {run_id: [movie_id]} the strip Recommend shows now

DEFAULTS = {DATASET: "ml-1m", FRACTION: 1.0, TEST_SIZE: 0.1, SEED: 0, SPLIT: "random",
            NEW_PEOPLE: 0, MAX_MOVIES: 0, MAX_USERS: 0}


def get(key: str):
    """A session value (with its default)."""
    if key not in st.session_state:
        st.session_state[key] = DEFAULTS.get(key)
    return st.session_state[key]


def put(key: str, value) -> None:
    """Set a session value (also a widget's, before the widget is drawn)."""
    st.session_state[key] = value


def has(key: str) -> bool:
    return key in st.session_state


def drop(key: str) -> None:
    st.session_state.pop(key, None)


def data_config() -> DataConfig:
    """The data settings chosen on the Data page (validated)."""
    return DataConfig(dataset=get(DATASET), fraction=float(get(FRACTION)),
                      test_size=float(get(TEST_SIZE)), seed=int(get(SEED)),
                      split=str(get(SPLIT)), new_people=int(get(NEW_PEOPLE)),
                      max_movies=int(get(MAX_MOVIES) or 0), max_users=int(get(MAX_USERS) or 0))


def my_ratings(dataset: str) -> dict[int, float]:
    """This session's ratings of movies of ``dataset`` (a live dict: edit it in place)."""
    all_ratings = st.session_state.setdefault(RATINGS, {})
    return all_ratings.setdefault(dataset, {})


def my_skips(dataset: str) -> list[int]:
    """The movies of ``dataset`` this session was shown on the strip and has not seen (a live
    list: edit it in place)."""
    return st.session_state.setdefault(SKIPPED, {}).setdefault(dataset, [])


def shown_strip(run_id: str) -> list[int] | None:
    """The movie ids on the strip Recommend shows now for ``run_id`` (None before the first)."""
    return st.session_state.setdefault(STRIP, {}).get(run_id)


def show_strip(run_id: str, movie_ids: list[int]) -> None:
    st.session_state.setdefault(STRIP, {})[run_id] = list(movie_ids)


# --- locations --------------------------------------------------------------------------------
def data_dir() -> Path:
    return paths.data_dir()


def store() -> RunStore:
    """The run store of this server's runs folder (opened, and repaired, once per folder)."""
    return _store(str(paths.runs_dir()))


@st.cache_resource(show_spinner=False)
def _store(root: str) -> RunStore:
    from movierec.runs import RunStore

    return RunStore(root)


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Import torch and scikit-learn in the background, once per server. app.py calls this
    after the first page has run, so that page shows without waiting for them (or sharing the
    CPU with them) and the pages after it find them loaded."""
    def load() -> None:
        for name in HEAVY_MODULES:
            importlib.import_module(name)
        import torch

        # An optimiser's first step imports another part of torch (about 2 s); take it now.
        weight = torch.zeros(1, requires_grad=True)
        torch.optim.LBFGS([weight], max_iter=1).step(lambda: (weight - 1).square().sum())

    thread = threading.Thread(target=load, name="movierec-warm-up", daemon=True)
    thread.start()
    return thread


# --- caches -----------------------------------------------------------------------------------
def source_stamp(name: str) -> tuple:
    """What identifies the current copy of ``name`` (its files' paths, sizes and times);
    empty when it is not here. Cached data keyed by it follows uploads and downloads."""
    try:
        release = find_release(name, data_dir())
        if release.synthetic:
            return ("generated",)
        source = locate(release, data_dir())
    except MovieRecError:
        return ()
    if source is None:
        return ()
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in source.files())


def present(name: str) -> bool:
    """Whether ``name`` is in the data dir (demo always is)."""
    return bool(source_stamp(name))


@st.cache_data(show_spinner=False, max_entries=4)
def _dataset_stats(name: str, location: str, stamp: tuple) -> dict:
    return load_stats(name, data_dir=location)


@st.cache_data(show_spinner=False, max_entries=16)
def _split_counts(config: DataConfig, location: str, stamp: tuple) -> tuple[int, int, int, int]:
    from movierec.split import make_split

    data = make_split(load_dataset(config.dataset, data_dir=location, allow_download=False),
                      config)
    people = data.people
    return (len(data.train), len(data.test), 0 if people is None else people.n_users,
            0 if people is None else len(people))


def split_counts(config: DataConfig) -> tuple[int, int, int, int]:
    """Exact sizes of ``config``'s split: training ratings, test ratings, new people and their
    ratings (the split is made once and remembered)."""
    return _split_counts(config, str(data_dir()), source_stamp(config.dataset))


def dataset_stats(name: str) -> dict:
    """The Data page's numbers and tables for ``name``."""
    return _dataset_stats(name, str(data_dir()), source_stamp(name))


def _stamp(run_id: str) -> float:
    try:
        return (store().path(run_id) / "config.json").stat().st_mtime_ns
    except (OSError, MovieRecError):
        return 0.0


@st.cache_resource(show_spinner=False, max_entries=16)
def _run(run_id: str, root: str, stamp: float) -> Run:
    from movierec.inference import because, recommend

    loaded = _store(root).load(run_id)
    # The first suggestions in a process pay for imports and first calls into torch (the
    # optimiser step of fold-in imports a good part of it, about 2 s); pay them here, while
    # the page loads, rather than after the click that asks for suggestions.
    first = {int(loaded.item_ids.ids[0]): float(loaded.rating_scale[-1])}
    because(loaded, recommend(loaded, first, min_ratings=0)["movie_id"].tolist(), first)
    return loaded


def run(run_id: str) -> Run:
    """A saved run, loaded once per version and shared by every session: never mutate it."""
    return _run(run_id, str(store().root), _stamp(run_id))


@st.cache_resource(show_spinner=False, max_entries=16)
def _strip(run_id: str, root: str, stamp: float) -> Strip:
    from movierec.starters import Strip

    return Strip.for_run(_run(run_id, root, stamp))


def strip(run_id: str) -> Strip:
    """What the run needs to choose strips, prepared once per version and shared: never
    mutate it."""
    return _strip(run_id, str(store().root), _stamp(run_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _movie_map(run_id: str, root: str, stamp: float, config: ProjectionConfig) -> pd.DataFrame:
    from movierec.embeddings import movie_map

    return movie_map(_run(run_id, root, stamp), config, _store(root))


def map_stored(run_id: str, config: ProjectionConfig) -> bool:
    """Whether the run's map for ``config`` was computed before (and is read back at once)."""
    try:
        return store().read_extra(run_id, config.name) is not None
    except MovieRecError:
        return False


def movie_map_for(run_id: str, config: ProjectionConfig,
                  progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """The run's movie map (computed once, with ``progress`` reports, then read from beside
    the run)."""
    if progress is not None and not map_stored(run_id, config):
        from movierec.embeddings import movie_map

        movie_map(run(run_id), config, store(), progress=progress)
    return _movie_map(run_id, str(store().root), _stamp(run_id), config)


def _quality_stamp(run_id: str) -> tuple:
    """When the run's quality tables were last written (they follow re-measuring)."""
    try:
        folder = store().path(run_id) / "extras"
    except MovieRecError:
        return ()
    stamps = []
    for name in ("onboarding", "people", "neighbours"):
        try:
            stamps.append((folder / f"quality-{name}.parquet").stat().st_mtime_ns)
        except OSError:
            stamps.append(0)
    return (_stamp(run_id), *stamps)


@st.cache_data(show_spinner=False, max_entries=64)
def _quality(run_id: str, root: str, stamp: tuple) -> dict[str, pd.DataFrame]:
    from movierec.evaluation.report import load_quality

    return load_quality(_store(root), run_id)


def quality(run_id: str) -> dict[str, pd.DataFrame]:
    """The run's quality tables measured so far: ``onboarding`` and ``people`` (the onboarding
    and new-person protocols, for runs that held people out) and ``neighbours`` (neighbour
    quality)."""
    return _quality(run_id, str(store().root), _quality_stamp(run_id))


def neighbour_quality(run_id: str) -> pd.DataFrame:
    """The run's neighbour quality: stored, or measured now on the data it was trained on
    (a few seconds) and stored beside it.

    Raises:
        MovieRecError: the data it was trained on is not here, or the run is broken.
    """
    found = quality(run_id).get("neighbours")
    if found is not None:
        return found
    from movierec.evaluation.report import run_neighbour_quality, save_quality
    from movierec.split import make_split

    loaded = run(run_id)
    dataset = load_dataset(loaded.data_config.dataset, data_dir=data_dir(),
                           allow_download=False)
    table = run_neighbour_quality(loaded, make_split(dataset, loaded.data_config))
    save_quality(store(), run_id, {"neighbours": table})
    return table


def best_map_run() -> str | None:
    """The sound run whose stored map is the most meaningful (highest genre agreement of its
    neighbours), or None when no run's map has been measured."""
    best, best_score = None, -1.0
    for row in runs():
        if row["status"] != "ok":
            continue
        table = quality(row["run_id"]).get("neighbours")
        if table is not None and float(table["genre_agreement"].iloc[0]) > best_score:
            best, best_score = row["run_id"], float(table["genre_agreement"].iloc[0])
    return best


@st.cache_resource(show_spinner=False)
def _jobs(root: str, data: str, cache: str) -> JobManager:
    from movierec.jobs import JobManager

    return JobManager(runs_dir=root, data_dir=data, cache_dir=cache)


def jobs() -> JobManager:
    """The process-wide training queue shared by every browser session."""
    return _jobs(str(store().root), str(data_dir()), str(paths.cache_dir()))


# --- helpers ----------------------------------------------------------------------------------
def runs() -> list[dict]:
    """Saved runs, newest first (broken ones included, marked)."""
    return list(reversed(store().list()))


def selected_run_id() -> str | None:
    """The selected run if it still exists, else the newest sound run, else None."""
    ok = [r["run_id"] for r in runs() if r["status"] == "ok"]
    chosen = st.session_state.get(RUN_ID)
    if chosen in ok:
        return chosen
    chosen = ok[0] if ok else None
    put(RUN_ID, chosen)
    return chosen


def link(page: str, label: str | None = None) -> None:
    """A link to another page; as plain words when the page runs on its own (tests)."""
    path, title, icon = PAGES[page]
    try:
        st.page_link(path, label=label or title, icon=icon)
    except Exception:  # noqa: BLE001 - outside st.navigation there is nothing to link to
        st.markdown(f"Go to the **{title}** page.")


def guard_run() -> Run:
    """The selected run, or a note with a link to the Train page and a stop."""
    run_id = selected_run_id()
    if run_id is None:
        st.info("There is no trained run yet. Train one first.")
        link("train", "Train a model")
        st.stop()
    try:
        return run(run_id)
    except MovieRecError as exc:
        st.error(f"The selected run cannot be used: {exc}")
        link("train", "Pick or train another run")
        st.stop()


def dataset_names() -> list[str]:
    """The catalog's names, then the custom folders of the data dir."""
    return list(RELEASES) + custom_folders(data_dir())


def release(name: str) -> Release:
    """The catalog release or custom folder ``name`` (a MovieRecError when it is neither)."""
    return find_release(name, data_dir())


def dataset_label(name: str) -> str:
    try:
        found = release(name)
    except MovieRecError:
        return f"{name} · not here"
    mark = "synthetic" if is_synthetic(name) else ("here" if present(name) else "not here")
    title = "your folder" if found.custom else found.title
    return f"{name} · {title} · {mark}"


def is_synthetic(name: str) -> bool:
    """Whether dataset ``name`` is generated: ``demo``, or a folder ``synthesize`` wrote."""
    try:
        found = release(name)
    except MovieRecError:
        return False
    return found.synthetic or (found.custom and is_synthetic_folder(data_dir() / name))


def dataset_note(name: str) -> str:
    """One line on what dataset ``name`` is, for the Data page."""
    found = release(name)
    if found.custom and is_synthetic(name):
        return (f"Synthetic: the folder {name}/ of the data dir, written by `python -m movierec "
                "synthesize` (see its SYNTHETIC.md).")
    return found.note


def env_note() -> str:
    """Where data and runs live, for the sidebar."""
    return (f"Data: `{data_dir()}`  \nRuns: `{store().root}`"
            + ("" if os.environ.get("MOVIEREC_DATA_DIR") else "  \n(set MOVIEREC_DATA_DIR to use "
               "a folder of MovieLens zips you already have)"))
