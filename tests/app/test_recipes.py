"""The command line and the dashboard train the same thing for the same choices: every preset,
through the Train page's form and through `train --preset`, and Recommend's one-click model."""

from __future__ import annotations

import pytest

from movierec.cli import build_parser
from movierec.cli.train import recipe_from_args
from movierec.errors import ConfigError
from movierec.jobs import JobManager, JobSpec
from movierec.models import get_model_spec
from movierec.presets import PRESETS
from tests.app.test_pages import no_exception, page, texts


@pytest.fixture
def submitted(monkeypatch):
    """The job specs the pages submit (nothing is trained)."""
    specs: list[JobSpec] = []

    def record(self, spec):
        specs.append(spec)
        raise ConfigError("recorded by the test, not trained")

    monkeypatch.setattr(JobManager, "submit", record)
    return specs


def cli_spec(*flags: str) -> JobSpec:
    return JobSpec.of(recipe_from_args(build_parser().parse_args(["train", *flags])))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_train_page_trains_what_train_preset_trains(preset, submitted):
    at = no_exception(page("train").run())
    at.button(key=f"preset_{preset}").click().run()
    at.session_state["dataset"] = "demo"   # the presets name ml-1m, not here in tests
    no_exception(at.run())
    at.button(key="FormSubmitter:train_form-Train").click().run()
    no_exception(at)
    assert "recorded by the test" in texts(at)
    (spec,) = submitted
    assert spec == cli_spec("--preset", preset, "--dataset", "demo")
    assert spec.planned_epochs == PRESETS[preset].train.epochs + PRESETS[preset].extra_epochs


def test_the_notebook_replay_trains_20_and_then_5_more_epochs_on_both(submitted):
    assert cli_spec("--preset", "notebook").epoch_plan == (20, 5)
    # A changed epoch count drops the continuation, on the command line and on the page.
    assert cli_spec("--preset", "notebook", "--epochs", "7").epoch_plan == (7,)
    at = no_exception(page("train").run())
    at.button(key="preset_notebook").click().run()
    at.session_state["dataset"] = "demo"
    no_exception(at.run())
    assert "Then 5 more epochs as a continuation" in texts(at)
    at.number_input(key="train_seednet_g1_train_epochs").set_value(7)   # refilled once
    at.number_input(key="train_seednet_g1_dropout").set_value(0.3)
    at.button(key="FormSubmitter:train_form-Train").click().run()
    no_exception(at)
    (spec,) = submitted
    assert spec == cli_spec("--preset", "notebook", "--dataset", "demo", "--epochs", "7",
                            "--set", "dropout=0.3")
    assert spec.epoch_plan == (7,)


def test_switching_model_shows_that_models_own_training_defaults():
    at = no_exception(page("train").run())
    for model in ("mf", "seednet", "ials"):
        at.selectbox(key="train_model").set_value(model).run()
        no_exception(at)
        defaults = get_model_spec(model).train_defaults
        assert at.number_input(key=f"train_{model}_train_epochs").value == defaults.epochs
        assert at.number_input(key=f"train_{model}_train_batch_size").value == \
            defaults.batch_size
    assert get_model_spec("mf").train_defaults.epochs != \
        get_model_spec("seednet").train_defaults.epochs


def test_recommends_one_click_trains_the_recommended_preset(submitted):
    at = no_exception(page("recommend").run())
    next(b for b in at.button if b.label.startswith("Train the recommended model")).click().run()
    (spec,) = submitted
    # ML-1M is not here in tests, so the one click trains on the demo set with 100 people out.
    assert spec == cli_spec("--preset", "recommended", "--dataset", "demo", "--new-people",
                            "100")
