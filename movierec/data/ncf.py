"""The NCF paper's published test files (He et al., "Neural Collaborative Filtering", WWW
2017), read strictly: ``test.rating`` (each user's held-out rating: the ``ncf`` split tests on
exactly those) and ``test.negative`` (that movie and the 99 it is ranked among). Measuring a run
on them is :mod:`movierec.evaluation.ncf`'s."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.data.candidates import Candidates
from movierec.errors import ConfigError
from movierec.interactions import IdMap

_ZERO_BASED = ("ids start at 1 in MovieLens; a 0 suggests the 0-based numbers of the original "
               "NCF files: use the copy mapped to MovieLens ids (see ncf-ml-1m/README.md)")


@dataclass(frozen=True, eq=False)
class NcfTest:
    """A ``test.negative`` file: per line a user, their held-out movie and its negatives.

    Attributes:
        user_ids: ``(n,)`` MovieLens user ids, one per line, each once.
        positives: ``(n,)`` the held-out movie ids.
        negatives: ``(n, c)`` the movie ids each held-out movie is ranked among.
        path: the file read.
    """

    user_ids: np.ndarray
    positives: np.ndarray
    negatives: np.ndarray
    path: str

    def __len__(self) -> int:
        return len(self.user_ids)

    def movie_ids(self) -> np.ndarray:
        """``(n, 1 + c)`` candidate movie ids: column 0 the held-out movie, then its
        negatives."""
        return np.column_stack([self.positives, self.negatives])


def _lines(path: str | os.PathLike) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines of a UTF-8 text file.

    Raises:
        ConfigError: unreadable, empty, binary or not UTF-8, naming the file (and the line).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\x00" in data or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError(f"{path}: not a text file (it holds NUL bytes: binary or UTF-16 "
                          "data?); expected lines of numbers")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path} line {line}: not UTF-8 text (byte {data[exc.start]:#04x}); "
                          "expected lines of numbers") from None
    lines = [(number, line) for number, line in enumerate(text.split("\n"), start=1)
             if line.strip()]
    if not lines:
        raise ConfigError(f"{path}: the file is empty")
    return lines


def _numbers(path, numbers: list[int], rows: list[list[str]], names: tuple[str, ...],
             dtype) -> np.ndarray:
    """``rows`` (all as wide as ``names``) as one ``(n, width)`` array of ``dtype``; a
    ConfigError naming the line and field of the first value that is not one."""
    try:
        return np.array(list(itertools.chain.from_iterable(rows)), dtype=dtype) \
            .reshape(len(rows), len(names))
    except (ValueError, OverflowError):
        pass
    what = "a whole number" if np.dtype(dtype).kind == "i" else "a number"
    for number, row in zip(numbers, rows, strict=True):
        for name, value in zip(names, row, strict=True):
            try:
                np.array(value, dtype=dtype)
            except (ValueError, OverflowError):
                raise ConfigError(f"{path} line {number}: {name} is {value[:40]!r}, not "
                                  f"{what}") from None
    raise ConfigError(f"{path}: could not read the numbers")


def _check_ids(path, numbers: list[int], ids: np.ndarray, names: tuple[str, ...]) -> None:
    bad = ids <= 0
    if bad.any():
        row, col = np.argwhere(bad)[0]
        zero = " (" + _ZERO_BASED + ")" if ids[row, col] == 0 else ""
        raise ConfigError(f"{path} line {numbers[row]}: {names[col]} is {ids[row, col]}; ids "
                          f"must be positive{zero}")


def read_test_negative(path: str | os.PathLike) -> NcfTest:
    """Read a ``test.negative`` file: per line, tab-separated, a MovieLens user id, that user's
    held-out movie id and the movie ids it is ranked among (99 in the paper), every line with
    as many; blank lines are skipped.

    Raises:
        ConfigError: the file is missing, unreadable, empty, not UTF-8 text, in the original
            NCF repository's 0-based layout (``(0,25)``), or a line is short, wider or narrower
            than the first, holds something other than positive whole numbers, or lists a user
            a second time; the message names the file and the line.
    """
    lines = _lines(path)
    first_number, first = lines[0]
    if first.split()[0].startswith("("):
        raise ConfigError(f"{path} line {first_number}: starts with {first.split()[0]!r}, the "
                          "original NCF repository's layout in 0-based NCF numbers, not "
                          "MovieLens ids; use the copy mapped to MovieLens ids "
                          "(ncf-ml-1m/test.negative, see its README.md)")
    numbers = [number for number, _ in lines]
    rows = [line.split() for _, line in lines]
    widths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    short = np.flatnonzero(widths < 3)
    if len(short):
        row = int(short[0])
        raise ConfigError(f"{path} line {numbers[row]}: expected a user id, the held-out movie "
                          f"id and at least one negative movie id separated by tabs, found "
                          f"{widths[row]} field(s)")
    uneven = np.flatnonzero(widths != widths[0])
    if len(uneven):
        row = int(uneven[0])
        raise ConfigError(f"{path} line {numbers[row]}: lists {widths[row] - 2} negative "
                          f"movies but line {numbers[0]} lists {widths[0] - 2}; every line "
                          "must list as many")
    names = ("the user id", "the held-out movie id") + \
        tuple(f"negative {i}" for i in range(1, widths[0] - 1))
    ids = _numbers(path, numbers, rows, names, np.int64)
    _check_ids(path, numbers, ids, names)
    _, first_row, counts = np.unique(ids[:, 0], return_index=True, return_counts=True)
    if (counts > 1).any():
        again = np.setdiff1d(np.arange(len(ids)), first_row)[0]
        before = int(np.flatnonzero(ids[:, 0] == ids[again, 0])[0])
        raise ConfigError(f"{path} line {numbers[again]}: user {ids[again, 0]} is listed a "
                          f"second time (first on line {numbers[before]})")
    return NcfTest(ids[:, 0].copy(), ids[:, 1].copy(), ids[:, 2:].copy(), str(path))


def read_test_rating(path: str | os.PathLike) -> pd.DataFrame:
    """Read a ``test.rating`` file: per line ``UserID::MovieID::Rating::Timestamp`` (tabs
    between the fields work too); blank lines are skipped.

    Returns:
        ``user_id``, ``movie_id``, ``timestamp`` (int64) and ``rating`` (float32) columns.
    Raises:
        ConfigError: the file is missing, unreadable, empty or not UTF-8 text, or a line does
            not hold 4 fields, holds an id that is not a positive whole number or a rating
            that is not a number, or repeats a (user, movie) pair; naming the file and line.
    """
    lines = _lines(path)
    numbers = [number for number, _ in lines]
    rows = [line.replace("::", "\t").split() for _, line in lines]
    for number, row in zip(numbers, rows, strict=True):
        if len(row) != 4:
            raise ConfigError(f"{path} line {number}: expected 4 fields (user, movie, rating, "
                              f"timestamp) separated by '::' or tabs, found {len(row)}")
    ids = _numbers(path, numbers, [[r[0], r[1], r[3]] for r in rows],
                   ("the user id", "the movie id", "the timestamp"), np.int64)
    _check_ids(path, numbers, ids[:, :2], ("the user id", "the movie id"))
    rating = _numbers(path, numbers, [[r[2]] for r in rows], ("the rating",), np.float64)[:, 0]
    if not np.isfinite(rating).all():
        row = int(np.flatnonzero(~np.isfinite(rating))[0])
        raise ConfigError(f"{path} line {numbers[row]}: the rating is {rows[row][2]!r}, not a "
                          "number")
    frame = pd.DataFrame({"user_id": ids[:, 0], "movie_id": ids[:, 1],
                          "rating": rating.astype(np.float32), "timestamp": ids[:, 2]})
    repeated = frame.duplicated(["user_id", "movie_id"]).to_numpy()
    if repeated.any():
        row = int(np.flatnonzero(repeated)[0])
        user, movie = int(ids[row, 0]), int(ids[row, 1])
        before = int(np.flatnonzero((ids[:, 0] == user) & (ids[:, 1] == movie))[0])
        raise ConfigError(f"{path} line {numbers[row]}: user {user} rates movie {movie} a "
                          f"second time (first on line {numbers[before]})")
    return frame


def ncf_candidates(test: NcfTest, user_ids: IdMap, item_ids: IdMap) \
        -> tuple[Candidates, np.ndarray]:
    """The candidates of the users of ``test`` that ``user_ids`` knows, as table positions.

    Returns:
        (candidates, known): the candidates of the known users, in file order, and which
        lines of ``test`` those are (a boolean mask).
    """
    user_idx, known = user_ids.lookup(test.user_ids)
    return Candidates.from_movie_ids(user_idx[known], test.movie_ids()[known], item_ids), known
