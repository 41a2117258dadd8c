"""Every session-state key of the dashboard and the helpers that read and write them. Pages
keep a person's choices only through this module; what sessions share is in :mod:`ui.cache`."""

from __future__ import annotations

import dataclasses

import streamlit as st

from movierec.config import DataConfig

# --- session-state keys -----------------------------------------------------------------------
DATASET = "dataset"            # name of the chosen dataset
FRACTION = "fraction"          # share of ratings kept (the notebook's chop)
VALIDATION_SIZE = "validation_size"   # share held out for validation
SEED = "seed"                  # seed of chop, split and training
SPLIT = "split"                # random or leave-one-out
NEW_PEOPLE = "new_people"      # people held out of training for the new-person protocol
MAX_MOVIES = "max_movies"      # keep the ratings of the N most rated movies (0: all)
MAX_USERS = "max_users"        # keep the ratings of N random people (0: all)
PRESET = "preset"              # the preset the Train page's form starts from (None: none)
RUN_ID = "run_id"              # the selected run
COMPARE = "compare"            # runs overlaid on the Learning curves page
JOB_KEY = "job_key"            # this session's current training job
RATINGS = "ratings"            # {dataset: {movie_id: stars}} rated on the Recommend page
MAP_MOVIE = "map_movie"        # movie highlighted on the Explore map
MAP_RUN = "map_run"            # the run whose map Explore shows
OFFLINE = "offline"            # a download failed in this session (the demo is then offered)
IMPORTED = "imported_file"     # what the last ratings import did: {name, count} or {error}
COMPARE_RUN = "compare_run"    # a second run whose suggestions Recommend shows beside
SKIPPED = "skipped"            # {dataset: [movie_id]} shown on the strip and not seen
STRIP = "strip"                # {run_id: [movie_id]} the strip Recommend shows now
FORM_GENERATION = "train_form_generation"   # bumped when a preset refills the Train form
STUDY = "study"                # the study the Tune page shows

# The Data page's settings: a key per DataConfig field (a holdout file is the command line's).
DATA_KEYS = {f.name: f.name for f in dataclasses.fields(DataConfig) if f.name != "holdout"}
DEFAULTS = {key: getattr(DataConfig, field) for field, key in DATA_KEYS.items()}


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
    hints = {f.name: type(getattr(DataConfig, f.name)) for f in dataclasses.fields(DataConfig)}
    return DataConfig(**{field: hints[field](get(key) or hints[field]())
                         for field, key in DATA_KEYS.items()})


def selected_run_id() -> str | None:
    """The selected run if it still exists, else the newest sound run that is not being
    trained (a run saves after each epoch, and someone else's half-trained run is not what a
    newcomer should get), else the newest sound run, else None."""
    from ui import cache

    ok = [r["run_id"] for r in cache.runs() if r["status"] == "ok"]
    chosen = st.session_state.get(RUN_ID)
    if chosen in ok:
        return chosen
    training = cache.runs_in_training()
    chosen = next((r for r in ok if r not in training), ok[0] if ok else None)
    put(RUN_ID, chosen)
    return chosen


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
