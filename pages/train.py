"""Train page: pick a model and its hyperparameters, train with a live learning curve, and
manage the saved runs (select, compare, continue, delete)."""

import dataclasses
import typing

import pandas as pd
import streamlit as st
import torch

from movierec.config import TrainConfig, to_dict
from movierec.errors import ConfigError, MovieRecError
from movierec.jobs import JobSpec
from movierec.memory import check_fits
from movierec.models import DEFAULT_MODEL, MODELS, get_model_spec
from movierec.presets import all_presets
from movierec.recipe import TRAIN_FIELDS, make_recipe, overrides
from movierec.runs import MAX_NAME
from movierec.training import resolve_device
from ui import cache, charts, nav, state, views

nav.through_app()
st.title("Train")
st.caption("Choose a model and its hyperparameters; training runs in the background and its "
           "learning curve grows epoch by epoch.")

name = state.get(state.DATASET)
if not cache.present(name):
    st.info(f"The dataset **{name}** is not here yet: download it, upload it, or pick the demo "
            "set on the Data page.")
    nav.link("data", "Get the data")
    st.stop()
data_config = nav.guard_data_config()


def _prefix(model: str) -> str:
    """Keys of ``model``'s widgets. Refilling the form gives them new keys: a dropped key's
    widget would keep showing (and send back) the value the browser holds."""
    generation = state.get(state.FORM_GENERATION) or 0
    return f"train_{model}_" + (f"g{generation}_" if generation else "")


def _widget_key(model: str, field: str) -> str:
    """A model's hyperparameter widget."""
    return _prefix(model) + field


def _train_key(model: str, field: str) -> str:
    """A training setting's widget, kept per model (each has its own defaults)."""
    return _prefix(model) + f"train_{field}"


def apply_preset(preset_name: str) -> None:
    """Start the form from a preset (a callback, so it runs before the widgets exist): its data
    settings go to the Data page's, and its model's widgets are filled again from it."""
    preset = all_presets(cache.store().root)[preset_name]
    for field, value in to_dict(preset.data).items():
        if field in state.DATA_KEYS:
            state.put(state.DATA_KEYS[field], value)
    state.put(state.PRESET, preset_name)
    state.put("train_model", preset.model)
    _forget_widgets(preset.model)


def drop_preset(model: str) -> None:
    state.put(state.PRESET, None)
    _forget_widgets(model)


def _forget_widgets(model: str) -> None:
    spec = get_model_spec(model)
    for f in dataclasses.fields(spec.config_cls):
        state.drop(_widget_key(model, f.name))
    for name in TRAIN_FIELDS:
        state.drop(_train_key(model, name))
    state.put(state.FORM_GENERATION, (state.get(state.FORM_GENERATION) or 0) + 1)


def _show(value):
    return ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value


PRESETS = all_presets(cache.store().root)   # built in, then saved from the Tune page
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
preset_name = state.get(state.PRESET)
# What the form starts from: the preset's recipe for this model (its own defaults when the
# model is another), as `train --preset P --model M` would train it.
baseline = make_recipe(preset_name, model=model_name)
if preset_name:
    p1, p2 = st.columns([4, 1])
    p1.caption(f"Starting from the preset **{preset_name}**"
               + ("" if model_name == PRESETS[preset_name].model else
                  f" (its data settings; {model_name} keeps its own defaults)")
               + ": what you change below is trained on top of it.")
    p2.button("Drop the preset", on_click=drop_preset, args=(model_name,), key="preset_drop")
held_out = {"leave-one-out": "each user's latest rating held out (a random one where "
                             "ratings carry no dates)",
            "ncf": "the ratings of a test.rating file held out"}.get(
    data_config.split, f"{data_config.validation_size:.0%} held out")
st.write(f"Data: **{data_config.dataset}**, {data_config.fraction:.0%} of the ratings, "
         f"{held_out}, seed {data_config.seed}"
         + (f", {data_config.new_people:,} new people held out" if data_config.new_people
            else "")
         + (f", the {data_config.max_movies:,} most rated movies" if data_config.max_movies
            else "")
         + (f", {data_config.max_users:,} people drawn at random" if data_config.max_users
            else "") + ".")
nav.link("data", "Change the data")


def field_widget(container, key: str, name: str, default, hint):
    """A setting's widget, starting at ``default`` (dropping its key starts it there again).

    The default goes in as the widget's own ``value``, never through the session state: a
    click on Train that comes while this page is still being drawn makes Streamlit rerun with
    the values the browser has, and for a field whose value was set through the session state
    that was the widget's bare default (0, empty), so the form showed zeros and the click
    could be lost."""
    label = name.replace("_", " ")
    if hint is bool:
        return container.checkbox(label, value=bool(default), key=key)
    if hint is int:
        return container.number_input(label, value=int(default), step=1, key=key)
    if hint is float:
        return container.number_input(label, value=float(default), format="%g", key=key)
    return container.text_input(label, value=_show(default), key=key)


with st.form("train_form"):
    left, right = st.columns(2)
    left.markdown("**Model hyperparameters**")
    hints = typing.get_type_hints(spec.config_cls)
    model_defaults = to_dict(baseline.model_config)
    model_values = {f.name: field_widget(left, _widget_key(model_name, f.name), f.name,
                                         model_defaults[f.name], hints[f.name])
                    for f in dataclasses.fields(spec.config_cls)}
    right.markdown("**Training**")
    train_hints = typing.get_type_hints(TrainConfig)
    train_defaults = to_dict(baseline.train)
    train_values = {name: field_widget(right, _train_key(model_name, name), name,
                                       train_defaults[name], train_hints[name])
                    for name in TRAIN_FIELDS if name not in ("seed", "device")}
    submitted = st.form_submit_button("Train", type="primary")

try:
    ds_summary = cache.dataset_stats(data_config.dataset)["summary"]
    n_users, n_items = ds_summary["users"], ds_summary["movies"]
    scale = tuple(ds_summary["rating_scale"])
except MovieRecError:
    # The diagram's sizes only; the output layer's width is that of the five star values.
    ds_summary, n_users, n_items, scale = None, 1, 1, (1.0, 2.0, 3.0, 4.0, 5.0)
try:
    # Only what differs from the preset goes on top of it, as flags do on the command line.
    recipe = make_recipe(
        preset_name, model=model_name,
        data=overrides(to_dict(data_config), baseline.data),
        model_settings=overrides(model_values, baseline.model_config),
        train=overrides({**train_values, "seed": data_config.seed}, baseline.train))
except ConfigError as exc:
    recipe = None
    st.error(f"These settings cannot be trained: {exc}")
model_config = recipe.model_config if recipe else None
train_config = recipe.train if recipe else None
if recipe is not None and len(recipe.plan) > 1:
    st.caption(f"Then {' + '.join(map(str, recipe.plan[1:]))} more epochs as a continuation, "
               f"as the preset {preset_name} asks: {recipe.epochs} epochs in all.")
fits = recipe is not None
if fits and ds_summary is not None:
    # The server is shared: settings that cannot fit in its memory are refused before anything
    # is allocated (the background job checks again with the exact split).
    n_train = int(ds_summary["ratings"] * data_config.fraction * (1 - data_config.validation_size))
    try:
        check_fits(spec, model_config, n_users, n_items, n_train, train_config.batch_size,
                   resolve_device(train_config.device))
    except ConfigError as exc:
        fits = False
        st.error(f"These settings cannot be trained here: {exc}")

if submitted and fits:
    try:
        job = cache.jobs().submit(JobSpec.of(recipe))
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
rows = cache.runs()
if not rows:
    st.info("No runs yet: the form above trains the first one.")
    st.stop()
ok = [r for r in rows if r["status"] == "ok"]
broken = [r for r in rows if r["status"] != "ok"]
if ok:
    table = pd.DataFrame(ok)[["run_id", "name", "model", "dataset", "fraction", "epochs",
                              "val_rmse", "val_accuracy", "train_seconds", "created"]]
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "val_rmse": st.column_config.NumberColumn("val RMSE", format="%.4f"),
        "val_accuracy": st.column_config.NumberColumn("val accuracy", format="%.4f"),
        "train_seconds": st.column_config.NumberColumn("train s", format="%.1f"),
        "fraction": st.column_config.NumberColumn("fraction", format="%.2f")})
    ids = [r["run_id"] for r in ok]
    names = {r["run_id"]: r.get("name", "") for r in ok}
    current = state.selected_run_id()
    chosen = st.selectbox("Selected run (used by Learning curves, Explore and Recommend)", ids,
                          index=ids.index(current) if current in ids else 0, key="train_run",
                          format_func=lambda i: f"{names[i]} · {i}" if names[i] else i)
    state.put(state.RUN_ID, chosen)
    with st.form("rename_form", border=False):
        n1, n2 = st.columns([4, 1])
        new_name = n1.text_input(f"Name of {chosen} (shown in place of its id; empty drops it)",
                                 value=names[chosen], max_chars=MAX_NAME,
                                 key=f"train_name_{chosen}")
        n2.markdown("&nbsp;")
        if n2.form_submit_button("Rename", width="stretch"):
            try:
                cache.store().set_name(chosen, new_name)
            except MovieRecError as exc:
                st.error(str(exc))
            else:
                st.toast(f"Renamed {chosen}" if new_name.strip() else
                         f"{chosen} has no name now")
                st.rerun()
    compare = st.multiselect("Compare on the Learning curves page", ids,
                             default=[i for i in (state.get(state.COMPARE) or []) if i in ids]
                             or [chosen], key="train_compare")
    state.put(state.COMPARE, compare)
    c1, c2 = st.columns(2)
    with c1:
        more = st.number_input("More epochs", 1, 1000, 5, key="train_more")
        if st.button(f"Continue {chosen} for {more} more epochs"):
            try:
                job = cache.jobs().submit(JobSpec(resume_run=chosen, more_epochs=int(more)))
            except MovieRecError as exc:
                st.error(str(exc))
            else:
                state.put(state.JOB_KEY, job.key)
                st.rerun()
    with c2:
        sure = st.checkbox(f"Yes, delete {chosen}", key="train_delete_sure")
        if st.button("Delete run", disabled=not sure):
            try:
                cache.store().delete(chosen)
            except MovieRecError as exc:
                st.error(str(exc))
            else:
                cache.jobs().forget(chosen)
                state.drop(state.RUN_ID)
                st.toast(f"Deleted {chosen}")
                st.rerun()
    nav.link("curves", "See the learning curves")
for r in broken:
    st.warning(f"Run **{r['run_id']}** is broken and is left out: {r['problem']}")
    if st.button(f"Delete broken run {r['run_id']}", key=f"del_{r['run_id']}"):
        cache.store().delete(r["run_id"])
        st.rerun()
