"""Pieces of page that more than one page shows."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from movierec.errors import MovieRecError
from movierec.evaluation.neighbours import near_chance
from movierec.jobs import ACTIVE
from movierec.runs import Run
from ui import cache, charts, nav, state


def job_progress(snap: dict) -> None:
    """Progress bar, last metrics and the growing loss curve of a training job."""
    history = snap["history"]
    planned = snap["planned_epochs"]
    done_batches, total_batches = snap["batches"]
    epochs_done = len(history) - snap["start_epochs"]
    st.caption(f"Job: {snap['settings']}.")
    if snap["status"] == "queued":
        st.info("Waiting for the trainer (another training is running)...")
    elif snap["status"] == "running":
        part = done_batches / total_batches if total_batches else 0.0
        fraction = min((min(epochs_done, planned - 1) + part) / max(planned, 1), 1.0)
        st.progress(fraction, text=f"epoch {min(epochs_done + 1, planned)} of {planned}: "
                                   + (f"batch {done_batches:,} of {total_batches:,}"
                                      if total_batches else
                                      "starting (a worker process, the data, the model)"))
    elif snap["status"] == "measuring":
        st.progress(done_batches / total_batches if total_batches else 0.0,
                    text="Trained. Measuring what people see "
                         f"({snap['message'].removeprefix('measuring: ') or 'neighbours'}"
                         + (f": {done_batches:,} of {total_batches:,} people)" if total_batches
                            else ")"))
    if history:
        last = history[-1]
        cols = st.columns(4)
        cols[0].metric("Epoch", last["epoch"])
        if last["val_rmse"] == last["val_rmse"]:   # not NaN: a model that predicts stars
            cols[1].metric("Validation RMSE", f"{last['val_rmse']:.4f}")
            cols[2].metric("Validation accuracy", f"{last['val_accuracy']:.4f}")
        else:
            cols[1].metric("HR@10", f"{last.get('val_hr10') or 0:.4f}")
            cols[2].metric("NDCG@10", f"{last.get('val_ndcg10') or 0:.4f}")
        cols[3].metric("Validation loss", f"{last['val_loss']:.4f}")
        frame = charts.history_frame({snap["run_id"] or "this run": history})
        st.altair_chart(charts.curve(frame, "loss"), width="stretch")
    elif snap["status"] == "running":
        st.caption("The curve appears after the first epoch.")


@st.fragment(run_every=1.0)
def _live(key: str) -> None:
    job = cache.jobs().get(key)
    if job is None:
        return
    snap = job.snapshot()
    job_progress(snap)
    if snap["status"] in ACTIVE:
        if st.button("Stop training", key="stop_job"):
            job.stop()
            st.toast("Stopping after the current batch; finished epochs are kept.")
    else:
        st.rerun()


def training_status() -> str | None:
    """Show this session's training job: live while it runs, its outcome afterwards.
    Returns the job's status (None when there is no job)."""
    key = state.get(state.JOB_KEY)
    job = cache.jobs().get(key) if key else None
    if job is None:
        return None
    snap = job.snapshot()
    if snap["status"] in ACTIVE:
        _live(key)
        return snap["status"]
    job_progress(snap)
    if snap["run_id"] and snap["status"] in ("done", "stopped"):
        state.put(state.RUN_ID, snap["run_id"])
    if snap["status"] == "done":
        st.success(f"Run **{snap['run_id']}** is ready ({snap['message']}).")
    elif snap["status"] == "stopped":
        st.warning(f"Training stopped: {snap['message']}.")
    else:
        st.error(f"Training failed: {snap['message']}")
    return snap["status"]


def run_label(row: dict) -> str:
    """A run in a picker: id, model and dataset."""
    return f"{row['run_id']}  ·  {row['model']} on {row['dataset']}"


def pick_run(key: str, label: str, default: Callable[[], str | None]) -> Run:
    """A picker of the sound runs kept under session ``key`` (first set from ``default()``,
    else the selected run); returns the loaded run, or explains and stops the page."""
    rows = [r for r in cache.runs() if r["status"] == "ok"]
    if not rows:
        st.info("There is no trained run yet. Train one first.")
        nav.link("train", "Train a model")
        st.stop()
    by_id = {r["run_id"]: r for r in rows}
    if state.get(key) not in by_id:
        state.put(key, default() or state.selected_run_id() or rows[0]["run_id"])
    run_id = st.selectbox(label, list(by_id), key=key, format_func=lambda i: run_label(by_id[i]))
    try:
        return cache.run(run_id)
    except MovieRecError as exc:
        st.error(f"Run {run_id} cannot be used: {exc}")
        st.stop()


def _percent(value: float) -> str:
    return "–" if pd.isna(value) else f"{value:.0%}"


def map_quality(table: pd.DataFrame) -> None:
    """How meaningful a run's map is: genre agreement and the series check of its neighbours,
    against chance and item-kNN, with a plain warning when it is near chance."""
    rows = table.set_index("vectors")
    own = table.iloc[0]
    knn = rows.loc["item-kNN"] if "item-kNN" in rows.index else None
    chance = rows.loc["chance"]
    c1, c2 = st.columns(2)
    c1.metric("Genre agreement of neighbours", f"{own['genre_agreement']:.2f}",
              help="How much a movie's 10 nearest neighbours share its genres (mean Jaccard "
                   "overlap, 0 to 1), over the movies with 20 or more ratings.")
    c1.caption(f"chance {chance['genre_agreement']:.2f}"
               + (f" · item-kNN {knn['genre_agreement']:.2f}" if knn is not None else ""))
    c2.metric("Series check", _percent(own["series_check"]),
              help=f"Of {int(own['series_movies'])} films from a series found in the titles "
                   "(Star Trek, Police Academy, Toy Story...), the share that have another "
                   "film of their series among their 10 nearest neighbours.")
    c2.caption(f"chance {_percent(chance['series_check'])}"
               + (f" · item-kNN {_percent(knn['series_check'])}" if knn is not None else ""))
    if near_chance(table):
        st.warning("**This map is close to chance.** A movie's neighbours here share its "
                   "genres hardly more often than random movies do, so dots that sit together "
                   "are not really alike. The `recommended` and `seednet-map` presets (Train "
                   "page) learn maps that mean something.")


def _hits(value: float) -> str:
    return f"{value * 10:.1f}"


def _onboarding_words(table: pd.DataFrame) -> tuple[str, bool, int]:
    """The onboarding protocol in words; whether the run beat the most-rated list in its first
    round; how many people it was measured on."""
    own = table[table["method"] == "this run"].set_index("round")
    popular = table[table["method"] == "most rated"].set_index("round")
    first = own.iloc[0]
    shown = int(first["shown"])
    reference = popular["precision"].get(own.index[0])
    text = (f"after rating what they knew of {shown} popular movies (they knew "
            f"{first['ratings']:.1f} on average), **{_hits(first['precision'])} of 10** "
            "suggestions were movies they went on to rate 4 or 5 stars"
            + (f" (the most-rated list of movies not shown: {_hits(reference)})"
               if reference is not None else ""))
    if len(own) > 1:
        last = own.iloc[-1]
        text += (f"; after {int(last['shown'])} shown ({last['ratings']:.1f} rated), "
                 f"{_hits(last['precision'])} of 10")
    text += (f". The suggestions spanned {int(first['distinct']):,} different movies; the "
             f"typical one has {first['median_popularity']:,.0f} training ratings")
    better = reference is None or first["precision"] > reference
    return text, better, int(first["people"])


def _search_words(table: pd.DataFrame) -> tuple[str, bool, int]:
    """The new-person protocol (a few random ratings of their own) in words."""
    own = table[table["method"] == "this run"].set_index("given")
    popular = table[table["method"] == "most rated"].set_index("given")
    k = 3 if 3 in own.index else int(own.index[0])
    first = own.loc[k]
    reference = popular["precision"].get(k)
    last_k = int(own.index[-1])
    text = (f"after {k} ratings of their own movies, **{_hits(first['precision'])} of 10**"
            + (f" (the most-rated list: {_hits(reference)})" if reference is not None else "")
            + (f"; after {last_k}, {_hits(own.loc[last_k, 'precision'])}" if last_k != k
               else "")
            + f", over {int(first['distinct']):,} different movies, "
            f"{first['popular_share']:.0%} of them among the 100 most rated")
    better = reference is None or first["precision"] > reference
    return text, better, int(first["people"])


def suggestion_quality(tables: dict[str, pd.DataFrame], compact: bool = False,
                       model: str | None = None) -> None:
    """How good a run's suggestions are for someone new, in words: the onboarding protocol
    (rating what you know of the strip, as on this page) and the new-person protocol (a few
    random ratings of your own, the stand-in for people who search), each against the
    most-rated list, with a plain warning when the suggestions are no better than that list."""
    onboarding, people = tables.get("onboarding"), tables.get("people")
    if onboarding is None and people is None:
        st.caption("How good these suggestions are has not been measured: this run learned "
                   "from everyone in the data. The `recommended` preset (Train page) holds 600 "
                   "people out and measures its suggestions on them.")
        return
    parts, worse, measured_on = [], False, 0
    if onboarding is not None:
        text, better, measured_on = _onboarding_words(onboarding)
        parts.append(f"**Rating the picks below:** {text}.")
        worse |= not better
    if people is not None:
        text, better, measured_on = _search_words(people)
        parts.append(f"**Searching for movies you love** (measured with random ratings of "
                     f"their own): {text}.")
        worse |= not better
    if compact:
        st.caption(f"Measured on {measured_on} new people. " + " ".join(parts))
        return
    advice = ""
    if worse:
        advice = (" **That is no better than handing everyone the most-rated list**"
                  + (": on this data, where popularity explains most of what people rate, "
                     "even the newcomer models do not beat it."
                     if model in ("onboard", "newcomer") else
                     ": this model does not fit a newcomer's taste well; the `recommended` "
                     "preset is built for it."))
    say = st.warning if worse else st.info
    say(f"**How good are these suggestions?** Measured on {measured_on} people this run never "
        "saw. " + " ".join(parts) + advice)
