"""Parse once, reload from the parquet cache; the cache follows the source files and never
lives next to them."""

from __future__ import annotations

import os

import pandas as pd

from movierec.data import load_dataset
from movierec.data import loader as loader_module
from tests.data import tiny


def test_second_load_comes_from_cache(tmp_path, monkeypatch):
    tiny.write_folder(tmp_path / "data", "ml-1m")
    first = load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    calls = []
    monkeypatch.setattr(loader_module, "parse", lambda source: calls.append(source))
    second = load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    assert calls == []
    pd.testing.assert_frame_equal(first.ratings, second.ratings)
    pd.testing.assert_frame_equal(first.movies, second.movies)
    pd.testing.assert_frame_equal(first.users, second.users)
    assert second.movies["genres"].iloc[1] == ["Animation", "Children's", "Comedy"]
    assert list((tmp_path / "data" / "ml-1m").iterdir()) != []
    assert {p.name for p in (tmp_path / "data" / "ml-1m").iterdir()} == \
        {"ratings.dat", "movies.dat", "users.dat"}


def test_changed_source_is_parsed_again(tmp_path):
    folder = tiny.write_folder(tmp_path / "data", "ml-1m")
    load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    ratings = folder / "ratings.dat"
    ratings.write_bytes(ratings.read_bytes() + b"3::30::4::0\n")
    os.utime(ratings, ns=(1, 1))
    again = load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    assert again.n_ratings == 6
    assert len(list((tmp_path / "cache").glob("ml-1m-*"))) == 1   # the stale entry went


def test_read_only_data_dir_and_damaged_cache(tmp_path):
    folder = tiny.write_folder(tmp_path / "data", "ml-100k")
    for path in [folder, *folder.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        first = load_dataset("ml-100k", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
        for parquet in (tmp_path / "cache").rglob("ratings.parquet"):
            parquet.write_bytes(b"garbage")
        second = load_dataset("ml-100k", data_dir=tmp_path / "data",
                              cache_dir=tmp_path / "cache")
        pd.testing.assert_frame_equal(first.ratings, second.ratings)
    finally:
        for path in [folder, *folder.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_unwritable_cache_dir_still_loads(tmp_path):
    tiny.write_folder(tmp_path / "data", "ml-1m")
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("not a folder")
    ds = load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=blocker)
    assert ds.n_ratings == 5
