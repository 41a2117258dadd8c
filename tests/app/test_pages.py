"""Every dashboard page under Streamlit's AppTest, on the synthetic demo data."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from movierec.runs import RunStore
from tests.data import tiny

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


def page(name: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=TIMEOUT)
    for key, value in {"dataset": "demo", **state}.items():
        at.session_state[key] = value
    return at


def no_exception(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [m.value for m in at.caption]
    for kind in ("info", "warning", "error", "success"):
        parts += [m.value for m in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def saved_run(mf_demo_run):
    RunStore().save(mf_demo_run)
    return mf_demo_run


# --- Data -------------------------------------------------------------------------------------
def test_data_page_on_demo():
    at = no_exception(page("data").run())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Users"] == "1,000" and metrics["Ratings"] == "100,000"
    assert "Synthetic data" in texts(at)
    assert "Training on **90,000** ratings, validating on **10,000**" in texts(at)
    assert len(at.get("vega_lite_chart")) == 3
    top = at.dataframe[0].value
    assert len(top) == 20 and top["n_ratings"].is_monotonic_decreasing
    at.slider[0].set_value(0.5).run()
    no_exception(at)
    assert "Training on **45,000** ratings, validating on **5,000**" in texts(at)


def test_data_page_with_a_damaged_copy_names_the_problem(isolated_locations):
    files = tiny.files_for("ml-100k")
    files["u.data"] = b"1\t10\t5\t0\n1\t20\tfive\t0\n"
    tiny.write_folder(isolated_locations / "data", "ml-100k", files)
    at = no_exception(page("data", dataset="ml-100k").run())
    assert "ml-100k cannot be read: u.data line 2: rating is 'five'" in texts(at)
    # The session's choice of data is untouched; switching to another dataset still works.
    at.selectbox(key="data_dataset_select").set_value("demo").run()
    no_exception(at)
    assert at.session_state["dataset"] == "demo" and at.metric[0].value == "1,000"


def test_data_page_leave_one_out_counts():
    at = no_exception(page("data").run())
    at.radio[0].set_value("leave-one-out").run()
    no_exception(at)
    assert "Training on **99,000** ratings, validating on **1,000**" in texts(at)
    assert at.session_state["split"] == "leave-one-out"


def test_data_page_offers_download_upload_and_demo_when_absent():
    at = no_exception(page("data", dataset="ml-1m").run())
    assert "is not in the data folder" in texts(at)
    labels = [b.label for b in at.button]
    assert "Download ml-1m" in labels and "Use the synthetic demo set" in labels
    assert len(at.get("file_uploader")) == 1
    next(b for b in at.button if b.label == "Use the synthetic demo set").click().run()
    no_exception(at)
    assert at.session_state["dataset"] == "demo" and at.metric[0].value == "1,000"


def test_data_page_download_through_a_local_server(server, monkeypatch):
    server.routes["/ml-100k.zip"] = (tiny.release_zip("ml-100k"), "ok")
    monkeypatch.setenv("MOVIEREC_MIRROR", server.url)
    at = no_exception(page("data", dataset="ml-100k").run())
    next(b for b in at.button if b.label == "Download ml-100k").click().run()
    no_exception(at)
    assert {m.label: m.value for m in at.metric}["Ratings"] == "5"


def test_data_page_says_when_the_download_fails(monkeypatch):
    monkeypatch.setenv("MOVIEREC_MIRROR", "http://127.0.0.1:9/")
    at = no_exception(page("data", dataset="ml-1m").run())
    next(b for b in at.button if b.label == "Download ml-1m").click().run()
    no_exception(at)
    assert "The download did not work" in texts(at) and "offline" in texts(at)


# --- Train ------------------------------------------------------------------------------------
def test_train_page_trains_shows_the_curve_and_lists_the_run():
    at = no_exception(page("train").run())
    assert {m.label for m in at.metric} == {"Parameters"}
    at.selectbox(key="train_model").set_value("mf").run()
    at.number_input(key="train_mf_train_epochs").set_value(2)
    at.button(key="FormSubmitter:train_form-Train").click().run()
    no_exception(at)
    from ui import cache
    job = cache.jobs().get(at.session_state["job_key"])
    assert cache.jobs().wait(job, timeout=TIMEOUT)["status"] == "done"
    at.run()
    no_exception(at)
    assert "is ready" in texts(at)
    runs = RunStore().list()
    assert len(runs) == 1 and runs[0]["epochs"] == 2 and runs[0]["model"] == "mf"
    assert at.session_state["run_id"] == runs[0]["run_id"]
    assert len(at.get("vega_lite_chart")) >= 1
    # The same settings again are instant: no second training.
    at.button(key="FormSubmitter:train_form-Train").click().run()
    assert "were trained before" in texts(at)
    assert len(RunStore().list()) == 1


def test_train_page_refuses_impossible_settings():
    at = no_exception(page("train").run())
    at.number_input(key="train_seednet_dropout").set_value(1.5)
    at.button(key="FormSubmitter:train_form-Train").click().run()
    no_exception(at)
    assert at.session_state["job_key"] is None and RunStore().list() == []
    assert "cannot be trained" in texts(at) and "dropout" in texts(at)


def test_train_page_refuses_settings_that_cannot_fit_in_memory(monkeypatch):
    from movierec import memory
    monkeypatch.setattr(memory, "available_bytes", lambda device: 16 * 2**30)
    at = no_exception(page("train").run())
    at.text_input(key="train_seednet_hidden").set_value("65536,65536")
    at.button(key="FormSubmitter:train_form-Train").click().run()
    no_exception(at)
    assert "cannot be trained here" in texts(at) and "16.0 GB available" in texts(at)
    assert at.session_state["job_key"] is None and RunStore().list() == []
    # The network diagram is drawn from shapes alone: 17 GB of weights are never allocated.
    params = int(next(m.value for m in at.metric if m.label == "Parameters").replace(",", ""))
    assert params > 65536 * 65536


def test_train_page_without_data_points_to_the_data_page():
    at = no_exception(page("train", dataset="ml-1m").run())
    assert "is not here yet" in texts(at) and "Data" in texts(at)


# --- Learning curves --------------------------------------------------------------------------
def test_curves_page(saved_run):
    at = no_exception(page("curves").run())
    # loss, RMSE, accuracy, HR@10 and NDCG@10
    assert len(at.get("vega_lite_chart")) == 5
    table = at.dataframe[0].value
    assert table["val_rmse"].iloc[0] == pytest.approx(saved_run.metrics()["val_rmse"])
    assert table["val_hr10"].iloc[0] == pytest.approx(saved_run.history[-1]["val_hr10"])
    assert len(at.get("download_button")) == 1


def test_curves_page_without_runs():
    at = no_exception(page("curves").run())
    assert "no runs yet" in texts(at)


# --- Explore ----------------------------------------------------------------------------------
def test_explore_page_maps_and_lists_neighbours(saved_run):
    at = page("explore")
    at.session_state["explore_method"] = "PCA"
    no_exception(at.run())
    assert "movies shown" in texts(at)
    # how meaningful the map is, measured on first visit against chance and item-kNN
    assert {m.label for m in at.metric} == {"Genre agreement of neighbours", "Series check"}
    assert "item-kNN" in texts(at)
    at.text_input(key="explore_query").input("silent").run()
    no_exception(at)
    assert at.subheader[0].value.startswith("Nearest neighbours of")
    neighbours = at.dataframe[0].value
    assert len(neighbours) == 10 and neighbours["similarity"].is_monotonic_decreasing


def test_explore_page_without_runs():
    at = no_exception(page("explore").run())
    assert "no trained run" in texts(at)


# --- Recommend --------------------------------------------------------------------------------
def test_recommend_page_suggests_from_the_first_ratings(saved_run):
    table = saved_run.movie_table().sort_values("n_ratings", ascending=False)
    rated = {int(m): 5.0 for m in table["movie_id"].head(3)}
    at = no_exception(page("recommend").run())
    assert "Rate a movie below" in texts(at)
    at.session_state["ratings"] = {"demo": dict(rated)}
    no_exception(at.run())
    suggestions = at.table[-1].value
    assert len(suggestions) == 10
    assert not set(suggestions["title"]) & set(table.set_index("movie_id").loc[list(rated),
                                                                                 "title"])
    # a reason names a rated movie the suggestion is really close to, or says it is popular
    titles = table.set_index("movie_id").loc[list(rated), "title"]
    assert suggestions["why"].isin([*(f"because you rated {t}" for t in titles),
                                    "popular with people like you"]).all()
    assert "ranked in" in texts(at)
    at.text_input(key="rec_query").input("silent").run()
    no_exception(at)
    assert len(at.get("feedback")) >= 12


def test_recommend_page_trains_for_a_newcomer():
    at = no_exception(page("recommend").run())
    assert "No model is trained yet" in texts(at)
    next(b for b in at.button if b.label.startswith("Train the recommended model")).click().run()
    no_exception(at)
    from ui import cache
    job = cache.jobs().get(at.session_state["job_key"])
    assert cache.jobs().wait(job, timeout=TIMEOUT)["status"] == "done"
    no_exception(at.run())
    assert "Popular picks to start with" in texts(at)
    # the recommended preset, on the demo set with 100 people held out and measured on them
    run = RunStore().load("latest")
    assert run.model_name == "onboard" and run.data_config.new_people == 100
    said = texts(at)
    assert "Measured on 100 people this run never saw" in said
    assert "after rating what they knew of 12 popular movies" in said
    assert "Searching for movies you love" in said


def test_recommend_page_strip_follows_answers(demo):
    from tests.conftest import train_demo

    run = train_demo(demo, "onboard", 1).run
    RunStore().save(run)
    at = no_exception(page("recommend", run_id=run.run_id).run())
    first = list(at.session_state["strip"][run.run_id])
    assert len(first) == 12 and len([b for b in at.button if b.label == "Haven't seen it"]) == 12
    assert "follow your answers" in texts(at)
    at.button(key=f"skip_{first[0]}").click().run()
    no_exception(at)
    assert at.session_state["skipped"]["demo"] == [first[0]]
    # skips alone already give this model's suggestions; never the skipped movie
    titles = run.movie_table().set_index("movie_id")["title"]
    assert titles[first[0]] not in set(at.table[-1].value["title"])
    assert len(at.table[-1].value) == 10
    at.button(key=f"unskip_{first[0]}").click().run()
    assert no_exception(at).session_state["skipped"]["demo"] == []
    # "show me other movies": the unrated ones count as not seen, the next strip is new
    at.session_state["ratings"]["demo"].update({first[1]: 5.0, first[2]: 4.0})   # live dict
    next(b for b in at.button if b.label == "Show me other movies").click().run()
    no_exception(at)
    second = at.session_state["strip"][run.run_id]
    assert len(second) == 12 and not set(second) & set(first)
    assert set(at.session_state["skipped"]["demo"]) == set(first) - {first[1], first[2]}
    assert "movies you haven't seen" in texts(at)
    suggested = set(at.table[-1].value["title"])
    assert not suggested & set(run.movie_table().set_index("movie_id").loc[first, "title"])
    at.button(key="forget_skips").click().run()
    assert no_exception(at).session_state["skipped"]["demo"] == []


def test_recommend_page_compares_two_runs(saved_run, demo):
    from tests.conftest import train_demo

    other = train_demo(demo, "ease", 1).run
    RunStore().save(other)
    table = saved_run.movie_table().sort_values("n_ratings", ascending=False)
    rated = {int(m): 5.0 for m in table["movie_id"].head(4)}
    at = no_exception(page("recommend", run_id=saved_run.run_id,
                           ratings={"demo": rated}).run())
    assert "has not been measured" in texts(at)
    at.selectbox(key="compare_run").set_value(other.run_id).run()
    no_exception(at)
    first, second = at.table[-2].value, at.table[-1].value
    assert len(first) == len(second) == 10
    common = len(set(first["title"]) & set(second["title"]))
    assert f"**{common} of 10** suggestions are on both lists" in texts(at)


def test_pages_say_how_good_a_run_is(saved_run):
    import pandas as pd

    from movierec.evaluation.report import save_quality
    people = pd.DataFrame([
        {"method": m, "given": k, "precision": p, "recall": p, "ndcg": p, "popular_share": s,
         "distinct": d, "novelty": 2.0, "people": 50}
        for m, p, s, d in (("this run", 0.2, 0.5, 300), ("most rated", 0.35, 1.0, 12))
        for k in (3, 10)])
    neighbours = pd.DataFrame([
        {"vectors": v, "genre_agreement": g, "series_check": c, "movies": 500,
         "series_movies": 20} for v, g, c in (("this run", 0.17, 0.05),
                                              ("item-kNN", 0.45, 0.7), ("chance", 0.16, 0.01))])
    onboarding = pd.DataFrame([
        {"method": m, "round": r, "shown": 12 * r, "ratings": 5.0 * r, "new_ratings": 5.0,
         "no_ratings": 0.0, "precision": p, "recall": p, "ndcg": p, "popular_share": 0.9,
         "distinct": d, "median_popularity": 900.0, "novelty": 1.0, "people": 50}
        for m, p, d in (("this run", 0.31, 120), ("most rated", 0.3, 10)) for r in (1, 2, 3)])
    save_quality(RunStore(), saved_run.run_id, {"people": people, "neighbours": neighbours,
                                                "onboarding": onboarding})
    rated = {int(m): 5.0 for m in saved_run.movie_table()["movie_id"].head(3)}
    recommend = no_exception(page("recommend", ratings={"demo": rated}).run())
    said = texts(recommend)
    assert "after 3 ratings of their own movies, **2.0 of 10**" in said
    assert "after rating what they knew of 12 popular movies (they knew 5.0 on average), " \
           "**3.1 of 10**" in said
    assert "no better than handing everyone the most-rated list" in said
    explore = page("explore")
    explore.session_state["explore_method"] = "PCA"
    no_exception(explore.run())
    metrics = {m.label: m.value for m in explore.metric}
    assert metrics == {"Genre agreement of neighbours": "0.17", "Series check": "5%"}
    assert "This map is close to chance" in texts(explore)
    curves = no_exception(page("curves").run())
    strips = curves.dataframe[1].value.set_index("method")
    assert strips.loc["mf", "precision r1"] == 0.31
    assert strips.loc["most rated (reference)", "distinct r3"] == 10
    wide = curves.dataframe[2].value.set_index("method")
    assert wide.loc["mf", "precision @3"] == 0.2
    assert wide.loc["most rated (reference)", "distinct @10"] == 12


# --- The whole app ----------------------------------------------------------------------------
def test_app_routes_every_page(saved_run):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["dataset"] = "demo"
    no_exception(at.run())
    assert at.title[0].value == "Data"
    for path, title in [("pages/train.py", "Train"), ("pages/curves.py", "Learning curves"),
                        ("pages/explore.py", "Explore"), ("pages/recommend.py", "Recommend")]:
        at.switch_page(path)
        if title == "Explore":
            at.session_state["explore_method"] = "PCA"
        no_exception(at.run())
        assert at.title[0].value == title


# --- Every registered model on the pages that use a run ----------------------------------------
@pytest.mark.parametrize("model", ["autorec", "bpr", "ease", "newcomer", "onboard"])
def test_curves_explore_and_recommend_work_for_every_model(demo, model):
    from tests.conftest import train_demo

    run = train_demo(demo, model, 2).run
    RunStore().save(run)
    curves = no_exception(page("curves", run_id=run.run_id).run())
    final = curves.dataframe[0].value.iloc[0]
    assert final["epochs"] == 2 and 0 <= final["val_hr10"] <= 1
    assert len(curves.get("vega_lite_chart")) >= 3
    explore = page("explore", run_id=run.run_id)
    explore.session_state["explore_method"] = "PCA"
    no_exception(explore.run())
    explore.text_input(key="explore_query").input("silent").run()
    no_exception(explore)
    assert len(explore.dataframe[0].value) == 10
    table = run.movie_table().sort_values("n_ratings", ascending=False)
    rated = {int(m): 5.0 for m in table["movie_id"].head(3)}
    recommend = no_exception(page("recommend", run_id=run.run_id,
                                  ratings={"demo": dict(rated)}).run())
    suggestions = recommend.table[-1].value
    assert len(suggestions) == 10
    assert not set(suggestions["title"]) & set(table.set_index("movie_id").loc[list(rated),
                                                                                "title"])


def test_top_n_preset_fills_the_form_with_ials_and_leave_one_out():
    train = no_exception(page("train").run())
    train.button(key="preset_top-n").click().run()
    no_exception(train)
    assert train.session_state["train_model"] == "ials"
    assert train.session_state["split"] == "leave-one-out"
    assert train.session_state["preset"] == "top-n"
    train.session_state["dataset"] = "demo"   # the preset names ml-1m, not here in tests
    no_exception(train.run())
    assert train.session_state["train_ials_g1_dim"] == 256   # the form refilled once
    assert train.session_state["train_ials_g1_train_epochs"] == 8
    assert "each user's latest rating held out" in texts(train)
    assert "Starting from the preset **top-n**" in texts(train)


@pytest.mark.parametrize("preset", ["recommended", "seednet-map"])
def test_presets_fill_the_forms_and_the_data_page_holds_people_out(preset):
    from movierec.presets import PRESETS

    train = no_exception(page("train").run())
    train.button(key=f"preset_{preset}").click().run()
    no_exception(train)
    assert train.session_state["train_model"] == PRESETS[preset].model
    assert train.session_state["new_people"] == 600
    assert train.session_state["validation_size"] == 0.02
    # the same session on the Data page, with the demo set (1,000 people)
    data = page("data", **{k: train.session_state[k] for k in
                           ("fraction", "validation_size", "seed", "split")}, new_people=100)
    no_exception(data.run())
    assert "**100** new people held out with their" in texts(data)



def test_a_newcomer_is_not_given_a_run_that_is_still_training(demo, monkeypatch):
    from tests.conftest import train_demo
    from ui import cache

    finished = train_demo(demo, "mf", 1).run
    RunStore().save(finished)
    training = train_demo(demo, "mf", 1, seed=1).run   # saved after its first epoch, say
    RunStore().save(training)
    assert RunStore().list()[-1]["run_id"] == training.run_id     # the newest
    monkeypatch.setattr(cache, "runs_in_training", lambda: {training.run_id})
    at = no_exception(page("recommend").run())
    assert at.session_state["run_id"] == finished.run_id
    # Chosen on purpose, it stays chosen; once nothing trains, the newest is the default.
    at = no_exception(page("recommend", run_id=training.run_id).run())
    assert at.session_state["run_id"] == training.run_id
    monkeypatch.setattr(cache, "runs_in_training", set)
    assert no_exception(page("recommend").run()).session_state["run_id"] == training.run_id


def test_a_bad_jobs_setting_of_the_server_is_said_on_the_page(monkeypatch):
    from ui import cache

    monkeypatch.setenv("MOVIEREC_JOBS", "many")
    cache._jobs.clear()
    try:
        at = no_exception(page("train").run())
        at.button(key="FormSubmitter:train_form-Train").click().run()
        no_exception(at)
        assert "Training is not available on this server" in texts(at)
        assert "MOVIEREC_JOBS must be a whole number" in texts(at)
    finally:
        cache._jobs.clear()
