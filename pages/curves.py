"""Learning curves page: loss, RMSE and accuracy per epoch for one run or several overlaid,
final metrics, and the history as CSV."""

import html

import pandas as pd
import streamlit as st

from movierec import compare
from movierec.errors import MovieRecError
from ui import cache, charts, nav, state

nav.through_app()
st.title("Learning curves")
st.caption("Training (dashed) and validation (solid) metrics per epoch; pick several runs to "
           "compare them.")

rows = [r for r in cache.runs() if r["status"] == "ok"]
if not rows:
    st.info("There are no runs yet. Train one first.")
    nav.link("train", "Train a model")
    st.stop()
ids = [r["run_id"] for r in rows]
by_id = {r["run_id"]: r for r in rows}
default = [i for i in (state.get(state.COMPARE) or []) if i in ids] or \
    [state.selected_run_id() or ids[0]]
chosen = st.multiselect("Runs", ids, default=default, key="curves_runs",
                        format_func=lambda i: f"{by_id[i].get('name') or i} · "
                                              f"{by_id[i]['model']} on {by_id[i]['dataset']}")
state.put(state.COMPARE, chosen)
if not chosen:
    st.info("Pick at least one run.")
    st.stop()

histories, finals = {}, []
for run_id in chosen:
    try:
        run = cache.run(run_id)
    except MovieRecError as exc:
        st.warning(f"{run_id} cannot be shown: {exc}")
        continue
    histories[run_id] = run.history
    finals.append({**run.summary(), "n_params": run.model.n_parameters()})
# Short labels: a run's name, else its model and the settings that set it apart.
names = {r: by_id[r].get("name", "") for r in histories}
label = compare.labels(finals, names)
frame = charts.history_frame({label[r]: h for r, h in histories.items()})
if frame.empty:
    st.info("The chosen runs have no finished epoch yet.")
    st.stop()

o1, o2 = st.columns(2)
x_axis = o1.radio("Along", list(charts.X_AXES), horizontal=True, key="curves_x",
                  format_func=lambda x: "epochs" if x == "epoch" else "training seconds")
log_loss = o2.checkbox("Loss on a log scale", key="curves_log")
labels_in_order = [label[r] for r in histories]
colours = charts.run_colours(labels_in_order)
if len(labels_in_order) > 1:
    # One legend for every chart below (each chart colours a run alike).
    st.markdown("  \n".join(
        f'<span style="display:inline-block; width:2em; height:0.3em; margin-right:0.5em; '
        f'vertical-align:middle; background:{colours[name]}"></span>{html.escape(name)}'
        for name in labels_in_order) + "  \n<small>dashed: training; solid: "
        "validation</small>", unsafe_allow_html=True)
shown = [m for m in charts.METRICS if (frame["metric"] == m).any()]
for row in range(0, len(shown), 2):
    cols = st.columns(2)
    for col, metric in zip(cols, shown[row:row + 2], strict=False):
        col.altair_chart(charts.curve(frame, metric, height=380, x=x_axis,
                                      log=log_loss and metric == "loss",
                                      runs=labels_in_order,
                                      legend=len(labels_in_order) == 1), width="stretch")

if len(finals) > 1:
    st.subheader("Settings that differ")
    differ = compare.differing(finals)
    differ.insert(0, "label", [label[r] for r in differ["run"]])
    # as the labels write them; blank: a setting that run's model does not have
    differ = differ.astype(object).map(compare.shown_value)
    if differ.shape[1] > 2:
        st.dataframe(differ, hide_index=True, width="stretch")
    else:
        st.caption("The chosen runs were trained with the same settings.")
st.caption("HR@10 and NDCG@10: one held-out movie per user is ranked among it and 99 movies "
           "that user never rated. They are the NCF paper's exact test only for runs trained "
           "with `--split ncf` (its own held-out ratings and candidates); otherwise the held-out "
           "movie is a random one, or each user's latest where ratings are dated, and the 99 "
           "are drawn here, so the numbers do not compare with the paper's. Star models rank "
           "poorly; `bpr` and `ials` are trained to rank (and predict no stars, so their RMSE "
           "and accuracy are blank).")

st.subheader("Final metrics")
for final in finals:
    last = histories.get(final["run_id"]) or [{}]
    final["val_hr10"] = last[-1].get("val_hr10")
    final["val_ndcg10"] = last[-1].get("val_ndcg10")
table = pd.DataFrame(finals)
table.insert(0, "label", [label[r] for r in table["run_id"]])
table = table[["label", "run_id", "model", "dataset", "fraction", "split", "epochs",
                              "val_rmse",
                              "val_mae", "val_accuracy", "val_hr10", "val_ndcg10", "val_loss",
                              "train_seconds", "n_params"]]
st.dataframe(table, hide_index=True, width="stretch", column_config={
    c: st.column_config.NumberColumn(c.replace("_", " ").replace("10", "@10"), format="%.4f")
    for c in ("val_rmse", "val_mae", "val_accuracy", "val_hr10", "val_ndcg10", "val_loss")})

st.subheader("What people see")
st.caption("Suggestions for people held out of training. **Onboarding** (the Recommend page's "
           "own flow): each round shows them the run's next strip of 12 movies; they rate those "
           "they have seen and skip the rest, and get 10 suggestions among the movies not "
           "shown. **New people** (a stand-in for someone who searches for movies they love): "
           "they give 3, 5 or 10 random ratings of their own. A hit is a suggestion they rated "
           "4 or 5 stars. Also the neighbour quality of the map (genre agreement and the series "
           "check of each movie's 10 nearest neighbours). Measured after training; `python -m "
           "movierec evaluate` measures again, with more references.")


def _labelled(table: pd.DataFrame, run_id: str, column: str) -> list[dict]:
    return [{**row, column: label[run_id] if row[column] == "this run" else
             f"{row[column]} (reference)"} for row in table.to_dict(orient="records")]


onboarding_rows, people_rows, neighbour_rows = [], [], []
for run_id in histories:
    measured = cache.quality(run_id)
    if "onboarding" in measured:
        onboarding_rows += _labelled(measured["onboarding"], run_id, "method")
    if "people" in measured:
        people_rows += _labelled(measured["people"], run_id, "method")
    if "neighbours" in measured:
        neighbour_rows += _labelled(measured["neighbours"], run_id, "vectors")
if onboarding_rows:
    strips = pd.DataFrame(onboarding_rows).drop_duplicates(["method", "round"]).pivot(
        index="method", columns="round",
        values=["precision", "ratings", "distinct", "median_popularity"])
    strips.columns = [f"{name} r{number}" for name, number in strips.columns]
    st.markdown("**Onboarding: rating what they know of the strips**")
    st.dataframe(strips.reset_index(), hide_index=True, width="stretch", column_config={
        c: st.column_config.NumberColumn(
            c.replace("median_popularity", "median ratings").replace("ratings r", "rated r"),
            format="%d" if c.startswith(("distinct", "median")) else
            "%.1f" if c.startswith("ratings") else "%.3f")
        for c in strips.columns})
    st.caption("rN: after round N (12 N movies shown). precision: hits among 10 suggestions; "
               "rated: movies they knew and rated so far, on average; distinct: different "
               "movies suggested across all the people; median ratings: the training ratings "
               "of the typical suggestion (low means obscure).")
if people_rows:
    wide = pd.DataFrame(people_rows).drop_duplicates(["method", "given"]).pivot(
        index="method", columns="given", values=["precision", "popular_share", "distinct"])
    wide.columns = [f"{name} @{given}" for name, given in wide.columns]
    st.markdown("**New people: a few random ratings of their own**")
    st.dataframe(wide.reset_index(), hide_index=True, width="stretch", column_config={
        c: st.column_config.NumberColumn(c.replace("popular_share", "top-100 share"),
                                         format="%d" if c.startswith("distinct") else "%.3f")
        for c in wide.columns})
    st.caption("@K: after K ratings. precision: hits among 10 suggestions; top-100 share: "
               "suggestions among the 100 most-rated movies; distinct: different movies "
               "suggested across all the people.")
if not onboarding_rows and not people_rows:
    st.caption("No chosen run held people out, so none has onboarding or new-person numbers "
               "(set **New people held out** on the Data page, or use the `recommended` "
               "preset).")
if neighbour_rows:
    st.dataframe(pd.DataFrame(neighbour_rows).drop_duplicates("vectors"), hide_index=True,
                 width="stretch", column_config={
                     "vectors": "movie vectors",
                     "genre_agreement": st.column_config.NumberColumn("genre agreement",
                                                                      format="%.3f"),
                     "series_check": st.column_config.NumberColumn("series check",
                                                                   format="%.2f"),
                     "series_movies": st.column_config.NumberColumn("series films checked")})

history_csv = pd.concat([pd.DataFrame(h).assign(run_id=r) for r, h in histories.items()])
st.download_button("Download the history as CSV", history_csv.to_csv(index=False),
                   file_name="movierec-history.csv", mime="text/csv")
