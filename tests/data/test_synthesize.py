"""``synthesize``: a synthetic MovieLens-shaped folder, deterministic, shaped like a release,
loadable by its name, refused on impossible input, and with tastes a model can learn."""

from __future__ import annotations

import json

import numpy as np
import pytest

from movierec.cli import main
from movierec.data import dataset_status, load_dataset
from movierec.data import synthesize as synth_module
from movierec.data.synthesize import MOVIELENS_GENRES, read_marker, synthesize
from movierec.errors import ConfigError, DataError

SIZES = {"n_users": 2000, "n_movies": 1000, "n_ratings": 100_000}
FILES = ("ratings.csv", "movies.csv", "SYNTHETIC.md")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A small synthetic dataset in its own data dir (shared: never change it)."""
    root = tmp_path_factory.mktemp("synth")
    doc = synthesize(root / "data" / "synth-small", **SIZES, seed=7)
    return root, doc


@pytest.fixture(scope="module")
def loaded(made):
    root, _ = made
    return load_dataset("synth-small", data_dir=root / "data", cache_dir=root / "cache")


def test_the_same_arguments_write_the_same_bytes(made, tmp_path):
    root, doc = made
    assert doc["users"] == 2000 and doc["ratings"] == 100_000 and doc["seconds"] > 0
    again = synthesize(tmp_path / "other", **SIZES, seed=7)
    for name in FILES:
        assert (root / "data" / "synth-small" / name).read_bytes() == \
            (tmp_path / "other" / name).read_bytes(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]   # no staging left
    different = synthesize(tmp_path / "seed8", **SIZES, seed=8)
    assert (tmp_path / "seed8" / "ratings.csv").read_bytes() != \
        (tmp_path / "other" / "ratings.csv").read_bytes()
    assert again["name"] == "other" and different["seed"] == 8


def test_files_are_in_the_movielens_latest_layout(made):
    folder = made[0] / "data" / "synth-small"
    lines = (folder / "ratings.csv").read_text().splitlines()
    assert lines[0] == "userId,movieId,rating,timestamp" and len(lines) == 100_001
    user, _movie, rating, stamp = lines[1].split(",")
    assert user == "1" and rating in {f"{x / 2:.1f}" for x in range(1, 11)} and stamp.isdigit()
    assert (folder / "movies.csv").read_text().splitlines()[0] == "movieId,title,genres"
    facts = read_marker(folder)
    assert facts["users"] == 2000 and facts["seed"] == 7 and facts["ratings"] == 100_000
    assert "not MovieLens" in (folder / "SYNTHETIC.md").read_text()


def test_it_loads_as_a_synthetic_dataset_shaped_like_a_release(loaded):
    ds = loaded
    assert ds.synthetic and ds.display_name == "synth-small (synthetic)"
    assert ds.n_ratings == 100_000 and ds.n_users == 2000
    r = ds.ratings
    assert set(np.unique(r["user_id"])) == set(range(1, 2001))
    assert r["movie_id"].between(1, 1000).all()
    per_user = r["user_id"].value_counts()
    assert per_user.min() >= 20 and per_user.max() > 10 * per_user.median()   # a long tail
    per_movie = np.sort(r["movie_id"].value_counts().to_numpy())[::-1]
    assert per_movie[:100].sum() > 0.5 * per_movie.sum()    # the top 10% of movies
    stars = r["rating"].value_counts(normalize=True)
    halves = stars[stars.index % 1 == 0.5].sum()
    assert 0.05 < halves < 0.45 and stars.get(4.0) > stars.get(3.5) > stars.get(0.5, 0)
    assert 3.2 < r["rating"].mean() < 3.8
    key = r["user_id"].astype(np.int64) * 10_000 + r["movie_id"]
    assert not key.duplicated().any()
    same_user = r["user_id"].to_numpy()[1:] == r["user_id"].to_numpy()[:-1]
    stamps = r["timestamp"].to_numpy()
    assert (stamps[1:][same_user] > stamps[:-1][same_user]).all()
    assert stamps.min() >= 788_918_400 and stamps.max() <= 1_700_000_000     # 1995 to 2023
    movies = ds.movies
    assert len(movies) == 1000 and movies["title"].str.contains(r" \[synthetic\] \(\d{4}\)$").all()
    assert movies["year"].between(1900, 2023).all()
    assert movies["genres"].map(len).between(1, 3).all()
    assert set(movies["genres"].explode()) <= set(MOVIELENS_GENRES)


def test_it_is_listed_as_synthetic_and_cached_as_such(made, loaded, monkeypatch):
    root, _ = made
    row = next(r for r in dataset_status(root / "data") if r["name"] == "synth-small")
    assert row["custom"] and row["synthetic"] and row["ratings"] == 100_000
    assert row["users"] == 2000 and "SYNTHETIC" in row["note"]
    from movierec.data import loader
    monkeypatch.setattr(loader, "parse", lambda source: pytest.fail("parsed again"))
    again = load_dataset("synth-small", data_dir=root / "data", cache_dir=root / "cache")
    assert again.synthetic and again.n_ratings == loaded.n_ratings


def test_a_model_learns_the_planted_tastes(made, loaded, capsys):
    root, _ = made
    code = main(["train", "--dataset", "synth-small", "--model", "mf", "--epochs", "2",
                 "--lr", "0.03", "--data-dir", str(root / "data"), "--cache-dir",
                 str(root / "cache"), "--runs-dir", str(root / "runs"), "--no-quality",
                 "--no-ranking-eval", "--json", "-q"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["synthetic"] is True
    mean_rmse = float(loaded.ratings["rating"].std())     # predicting the mean for everyone
    assert doc["val_rmse"] < 0.9 * mean_rmse, (doc["val_rmse"], mean_rmse)   # 0.85 vs 1.02


def test_dense_and_tiny_sizes(tmp_path):
    synthesize(tmp_path / "dense", 30, 25, 750, seed=1)         # every user rates every movie
    ds = load_dataset("dense", data_dir=tmp_path)
    assert ds.n_ratings == 750 and ds.ratings["user_id"].value_counts().eq(25).all()
    synthesize(tmp_path / "one", 1, 20, 20)
    assert load_dataset("one", data_dir=tmp_path).n_ratings == 20


@pytest.mark.parametrize("sizes, message", [
    ((0, 100, 5000), "number of users must be a positive"),
    ((100, -1, 5000), "number of movies must be a positive"),
    ((100, 100, 1999), "at least 20"),
    ((100, 19, 2000), "at least 20"),
    ((100, 30, 3001), "at most 3,000"),
])
def test_impossible_sizes_are_refused(tmp_path, sizes, message):
    with pytest.raises(ConfigError, match=message):
        synthesize(tmp_path / "x", *sizes)
    assert not (tmp_path / "x").exists()


def test_out_folder_rules(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="other data"):
        synthesize(mine, 30, 25, 700, force=True)
    assert (mine / "notes.txt").read_text() == "keep me" and len(list(mine.iterdir())) == 1
    with pytest.raises(ConfigError, match="catalog name"):
        synthesize(tmp_path / "ml-1m", 30, 25, 700)
    with pytest.raises(ConfigError, match="folder name"):
        synthesize(tmp_path / "bad name", 30, 25, 700)
    (tmp_path / "empty").mkdir()
    synthesize(tmp_path / "empty", 30, 25, 700)                # an empty folder is fine
    with pytest.raises(ConfigError, match="--force"):
        synthesize(tmp_path / "empty", 30, 25, 700, seed=1)
    synthesize(tmp_path / "empty", 30, 25, 720, seed=1, force=True)
    assert read_marker(tmp_path / "empty")["ratings"] == 720
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "mine"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="cannot write"):
        synthesize(tmp_path / "file" / "sub", 30, 25, 700)


def test_an_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(data, path):
        path.write_text("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(synth_module, "write_ratings_csv", broken)
    with pytest.raises(DataError, match="No space left"):
        synthesize(tmp_path / "out", 30, 25, 700)
    assert list(tmp_path.iterdir()) == []


def test_cli_json_defaults_and_errors(tmp_path, capsys):
    data = str(tmp_path / "data")
    assert main(["synthesize", "--users", "100", "--movies", "60", "--ratings", "3000",
                 "--data-dir", data, "--json", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"path", "users", "movies", "ratings", "seconds"} <= set(doc)
    assert doc["path"].endswith("synthetic-100u-60m-3000r") and doc["ratings"] == 3000
    assert main(["synthesize", "--like", "demo", "--seed", "2", "--data-dir", data, "-q"]) == 0
    assert "--dataset synthetic-demo-seed2" in capsys.readouterr().out
    assert load_dataset("synthetic-demo-seed2", data_dir=data).n_ratings == 100_000
    for argv, message in [
        (["--users", "10"], "give --like NAME"),
        (["--like", "demo", "--ratings", "5"], "at least 20"),
        (["--users", "0", "--movies", "5", "--ratings", "5"], "positive"),
        (["--like", "demo", "--seed", "-1", "--out", str(tmp_path / "s")], "seed"),
        (["--users", "100", "--movies", "60", "--ratings", "3000"], "--force"),
        (["--users", "30", "--movies", "25", "--ratings", "700", "--out", data], "other data"),
    ]:
        assert main(["synthesize", *argv, "--data-dir", data, "-q"]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_the_data_page_offers_a_synthetic_folder(isolated_locations):
    from tests.app.test_pages import no_exception, page, texts

    synthesize(isolated_locations / "data" / "synth-tiny", 100, 60, 3000)
    at = no_exception(page("data", dataset="synth-tiny").run())
    picker = at.selectbox(key="data_dataset_select")
    assert "synth-tiny" in picker.options[-1] and "synthetic" in picker.options[-1]
    assert {m.label: m.value for m in at.metric}["Ratings"] == "3,000"
    assert "Synthetic data" in texts(at)
