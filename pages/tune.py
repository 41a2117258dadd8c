"""Tune page: let a search study pick a model's hyperparameters (Optuna), watch its trials
arrive, see which setting mattered, and train the best or keep it as a preset."""

import pandas as pd
import streamlit as st

from movierec.config import to_dict
from movierec.errors import ConfigError, MovieRecError
from movierec.jobs import JobSpec
from movierec.models import DEFAULT_MODEL, MODELS
from movierec.presets import Preset, all_presets, save_preset
from movierec.recipe import make_recipe
from movierec.tuning import study as studies
from movierec.tuning.objectives import OBJECTIVES
from movierec.tuning.space import Range
from ui import cache, charts, nav, state

nav.through_app()
st.title("Tune")
st.caption("A search study trains many settings of a model and learns, trial by trial, where "
           "the good ones are (Optuna's TPE sampler); poor trials are stopped early. Trials are "
           "scored on a validation split carved from the training part; the best setting is "
           "then retrained on the whole training part and scored once on the held-out part.")

data_config = nav.guard_data_config()
try:
    storage = cache.storage()
except MovieRecError as exc:
    st.error(f"Studies cannot be kept here: {exc}")
    st.stop()
runner = cache.study_jobs()
PRESETS = all_presets(cache.store().root)


def _data_flags(config) -> list[str]:
    """The Data page's settings as the command line's flags."""
    flags = ["--dataset", config.dataset, "--fraction", str(config.fraction),
             "--validation-size", str(config.validation_size), "--seed", str(config.seed),
             "--split", config.split, "--new-people", str(config.new_people)]
    if config.max_movies:
        flags += ["--max-movies", str(config.max_movies)]
    if config.max_users:
        flags += ["--max-users", str(config.max_users)]
    return flags


def _space_rows(space: dict) -> pd.DataFrame:
    rows = []
    for key, param in space.items():
        if isinstance(param, Range):
            rows.append({"search": True, "setting": key, "low": float(param.low),
                         "high": float(param.high), "log scale": param.log,
                         "whole numbers": param.integer, "or one of": ""})
        else:
            rows.append({"search": True, "setting": key, "low": None, "high": None,
                         "log scale": False, "whole numbers": False,
                         "or one of": param.text()})
    return pd.DataFrame(rows)


def _space_args(table: pd.DataFrame) -> list[str]:
    """The edited ranges as ``--space`` entries (settings left unticked keep their value)."""
    items = []
    for row in table.to_dict("records"):
        if not row.get("search") or not str(row.get("setting") or "").strip():
            continue
        key = str(row["setting"]).strip()
        if str(row.get("or one of") or "").strip():
            items.append(f"{key}={str(row['or one of']).strip()}")
            continue
        if pd.isna(row.get("low")) or pd.isna(row.get("high")):
            raise ConfigError(f"{key}: give both ends of its range (or the values to choose "
                              "from)")
        flags = (":log" if row.get("log scale") else "") + \
            (":int" if row.get("whole numbers") else "")
        items.append(f"{key}={row['low']:g}:{row['high']:g}{flags}")
    if not items:
        raise ConfigError("tick at least one setting to search")
    return items


with st.expander("New study", expanded=not storage.get_all_studies()):
    c1, c2, c3 = st.columns(3)
    models = list(MODELS)
    model = c1.selectbox("Model", models, index=models.index(DEFAULT_MODEL), key="tune_model",
                         format_func=lambda m: f"{m} · {MODELS[m].title}")
    own = ["(none)"] + [p.name for p in PRESETS.values() if p.model == model]
    preset = c2.selectbox("Start from the preset", own, key=f"tune_preset_{model}")
    preset = None if preset == "(none)" else preset
    objective = c3.selectbox("Objective", list(OBJECTIVES), key="tune_objective",
                             format_func=lambda o: OBJECTIVES[o].title)
    st.caption(f"**{OBJECTIVES[objective].title}** ({OBJECTIVES[objective].direction}): "
               f"{OBJECTIVES[objective].summary}.")
    data_flags = [] if preset else _data_flags(data_config)
    try:
        base = make_recipe(preset, model=model, data={} if preset else to_dict(data_config))
    except ConfigError as exc:
        st.error(f"These settings cannot be tuned: {exc}")
        st.stop()
    d = base.data
    st.write(f"Data ({'the preset' if preset else 'the Data page'}'s): **{d.dataset}**, "
             f"{d.fraction:.0%} of the ratings, split {d.split}, seed {d.seed}"
             + (f", {d.new_people:,} people held out" if d.new_people else "") + "; "
             + f"{'+'.join(map(str, base.plan))} epochs a trial.")
    st.markdown("**Ranges** (the model's own; edit them, untick a setting to keep its value)")
    space_table = st.data_editor(
        _space_rows(studies.model_space(model)), num_rows="dynamic", hide_index=True,
        width="stretch", key=f"tune_space_{model}", column_config={
            "low": st.column_config.NumberColumn(format="%g"),
            "high": st.column_config.NumberColumn(format="%g"),
            "or one of": st.column_config.TextColumn(
                help="values to choose from, separated by commas (layers as 128+128)")})
    b1, b2, b3, b4 = st.columns(4)
    trials = b1.number_input("Trials", 1, 10_000, 20, key="tune_trials")
    minutes = b2.number_input("At most minutes (0: no limit)", 0.0, 10_000.0, 0.0, step=5.0,
                              key="tune_minutes")
    pruner = b3.selectbox("Pruner", studies.PRUNERS, key="tune_pruner")
    name = b4.text_input("Study name", studies.default_study_name(base, objective),
                         key=f"tune_name_{model}_{preset}_{objective}")
    present = cache.present(d.dataset)
    if not present:
        st.info(f"The dataset **{d.dataset}** is not here yet: get it on the Data page first.")
        nav.link("data", "Get the data")
    if st.button("Start the study", type="primary", key="tune_start", disabled=not present):
        try:
            space = _space_args(space_table)
            # Checked here first, so that a mistake is said on the page at once.
            plan = studies.StudyPlan(base, OBJECTIVES[objective],
                                     studies.resolve_space(base, space, only=True),
                                     name.strip(), pruner)
            # Created (or checked: another model or data is refused) here, so that the study
            # is listed at once, before its process has loaded the data.
            first = len(studies.open_study(plan, storage).trials)
            argv = ["--model", model, *(["--preset", preset] if preset else []), *data_flags,
                    "--objective", objective, "--pruner", pruner, "--space-only",
                    *[x for item in space for x in ("--space", item)],
                    *(["--timeout", str(minutes * 60)] if minutes else [])]
            runner.start(plan.name, argv, int(trials), first)
        except MovieRecError as exc:
            st.error(f"The study cannot start: {exc}")
        else:
            state.put(state.STUDY, plan.name)
            st.toast(f"Study {plan.name} started")

st.subheader("Studies")
listed = studies.list_studies(storage)
if not listed:
    st.info("No study yet: start one above, or from the command line "
            "(`python -m movierec tune --model mf --objective rmse --trials 40`).")
    st.stop()
names = [s["study"] for s in reversed(listed)]
current = state.get(state.STUDY)
chosen = st.selectbox("Study", names, index=names.index(current) if current in names else 0,
                      key="tune_study", format_func=lambda n: next(
                          f"{n} · {s['model']} on {s['objective']}"
                          for s in listed if s["study"] == n))
state.put(state.STUDY, chosen)


def _progress(job_snap: dict, study) -> None:
    found = studies.counts(study)
    mine = [t for t in study.trials if t.number >= job_snap["first_trial"]
            and t.state.name != "RUNNING"]
    try:
        best = f"best so far {study.best_value:.4f} (trial {study.best_trial.number})"
    except ValueError:
        best = "no finished trial yet"
    done = len(mine)
    st.progress(min(done / max(job_snap["trials"], 1), 1.0),
                text=f"trial {min(done + 1, job_snap['trials'])} of {job_snap['trials']}; "
                     f"{best}; {found['n_pruned']} pruned, {found['n_failed']} failed")


def _show_study(name: str) -> None:
    study = studies.load_study(name, storage)
    job = runner.get(name)
    snap = job.snapshot() if job else None
    if snap and snap["status"] == "running":
        _progress(snap, study)
        if st.button("Stop the study", key="tune_stop"):
            job.stop()
            st.toast("Stopping: the trial under way is dropped, the others are kept.")
    elif snap and snap["status"] == "failed":
        st.error(f"The study failed: {snap['message']}")
    elif snap and snap["status"] == "stopped":
        st.warning("The study was stopped; its finished trials are kept (start it again to "
                   "go on).")
    objective = OBJECTIVES[studies.study_info(study)["objective"]]
    trials = studies.trials_frame(study)
    found = studies.counts(study)
    m = st.columns(4)
    m[0].metric("Trials", found["n_trials"])
    m[1].metric("Complete", found["n_complete"])
    m[2].metric("Pruned", found["n_pruned"])
    try:
        best = study.best_trial
    except ValueError:
        best = None
    m[3].metric(f"Best {objective.name}", "–" if best is None else f"{best.value:.4f}")
    if trials.empty or trials["value"].notna().sum() == 0:
        st.info("No trial has finished yet; the charts appear after the first.")
        return
    test = study.user_attrs.get("test")
    if best is not None and test and test.get("trial") == best.number:
        score = "not measurable" if test.get("value") is None else f"**{test['value']:.4f}**"
        st.success(f"The best setting (trial {best.number}) was retrained on the whole "
                   f"training part as run **{test['run_id']}**: held-out {objective.name} "
                   f"{score} (validation {best.value:.4f}).")
    elif best is not None:
        st.caption("The best setting has not been retrained and tested yet: a study does it "
                   "when it finishes (`python -m movierec tune --study NAME --trials 0` does it "
                   "for a study stopped early).")
    space = studies.study_space(study)
    left, right = st.columns(2)
    left.altair_chart(charts.optimisation_history(trials, objective.title), width="stretch")
    drawn = studies.drawn_ranges(study)
    wide = studies.normalised_params(trials, drawn)
    params = [k for k in drawn if wide[k].notna().any()]
    right.altair_chart(charts.parallel_coordinates(wide, params, objective.title,
                                                   objective.direction), width="stretch")
    right.caption("Ranges: " + "; ".join(f"{k} {p.text()}" for k, p in space.items()))
    shares = cache.importances(name, found["n_complete"])
    if shares:
        left.altair_chart(charts.importance_chart(shares), width="stretch")
    else:
        left.caption("Importance needs two finished trials with different scores.")
    st.markdown("**Trials** (click a column to sort)")
    shown = _trials_table(trials)
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "value": st.column_config.NumberColumn(objective.name, format="%.4f"),
        "seconds": st.column_config.NumberColumn("seconds", format="%.1f")})
    if best is not None:
        _best_actions(study, best, objective)


def _trials_table(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials as the table shows them: each parameter under its own name. Where a study
    searches the epochs, the epochs a trial trained (fewer when pruned) are "epochs trained"."""
    shown = trials.drop(columns=["best"])
    if "param epochs" in shown:
        shown = shown.rename(columns={"epochs": "epochs trained"})
    taken = {c for c in shown if not c.startswith("param ")}
    return shown.rename(columns={c: c.removeprefix("param ") for c in shown
                                 if c.startswith("param ") and c.removeprefix("param ")
                                 not in taken})


def _best_actions(study, best, objective) -> None:
    recipe = studies.best_recipe(study)
    st.markdown(f"**The best setting** (trial {best.number}): " + ", ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in best.params.items()))
    a1, a2 = st.columns(2)
    if a1.button("Train the best", key="tune_train_best"):
        try:
            job = cache.jobs().submit(JobSpec.of(recipe))
        except MovieRecError as exc:
            st.error(str(exc))
        else:
            state.put(state.JOB_KEY, job.key)
            st.success("Training the best setting on the whole training part as a run for "
                       "the other pages (the study's own test is not changed): follow it on "
                       "the Train page.")
            nav.link("train", "Follow it on the Train page")
    with a2.form("tune_preset_form", border=False):
        preset_name = st.text_input("Preset name", f"tuned-{study.study_name}"[:64].lower(),
                                    key="tune_preset_name")
        if st.form_submit_button("Save as a preset"):
            test = study.user_attrs.get("test") or {}
            tested = f", held-out {test['value']:.4f}" if test.get("trial") == best.number \
                and test.get("value") is not None else ""
            defaults = to_dict(MODELS[recipe.model].config_cls())
            settings = tuple((k, v) for k, v in to_dict(recipe.model_config).items()
                             if defaults.get(k) != v)
            preset = Preset(preset_name.strip(), f"Found by the search study {study.study_name} "
                            f"(trial {best.number}: validation {objective.name} "
                            f"{best.value:.4f}{tested}).", recipe.data, recipe.model,
                            recipe.train, settings, sum(recipe.plan[1:]))
            try:
                save_preset(preset, cache.store().root)
            except MovieRecError as exc:
                st.error(str(exc))
            else:
                st.success(f"Saved the preset **{preset.name}**: the Train page and `train "
                           f"--preset {preset.name}` start from it.")


job = runner.get(chosen)
if job is not None and job.snapshot()["status"] == "running":
    @st.fragment(run_every=2.0)
    def _live() -> None:
        _show_study(chosen)
        if runner.get(chosen).snapshot()["status"] != "running":
            st.rerun()
    _live()
else:
    _show_study(chosen)
