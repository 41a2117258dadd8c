"""Every ``st.cache_*`` of the dashboard: what the server loads or computes once and every
session shares (runs, strips, maps, quality tables, dataset numbers, the training queue).

Shared objects are read-only: a page that wants to change one copies it first. Cached entries
are keyed by what identifies the files they come from (:meth:`RunStore.stamp`, a dataset's
source files), so they follow saves, uploads and downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from movierec import paths
from movierec.config import DataConfig
from movierec.data import load_dataset
from movierec.data.loader import load_stats
from movierec.data.sources import find_release, locate
from movierec.errors import ConfigError, MovieRecError

if TYPE_CHECKING:  # torch and scikit-learn load in the background (see ui.warmup)
    from optuna.storages import RDBStorage

    from movierec.embeddings import ProjectionConfig
    from movierec.jobs import JobManager
    from movierec.runs import Run, RunStore
    from movierec.starters import Strip
    from movierec.tuning.jobs import StudyJobs

QUALITY_EXTRAS = ("quality-onboarding", "quality-people", "quality-neighbours")


# --- locations --------------------------------------------------------------------------------
def data_dir() -> Path:
    return paths.data_dir()


def store() -> RunStore:
    """The run store of this server's runs folder (opened, and repaired, once per folder)."""
    return _store(str(paths.runs_dir()))


@st.cache_resource(show_spinner=False)
def _store(root: str) -> RunStore:
    from movierec.runs import RunStore

    return RunStore(root).recover()


def runs() -> list[dict]:
    """Saved runs, newest first (broken ones included, marked)."""
    return list(reversed(store().list()))


# --- datasets ---------------------------------------------------------------------------------
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


def dataset_stats(name: str) -> dict:
    """The Data page's numbers and tables for ``name``."""
    return _dataset_stats(name, str(data_dir()), source_stamp(name))


@st.cache_data(show_spinner=False, max_entries=16)
def _split_counts(config: DataConfig, location: str, stamp: tuple) -> tuple[int, int, int, int]:
    from movierec.split import make_split

    data = make_split(load_dataset(config.dataset, data_dir=location, allow_download=False),
                      config)
    people = data.people
    return (len(data.train), len(data.validation), 0 if people is None else people.n_users,
            0 if people is None else len(people))


def split_counts(config: DataConfig) -> tuple[int, int, int, int]:
    """Exact sizes of ``config``'s split: training ratings, validation ratings, new people and
    their ratings (the split is made once and remembered)."""
    return _split_counts(config, str(data_dir()), source_stamp(config.dataset))


# --- runs -------------------------------------------------------------------------------------
def _stamp(run_id: str) -> tuple:
    return store().stamp(run_id)


@st.cache_resource(show_spinner=False, max_entries=16)
def _run(run_id: str, root: str, stamp: tuple) -> Run:
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
def _strip(run_id: str, root: str, stamp: tuple) -> Strip:
    from movierec.starters import Strip

    return Strip.for_run(_run(run_id, root, stamp))


def strip(run_id: str) -> Strip:
    """What the run needs to choose strips, prepared once per version and shared: never
    mutate it."""
    return _strip(run_id, str(store().root), _stamp(run_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _movie_map(run_id: str, root: str, stamp: tuple, config: ProjectionConfig) -> pd.DataFrame:
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


# --- quality ----------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=64)
def _quality(run_id: str, root: str, stamp: tuple) -> dict[str, pd.DataFrame]:
    from movierec.evaluation.report import load_quality

    return load_quality(_store(root), run_id)


def quality(run_id: str) -> dict[str, pd.DataFrame]:
    """The run's quality tables measured so far: ``onboarding`` and ``people`` (the onboarding
    and new-person protocols, for runs that held people out) and ``neighbours`` (neighbour
    quality)."""
    return _quality(run_id, str(store().root), store().stamp(run_id, QUALITY_EXTRAS))


def neighbour_quality(run_id: str) -> pd.DataFrame:
    """The run's neighbour quality: stored, or measured now on the data it was trained on
    (a few seconds) and stored beside it.

    Raises:
        MovieRecError: the data it was trained on is not here, or the run is broken.
    """
    found = quality(run_id).get("neighbours")
    if found is not None:
        return found
    from movierec.split import make_split
    from movierec.workflows import measure_and_save

    loaded = run(run_id)
    dataset = load_dataset(loaded.data_config.dataset, data_dir=data_dir(),
                           allow_download=False)
    tables, notes = measure_and_save(loaded, make_split(dataset, loaded.data_config), store(),
                                     tables=("neighbours",))
    if "neighbours" not in tables:
        raise ConfigError(notes.get("neighbours", "neighbour quality cannot be measured"))
    return tables["neighbours"]


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


# --- training ---------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _jobs(root: str, data: str, cache: str) -> JobManager:
    from movierec.jobs import JobManager

    return JobManager(runs_dir=root, data_dir=data, cache_dir=cache)


def jobs() -> JobManager:
    """The process-wide training queue shared by every browser session (a bad
    ``$MOVIEREC_JOB*`` setting of the server is said on the page, which stops there)."""
    try:
        return _jobs(str(store().root), str(data_dir()), str(paths.cache_dir()))
    except MovieRecError as exc:
        st.error(f"Training is not available on this server: {exc}. Fix the setting and "
                 "restart the server.")
        st.stop()


def runs_in_training() -> set[str]:
    """Ids of the runs that a job of this server is training now (none where training is
    not available)."""
    try:
        manager = _jobs(str(store().root), str(data_dir()), str(paths.cache_dir()))
    except MovieRecError:
        return set()
    return {job.run_id for job in manager.active() if job.run_id}


# --- search studies ---------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _storage(root: str) -> RDBStorage:
    from movierec.tuning.study import default_storage, open_storage

    return open_storage(default_storage(root))


def storage() -> RDBStorage:
    """The runs folder's study storage (SQLite), opened once and shared: the studies the Tune
    page starts, and those started from the command line with the default storage."""
    return _storage(str(store().root))


@st.cache_resource(show_spinner=False)
def _study_jobs(root: str, data: str, cache: str) -> StudyJobs:
    from movierec.tuning.jobs import StudyJobs

    return StudyJobs(root, data, cache)


def study_jobs() -> StudyJobs:
    """The studies this server runs in the background, shared by every session (a bad
    ``$MOVIEREC_JOB_NICE`` of the server is said on the page, which stops there)."""
    try:
        return _study_jobs(str(store().root), str(data_dir()), str(paths.cache_dir()))
    except MovieRecError as exc:
        st.error(f"Studies cannot run on this server: {exc}. Fix the setting and restart the "
                 "server.")
        st.stop()


@st.cache_data(show_spinner=False, max_entries=32)
def _importances(root: str, name: str, n_complete: int) -> dict[str, float]:
    from movierec.tuning.study import importances, load_study

    return importances(load_study(name, _storage(root)))


def importances(name: str, n_complete: int) -> dict[str, float]:
    """Study ``name``'s parameter importances, worked out once per number of finished trials
    (the page redraws every two seconds while a study runs)."""
    return _importances(str(store().root), name, n_complete)
