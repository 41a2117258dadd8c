"""Search studies: spaces, the tuning split, objectives, pruning, resuming, the best tested once,
two processes on one study, and the ``tune`` command's JSON and errors."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import optuna
import pytest

from movierec.config import DataConfig
from movierec.errors import ConfigError
from movierec.models import MODELS
from movierec.recipe import make_recipe
from movierec.runs import RunStore
from movierec.split import make_split, tuning_split
from movierec.tuning import study as studies
from movierec.tuning.objectives import OBJECTIVES, get_objective, map_score
from movierec.tuning.space import Choice, Range, from_json, parse_param, to_json
from tests.clitools import assert_user_error, run_main, start_process, wait

FAST_MF = ["--space", "dim=4:16:int", "--space", "lr=0.005:0.05:log", "--epochs", "3"]


# --- spaces -----------------------------------------------------------------------------------
def test_space_entries_parse_as_ranges_and_choices():
    assert parse_param("lr=0.001:0.1:log") == ("lr", Range(0.001, 0.1, log=True))
    assert parse_param("dim=8:64:int") == ("dim", Range(8, 64, integer=True))
    assert parse_param("dim=8:64:log:int") == ("dim", Range(8, 64, log=True, integer=True))
    assert parse_param("hidden=128+128,256") == ("hidden", Choice(("128,128", 256)))
    assert parse_param("loss=bpr,hinge") == ("loss", Choice(("bpr", "hinge")))
    assert parse_param("embedding-dropout=0:0.5") == ("embedding_dropout", Range(0.0, 0.5))
    space = {"a": Range(1, 5, log=True, integer=True), "b": Choice((1, "x", 0.5))}
    assert from_json(to_json(space)) == space
    assert Range(0.001, 0.1, log=True).text() == "0.001:0.1:log"
    assert Choice(("128,128", 256)).text() == "128+128,256"


@pytest.mark.parametrize("item, words", [
    ("lr=0.1:0.01", "inverted"), ("lr=0.1:0.1", "empty"), ("lr=0:1:log", "above 0"),
    ("dim=1.5:8:int", "whole"), ("lr=a:b", "numbers"), ("lr=1:2:cubic", "unknown flag"),
    ("dim=8", "two values"), ("dim=8,8", "repeats"), ("lr", "KEY=LOW:HIGH"),
    ("lr=1,,2", "empty value")])
def test_bad_space_entries_are_refused_with_the_reason(item, words):
    with pytest.raises(ConfigError, match=words):
        parse_param(item)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_declares_a_space_its_settings_accept_at_both_ends(name):
    recipe = make_recipe(model=name, data={"dataset": "demo"})
    space = studies.resolve_space(recipe)
    assert space, f"{name} declares no search space"
    for key, param in space.items():
        for end in param.ends:
            studies.trial_recipe(recipe, {key: end})      # raises if the model refuses it


@pytest.mark.parametrize("name", list(MODELS))
def test_what_models_prints_of_a_space_is_what_space_takes_back(name):
    for key, param in studies.model_space(name).items():
        assert parse_param(f"{key}={param.text()}") == (key, param)


def test_a_space_entry_the_model_refuses_names_the_setting_and_the_rule():
    recipe = make_recipe(model="mf", data={"dataset": "demo"})
    with pytest.raises(ConfigError, match="--space dim=0:8:int: dim must be 1..4096"):
        studies.resolve_space(recipe, ["dim=0:8:int"])
    with pytest.raises(ConfigError, match="mf has no setting 'dropout'"):
        studies.resolve_space(recipe, ["dropout=0:0.5"])
    assert studies.resolve_space(recipe, ["epochs=2:4:int"])["epochs"] == Range(2, 4,
                                                                                integer=True)


def test_a_trial_recipe_puts_model_and_training_settings_in_their_configs():
    recipe = make_recipe(preset="seednet-map")
    trial = studies.trial_recipe(recipe, {"hidden": "256,128", "dropout": 0.2, "lr": 0.004})
    assert trial.model_config.hidden == (256, 128) and trial.model_config.dropout == 0.2
    assert trial.train.lr == 0.004 and trial.train.batch_size == recipe.train.batch_size
    assert trial.data == recipe.data and trial.plan == recipe.plan
    assert studies.trial_recipe(recipe, {"epochs": 3}).plan == (3,)


# --- the split the trials see ----------------------------------------------------------------
def _pairs(data, people=False):
    users = data.user_ids.ids[data.user_idx]
    return set(zip(users.tolist(), data.item_ids.ids[data.item_idx].tolist(), strict=True))


def test_the_tuning_split_is_carved_from_the_training_part_alone(demo):
    config = DataConfig("demo", validation_size=0.1, new_people=50)
    outer = make_split(demo, config)
    inner = tuning_split(outer, config)
    outer_train, test = _pairs(outer.train), _pairs(outer.validation)
    inner_train, validation = _pairs(inner.train), _pairs(inner.validation)
    validation_people = _pairs(inner.people)
    assert inner_train | validation | validation_people == outer_train
    assert not (inner_train & validation) and not (validation & test)
    assert not (validation_people & _pairs(outer.people)) and not (validation_people & test)
    people = set(inner.people.user_ids.ids)
    assert len(people) == 50 and not people & set(outer.people.user_ids.ids)
    assert not people & set(inner.train.user_ids.ids[inner.train.user_idx])
    assert len(validation) == pytest.approx(0.1 * (len(outer_train) - len(validation_people)),
                                            abs=1)
    again = tuning_split(outer, config)
    assert np.array_equal(again.validation.item_idx, inner.validation.item_idx)


def test_a_leave_one_out_recipe_validates_on_one_rating_per_user(demo):
    config = DataConfig("demo", split="leave-one-out")
    inner = tuning_split(make_split(demo, config), config)
    users = inner.validation.user_idx
    assert len(users) == len(set(users.tolist())) > 900


# --- objectives ------------------------------------------------------------------------------
def test_the_map_score_is_the_mean_of_genre_agreement_and_series_check():
    import pandas as pd

    table = pd.DataFrame([{"vectors": "this run", "genre_agreement": 0.3, "series_check": 0.5},
                          {"vectors": "chance", "genre_agreement": 0.1, "series_check": 0.0}])
    assert map_score(table) == pytest.approx(0.4)
    table.loc[0, "series_check"] = float("nan")       # no series among the movies
    assert map_score(table) == pytest.approx(0.3)


@pytest.mark.parametrize("model, objective, data, words", [
    ("ials", "rmse", {}, "only ranks movies"),
    ("mf", "people", {}, "--new-people"),
    ("onboard", "onboarding", {}, "--new-people"),
])
def test_an_objective_refuses_a_recipe_it_cannot_score(model, objective, data, words):
    recipe = make_recipe(model=model, data={"dataset": "demo", **data})
    with pytest.raises(ConfigError, match=words):
        get_objective(objective).check(recipe)
    with pytest.raises(ConfigError, match="unknown objective 'auc'"):
        get_objective("auc")


# --- studies ---------------------------------------------------------------------------------
def _plan(recipe, objective, name, overrides=(), pruner="median"):
    return studies.StudyPlan(recipe, get_objective(objective),
                             studies.resolve_space(recipe, overrides), name, pruner)


def _storage(tmp_path):
    return studies.open_storage(f"sqlite:///{tmp_path / 'studies.db'}")


def test_a_study_tests_its_best_once_on_the_held_out_ratings(demo, tmp_path):
    recipe = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 3})
    plan = _plan(recipe, "rmse", "mf-demo", ["dim=4:16:int", "lr=0.005:0.05:log"])
    store, storage = RunStore(tmp_path / "runs"), _storage(tmp_path)
    result = studies.run_study(plan, demo, storage, trials=4, store=store)
    study = result.study
    assert result.trials_run == [0, 1, 2, 3]
    best = study.best_trial
    assert result.test["trial"] == best.number
    run = store.load(result.test["run_id"])
    assert run.history[-1]["val_rmse"] == pytest.approx(result.test["value"])
    assert run.model_config.dim == best.params["dim"]
    assert run.train_config.lr == pytest.approx(best.params["lr"])
    # the retrained best trains on the whole training part; the trials on less of it
    assert run.n_train == len(make_split(demo, recipe.data).train)
    assert {t.user_attrs["n_train"] for t in study.trials} == \
        {len(tuning_split(make_split(demo, recipe.data), recipe.data).train)}
    assert max(t.user_attrs["n_train"] for t in study.trials) < run.n_train
    assert store.name(run.run_id) == "best of mf-demo"
    # resumed: more trials join the same study; an unchanged best is not tested again
    again = studies.run_study(plan, demo, storage, trials=0, store=store)
    assert again.test == result.test and store.ids() == [run.run_id]
    more = studies.run_study(plan, demo, storage, trials=2, store=store)
    assert more.trials_run == [4, 5] and len(more.study.trials) == 6
    assert summary_fields() <= set(studies.summary(more, "sqlite:///x").keys())


def summary_fields() -> set[str]:
    return {"study", "storage", "n_trials", "n_complete", "n_pruned", "best_params",
            "best_value", "best_run_id", "test_value"}


def test_pruned_trials_stop_after_the_epoch_the_pruner_stops_them(demo, tmp_path, monkeypatch):
    monkeypatch.setattr(studies, "_pruner", lambda plan: optuna.pruners.ThresholdPruner(
        upper=0.0))
    recipe = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 4})
    plan = _plan(recipe, "rmse", "pruned", ["dim=4:8:int"])
    result = studies.run_study(plan, demo, _storage(tmp_path), trials=3,
                               store=RunStore(tmp_path / "runs"))
    trials = result.study.trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.PRUNED] * 3
    assert [t.user_attrs["epochs"] for t in trials] == [1, 1, 1]
    assert all(set(t.intermediate_values) == {1} for t in trials)
    assert result.test is None and studies.counts(result.study)["n_pruned"] == 3
    assert 0 < result.train_seconds < result.seconds


def test_the_median_pruner_stops_hopeless_trials(demo, tmp_path):
    recipe = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 6})
    plan = studies.StudyPlan(recipe, get_objective("rmse"), studies.resolve_space(
        recipe, ["lr=0.00001,0.02"], only=True), "median")
    storage = _storage(tmp_path)
    study = studies.open_study(plan, storage)
    order = [0.02] * 5 + [0.00001, 0.02, 0.00001, 0.02, 0.00001]
    for lr in order:
        study.enqueue_trial({"lr": lr})
    result = studies.run_study(plan, demo, storage, trials=len(order), test=False)
    frame = studies.trials_frame(result.study)
    slow = frame[frame["param lr"] == 0.00001]
    fast = frame[frame["param lr"] == 0.02]
    assert len(slow) == 3 and (slow["state"] == "pruned").all(), frame
    assert (fast["state"] == "complete").all() and (fast["epochs"] == 6).all()
    assert (slow["epochs"] < 6).all()


def test_a_stop_request_fails_the_trial_under_way_and_skips_the_test(demo, tmp_path):
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 30

    recipe = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 3})
    plan = _plan(recipe, "rmse", "stopped", ["dim=4:8:int"])
    store = RunStore(tmp_path / "runs")
    result = studies.run_study(plan, demo, _storage(tmp_path), trials=10, store=store,
                               should_stop=should_stop)
    states = [t.state for t in result.study.trials]
    assert result.stopped and states[-1] == optuna.trial.TrialState.FAIL
    assert len(states) < 10 and result.test is None and store.ids() == []


def test_a_study_refuses_another_model_objective_or_data(demo, tmp_path):
    storage = _storage(tmp_path)
    mf = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 2})
    studies.run_study(_plan(mf, "rmse", "s", ["dim=4:8:int"]), demo, storage, trials=1,
                      test=False)
    autorec = make_recipe(model="autorec", data={"dataset": "demo"})
    with pytest.raises(ConfigError, match="tunes mf on rmse, not autorec on rmse"):
        studies.run_study(_plan(autorec, "rmse", "s"), demo, storage, trials=1)
    with pytest.raises(ConfigError, match="not mf on hr10"):
        studies.run_study(_plan(mf, "hr10", "s"), demo, storage, trials=1)
    other = make_recipe(model="mf", data={"dataset": "demo", "fraction": 0.5})
    with pytest.raises(ConfigError, match="other data .fraction differ"):
        studies.run_study(_plan(other, "rmse", "s"), demo, storage, trials=1)


@pytest.mark.parametrize("model, objective, data, train, space", [
    ("onboard", "onboarding", {"new_people": 100}, {}, ["l2_search=1:10:log"]),
    ("onboard", "people", {"new_people": 100}, {}, ["l2_search=1:10:log"]),
    ("seednet", "map", {}, {"epochs": 2, "batch_size": 2048}, ["embedding_dim=4:8:int"]),
    ("ials", "hr10", {"split": "leave-one-out"}, {"epochs": 2}, ["dim=8:16:int"]),
])
def test_every_objective_scores_trials_and_tests_the_best(demo, tmp_path, model, objective,
                                                           data, train, space):
    recipe = make_recipe(model=model, data={"dataset": "demo", **data}, train=train)
    plan = _plan(recipe, objective, objective, space)
    result = studies.run_study(plan, demo, _storage(tmp_path), trials=2,
                               store=RunStore(tmp_path / "runs"))
    best = result.study.best_value
    assert 0 < best <= 1 and 0 < result.test["value"] <= 1
    if OBJECTIVES[objective].per_epoch:
        assert all(len(t.intermediate_values) == t.user_attrs["epochs"]
                   for t in result.study.trials)


def test_importances_and_the_parallel_coordinates_cover_every_parameter(demo, tmp_path):
    recipe = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 2})
    plan = _plan(recipe, "rmse", "charts", ["dim=4:16:int", "lr=0.001:0.05:log"])
    result = studies.run_study(plan, demo, _storage(tmp_path), trials=5, test=False)
    shares = studies.importances(result.study)
    assert set(shares) == set(plan.space) and sum(shares.values()) == pytest.approx(1)
    frame = studies.trials_frame(result.study)
    wide = studies.normalised_params(frame, studies.study_space(result.study))
    assert len(wide) == 5 and set(plan.space) <= set(wide.columns)
    assert wide[list(plan.space)].stack().between(0, 1).all()
    expected = (np.log(frame["param lr"]) - np.log(0.001)) / (np.log(0.05) - np.log(0.001))
    assert np.allclose(wide["lr"], expected)
    assert np.allclose(wide["dim"], (frame["param dim"] - 4) / 12)
    assert frame["best"].is_monotonic_decreasing


# --- the command --------------------------------------------------------------------------
def test_tune_prints_the_study_as_json_and_resumes_it(capfd):
    args = ["tune", "--dataset", "demo", "--model", "mf", "--objective", "rmse", "--trials",
            "3", *FAST_MF, "--json", "--quiet"]
    first = run_main(capfd, *args)
    assert first.returncode == 0, first.stderr
    found = json.loads(first.stdout)
    assert summary_fields() <= set(found)
    assert found["study"] == "mf-rmse-demo" and found["n_trials"] == 3
    assert found["model"] == "mf" and found["objective"] == "rmse"
    assert found["n_complete"] + found["n_pruned"] == 3
    assert found["storage"].startswith("sqlite:///") and found["storage"].endswith("studies.db")
    assert found["best_run_id"] and found["test_value"] > 0
    again = json.loads(run_main(capfd, *args).stdout)
    assert again["n_trials"] == 6 and again["trials_this_process"] == [3, 4, 5]
    listed = json.loads(run_main(capfd, "runs", "--json").stdout)
    assert [r["name"] for r in listed if r["run_id"] == found["best_run_id"]] == \
        ["best of mf-rmse-demo"]


@pytest.mark.parametrize("extra, words", [
    (["--objective", "auc"], "invalid choice: 'auc'"),
    (["--objective", "rmse", "--space", "dim=64:8:int"], "inverted"),
    (["--objective", "rmse", "--space", "dim=8:8:int"], "empty"),
    (["--objective", "rmse", "--space", "nope=1:2"], "no setting 'nope'"),
    (["--objective", "rmse", "--trials", "-2"], "--trials"),
    (["--objective", "rmse", "--timeout", "0"], "--timeout"),
    (["--objective", "rmse", "--storage", "postgresql://u:secret@127.0.0.1:1/db"],
     "does not answer"),
    (["--objective", "rmse", "--storage", "not a url"], "not a database URL"),
    (["--objective", "people"], "--new-people"),
])
def test_tune_refuses_bad_input_with_one_error_line(capfd, extra, words):
    result = run_main(capfd, "tune", "--dataset", "demo", "--model", "mf", *extra)
    assert_user_error(result, words)
    assert "secret" not in result.stderr


def test_tune_refuses_a_study_of_another_model(capfd):
    base = ["tune", "--dataset", "demo", "--study", "shared", "--objective", "rmse",
            "--trials", "1", "--no-test", "--quiet"]
    assert run_main(capfd, *base, "--model", "mf", *FAST_MF).returncode == 0
    assert_user_error(run_main(capfd, *base, "--model", "autorec"),
                      "study 'shared' tunes mf on rmse, not autorec")


OPEN_AT_ONCE = """
import sys, time
from movierec.tuning.study import open_storage
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
storage = open_storage(sys.argv[1])
print(len(storage.get_all_studies()))
"""


def test_processes_opening_one_new_sqlite_file_at_once_all_get_the_storage(tmp_path):
    """Optuna creates its tables (and its alembic version row) on first open; processes that
    open a new file at the same instant once lost that race with 'UNIQUE constraint failed'."""
    import subprocess
    import sys
    import time

    for round_ in range(3):
        url = f"sqlite:///{tmp_path / f'race{round_}.db'}"
        start = time.time() + 4.0        # every process imported and waiting by then
        procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT_ONCE, url, str(start)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(6)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 6, [err for _, err in outs]
        assert [out.strip() for out, _ in outs] == ["0"] * 6


def test_two_processes_on_one_sqlite_study_add_up_without_duplicates(tmp_path):
    args = ["tune", "--dataset", "demo", "--model", "mf", "--objective", "rmse", *FAST_MF,
            "--study", "pair", "--no-test", "--json", "--quiet"]
    procs = [start_process(*args, "--trials", str(n)) for n in (4, 3)]
    results = [wait(p, timeout=600) for p in procs]
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    docs = [json.loads(r.stdout) for r in results]
    mine = [set(d["trials_this_process"]) for d in docs]
    assert len(mine[0]) == 4 and len(mine[1]) == 3 and not mine[0] & mine[1]
    assert mine[0] | mine[1] == set(range(7))
    path = docs[0]["storage"][len("sqlite:///"):]
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT COUNT(*), COUNT(DISTINCT number) FROM trials").fetchone()
    assert rows == (7, 7)


def test_a_background_study_runs_niced_and_stops_keeping_its_finished_trials(tmp_path):
    import os
    import time

    from movierec.tuning.jobs import StudyJobs

    runs = tmp_path / "runs"
    jobs = StudyJobs(runs, nice=1)      # niced, but not starved by the other test workers
    job = jobs.start("background", ["--dataset", "demo", "--model", "mf", "--objective",
                                    "rmse", *FAST_MF], trials=500)
    storage = studies.open_storage(studies.default_storage(runs))
    deadline = time.time() + 480
    finished = []
    while time.time() < deadline and len(finished) < 2:
        time.sleep(0.5)
        if "background" in {s.study_name for s in storage.get_all_studies()}:
            finished = studies.load_study("background", storage).get_trials(
                states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED))
    assert len(finished) >= 2, job.snapshot()
    if os.path.exists(f"/proc/{job.process.pid}/stat"):
        niceness = int(open(f"/proc/{job.process.pid}/stat").read().split()[18])
        assert niceness >= 1
    job.stop()
    job.process.wait(60)
    snap = job.snapshot()
    assert snap["status"] == "stopped" and snap["result"]["stopped"] is True
    assert snap["result"]["best_run_id"] is None        # a stopped study is not tested
    study = studies.load_study("background", storage)
    assert studies.counts(study)["n_running"] == 0
    assert 2 <= len(study.trials) < 500
    jobs.close()


def test_a_diverging_trial_fails_alone_and_a_study_of_only_failures_says_why(demo, tmp_path,
                                                                             monkeypatch):
    from movierec.errors import TrainingDiverged

    real = studies._train_trial

    def diverging(plan, recipe, *args):
        if recipe.train.lr > 1:
            raise TrainingDiverged("the training loss became nan in epoch 1; lower the "
                                   "learning rate")
        return real(plan, recipe, *args)

    monkeypatch.setattr(studies, "_train_trial", diverging)
    recipe = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 3})
    storage = _storage(tmp_path)
    plan = _plan(recipe, "rmse", "wild", ["lr=8:10", "dim=4:8:int"])
    with pytest.raises(ConfigError, match="no trial of study 'wild' finished; the last failed "
                                          "with: the training loss became nan"):
        studies.run_study(plan, demo, storage, trials=2, store=RunStore(tmp_path / "runs"))
    failed = studies.load_study("wild", storage).trials
    assert [t.state for t in failed] == [optuna.trial.TrialState.FAIL] * 2
    assert all("lower the learning rate" in t.user_attrs["error"] for t in failed)
    # a sane trial after them completes, and the study goes on from there
    sane = _plan(recipe, "rmse", "wild", ["lr=0.01:0.02", "dim=4:8:int"])
    result = studies.run_study(sane, demo, storage, trials=1, test=False)
    assert studies.counts(result.study) == {"n_trials": 3, "n_complete": 1, "n_pruned": 0,
                                            "n_failed": 2, "n_running": 0}
    frame = studies.trials_frame(result.study)
    assert frame["error"].iloc[0].startswith("the training loss became")


def test_fixed_settings_leave_the_space_and_space_only_searches_just_the_entries():
    recipe = make_recipe(model="mf", data={"dataset": "demo"}, model_settings={"dim": 24})
    assert set(studies.resolve_space(recipe, fixed=["dim"])) == {"reg", "lr", "lr_decay"}
    assert set(studies.resolve_space(recipe, ["reg=0.01:0.1:log"], only=True)) == {"reg"}
    with pytest.raises(ConfigError, match="dim is also held fixed"):
        studies.resolve_space(recipe, ["dim=8:16:int"], fixed=["dim"])
    with pytest.raises(ConfigError, match="dim takes whole numbers; add :int"):
        studies.resolve_space(recipe, ["dim=8:16"])


def test_a_study_refuses_other_fixed_settings_and_another_kind_of_range(demo, tmp_path):
    storage = _storage(tmp_path)
    mf = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 2})
    studies.run_study(_plan(mf, "rmse", "s", ["dim=4:8:int"]), demo, storage, trials=1,
                      test=False)
    longer = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 3})
    with pytest.raises(ConfigError, match="held epochs at other values"):
        studies.open_study(_plan(longer, "rmse", "s", ["dim=4:8:int"]), storage)
    with pytest.raises(ConfigError, match="drew dim from 4:8:int; a study may move a range's "
                                          "ends but not its kind, scale or choices"):
        studies.open_study(_plan(mf, "rmse", "s", ["dim=4:8:log:int"]), storage)
    moved = studies.open_study(_plan(mf, "rmse", "s", ["dim=4:12:int"]), storage)
    assert studies.study_space(moved)["dim"] == Range(4, 12, integer=True)
    with pytest.raises(ConfigError, match="no study 'missing'"):
        studies.open_study(_plan(mf, "rmse", "missing"), storage, create=False)


def test_a_new_study_starts_from_its_recipe(demo, tmp_path):
    recipe = make_recipe(preset="seednet-map", data={"dataset": "demo", "new_people": 0},
                         train={"epochs": 2})
    space = studies.resolve_space(recipe, ["embedding_dim=16:64:log:int",
                                           "hidden=128+128+128,64+64+64", "lr=0.001:0.01:log"],
                                  only=True)
    assert studies.starting_point(recipe, space) == {"embedding_dim": 32,
                                                     "hidden": "128,128,128", "lr": 0.005}
    narrow = studies.resolve_space(recipe, ["lr=0.006:0.01:log"], only=True)
    assert studies.starting_point(recipe, narrow) == {}          # outside the range: drawn
    mf = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 2})
    result = studies.run_study(_plan(mf, "rmse", "start", ["dim=4:80:int"]), demo,
                               _storage(tmp_path), trials=2, test=False)
    first = result.study.trials[0]
    assert first.params == {"dim": 64, "reg": 0.05, "lr": 0.003, "lr_decay": 1.0}
    assert first.user_attrs["start"] is True
    assert result.study.trials[1].user_attrs.get("start") is None
