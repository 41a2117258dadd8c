"""Two browser sessions at once (two AppTest sessions in one server process, sharing its caches
and its trainer): the same settings train once; different settings, ratings and selected runs
stay with the session that made them; the cached model is never changed by anyone's fold-in."""

from __future__ import annotations

import torch

from movierec.jobs import ACTIVE
from movierec.runs import RunStore
from tests.app.test_pages import TIMEOUT, no_exception, page, texts


def _submit(at, model: str, epochs: int, **model_settings):
    at.selectbox(key="train_model").set_value(model).run()
    at.number_input(key=f"train_{model}_train_epochs").set_value(epochs)
    for name, value in model_settings.items():
        at.number_input(key=f"train_{model}_{name}").set_value(value)
    at.button(key="FormSubmitter:train_form-Train").click().run()
    return no_exception(at)


def _finish(at) -> dict:
    from ui import cache
    snap = cache.jobs().wait(cache.jobs().get(at.session_state["job_key"]), timeout=TIMEOUT)
    no_exception(at.run())
    return snap


def test_same_settings_in_two_sessions_train_once():
    from ui import cache

    first, second = page("train").run(), page("train").run()
    _submit(first, "seednet", 20)
    _submit(second, "seednet", 20)
    key = first.session_state["job_key"]
    assert cache.jobs().get(key).status in ACTIVE     # the second came while it trained
    assert second.session_state["job_key"] == key
    assert "Training" in [h.value for h in second.subheader]
    a, b = _finish(first), _finish(second)
    assert a["status"] == b["status"] == "done" and a["run_id"] == b["run_id"]
    runs = RunStore().list()
    assert [r["run_id"] for r in runs] == [a["run_id"]] and runs[0]["epochs"] == 20
    assert first.session_state["run_id"] == second.session_state["run_id"] == a["run_id"]


def test_different_settings_ratings_and_runs_stay_in_their_session():
    from ui import cache

    first, second = page("train").run(), page("train").run()
    _submit(first, "mf", 3)
    _submit(second, "mf", 4, dim=16)
    assert first.session_state["job_key"] != second.session_state["job_key"]
    a, b = _finish(first), _finish(second)
    assert a["run_id"] != b["run_id"]
    # Each session shows its own job's outcome and selects its own run.
    assert a["run_id"] in texts(first) and b["run_id"] not in texts(first)
    assert b["run_id"] in texts(second) and a["run_id"] not in texts(second)
    assert first.session_state["run_id"] == a["run_id"]
    assert second.session_state["run_id"] == b["run_id"]
    epochs = {m.label: m.value for m in first.metric}["Epoch"], \
        {m.label: m.value for m in second.metric}["Epoch"]
    assert epochs == ("3", "4")

    # Ratings made in one session never reach the other; the shared cached model is not
    # changed by either session's fold-in.
    model = cache.run(a["run_id"]).model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    table = cache.run(a["run_id"]).movie_table().sort_values("n_ratings", ascending=False)
    rated = {int(m): 5.0 for m in table["movie_id"].head(4)}
    rec_first = page("recommend", run_id=a["run_id"], ratings={"demo": dict(rated)}).run()
    rec_second = page("recommend", run_id=a["run_id"]).run()
    no_exception(rec_first)
    no_exception(rec_second)
    assert len(rec_first.table[-1].value) == 10
    assert "Rate a movie below" in texts(rec_second)
    assert rec_second.session_state["ratings"].get("demo", {}) == {}
    assert cache.run(a["run_id"]).model is model
    assert not model.training
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), f"{name} changed"
    saved = torch.load(RunStore().path(a["run_id"]) / "weights.pt", weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())
