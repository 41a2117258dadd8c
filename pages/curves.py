"""Learning curves page: loss, RMSE and accuracy per epoch for one run or several overlaid,
final metrics, and the history as CSV."""

import pandas as pd
import streamlit as st

from movierec.errors import MovieRecError
from ui import charts, state

state.through_app()
st.title("Learning curves")
st.caption("Training (dashed) and validation (solid) metrics per epoch; pick several runs to "
           "compare them.")

rows = [r for r in state.runs() if r["status"] == "ok"]
if not rows:
    st.info("There are no runs yet. Train one first.")
    state.link("train", "Train a model")
    st.stop()
ids = [r["run_id"] for r in rows]
default = [i for i in (state.get(state.COMPARE) or []) if i in ids] or \
    [state.selected_run_id() or ids[0]]
chosen = st.multiselect("Runs", ids, default=default, key="curves_runs")
state.put(state.COMPARE, chosen)
if not chosen:
    st.info("Pick at least one run.")
    st.stop()

histories, finals = {}, []
for run_id in chosen:
    try:
        run = state.run(run_id)
    except MovieRecError as exc:
        st.warning(f"{run_id} cannot be shown: {exc}")
        continue
    histories[run_id] = run.history
    finals.append({**run.summary(), "n_params": sum(p.numel() for p in run.model.parameters())})
frame = charts.history_frame(histories)
if frame.empty:
    st.info("The chosen runs have no finished epoch yet.")
    st.stop()

shown = [m for m in charts.METRICS if (frame["metric"] == m).any()]
for row in range(0, len(shown), 3):
    cols = st.columns(3)
    for col, metric in zip(cols, shown[row:row + 3], strict=False):
        col.altair_chart(charts.curve(frame, metric, height=320), width="stretch")
st.caption("HR@10 and NDCG@10 follow the NCF protocol: one held-out movie per user is ranked "
           "among it and 99 movies that user never rated. Star models rank poorly on it; `bpr` "
           "is trained to rank (and predicts no stars, so its RMSE and accuracy are blank).")

st.subheader("Final metrics")
for final in finals:
    last = histories.get(final["run_id"]) or [{}]
    final["val_hr10"] = last[-1].get("val_hr10")
    final["val_ndcg10"] = last[-1].get("val_ndcg10")
table = pd.DataFrame(finals)[["run_id", "model", "dataset", "fraction", "epochs", "val_rmse",
                              "val_mae", "val_accuracy", "val_hr10", "val_ndcg10", "val_loss",
                              "train_seconds", "n_params"]]
st.dataframe(table, hide_index=True, width="stretch", column_config={
    c: st.column_config.NumberColumn(c.replace("_", " ").replace("10", "@10"), format="%.4f")
    for c in ("val_rmse", "val_mae", "val_accuracy", "val_hr10", "val_ndcg10", "val_loss")})

history_csv = pd.concat([pd.DataFrame(h).assign(run_id=r) for r, h in histories.items()])
st.download_button("Download the history as CSV", history_csv.to_csv(index=False),
                   file_name="movierec-history.csv", mime="text/csv")
