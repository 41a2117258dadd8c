"""Parse once, reload from the parquet cache; the cache follows the source files and never
lives next to them. The checks watch the loader's own calls (which parse ran, what the cache
gave back) and the data folder's listing, so that they hold as root too (CI), where chmod does
not stop a write."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from movierec.data import load_dataset
from movierec.data import loader as loader_module
from tests.data import tiny


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path in ``folder`` (itself included) with its size and modification time: any
    file written, changed, added or removed there shows."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in [folder, *folder.rglob("*")]}


def _spy_on_the_loader(monkeypatch, parse_allowed: bool = True) -> dict[str, list]:
    """Record the loader's calls: the parses it makes and what each cache read gave back
    (None for a miss). With ``parse_allowed`` False a parse fails the test."""
    calls: dict[str, list] = {"parse": [], "cache": []}
    real_parse, real_load_cached = loader_module.parse, loader_module.load_cached

    def parse(source):
        calls["parse"].append(source)
        assert parse_allowed, f"parsed {source} again instead of reading the cache"
        return real_parse(source)

    def load_cached(source, cache_dir):
        found = real_load_cached(source, cache_dir)
        calls["cache"].append(found)
        return found

    monkeypatch.setattr(loader_module, "parse", parse)
    monkeypatch.setattr(loader_module, "load_cached", load_cached)
    return calls


def _assert_same_data(a, b) -> None:
    pd.testing.assert_frame_equal(a.ratings, b.ratings)
    pd.testing.assert_frame_equal(a.movies, b.movies)
    if a.users is None:
        assert b.users is None
    else:
        pd.testing.assert_frame_equal(a.users, b.users)


def test_second_load_comes_from_cache(tmp_path, monkeypatch):
    tiny.write_folder(tmp_path / "data", "ml-1m")
    spied = _spy_on_the_loader(monkeypatch)
    first = load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    # the functions watched are the ones the loader uses: a miss, then one parse
    assert len(spied["parse"]) == 1 and spied["cache"] == [None]
    spied = _spy_on_the_loader(monkeypatch, parse_allowed=False)
    second = load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    assert spied["parse"] == [] and len(spied["cache"]) == 1 and spied["cache"][0] is second
    _assert_same_data(first, second)
    assert second.movies["genres"].iloc[1] == ["Animation", "Children's", "Comedy"]
    assert {p.name for p in (tmp_path / "data" / "ml-1m").iterdir()} == \
        {"ratings.dat", "movies.dat", "users.dat"}
    assert list((tmp_path / "cache").glob("ml-1m-*/ratings.parquet"))


def test_changed_source_is_parsed_again(tmp_path, monkeypatch):
    folder = tiny.write_folder(tmp_path / "data", "ml-1m")
    load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    ratings = folder / "ratings.dat"
    ratings.write_bytes(ratings.read_bytes() + b"3::30::4::0\n")
    os.utime(ratings, ns=(1, 1))
    spied = _spy_on_the_loader(monkeypatch)
    again = load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    assert spied["cache"] == [None] and len(spied["parse"]) == 1
    assert again.n_ratings == 6
    assert len(list((tmp_path / "cache").glob("ml-1m-*"))) == 1   # the stale entry went


def test_read_only_data_dir_and_damaged_cache(tmp_path, monkeypatch):
    data = tmp_path / "data"
    folder = tiny.write_folder(data, "ml-100k")
    # Read-only for a user; root writes anyway, so the listing is what shows nothing is written.
    for path in [folder, *folder.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    untouched = _listing(data)
    try:
        first = load_dataset("ml-100k", data_dir=data, cache_dir=tmp_path / "cache")
        assert _listing(data) == untouched
        damaged = list((tmp_path / "cache").rglob("ratings.parquet"))
        assert len(damaged) == 1                       # the cache is in the cache dir
        damaged[0].write_bytes(b"garbage")
        spied = _spy_on_the_loader(monkeypatch)
        second = load_dataset("ml-100k", data_dir=data, cache_dir=tmp_path / "cache")
        assert spied["cache"] == [None] and len(spied["parse"]) == 1   # parsed again
        _assert_same_data(first, second)
        # the entry written again is whole: the next load reads it and parses nothing
        spied = _spy_on_the_loader(monkeypatch, parse_allowed=False)
        third = load_dataset("ml-100k", data_dir=data, cache_dir=tmp_path / "cache")
        assert spied["parse"] == [] and len(spied["cache"]) == 1 and spied["cache"][0] is third
        _assert_same_data(first, third)
        assert _listing(data) == untouched
    finally:
        for path in [folder, *folder.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_unwritable_cache_dir_still_loads(tmp_path):
    tiny.write_folder(tmp_path / "data", "ml-1m")
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("not a folder")
    ds = load_dataset("ml-1m", data_dir=tmp_path / "data", cache_dir=blocker)
    assert ds.n_ratings == 5
    assert blocker.read_text() == "not a folder"
