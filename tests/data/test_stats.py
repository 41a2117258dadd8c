"""The Data page's numbers are computed when the data is parsed and kept with the cache."""

from __future__ import annotations

import pandas as pd
import pytest

from movierec.data import load_dataset, stats
from movierec.data.cache import STATS_FILE
from movierec.data.loader import load_stats
from tests.data.test_custom import write_custom


def test_numbers_are_kept_with_the_parsed_cache(tmp_path, monkeypatch):
    write_custom(tmp_path / "data")
    where = {"data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache"}
    ds = load_dataset("my-ratings", **where)
    kept = list((tmp_path / "cache").glob(f"my-ratings-*/{STATS_FILE}"))
    assert len(kept) == 1
    numbers = load_stats("my-ratings", **where)
    expected = ds.summary()
    assert numbers["summary"]["mean_rating"] == pytest.approx(expected.pop("mean_rating"))
    assert {k: numbers["summary"][k] for k in expected} == expected
    counts = ds.ratings["movie_id"].value_counts()
    top = numbers["top"].set_index("movie_id")["n_ratings"]
    assert top.to_dict() == {m: counts[m] for m in top.index}
    assert int(numbers["stars"]["ratings"].sum()) == ds.n_ratings
    assert numbers["per_user"]["ratings"].iloc[0] == ds.ratings["user_id"].value_counts().max()
    # Read back, not computed again, and the same tables.
    monkeypatch.setattr(stats, "dataset_stats", lambda d: pytest.fail("computed again"))
    again = load_stats("my-ratings", **where)
    for table in stats.TABLES:
        pd.testing.assert_frame_equal(again[table], numbers[table], check_dtype=False)


def test_a_cache_entry_without_numbers_gets_them(tmp_path):
    write_custom(tmp_path / "data")
    where = {"data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache"}
    load_dataset("my-ratings", **where)
    (kept,) = (tmp_path / "cache").glob(f"my-ratings-*/{STATS_FILE}")
    kept.unlink()   # as an entry written before the numbers were kept
    assert load_stats("my-ratings", **where)["summary"]["ratings"] == 5
    assert kept.is_file()


def test_the_demo_set_is_counted_each_time(tmp_path):
    numbers = load_stats("demo", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    assert numbers["summary"]["synthetic"] and numbers["summary"]["ratings"] > 90_000
    assert not (tmp_path / "cache").exists()
