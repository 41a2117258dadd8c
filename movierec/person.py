"""A person's own ratings as a CSV file (``movie_id,rating``, other columns ignored): the
Recommend page's export/import and ``recommend --ratings-file`` read it the same way; and many
people's ratings in one file (``person,movie_id,rating``) for ``recommend --people``."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping

from movierec.errors import DataError

# A person rates a few hundred movies; a file far larger than that is not a ratings export.
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
# A file of many people: up to 100,000 people's handfuls of ratings.
MAX_PEOPLE_BYTES = 64 * 1024 * 1024
MAX_PEOPLE_ROWS = 1_000_000


def _listed(words: tuple[str, ...]) -> str:
    return ", ".join(words[:-1]) + f" and {words[-1]}" if len(words) > 1 else words[0]


def _csv_rows(data: bytes, name: str, columns: tuple[str, ...], max_bytes: int, max_rows: int):
    """``(line number, {column: text})`` for each non-blank row of a UTF-8 CSV that has
    ``columns`` in its header (other columns are ignored)."""
    if len(data) > max_bytes:
        raise DataError(f"{name} is {len(data) / 1e6:.1f} MB; a ratings file is at most "
                        f"{max_bytes / 1e6:.0f} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{name} is not a UTF-8 text file") from None
    if "\x00" in text:
        raise DataError(f"{name} is not a text file")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = [f.strip() for f in reader.fieldnames or []]
    if not set(columns) <= set(fields):
        raise DataError(f"{name}: expected a CSV header with {_listed(columns)}, found "
                        f"{', '.join(fields) or 'nothing'}")
    reader.fieldnames = fields
    n_rows = 0
    try:
        for row in reader:
            values = {c: (row.get(c) or "").strip() for c in columns}
            if not any(values.values()):
                continue
            n_rows += 1
            if n_rows > max_rows:
                raise DataError(f"{name}: more than {max_rows:,} ratings; is this a ratings "
                                "export?")
            yield reader.line_num, values            # the file's line (blank lines count)
    except csv.Error as exc:
        raise DataError(f"{name} line {reader.line_num}: {exc}") from None


def _rating(name: str, number: int, movie: str, stars: str,
            scale: tuple[float, ...] | None) -> tuple[int, float]:
    try:
        movie_id, value = int(movie), float(stars)
    except ValueError:
        raise DataError(f"{name} line {number}: movie_id must be a whole number and rating a "
                        f"number, got {movie!r} and {stars!r}") from None
    if not math.isfinite(value) or (scale is not None and value not in scale):
        allowed = (f" (allowed: {scale[0]:g} to {scale[-1]:g} in steps of "
                   f"{scale[1] - scale[0]:g})") if scale else ""
        raise DataError(f"{name} line {number}: rating {stars} is not on the scale{allowed}")
    return movie_id, value


def read_person_ratings(data: bytes, name: str, scale: tuple[float, ...] | None = None) \
        -> dict[int, float]:
    """``{movie_id: stars}`` from the bytes of a ratings CSV called ``name``.

    Args:
        scale: the star values allowed (a run's ``rating_scale``); None checks only that the
            stars are finite numbers.
    Raises:
        DataError: naming the file and, where it can, the line: too large, not UTF-8 text, no
            ``movie_id``/``rating`` header, a bad number, a star off the scale, a movie rated
            twice, or no rating at all.
    """
    rated: dict[int, float] = {}
    for number, row in _csv_rows(data, name, ("movie_id", "rating"), MAX_BYTES, MAX_ROWS):
        movie_id, value = _rating(name, number, row["movie_id"], row["rating"], scale)
        if movie_id in rated:
            raise DataError(f"{name} line {number}: movie {movie_id} is rated a second time")
        rated[movie_id] = value
    if not rated:
        raise DataError(f"{name} holds no ratings")
    return rated


def read_people_ratings(data: bytes, name: str, scale: tuple[float, ...] | None = None) \
        -> dict[str, dict[int, float]]:
    """``{person: {movie_id: stars}}`` from a CSV with columns ``person,movie_id,rating``,
    people in the order they first appear (``person`` is any label).

    Raises:
        DataError: as :func:`read_person_ratings` (a movie rated twice by the same person, a
            row without a person), naming the file and line.
    """
    people: dict[str, dict[int, float]] = {}
    for number, row in _csv_rows(data, name, ("person", "movie_id", "rating"),
                                 MAX_PEOPLE_BYTES, MAX_PEOPLE_ROWS):
        person = row["person"]
        if not person:
            raise DataError(f"{name} line {number}: the person is missing")
        movie_id, value = _rating(name, number, row["movie_id"], row["rating"], scale)
        rated = people.setdefault(person, {})
        if movie_id in rated:
            raise DataError(f"{name} line {number}: person {person} rates movie {movie_id} a "
                            "second time")
        rated[movie_id] = value
    if not people:
        raise DataError(f"{name} holds no ratings")
    return people


def write_person_ratings(rated: Mapping[int, float], titles: Mapping[int, str]) -> str:
    """CSV text ``movie_id,title,rating`` that :func:`read_person_ratings` reads back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["movie_id", "title", "rating"])
    for movie_id, stars in rated.items():
        writer.writerow([movie_id, titles.get(movie_id, ""), f"{stars:g}"])
    return out.getvalue()
