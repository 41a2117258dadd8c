"""The run store: atomic saves, safe loads, listing with broken runs, deletion."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from movierec.errors import RunError, UnknownIdError
from movierec.runs import RunStore


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


def test_save_load_round_trip(store, mf_demo_run):
    folder = store.save(mf_demo_run)
    assert folder.name == mf_demo_run.run_id
    assert sorted(p.name for p in folder.iterdir()) == [
        "arrays.npz", "config.json", "history.json", "movies.parquet", "trainer.pt",
        "weights.pt"]
    run = store.load(mf_demo_run.run_id)
    assert run.history == mf_demo_run.history and run.model_config == mf_demo_run.model_config
    assert not run.model.training and run.trainer_state is None
    np.testing.assert_array_equal(run.item_ids.ids, mf_demo_run.item_ids.ids)
    np.testing.assert_array_equal(run.item_counts, mf_demo_run.item_counts)
    users, items = torch.tensor([0]), torch.arange(run.model.n_items)
    torch.testing.assert_close(run.model.predict(users, items),
                               mf_demo_run.model.predict(users, items))
    assert run.movie_table()["title"].str.contains("[synthetic]", regex=False).all()
    assert store.load(mf_demo_run.run_id, with_trainer_state=True).trainer_state["epoch"] == 8


def test_resolve_latest_prefix_and_unknown(store, mf_demo_run, seednet_demo_run):
    store.save(mf_demo_run)
    store.save(seednet_demo_run)
    assert store.resolve("latest") == seednet_demo_run.run_id
    assert store.resolve("mf-") == mf_demo_run.run_id
    with pytest.raises(UnknownIdError, match="unknown run"):
        store.resolve("nothing-like-it")
    with pytest.raises(RunError, match="not a valid run id"):
        store.path("../escape")


def test_pickle_in_place_of_weights_is_refused(store, mf_demo_run, tmp_path):
    folder = store.save(mf_demo_run)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with open(folder / "weights.pt", "wb") as fh:
        pickle.dump({"x": Evil()}, fh)
    with pytest.raises(RunError, match="weights.pt holds more than tensors; refusing"):
        store.load(mf_demo_run.run_id)
    assert not marker.exists()


def test_broken_runs_are_listed_and_others_still_work(store, mf_demo_run, seednet_demo_run):
    store.save(mf_demo_run)
    broken = store.save(seednet_demo_run)
    (broken / "history.json").unlink()
    (store.root / "not-a-run").mkdir()
    rows = {r["run_id"]: r for r in store.list()}
    assert rows[mf_demo_run.run_id]["status"] == "ok"
    assert rows[seednet_demo_run.run_id]["status"] == "broken"
    assert "history.json" in rows[seednet_demo_run.run_id]["problem"]
    assert rows["not-a-run"]["status"] == "broken"
    assert store.load(mf_demo_run.run_id).epochs == 8
    (broken / "config.json").write_text("{ not json")
    assert "config.json cannot be read" in {r["run_id"]: r for r in store.list()}[
        seednet_demo_run.run_id]["problem"]
    store.delete(seednet_demo_run.run_id)
    assert seednet_demo_run.run_id not in store.ids()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "wrong tensors"])
def test_a_corrupt_weights_file_is_a_clear_error_and_others_still_work(
        store, mf_demo_run, seednet_demo_run, damage):
    store.save(mf_demo_run)
    folder = store.save(seednet_demo_run)
    weights = folder / "weights.pt"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "garbage":
        weights.write_bytes(b"this is not a torch file" * 10)
    elif damage == "empty":
        weights.write_bytes(b"")
    else:
        torch.save({"movie_embed.weight": torch.zeros(3, 3)}, weights)
    with pytest.raises(RunError, match=f"run {seednet_demo_run.run_id}") as info:
        store.load(seednet_demo_run.run_id)
    assert "weights" in str(info.value)
    assert store.load(mf_demo_run.run_id).epochs == mf_demo_run.epochs


def test_resave_replaces_and_interrupted_swap_is_repaired(store, mf_demo_run):
    folder = store.save(mf_demo_run)
    config = json.loads((folder / "config.json").read_text())
    assert config["epochs"] == 8 and config["metrics"]["val_rmse"] > 0
    store.save(mf_demo_run)
    assert [p.name for p in store.root.iterdir()] == [mf_demo_run.run_id]
    # A crash between "move the old folder aside" and "move the new one in" leaves .old-*;
    # recovering the store puts it back. Opening a store alone changes nothing on disk.
    folder.rename(store.root / f".old-{mf_demo_run.run_id}-abc123")
    reopened = RunStore(store.root)
    assert reopened.ids() == [] and (store.root / f".old-{mf_demo_run.run_id}-abc123").is_dir()
    assert reopened.recover() is reopened
    assert reopened.load(mf_demo_run.run_id).epochs == 8


def test_unwritable_runs_dir_is_a_clear_error(tmp_path, mf_demo_run):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunError, match="cannot write runs"):
        RunStore(blocker / "runs").save(mf_demo_run)


def test_movies_missing_from_the_movies_file_get_a_placeholder(mf_demo_run, store):
    folder = store.save(mf_demo_run)
    movies = pd.read_parquet(folder / "movies.parquet")
    movies[movies["movie_id"] != 1].to_parquet(folder / "movies.parquet", index=False)
    table = store.load(mf_demo_run.run_id).movie_table().set_index("movie_id")
    assert table.loc[1, "title"] == "movie 1" and table.loc[1, "genres"] == []
    assert len(table) == mf_demo_run.model.n_items


def test_the_movie_table_is_built_once_and_what_a_caller_sets_stays_its_own(store,
                                                                             mf_demo_run):
    run = store.load(store.save(mf_demo_run).name)
    first = run.movie_table()
    built = run._derived["movie_table"]
    assert run.movie_table() is not first   # a copy each time, of one table built once
    assert run._derived["movie_table"] is built
    pristine = first.copy(deep=True)
    first["title"] = "changed"
    first.loc[0, "n_ratings"] = -1
    pd.testing.assert_frame_equal(run.movie_table(), pristine)
    by_id = run.movies_by_id()
    assert (by_id.index == pristine["movie_id"].to_numpy()).all()
    assert by_id.loc[int(pristine["movie_id"].iloc[3]), "title"] == pristine["title"].iloc[3]


def test_a_name_is_kept_beside_the_run_and_outlives_its_saves(tmp_path, mf_demo_run):
    import copy

    from movierec.errors import RunError

    store = RunStore(tmp_path)
    run = copy.copy(mf_demo_run)
    store.save(run)
    assert store.name(run.run_id) == "" and store.list()[0]["name"] == ""
    store.set_name(run.run_id, "  my   first mf ")
    assert store.name(run.run_id) == "my first mf"
    store.save(run)                                  # a later save (more epochs) keeps it
    assert store.list()[0]["name"] == "my first mf"
    with pytest.raises(RunError, match="at most 80"):
        store.set_name(run.run_id, "x" * 81)
    store.set_name(run.run_id, "")
    assert store.name(run.run_id) == ""
