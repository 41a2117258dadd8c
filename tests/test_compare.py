"""Comparing runs: short labels and the settings that differ."""

from __future__ import annotations

from movierec.compare import differing, labels, settings_of


def _summary(run_id, model="mf", created="2026-11-28T23:19:19+00:00", **settings):
    model_config = {"dim": 64, "reg": 0.05, **{k: v for k, v in settings.items()
                                              if k in ("dim", "reg", "hidden")}}
    train = {"epochs": 12, "lr": 0.003, "device": "auto",
             **{k: v for k, v in settings.items() if k in ("epochs", "lr")}}
    return {"run_id": run_id, "model": model, "dataset": settings.get("dataset", "ml-1m"),
            "fraction": 1.0, "split": "random", "new_people": 0, "seed": 0,
            "created": created, "model_config": model_config, "train_config": train}


def test_labels_name_the_model_and_what_sets_each_run_apart():
    runs = [_summary("mf-ml-1m-20261128-231919-628d"),
            _summary("mf-ml-1m-20261128-232000-aaaa", dim=128),
            _summary("mf-ml-1m-20261128-232100-bbbb", dim=128, lr=0.01)]
    found = labels(runs)
    assert found == {"mf-ml-1m-20261128-231919-628d": "mf · dim 64, lr 0.003",
                     "mf-ml-1m-20261128-232000-aaaa": "mf · dim 128, lr 0.003",
                     "mf-ml-1m-20261128-232100-bbbb": "mf · dim 128, lr 0.01"}
    # set apart from the runs of its own model; the only run of a model is its model
    mixed = labels([*runs[:2], _summary("s-1", model="seednet", epochs=5)])
    assert list(mixed.values()) == ["mf · dim 64", "mf · dim 128", "seednet"]
    table = differing(runs)
    assert list(table.columns) == ["run", "dim", "lr"]
    assert table["dim"].tolist() == [64, 128, 128]


def test_a_given_name_wins_and_clashing_labels_get_the_end_of_the_id():
    runs = [_summary("a-0001"), _summary("a-0002"), _summary("b-0003", model="autorec",
                                                              hidden=500)]
    found = labels(runs, {"b-0003": "my autorec"})
    assert found["b-0003"] == "my autorec"
    assert found["a-0001"] == "mf · ml-1m 11-28 23:19 (0001)"
    assert found["a-0002"] == "mf · ml-1m 11-28 23:19 (0002)"
    other_data = labels([_summary("a-1"), _summary("b-2", model="autorec", dataset="demo")])
    assert other_data == {"a-1": "mf · dataset ml-1m", "b-2": "autorec · dataset demo"}


def test_one_run_is_labelled_by_its_model():
    assert labels([_summary("mf-1")]) == {"mf-1": "mf"}
    assert list(differing([_summary("mf-1")]).columns) == ["run"]


def test_settings_of_flattens_lists_and_leaves_out_the_device():
    found = settings_of(_summary("x", hidden=[128, 64]))
    assert found["hidden"] == "128,64" and "device" not in found
