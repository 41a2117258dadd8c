"""The NCF paper's exact test: its files parsed (and refused with a clear message), HR@10 and
NDCG@10 by hand, its merging and unknown-id rules, and the published ml-1m test."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.config import DataConfig
from movierec.data import load_dataset
from movierec.data.ncf import read_test_negative, read_test_rating
from movierec.errors import ConfigError
from movierec.evaluation import ncf
from movierec.evaluation.ncf import ncf_metrics
from movierec.interactions import IdMap
from movierec.split import make_split
from tests.conftest import SHARED_DATA, requires_ncf_data

USERS = IdMap(np.array([1, 2, 3, 4]), "user")
MOVIES = IdMap(np.array([10, 20, 30, 40, 50]), "movie")
# Each user's score of each movie (rows: user positions; columns: movie positions).
SCORES = np.array([
    [5.0, 4.0, 3.0, 2.0, 1.0],
    [1.0, 1.0, 0.0, 0.0, 0.0],
    [9.0, 0.0, 3.0, 0.0, 0.0],
    [1.0, 1.0, 1.0, 1.0, 1.0],
])
TOY = "\n".join([
    "1\t20\t10\t30\t40",   # 10 above: rank 1
    "2\t10\t10\t20\t20",   # 10 repeated and 20 twice merge: one tie, rank 0.5 (not 1.5)
    "3\t30\t99\t20\t40",   # 99 is unknown, so below (its stand-in position 0 scores 9): rank 0
    "4\t77\t10\t20\t30",   # the held-out movie 77 is unknown: a miss
    "5\t10\t20\t30\t40",   # user 5 is unknown: a miss
]) + "\n"


def toy_score(users: np.ndarray, items: np.ndarray) -> np.ndarray:
    return SCORES[users[:, None], items]


def test_metrics_by_hand(tmp_path):
    path = tmp_path / "test.negative"
    path.write_text(TOY)
    test = read_test_negative(path)
    assert test.user_ids.tolist() == [1, 2, 3, 4, 5] and test.negatives.shape == (5, 3)
    assert test.positives.tolist() == [20, 10, 30, 77, 10] and test.path == str(path)
    result = ncf_metrics(test, USERS, MOVIES, toy_score, k=2)
    assert result["hr2"] == pytest.approx(3 / 5)
    assert result["ndcg2"] == pytest.approx((1 / np.log2(3) + 1 + 1) / 5)
    assert (result["n_users"], result["unknown_users"], result["unknown_movies"],
            result["merged"]) == (5, 1, 2, 1)
    # k = 1: rank 1 is a miss, rank 0.5 a hit
    assert ncf_metrics(test, USERS, MOVIES, toy_score, k=1)["hr1"] == pytest.approx(2 / 5)
    assert set(ncf_metrics(test, USERS, MOVIES, toy_score)) == {
        "hr10", "ndcg10", "n_users", "unknown_users", "unknown_movies", "merged"}


def test_scores_in_chunks_of_known_users(tmp_path, monkeypatch):
    path = tmp_path / "test.negative"
    path.write_text(TOY)
    test = read_test_negative(path)
    whole = ncf_metrics(test, USERS, MOVIES, toy_score, k=2)
    calls = []

    def recorded(users, items):
        calls.append((users.tolist(), items.shape))
        return toy_score(users, items)

    monkeypatch.setattr(ncf, "CHUNK_USERS", 3)
    assert ncf_metrics(test, USERS, MOVIES, recorded, k=2) == whole
    assert calls == [([0, 1, 2], (3, 4)), ([3], (1, 4))]   # user 5 is never scored


def test_no_known_user_scores_nothing(tmp_path):
    path = tmp_path / "test.negative"
    path.write_text("7\t10\t20\n8\t10\t20\n")
    result = ncf_metrics(read_test_negative(path), USERS, MOVIES, toy_score)
    assert result["hr10"] == 0.0 and result["unknown_users"] == 2


@pytest.mark.parametrize("content, fragments", [
    (b"", ["the file is empty"]),
    (b"\n  \n\n", ["the file is empty"]),
    (b"1\t10\t20\x00\n", ["not a text file"]),
    ("1\t10\t20\n".encode("utf-16"), ["not a text file"]),
    (b"1\t10\t20\n2\t1\xe90\t30\n", ["line 2", "not UTF-8"]),
    (b"1\t10\n", ["line 1", "at least one negative", "found 2"]),
    (b"1\t10\t20\t30\n\n2\t10\t20\n", ["line 3", "lists 1 negative", "line 1 lists 2"]),
    (b"1\t10\t20\t30\n2\t10\t20\t30\t40\n", ["line 2", "lists 3", "line 1 lists 2"]),
    (b"1\t10\t2x\n", ["line 1", "negative 1 is '2x'", "whole number"]),
    (b"1\t10\t20\n1.5\t10\t20\n", ["line 2", "the user id is '1.5'"]),
    (b"1\t10\t20\n2\t10\t20\n1\t30\t20\n", ["line 3", "user 1", "first on line 1"]),
    (b"(0,25)\t1064\t174\n", ["line 1", "original NCF", "0-based", "ncf-ml-1m/test.negative"]),
    (b"0\t10\t20\n", ["line 1", "the user id is 0", "0-based"]),
    (b"1\t10\t-20\n", ["line 1", "negative 1 is -20", "positive"]),
    (b"1\t10\t99999999999999999999\n", ["line 1", "negative 1", "whole number"]),
])
def test_test_negative_errors_name_the_file_and_line(tmp_path, content, fragments):
    path = tmp_path / "test.negative"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        read_test_negative(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_or_unreadable_files(tmp_path):
    for reader in (read_test_negative, read_test_rating):
        with pytest.raises(ConfigError, match="cannot read .*nowhere.*No such file"):
            reader(tmp_path / "nowhere")
        with pytest.raises(ConfigError, match="cannot read"):
            reader(tmp_path)


def test_test_rating_reads_both_separators(tmp_path):
    path = tmp_path / "test.rating"
    path.write_text("1::48::5::978824351\n\n2\t1917\t3.5\t978300174\r\n")
    frame = read_test_rating(path)
    assert list(frame.columns) == ["user_id", "movie_id", "rating", "timestamp"]
    assert frame["user_id"].tolist() == [1, 2] and frame["movie_id"].tolist() == [48, 1917]
    assert frame["rating"].tolist() == [5.0, 3.5]
    assert frame["timestamp"].tolist() == [978824351, 978300174]


@pytest.mark.parametrize("content, fragments", [
    (b"", ["the file is empty"]),
    (b"\x00\x01", ["not a text file"]),
    (b"1::10::5::0\n1::10::5\n", ["line 2", "expected 4 fields", "found 3"]),
    (b"1::x::5::0\n", ["line 1", "the movie id is 'x'"]),
    (b"1::10::five::0\n", ["line 1", "the rating is 'five'", "not a number"]),
    (b"1::10::nan::0\n", ["line 1", "the rating is 'nan'"]),
    (b"1::10::5::later\n", ["line 1", "the timestamp is 'later'"]),
    (b"0::25::5::978824330\n", ["line 1", "the user id is 0", "0-based"]),
    (b"1::10::5::0\n2::10::4::0\n1::10::3::0\n", ["line 3", "user 1 rates movie 10 a second",
                                                  "first on line 1"]),
])
def test_test_rating_errors_name_the_file_and_line(tmp_path, content, fragments):
    path = tmp_path / "test.rating"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        read_test_rating(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_a_full_size_file_is_read_exactly(tmp_path):
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 4000, (6040, 101))
    ids[:, 0] = np.arange(1, 6041)
    path = tmp_path / "test.negative"
    path.write_text("\n".join("\t".join(map(str, row)) for row in ids) + "\n")
    test = read_test_negative(path)   # its speed is in benchmarks/topn.py's evaluate s
    assert (test.negatives == ids[:, 2:]).all() and (test.positives == ids[:, 1]).all()


@requires_ncf_data
def test_the_published_ml1m_test(tmp_path):
    """The shared copy: the paper's split has 994,169 training ratings; ranking by training
    popularity scores HR@10 0.453 and NDCG@10 0.254 on the published candidates."""
    folder = SHARED_DATA / "ncf-ml-1m"
    test = read_test_negative(folder / "test.negative")
    assert len(test) == 6_040 and test.negatives.shape == (6_040, 99)
    dataset = load_dataset("ml-1m", data_dir=SHARED_DATA, cache_dir=tmp_path,
                           allow_download=False)
    data = make_split(dataset, DataConfig("ml-1m", split="ncf",
                                          holdout=str(folder / "test.rating")))
    assert (len(data.train), len(data.validation)) == (994_169, 6_040)
    assert data.candidates.item_idx.shape == (6_040, 100)
    assert (~data.candidates.valid).sum() == 156      # the repeats of the held-out movie
    popularity = data.train.item_counts().astype(np.float64)
    result = ncf_metrics(test, data.train.user_ids, data.train.item_ids,
                         lambda users, items: popularity[items])
    assert result["merged"] == 156 and result["n_users"] == 6_040
    assert result["unknown_users"] == result["unknown_movies"] == 0
    assert result["hr10"] == pytest.approx(0.453, abs=0.005)
    assert result["ndcg10"] == pytest.approx(0.254, abs=0.005)
