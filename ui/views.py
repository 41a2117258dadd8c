"""Pieces of page that more than one page shows."""

from __future__ import annotations

import streamlit as st

from movierec.jobs import ACTIVE
from ui import charts, state


def job_progress(snap: dict) -> None:
    """Progress bar, last metrics and the growing loss curve of a training job."""
    history = snap["history"]
    planned = snap["planned_epochs"]
    done_batches, total_batches = snap["batches"]
    epochs_done = len(history) - snap["start_epochs"]
    if snap["status"] == "queued":
        st.info("Waiting for the trainer (another training is running)...")
    elif snap["status"] == "running":
        part = done_batches / total_batches if total_batches else 0.0
        fraction = min((min(epochs_done, planned - 1) + part) / max(planned, 1), 1.0)
        st.progress(fraction, text=f"epoch {min(epochs_done + 1, planned)} of {planned}: "
                                   f"batch {done_batches:,} of {total_batches:,}")
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
    job = state.jobs().get(key)
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
    job = state.jobs().get(key) if key else None
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
