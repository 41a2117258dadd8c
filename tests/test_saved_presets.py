"""Presets saved in the runs folder (from a study), run names from the command line."""

from __future__ import annotations

import json

import pytest

from movierec.config import DataConfig, TrainConfig
from movierec.errors import ConfigError
from movierec.presets import PRESETS, Preset, all_presets, save_preset, saved_presets
from movierec.recipe import make_recipe
from tests.clitools import assert_user_error, run_main


def _preset(name="tuned-mf"):
    return Preset(name, "found by a study", DataConfig("demo"), "mf",
                  TrainConfig(epochs=3, batch_size=1024, lr=0.01), (("dim", 24),), 0)


def test_a_saved_preset_trains_what_it_says(tmp_path):
    save_preset(_preset(), tmp_path)
    assert saved_presets(tmp_path)["tuned-mf"] == _preset()
    assert list(all_presets(tmp_path)) == [*PRESETS, "tuned-mf"]
    recipe = make_recipe("tuned-mf", runs_dir=tmp_path)
    assert recipe.model_config.dim == 24 and recipe.train.lr == 0.01 and recipe.plan == (3,)
    save_preset(_preset("tuned-mf-2"), tmp_path)           # added beside the first
    assert set(saved_presets(tmp_path)) == {"tuned-mf", "tuned-mf-2"}


@pytest.mark.parametrize("name, words", [("recommended", "built-in"), ("Bad Name", "lower-case"),
                                         ("", "lower-case")])
def test_a_preset_name_that_clashes_or_is_malformed_is_refused(tmp_path, name, words):
    with pytest.raises(ConfigError, match=words):
        save_preset(_preset(name), tmp_path)


def test_a_damaged_presets_file_is_said_and_leaves_the_built_in_ones(tmp_path):
    (tmp_path / "presets.json").write_text('[{"name": "x"}]')
    with pytest.raises(ConfigError, match="damaged"):
        saved_presets(tmp_path)
    assert list(all_presets(tmp_path)) == list(PRESETS)
    assert make_recipe("notebook", runs_dir=tmp_path).preset == "notebook"


def test_train_takes_a_saved_preset_and_a_name(capfd, isolated_locations):
    save_preset(_preset(), isolated_locations / "home" / "runs")
    result = run_main(capfd, "train", "--preset", "tuned-mf", "--name", "my tuned mf",
                      "--no-quality", "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["model_config"]["dim"] == 24 and found["epochs"] == 3
    assert found["name"] == "my tuned mf"
    listed = json.loads(run_main(capfd, "runs", "--json").stdout)
    assert listed[0]["name"] == "my tuned mf"
    renamed = run_main(capfd, "runs", "rename", found["run_id"], "second name", "--json")
    assert json.loads(renamed.stdout) == {"run_id": found["run_id"], "name": "second name"}
    assert_user_error(run_main(capfd, "train", "--preset", "nope"), "unknown preset 'nope'",
                      "tuned-mf")
    assert_user_error(run_main(capfd, "train", "--dataset", "demo", "--name", "x" * 81),
                      "--name must be 1 to 80")
    assert_user_error(run_main(capfd, "runs", "rename", found["run_id"]), "needs the new name")
