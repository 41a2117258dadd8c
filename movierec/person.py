"""A person's own ratings as a CSV file (``movie_id,rating``, other columns ignored): the
Recommend page's export/import and ``recommend --ratings-file`` read it the same way; and many
people's answers in one file (``person,movie_id,rating``, an empty rating for a movie shown and
skipped) for ``recommend --people`` and ``starters --people``."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Answers:
    """One person's answers: ``rated`` (``{movie_id: stars}``) and ``skipped`` (movie ids they
    were shown and did not rate, in file order)."""

    rated: dict[int, float] = field(default_factory=dict)
    skipped: tuple[int, ...] = ()


def read_people(data: bytes, name: str, scale: tuple[float, ...] | None = None) \
        -> dict[str, Answers]:
    """``{person: Answers}`` from a CSV with columns ``person,movie_id,rating``, people in the
    order they first appear (``person`` is any label). A row with an empty rating is a movie
    the person was shown and skipped; a row with an empty movie_id (and rating) only names the
    person, who then has no answers yet.

    Raises:
        DataError: as :func:`read_person_ratings` (a movie rated or skipped twice by the same
            person, a row without a person, a rating without a movie), naming the file and
            line.
    """
    people: dict[str, tuple[dict[int, float], list[int]]] = {}
    for number, row in _csv_rows(data, name, ("person", "movie_id", "rating"),
                                 MAX_PEOPLE_BYTES, MAX_PEOPLE_ROWS):
        person, movie, stars = row["person"], row["movie_id"], row["rating"]
        if not person:
            raise DataError(f"{name} line {number}: the person is missing")
        rated, skipped = people.setdefault(person, ({}, []))
        if not movie:
            if stars:
                raise DataError(f"{name} line {number}: rating {stars} has no movie_id")
            continue
        if not stars:
            try:
                movie_id = int(movie)
            except ValueError:
                raise DataError(f"{name} line {number}: movie_id must be a whole number, got "
                                f"{movie!r}") from None
            value = None
        else:
            movie_id, value = _rating(name, number, movie, stars, scale)
        if movie_id in rated or movie_id in skipped:
            raise DataError(f"{name} line {number}: person {person} has movie {movie_id} a "
                            "second time")
        if value is None:
            skipped.append(movie_id)
        else:
            rated[movie_id] = value
    if not people:
        raise DataError(f"{name} holds no people")
    return {person: Answers(rated, tuple(skipped)) for person, (rated, skipped) in
            people.items()}


def write_people(people: Mapping[str, Answers]) -> str:
    """CSV text ``person,movie_id,rating`` that :func:`read_people` reads back (skips with an
    empty rating, a person without answers as one row with only their name)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["person", "movie_id", "rating"])
    for person, answers in people.items():
        if not answers.rated and not answers.skipped:
            writer.writerow([person, "", ""])
        for movie_id, stars in answers.rated.items():
            writer.writerow([person, movie_id, f"{stars:g}"])
        for movie_id in answers.skipped:
            writer.writerow([person, movie_id, ""])
    return out.getvalue()


def write_person_ratings(rated: Mapping[int, float], titles: Mapping[int, str]) -> str:
    """CSV text ``movie_id,title,rating`` that :func:`read_person_ratings` reads back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["movie_id", "title", "rating"])
    for movie_id, stars in rated.items():
        writer.writerow([movie_id, titles.get(movie_id, ""), f"{stars:g}"])
    return out.getvalue()
