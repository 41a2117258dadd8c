"""A folder of the data dir holding your own ``ratings.csv`` (and maybe ``movies.csv``) is a
dataset by its folder's name: loaded, checked, cached and listed like a release."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.config import DataConfig
from movierec.data import dataset_status, load_dataset
from movierec.data import loader as loader_module
from movierec.data.parsers import first_repeat, read_ratings
from movierec.errors import ConfigError, DataError
from tests.data import tiny
from tests.test_cli import run_json

HEADER = "userId,movieId,rating,timestamp\n"


def write_custom(root, name="my-ratings", ratings=tiny.CSV_RATINGS, movies=tiny.CSV_MOVIES):
    files = {"ratings.csv": ratings.encode("utf-8")}
    if movies is not None:
        files["movies.csv"] = movies.encode("utf-8")
    return tiny.write_folder(root, name, files)


def test_a_custom_folder_loads_by_its_name(tmp_path):
    folder = write_custom(tmp_path / "data")
    before = sorted(p.name for p in folder.iterdir())
    ds = load_dataset("my-ratings", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    assert ds.name == "my-ratings" and not ds.synthetic and ds.display_name == "my-ratings"
    assert ds.ratings["rating"].tolist() == [4.0, 3.5, 0.5, 5.0, 2.5]
    assert ds.ratings["user_id"].dtype == np.int32 and ds.ratings["rating"].dtype == np.float32
    assert ds.ratings["timestamp"].dtype == np.int64
    assert ds.rating_scale == tuple(x / 2 for x in range(1, 11))
    assert ds.movies.set_index("movie_id").loc[10, "year"] == 2001
    assert sorted(p.name for p in folder.iterdir()) == before      # nothing written beside it
    assert DataConfig(dataset="my-ratings").dataset == "my-ratings"


def test_whole_stars_and_no_movies_file(tmp_path):
    write_custom(tmp_path, ratings=HEADER + "7,300,4,1\n7,100,5,2\n8,300,1,3\n", movies=None)
    ds = load_dataset("my-ratings", data_dir=tmp_path, allow_download=False)
    movies = ds.movies.set_index("movie_id")
    assert sorted(movies.index) == [100, 300]
    assert movies.loc[300, "title"] == "Movie 300" and movies.loc[300, "genres"] == []
    assert pd.isna(movies.loc[300, "year"])
    assert ds.movie_table().loc[300, "n_ratings"] == 2


def test_movies_missing_from_movies_csv_get_placeholders(tmp_path):
    write_custom(tmp_path, ratings=tiny.CSV_RATINGS + "3,77,3.0,9\n")
    movies = load_dataset("my-ratings", data_dir=tmp_path).movies.set_index("movie_id")
    assert movies.loc[77, "title"] == "Movie 77" and movies.loc[20, "title"] == "Toy Robots (1995)"


def test_second_load_is_cached_and_follows_the_files(tmp_path, monkeypatch):
    folder = write_custom(tmp_path / "data")
    first = load_dataset("my-ratings", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    calls = []
    monkeypatch.setattr(loader_module, "parse", lambda source: calls.append(source))
    again = load_dataset("my-ratings", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    assert calls == [] and not again.synthetic
    pd.testing.assert_frame_equal(first.ratings, again.ratings)
    monkeypatch.undo()
    (folder / "ratings.csv").write_text(tiny.CSV_RATINGS + "4,10,1.0,5\n")
    assert load_dataset("my-ratings", data_dir=tmp_path / "data",
                        cache_dir=tmp_path / "cache").n_ratings == 6


def test_a_name_that_starts_like_a_release_keeps_its_own_cache(tmp_path, monkeypatch):
    write_custom(tmp_path / "data", "ml-1m-mine")
    tiny.write_folder(tmp_path / "data", "ml-1m")
    where = {"data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache"}
    load_dataset("ml-1m-mine", **where)
    load_dataset("ml-1m", **where)                # caching ml-1m must not sweep ml-1m-mine's
    monkeypatch.setattr(loader_module, "parse", lambda source: pytest.fail("parsed again"))
    assert load_dataset("ml-1m-mine", **where).n_ratings == 5
    assert load_dataset("ml-1m", **where).n_ratings == 5


@pytest.mark.parametrize("content, message", [
    ("user,movie,stars\n1,2,3\n", "ratings.csv line 1: header is"),
    ("userId;movieId;rating;timestamp\n1;2;3;4\n", "ratings.csv line 1: header is"),
    (HEADER + "1,10,4.0,1\n1,20,x,1\n", "ratings.csv line 3: rating is 'x'"),
    (HEADER + "1,10,4.0,1\n1,2.5,4.0,1\n", "ratings.csv line 3: movie_id is '2.5'"),
    (HEADER + "1,10,4.0,1\n1,20,4.2,1\n", "ratings.csv line 3: rating 4.2 is not on"),
    (HEADER + "1,10,4.0,1\n1,20,0,1\n", "ratings.csv line 3: rating 0 is not on"),
    (HEADER + "1,10,4.0,1\n2,10,3.0,1\n1,10,2.0,1\n", "line 4: user 1 rates movie 10 a second"),
    (HEADER + "2,10,4.0,1\n1,10,3.0,1\n2,10,2.0,1\n", "line 4: user 2 rates movie 10 a second"),
    (HEADER + "1,10,4.0,1\n1,20,,1\n", "ratings.csv line 3: the rating field is missing"),
    (HEADER + "1,10,4.0,1\n1,20\n", "ratings.csv line 3"),
    (HEADER + "1,-10,4.0,1\n", "ratings.csv line 2: user and movie ids must be positive"),
    (HEADER + "1,3000000000,4.0,1\n", "ratings.csv line 2: an id is too large"),
    (HEADER, "ratings.csv: the file holds no ratings"),
    ("", "ratings.csv line 1: header is ''"),
])
def test_bad_ratings_files_name_file_and_line(tmp_path, content, message):
    write_custom(tmp_path, ratings=content)
    with pytest.raises(DataError) as info:
        load_dataset("my-ratings", data_dir=tmp_path, allow_download=False)
    assert message in str(info.value)


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
                                  (HEADER + "1,10,4.0,1\n").encode("utf-16"),
                                  HEADER.encode() + b"1,10,4.0,1\n1,2\x000,4.0,1\n"])
def test_binary_ratings_are_refused(tmp_path, data):
    folder = write_custom(tmp_path)
    (folder / "ratings.csv").write_bytes(data)
    with pytest.raises(DataError, match="ratings.csv"):
        load_dataset("my-ratings", data_dir=tmp_path)


def test_bad_movies_file_is_named(tmp_path):
    write_custom(tmp_path, movies="id,name\n10,Heat\n")
    with pytest.raises(DataError, match="movies.csv line 1: header is"):
        load_dataset("my-ratings", data_dir=tmp_path)


def test_unknown_names_list_the_catalog_and_the_custom_folders(tmp_path):
    write_custom(tmp_path, "mine")
    write_custom(tmp_path, "theirs")
    with pytest.raises(DataError) as info:
        load_dataset("nobody", data_dir=tmp_path)
    text = str(info.value)
    assert "unknown dataset 'nobody'" in text and "ml-1m, ml-latest-small" in text
    assert "custom folders in" in text and "mine, theirs" in text
    with pytest.raises(DataError, match="custom folders in .*: none"):
        load_dataset("nobody", data_dir=tmp_path / "empty")


@pytest.mark.parametrize("name", ["../mine", "a/b", ".hidden", "x..y", "-dash", "x" * 65, ""])
def test_unsafe_folder_names_are_refused_before_loading(tmp_path, name):
    with pytest.raises(ConfigError, match="unknown dataset"):
        DataConfig(dataset=name)
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset(name, data_dir=tmp_path)


def test_listing_shows_custom_folders(tmp_path, capsys):
    write_custom(tmp_path, "mine", movies=None)
    tiny.write_folder(tmp_path, "ml-latest-small")      # a release, not a custom folder
    tiny.write_folder(tmp_path, ".hidden", {"ratings.csv": tiny.CSV_RATINGS.encode()})
    tiny.write_folder(tmp_path, "notes", {"readme.txt": b"hello"})
    rows = {r["name"]: r for r in dataset_status(tmp_path)}
    assert rows["mine"]["custom"] and rows["mine"]["present"] and not rows["mine"]["synthetic"]
    assert rows["mine"]["ratings"] is None and "no movies.csv" in rows["mine"]["note"]
    assert not rows["ml-latest-small"]["custom"] and rows["ml-latest-small"]["present"]
    assert ".hidden" not in rows and "notes" not in rows
    doc = run_json(capsys, "datasets", "--data-dir", str(tmp_path))
    assert [r["name"] for r in doc["datasets"] if r["custom"]] == ["mine"]
    from movierec.cli import main
    assert main(["datasets", "--data-dir", str(tmp_path)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("mine"))
    assert "present" in line and "[custom]" in line


def test_train_on_a_custom_folder_through_the_cli(tmp_path, capsys):
    rng = np.random.default_rng(0)
    pairs = rng.choice(60 * 40, 900, replace=False)
    lines = [f"{p // 40 + 1},{p % 40 + 1},{rng.integers(1, 11) / 2:.1f},{i}"
             for i, p in enumerate(np.sort(pairs))]
    write_custom(tmp_path / "data", "mine", HEADER + "\n".join(lines) + "\n", movies=None)
    doc = run_json(capsys, "train", "--dataset", "mine", "--model", "mf", "--epochs", "1",
                   "--data-dir", str(tmp_path / "data"), "--no-quality", "--no-ranking-eval")
    assert doc["dataset"] == "mine" and doc["n_train"] + doc["n_test"] == 900
    assert doc["load_seconds"] >= 0


def test_csv_fast_path_agrees_with_the_pandas_reader(tmp_path):
    rng = np.random.default_rng(1)
    n = 5000
    keys = rng.choice(10**6, n, replace=False)
    text = HEADER + "".join(f"{k // 1000 + 1},{k % 1000 + 1},{rng.integers(1, 11) / 2},"
                            f"{rng.integers(0, 2**40)}\n" for k in keys)   # not sorted
    write_custom(tmp_path, ratings=text, movies=None)
    fast = load_dataset("my-ratings", data_dir=tmp_path).ratings
    slow = read_ratings(text.encode(), "ratings.csv", ",", True, tuple(x / 2 for x in range(1, 11)))
    pd.testing.assert_frame_equal(fast, slow)


def test_first_repeat_finds_the_second_occurrence():
    users = np.array([3, 1, 2, 1, 3, 1], dtype=np.int32)
    movies = np.array([5, 5, 5, 7, 5, 5], dtype=np.int32)
    assert first_repeat(users, movies) == 4        # (3, 5) again; (1, 5) again comes later
    assert first_repeat(users[:4], movies[:4]) is None
    assert first_repeat(np.array([1, 1, 2]), np.array([1, 2, 1])) is None     # sorted: one pass
    assert first_repeat(np.array([1, 1]), np.array([2, 2])) == 1
    big = np.array([2**31 - 1, 1]), np.array([1, 2**31 - 1])
    assert first_repeat(*big) is None
