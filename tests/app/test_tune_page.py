"""The Tune page and the Learning curves' comparison under Streamlit's AppTest, on demo data."""

from __future__ import annotations

import time

import optuna
import pytest

from movierec.presets import saved_presets
from movierec.recipe import make_recipe
from movierec.runs import RunStore
from movierec.tuning import study as studies
from movierec.tuning.objectives import get_objective
from tests.app.test_pages import no_exception, page, texts


@pytest.fixture
def cli_study(demo):
    """A study run as the command line runs it, in the default storage of the runs folder."""
    recipe = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 3})
    plan = studies.StudyPlan(recipe, get_objective("rmse"), studies.resolve_space(
        recipe, ["dim=4:16:int", "lr=0.003:0.05:log"]), "from-the-cli")
    storage = studies.open_storage(studies.default_storage())
    return studies.run_study(plan, demo, storage, trials=5, store=RunStore())


def test_tune_page_without_studies_offers_a_new_one():
    at = no_exception(page("tune").run())
    assert "No study yet" in texts(at)
    assert at.expander[0].label == "New study"
    assert [b.label for b in at.button] == ["Start the study"]


def test_a_study_from_the_command_line_shows_its_charts_and_table(cli_study):
    at = no_exception(page("tune").run())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Trials"] == "5"
    assert int(metrics["Complete"]) + int(metrics["Pruned"]) == 5
    assert metrics["Best rmse"] == f"{cli_study.study.best_value:.4f}"
    # optimisation history, parallel coordinates, importance
    assert len(at.get("vega_lite_chart")) == 3
    table = at.dataframe[-1].value       # the first is the new study's ranges
    assert len(table) == 5 and {"dim", "lr", "value", "state"} <= set(table.columns)
    assert f"as run **{cli_study.test['run_id']}**" in texts(at)


def test_a_study_that_searches_the_epochs_shows_them_beside_the_epochs_trained(demo):
    """Its trials have an "epochs" parameter and a count of epochs trained: the table shows
    both, under two names (one name twice made Streamlit refuse the table)."""
    recipe = make_recipe(model="mf", data={"dataset": "demo"}, train={"epochs": 3})
    plan = studies.StudyPlan(recipe, get_objective("rmse"), studies.resolve_space(
        recipe, ["epochs=2:4:int", "dim=4:16:int"], only=True), "epochs-searched")
    storage = studies.open_storage(studies.default_storage())
    studies.run_study(plan, demo, storage, trials=3, test=False)
    at = no_exception(page("tune").run())
    table = at.dataframe[-1].value
    assert {"epochs", "epochs trained", "dim", "value"} <= set(table.columns)
    assert table["epochs"].between(2, 4).all() and len(table) == 3
    assert len(at.get("vega_lite_chart")) == 3
    at.text_input(key="tune_preset_name").set_value("tuned-epochs")
    at.button(key="FormSubmitter:tune_preset_form-Save as a preset").click().run()
    no_exception(at)
    best = optuna.load_study(study_name="epochs-searched", storage=storage).best_params
    saved = saved_presets()["tuned-epochs"]
    assert saved.train.epochs == best["epochs"] and dict(saved.model_settings)["dim"] == \
        best["dim"]


def test_the_best_setting_is_saved_as_a_preset_and_trained(cli_study):
    at = no_exception(page("tune").run())
    at.text_input(key="tune_preset_name").set_value("tuned-demo-mf")
    at.button(key="FormSubmitter:tune_preset_form-Save as a preset").click().run()
    no_exception(at)
    assert "Saved the preset **tuned-demo-mf**" in texts(at)
    saved = saved_presets()["tuned-demo-mf"]
    best = cli_study.study.best_params
    assert dict(saved.model_settings)["dim"] == best["dim"]
    assert saved.train.lr == pytest.approx(best["lr"]) and saved.data.dataset == "demo"
    at.button(key="tune_train_best").click().run()
    no_exception(at)
    assert "Training the best setting" in texts(at)
    assert at.session_state["job_key"].startswith("mf-")


def test_a_study_started_on_the_page_runs_in_the_background(demo, monkeypatch):
    monkeypatch.setenv("MOVIEREC_JOB_NICE", "0")   # not starved by the other test workers
    at = page("tune")
    at.session_state["tune_trials"] = 3
    at.run()
    at.selectbox(key="tune_model").set_value("mf").run()
    at.button(key="tune_start").click().run()
    no_exception(at)
    name = at.session_state["study"]
    assert name == "mf-rmse-demo"
    from ui import cache

    job = cache.study_jobs().get(name)
    deadline = time.time() + 600
    while job.snapshot()["status"] == "running" and time.time() < deadline:
        time.sleep(1)
    snap = job.snapshot()
    assert snap["status"] == "done", snap
    assert snap["result"]["n_trials"] == 3 and snap["result"]["best_run_id"]
    at.run()
    no_exception(at)
    assert {m.label: m.value for m in at.metric}["Trials"] == "3"


def test_a_study_name_of_another_model_is_refused_on_the_page(cli_study):
    at = page("tune").run()
    at.selectbox(key="tune_model").set_value("autorec").run()
    at.text_input(key="tune_name_autorec_None_rmse").set_value("from-the-cli")
    at.button(key="tune_start").click().run()
    no_exception(at)
    assert "The study cannot start: study 'from-the-cli' tunes mf on rmse, not autorec" in \
        texts(at)


def test_curves_compare_runs_by_short_labels_and_their_differing_settings(demo):
    from tests.conftest import train_demo

    store = RunStore()
    first = train_demo(demo, "mf", 2).run
    second = train_demo(demo, "mf", 2, {"dim": 16}, lr=0.01).run
    for run in (first, second):
        store.save(run)
    store.set_name(second.run_id, "small and fast")
    at = page("curves", compare=[first.run_id, second.run_id]).run()
    no_exception(at)
    legend = next(m.value for m in at.markdown if "dashed: training" in m.value)
    assert "small and fast" in legend and "mf · dim 64, lr 0.003" in legend
    differ = at.dataframe[0].value
    assert list(differ["label"]) == ["mf · dim 64, lr 0.003", "small and fast"]
    assert {"dim", "lr"} <= set(differ.columns) and "epochs" not in differ.columns
    at.radio(key="curves_x").set_value("seconds").run()
    at.checkbox(key="curves_log").check().run()
    no_exception(at)
    assert len(at.get("vega_lite_chart")) == 5
