"""The real MovieLens copies in ../shared/data (skipped only where that folder is absent)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from movierec.cli import main
from movierec.config import DataConfig, TrainConfig
from movierec.data import load_dataset
from movierec.evaluation.baselines import baseline_metrics
from movierec.experiment import start_training
from movierec.inference import find_movies, recommend, similar
from tests.conftest import SHARED_DATA, requires_ncf_data, requires_shared_data

pytestmark = requires_shared_data


def test_ml100k_parses_to_its_published_counts(tmp_path):
    ds = load_dataset("ml-100k", data_dir=SHARED_DATA, cache_dir=tmp_path, allow_download=False)
    assert (ds.n_ratings, ds.n_users, ds.n_movies) == (100_000, 943, 1_682)
    assert ds.ratings["rating"].value_counts().sort_index().tolist() == \
        [6_110, 11_370, 27_145, 34_174, 21_201]
    assert ds.ratings.groupby("user_id").size().min() == 20
    movies = ds.movies.set_index("movie_id")
    assert movies.loc[1, "title"] == "Toy Story (1995)"
    assert movies.loc[1, "genres"] == ["Animation", "Children's", "Comedy"]
    assert "\xe9" in movies.loc[543, "title"]     # latin-1 decoded
    assert len(ds.users) == 943


def test_ml1m_and_latest_small_counts_and_no_writes_next_to_data(tmp_path):
    before = {p: p.stat().st_mtime_ns for p in (SHARED_DATA / "ml-1m").iterdir()}
    ds = load_dataset("ml-1m", data_dir=SHARED_DATA, cache_dir=tmp_path, allow_download=False)
    assert (ds.n_ratings, ds.n_users, ds.n_movies) == (1_000_209, 6_040, 3_706)
    assert len(ds.movies) == 3_883 and len(ds.users) == 6_040
    assert (ds.ratings["timestamp"] == 0).all()
    assert ds.movies.set_index("movie_id").loc[2571, "title"] == "Matrix, The (1999)"
    after = {p: p.stat().st_mtime_ns for p in (SHARED_DATA / "ml-1m").iterdir()}
    assert before == after
    assert any(tmp_path.glob("ml-1m-*/ratings.parquet"))
    small = load_dataset("ml-latest-small", data_dir=SHARED_DATA, cache_dir=tmp_path,
                         allow_download=False)
    assert (small.n_ratings, small.n_users, small.n_movies) == (100_836, 610, 9_724)
    assert small.ratings["rating"].min() == 0.5 and len(small.movies) == 9_742


@pytest.mark.parametrize("model, epochs, lr", [("mf", 10, 1e-2), ("seednet", 6, 3e-3)])
def test_training_on_ml100k_beats_the_mean(tmp_path, model, epochs, lr):
    ds = load_dataset("ml-100k", data_dir=SHARED_DATA, cache_dir=tmp_path, allow_download=False)
    training = start_training(ds, DataConfig("ml-100k", 1.0, 0.1, 0), model,
                              train_config=TrainConfig(epochs=epochs, batch_size=1024, lr=lr))
    history = list(training.epochs())
    base = baseline_metrics(training.split.train, training.split.validation)
    assert history[-1].val_rmse < base["mean_rmse"] - 0.05
    if model == "mf":
        assert history[-1].val_rmse < base["bias_rmse"]
    run = training.run
    # Star Wars (1977) is movie 50 in ml-100k; its neighbours exist and are real titles.
    assert len(similar(run, 50, top=5, min_ratings=20)) == 5
    star_wars = find_movies(run, "star wars")
    assert int(star_wars["movie_id"].iloc[0]) == 50
    recs = recommend(run, {50: 5.0, 172: 5.0, 181: 5.0}, top=10)
    assert len(recs) == 10 and not {50, 172, 181} & set(recs["movie_id"])


def test_cli_trains_from_the_shared_copy_without_writing_to_it(tmp_path, capsys):
    def snapshot():
        return sorted((str(p.relative_to(SHARED_DATA)), p.stat().st_mtime_ns)
                      for p in SHARED_DATA.rglob("*"))

    before = snapshot()
    assert main(["train", "--dataset", "ml-100k", "--model", "mf", "--epochs", "1",
                 "--data-dir", str(SHARED_DATA), "--json", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_train"] == 90_000 and doc["n_test"] == 10_000
    assert np.isfinite(doc["val_rmse"])
    assert snapshot() == before


@requires_ncf_data
def test_a_copy_of_ml1m_without_the_ncf_test_ratings(tmp_path, capsys):
    """The contract: a data dir whose ml-1m already omits the NCF test's 6,040 ratings trains
    leave-one-out, and ``evaluate --ncf`` measures the run on the paper's candidates."""
    folder = SHARED_DATA / "ncf-ml-1m"
    held = {tuple(line.split(b"::")[:2])
            for line in (folder / "test.rating").read_bytes().splitlines() if line.strip()}
    copy = tmp_path / "data" / "ml-1m"
    copy.mkdir(parents=True)
    lines = (SHARED_DATA / "ml-1m" / "ratings.dat").read_bytes().splitlines()
    kept = [line for line in lines if tuple(line.split(b"::")[:2]) not in held]
    assert len(lines) - len(kept) == 6_040
    (copy / "ratings.dat").write_bytes(b"\n".join(kept) + b"\n")
    for name in ("movies.dat", "users.dat"):
        shutil.copyfile(SHARED_DATA / "ml-1m" / name, copy / name)
    where = ["--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"),
             "--runs-dir", str(tmp_path / "runs"), "--json", "-q"]
    assert main(["train", "--dataset", "ml-1m", "--model", "ease", "--split", "leave-one-out",
                 "--no-quality", "--no-ranking-eval", *where]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert (trained["n_train"], trained["n_test"]) == (994_169 - 6_040, 6_040)
    assert main(["evaluate", "--run", "latest", "--ncf", str(folder / "test.negative"),
                 *where]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["n_users"], doc["merged"], doc["unknown_users"]) == (6_040, 156, 0)
    assert doc["protocol"] == "ncf" and doc["model"] == "ease"
    assert doc["unknown_movies"] == 2     # rated only in the test: unknown to the run, last
    assert doc["hr10"] > 0.68 and doc["ndcg10"] > 0.42   # 0.706 and 0.448 when written
