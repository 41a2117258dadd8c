"""The dashboard's pages: the router app.py runs, links between pages, and the guard of pages
that need a trained run."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from movierec.errors import MovieRecError

if TYPE_CHECKING:
    from movierec.runs import Run

PAGES = {
    "data": ("pages/data.py", "Data", ":material/database:"),
    "train": ("pages/train.py", "Train", ":material/model_training:"),
    "tune": ("pages/tune.py", "Tune", ":material/tune:"),
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


def link(page: str, label: str | None = None) -> None:
    """A link to another page; as plain words when the page runs on its own (tests)."""
    path, title, icon = PAGES[page]
    try:
        st.page_link(path, label=label or title, icon=icon)
    except Exception:  # noqa: BLE001 - outside st.navigation there is nothing to link to
        st.markdown(f"Go to the **{title}** page.")


def guard_run() -> Run:
    """The selected run, or a note with a link to the Train page and a stop."""
    from ui import cache, state

    run_id = state.selected_run_id()
    if run_id is None:
        st.info("There is no trained run yet. Train one first.")
        link("train", "Train a model")
        st.stop()
    try:
        return cache.run(run_id)
    except MovieRecError as exc:
        st.error(f"The selected run cannot be used: {exc}")
        link("train", "Pick or train another run")
        st.stop()


def guard_data_config():
    """The Data page's settings, or what is wrong with them, a link there and a stop."""
    from movierec.errors import ConfigError
    from ui import state

    try:
        return state.data_config()
    except ConfigError as exc:
        st.error(f"The data settings are not usable: {exc}")
        link("data", "Fix them on the Data page")
        st.stop()
