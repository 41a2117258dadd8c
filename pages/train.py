"""Train page: pick a model and its hyperparameters, train with a live learning curve, and
manage the saved runs (select, compare, continue, delete)."""

import dataclasses
import typing

import pandas as pd
import streamlit as st
import torch

from movierec.config import TrainConfig, from_dict, to_dict
from movierec.errors import ConfigError, MovieRecError
from movierec.jobs import JobSpec
from movierec.memory import check_fits
from movierec.models import DEFAULT_MODEL, MODELS, get_model_spec
from movierec.presets import PRESETS
from movierec.training import resolve_device
from ui import charts, state, views

state.through_app()
st.title("Train")
st.caption("Choose a model and its hyperparameters; training runs in the background and its "
           "learning curve grows epoch by epoch.")

name = state.get(state.DATASET)
if not state.present(name):
    st.info(f"The dataset **{name}** is not here yet: download it, upload it, or pick the demo "
            "set on the Data page.")
    state.link("data", "Get the data")
    st.stop()
try:
    data_config = state.data_config()
except ConfigError as exc:
    st.error(f"The data settings are not usable: {exc}")
    state.link("data", "Fix them on the Data page")
    st.stop()


def _widget_key(model: str, field: str) -> str:
    return f"train_{model}_{field}"


def apply_preset(preset_name: str) -> None:
    """Fill the form with a preset (a callback, so it runs before the widgets exist)."""
    preset = PRESETS[preset_name]
    state.put(state.DATASET, preset.data.dataset)
    state.put(state.FRACTION, preset.data.fraction)
    state.put(state.TEST_SIZE, preset.data.test_size)
    state.put(state.SEED, preset.data.seed)
    state.put(state.SPLIT, preset.data.split)
    state.put(state.NEW_PEOPLE, preset.data.new_people)
    state.put(state.MAX_MOVIES, preset.data.max_movies)
    state.put(state.MAX_USERS, preset.data.max_users)
    state.put("train_model", preset.model)
    spec = get_model_spec(preset.model)
    values = {**to_dict(spec.config_cls()), **dict(preset.model_settings)}
    for field, value in values.items():
        state.put(_widget_key(preset.model, field), _show(value))
    for field, value in to_dict(preset.train).items():
        state.put(_widget_key("train", field), _show(value))


def _show(value):
    return ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value


with st.expander("Presets", expanded=False):
    for preset in PRESETS.values():
        c1, c2 = st.columns([1, 4])
        c1.button(preset.name, key=f"preset_{preset.name}", on_click=apply_preset,
                  args=(preset.name,), width="stretch")
        c2.caption(preset.description)

model_names = list(MODELS)
model_name = st.selectbox("Model", model_names, index=model_names.index(DEFAULT_MODEL),
                          format_func=lambda m: f"{m} · {MODELS[m].title}", key="train_model")
spec = get_model_spec(model_name)
st.caption(f"{spec.summary} ({spec.paper})")
held_out = {"leave-one-out": "each user's latest rating held out (a random one where "
                             "ratings carry no dates)",
            "ncf": "the ratings of a test.rating file held out"}.get(
    data_config.split, f"{data_config.test_size:.0%} held out")
st.write(f"Data: **{data_config.dataset}**, {data_config.fraction:.0%} of the ratings, "
         f"{held_out}, seed {data_config.seed}"
         + (f", {data_config.new_people:,} new people held out" if data_config.new_people
            else "")
         + (f", the {data_config.max_movies:,} most rated movies" if data_config.max_movies
            else "")
         + (f", {data_config.max_users:,} people drawn at random" if data_config.max_users
            else "") + ".")
state.link("data", "Change the data")


def field_widget(container, owner: str, field: dataclasses.Field, hint):
    key = _widget_key(owner, field.name)
    default = _show(field.default)
    if not state.has(key):
        state.put(key, default)
    label = field.name.replace("_", " ")
    if hint is bool:
        return container.checkbox(label, key=key)
    if hint is int:
        return container.number_input(label, step=1, key=key)
    if hint is float:
        return container.number_input(label, format="%g", key=key)
    return container.text_input(label, key=key)


with st.form("train_form"):
    left, right = st.columns(2)
    left.markdown("**Model hyperparameters**")
    hints = typing.get_type_hints(spec.config_cls)
    model_values = {f.name: field_widget(left, model_name, f, hints[f.name])
                    for f in dataclasses.fields(spec.config_cls)}
    right.markdown("**Training**")
    train_hints = typing.get_type_hints(TrainConfig)
    defaults = spec.train_defaults
    train_fields = [f for f in dataclasses.fields(TrainConfig) if f.name not in ("seed", "device")]
    for f in train_fields:
        key = _widget_key("train", f.name)
        if not state.has(key):
            state.put(key, getattr(defaults, f.name))
    train_values = {f.name: field_widget(right, "train", f, train_hints[f.name])
                    for f in train_fields}
    submitted = st.form_submit_button("Train", type="primary")

try:
    ds_summary = state.dataset_stats(data_config.dataset)["summary"]
    n_users, n_items = ds_summary["users"], ds_summary["movies"]
    scale = tuple(ds_summary["rating_scale"])
except MovieRecError:
    # The diagram's sizes only; the output layer's width is that of the five star values.
    ds_summary, n_users, n_items, scale = None, 1, 1, (1.0, 2.0, 3.0, 4.0, 5.0)
try:
    model_config = spec.config(model_values)
    train_config = from_dict(TrainConfig, {**train_values, "seed": data_config.seed})
except ConfigError as exc:
    model_config = train_config = None
    st.error(f"These settings cannot be trained: {exc}")
fits = model_config is not None
if fits and ds_summary is not None:
    # The server is shared: settings that cannot fit in its memory are refused before anything
    # is allocated (the background job checks again with the exact split).
    n_train = int(ds_summary["ratings"] * data_config.fraction * (1 - data_config.test_size))
    try:
        check_fits(spec, model_config, n_users, n_items, n_train, train_config.batch_size,
                   resolve_device(train_config.device))
    except ConfigError as exc:
        fits = False
        st.error(f"These settings cannot be trained here: {exc}")

if submitted and fits:
    try:
        job = state.jobs().submit(JobSpec.new(data_config, model_name, model_config,
                                              train_config))
    except MovieRecError as exc:
        st.error(str(exc))
    else:
        state.put(state.JOB_KEY, job.key)
        if job.status == "done":
            state.put(state.RUN_ID, job.run_id)
            st.success(f"These exact settings were trained before: run **{job.run_id}** is "
                       "ready, no need to train again.")


if state.get(state.JOB_KEY):
    st.subheader("Training")
    views.training_status()

if model_config is not None:
    with st.expander("Network diagram", expanded=not state.get(state.JOB_KEY)):
        # Built on the meta device: shapes only, so a huge setting allocates nothing.
        with torch.device("meta"):
            layers = spec.build(n_users, n_items, scale, model_config).architecture()
        d1, d2 = st.columns([2, 3])
        d1.graphviz_chart(charts.architecture_dot(layers))
        table = pd.DataFrame([{k: v for k, v in x.items() if k != "inputs"} for x in layers])
        d2.dataframe(table, hide_index=True, width="stretch", height=36 * (len(table) + 1))
        d2.metric("Parameters", f"{int(table['params'].sum()):,}")

st.subheader("Runs")
rows = state.runs()
if not rows:
    st.info("No runs yet: the form above trains the first one.")
    st.stop()
ok = [r for r in rows if r["status"] == "ok"]
broken = [r for r in rows if r["status"] != "ok"]
if ok:
    table = pd.DataFrame(ok)[["run_id", "model", "dataset", "fraction", "epochs", "val_rmse",
                              "val_accuracy", "train_seconds", "created"]]
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "val_rmse": st.column_config.NumberColumn("val RMSE", format="%.4f"),
        "val_accuracy": st.column_config.NumberColumn("val accuracy", format="%.4f"),
        "train_seconds": st.column_config.NumberColumn("train s", format="%.1f"),
        "fraction": st.column_config.NumberColumn("fraction", format="%.2f")})
    ids = [r["run_id"] for r in ok]
    current = state.selected_run_id()
    chosen = st.selectbox("Selected run (used by Learning curves, Explore and Recommend)", ids,
                          index=ids.index(current) if current in ids else 0, key="train_run")
    state.put(state.RUN_ID, chosen)
    compare = st.multiselect("Compare on the Learning curves page", ids,
                             default=[i for i in (state.get(state.COMPARE) or []) if i in ids]
                             or [chosen], key="train_compare")
    state.put(state.COMPARE, compare)
    c1, c2 = st.columns(2)
    with c1:
        more = st.number_input("More epochs", 1, 1000, 5, key="train_more")
        if st.button(f"Continue {chosen} for {more} more epochs"):
            try:
                job = state.jobs().submit(JobSpec(resume_run=chosen, more_epochs=int(more)))
            except MovieRecError as exc:
                st.error(str(exc))
            else:
                state.put(state.JOB_KEY, job.key)
                st.rerun()
    with c2:
        sure = st.checkbox(f"Yes, delete {chosen}", key="train_delete_sure")
        if st.button("Delete run", disabled=not sure):
            try:
                state.store().delete(chosen)
            except MovieRecError as exc:
                st.error(str(exc))
            else:
                state.jobs().forget(chosen)
                state.drop(state.RUN_ID)
                st.toast(f"Deleted {chosen}")
                st.rerun()
    state.link("curves", "See the learning curves")
for r in broken:
    st.warning(f"Run **{r['run_id']}** is broken and is left out: {r['problem']}")
    if st.button(f"Delete broken run {r['run_id']}", key=f"del_{r['run_id']}"):
        state.store().delete(r["run_id"])
        st.rerun()
