"""Each parser on tiny files in its real format, and the errors bad files get."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.data import get_release, load_dataset
from movierec.data.parsers import parse
from movierec.data.sources import Source
from movierec.errors import DataError
from tests.data import tiny


def parse_folder(tmp_path, name, files=None):
    folder = tiny.write_folder(tmp_path, name, files)
    return parse(Source(get_release(name), folder))


def test_dat_format_ml1m(tmp_path):
    ds = parse_folder(tmp_path, "ml-1m")
    assert list(ds.ratings.columns) == ["user_id", "movie_id", "rating", "timestamp"]
    assert ds.ratings["rating"].tolist() == [5, 3, 4, 1, 2]
    assert ds.ratings["user_id"].dtype == np.int32 and ds.ratings["rating"].dtype == np.float32
    movies = ds.movies.set_index("movie_id")
    assert movies.loc[10, "title"] == "Caf\xe9 Lumi\xe8re (1999)"
    assert movies.loc[10, "year"] == 1999
    assert movies.loc[20, "genres"] == ["Animation", "Children's", "Comedy"]
    users = ds.users.set_index("user_id")
    assert users.loc[1, "occupation"] == "K-12 student" and users.loc[2, "age"] == 56
    assert ds.rating_scale == (1.0, 2.0, 3.0, 4.0, 5.0) and not ds.synthetic


def test_dat_format_ml10m_half_stars_in_its_own_zip_folder(tmp_path):
    (tmp_path / "ml-10m.zip").write_bytes(tiny.release_zip("ml-10m", folder="ml-10M100K"))
    ds = load_dataset("ml-10m", data_dir=tmp_path, allow_download=False)
    assert ds.ratings["rating"].tolist() == [4.5, 5.0, 0.5] and ds.users is None
    movies = ds.movies.set_index("movie_id")
    assert movies.loc[10, "title"] == "Am\u00e9lie (2001)" and movies.loc[30, "genres"] == []


def test_100k_format(tmp_path):
    ds = parse_folder(tmp_path, "ml-100k")
    assert len(ds.ratings) == 5 and ds.ratings["timestamp"].iloc[0] == 881250949
    movies = ds.movies.set_index("movie_id")
    assert movies.loc[10, "title"] == "Mis\xe9rables, Les (1995)"
    assert movies.loc[10, "genres"] == ["Drama", "Musical"]
    assert movies.loc[30, "genres"] == []          # only the "unknown" flag
    assert pd.isna(movies.loc[30, "year"])
    assert ds.users.set_index("user_id").loc[2, "occupation"] == "other"


def test_csv_format_half_stars_and_quoted_titles(tmp_path):
    ds = parse_folder(tmp_path, "ml-latest-small")
    assert ds.ratings["rating"].tolist() == [4.0, 3.5, 0.5, 5.0, 2.5]
    assert ds.rating_scale[0] == 0.5 and len(ds.rating_scale) == 10
    movies = ds.movies.set_index("movie_id")
    assert movies.loc[10, "title"] == "Caf\xe9, The (Le Caf\xe9) (2001)"
    assert movies.loc[10, "year"] == 2001
    assert movies.loc[30, "genres"] == []
    assert ds.users is None


def test_zip_in_data_dir_is_read_without_extracting(tmp_path):
    (tmp_path / "ml-1m.zip").write_bytes(tiny.release_zip("ml-1m"))
    ds = load_dataset("ml-1m", data_dir=tmp_path, allow_download=False)
    assert ds.n_ratings == 5 and ds.source.endswith("!ml-1m/")
    assert not (tmp_path / "ml-1m").exists()


@pytest.mark.parametrize("name, fname, content, message", [
    ("ml-1m", "ratings.dat", "1::10::5::0\n1::20::x::0\n", "ratings.dat line 2: rating is 'x'"),
    ("ml-1m", "ratings.dat", "1::10::5::0\n1::20::7::0\n", "ratings.dat line 2: rating 7"),
    ("ml-1m", "ratings.dat", "1::10::5::0\n1::10::4::0\n", "line 2: user 1 rates movie 10"),
    ("ml-1m", "ratings.dat", "1::10::5::0\n1::20::4::0::9\n", "ratings.dat: Expected 4 fields"),
    ("ml-1m", "ratings.dat", "1,10,5,0\n", "expected 4 fields"),
    ("ml-1m", "ratings.dat", "", "ratings.dat: the file is empty"),
    ("ml-1m", "movies.dat", "10::Only Title\n", "movies.dat line 1: expected 3 movie fields"),
    ("ml-100k", "u.data", "1\t10\t5\n", "u.data"),
    ("ml-latest-small", "ratings.csv", "user,movie,stars\n1,2,3\n", "header is"),
    ("ml-latest-small", "ratings.csv",
     "userId,movieId,rating,timestamp\n1,10,4.0,1\n1,20,4.2,1\n", "ratings.csv line 3: rating 4.2"),
    # wrong separators, missing and extra columns
    ("ml-1m", "ratings.dat", "1\t10\t5\t0\n", "holds tabs; a '::'-separated file"),
    ("ml-latest-small", "ratings.csv", "userId;movieId;rating;timestamp\n1;10;4.0;1\n", "header"),
    ("ml-latest-small", "ratings.csv", "userId,movieId,rating\n1,10,4.0\n", "header"),
    ("ml-latest-small", "ratings.csv",
     "userId,movieId,rating,timestamp\n1,10,4.0,1\n1,20\n", "ratings.csv line 3"),
    ("ml-latest-small", "ratings.csv",
     "userId,movieId,rating,timestamp\n1,10,4.0,1,7\n", "ratings.csv"),
    ("ml-1m", "ratings.dat", "1::10::0::0\n", "rating 0 is not on this release's scale"),
    ("ml-1m", "ratings.dat", "1::-3::4::0\n", "ratings.dat line 1: user and movie ids"),
    ("ml-1m", "ratings.dat", "1::10.5::4::0\n", "ratings.dat line 1: movie_id is '10.5'"),
    ("ml-latest-small", "ratings.csv", "userId,movieId,rating,timestamp\n1,10,,1\n",
     "ratings.csv line 2: the rating field is missing"),
    ("ml-latest-small", "ratings.csv", "userId,movieId,rating,timestamp\n", "no ratings"),
    ("ml-100k", "u.data", "   \n\n", "u.data: the file is empty"),
    ("ml-1m", "movies.dat", "", "movies.dat: the file is empty"),
])
def test_bad_files_name_file_and_line(tmp_path, name, fname, content, message):
    files = tiny.files_for(name)
    files[fname] = content.encode()
    with pytest.raises(DataError, match=None) as info:
        parse_folder(tmp_path, name, files)
    assert message in str(info.value)


@pytest.mark.parametrize("name, fname, data", [
    ("ml-1m", "ratings.dat", "1::10::5::0\n2::20::3::0\n".encode("utf-16")),
    ("ml-1m", "ratings.dat", b"1::10::5::0\n1::2\xe90::3::0\n"),
    ("ml-1m", "ratings.dat", bytes(range(256)) * 4),
    ("ml-100k", "u.data", "1\t10\t5\t0\n".encode("utf-32")),
    ("ml-latest-small", "ratings.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    ("ml-1m", "movies.dat", "10::Caf\xe9 (1999)::Drama\n".encode("utf-16")),
])
def test_wrong_encodings_and_binary_files_are_data_errors(tmp_path, name, fname, data):
    files = tiny.files_for(name)
    files[fname] = data
    with pytest.raises(DataError) as info:
        parse_folder(tmp_path, name, files)
    assert fname in str(info.value)


def test_missing_file_is_named(tmp_path):
    files = tiny.files_for("ml-1m")
    del files["movies.dat"]
    folder = tiny.write_folder(tmp_path, "ml-1m", files)
    with pytest.raises(DataError, match="movies.dat is missing"):
        parse(Source(get_release("ml-1m"), folder))


def test_foreign_zip_in_data_dir_is_refused(tmp_path):
    (tmp_path / "ml-1m.zip").write_bytes(tiny.zip_bytes({"notes/readme.txt": b"hello"}))
    with pytest.raises(DataError, match="does not hold ml-1m"):
        load_dataset("ml-1m", data_dir=tmp_path, allow_download=False)


def test_corrupt_zip_in_data_dir_is_refused(tmp_path):
    (tmp_path / "ml-1m.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(DataError, match="not a readable zip"):
        load_dataset("ml-1m", data_dir=tmp_path, allow_download=False)


def test_unknown_dataset_lists_known_names():
    with pytest.raises(DataError, match="known datasets: ml-100k, ml-1m"):
        load_dataset("ml-2m")
