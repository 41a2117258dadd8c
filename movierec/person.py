"""A person's own ratings as a CSV file (``movie_id,rating``, other columns ignored): the
Recommend page's export/import and ``recommend --ratings-file`` read it the same way."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping

from movierec.errors import DataError

# A person rates a few hundred movies; a file far larger than that is not a ratings export.
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000


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
    if len(data) > MAX_BYTES:
        raise DataError(f"{name} is {len(data) / 1e6:.1f} MB; a ratings file is at most "
                        f"{MAX_BYTES / 1e6:.0f} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{name} is not a UTF-8 text file") from None
    if "\x00" in text:
        raise DataError(f"{name} is not a text file")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = [f.strip() for f in reader.fieldnames or []]
    if not {"movie_id", "rating"} <= set(fields):
        raise DataError(f"{name}: expected a CSV header with movie_id and rating, found "
                        f"{', '.join(fields) or 'nothing'}")
    reader.fieldnames = fields
    rated: dict[int, float] = {}
    try:
        for row in reader:
            number = reader.line_num              # the file's line (blank lines count)
            if len(rated) >= MAX_ROWS:
                raise DataError(f"{name}: more than {MAX_ROWS:,} ratings; is this a ratings "
                                "export?")
            movie, stars = (row.get("movie_id") or "").strip(), (row.get("rating") or "").strip()
            if not movie and not stars:
                continue
            try:
                movie_id, value = int(movie), float(stars)
            except ValueError:
                raise DataError(f"{name} line {number}: movie_id must be a whole number and "
                                f"rating a number, got {movie!r} and {stars!r}") from None
            if not math.isfinite(value) or (scale is not None and value not in scale):
                allowed = (f" (allowed: {scale[0]:g} to {scale[-1]:g} in steps of "
                           f"{scale[1] - scale[0]:g})") if scale else ""
                raise DataError(f"{name} line {number}: rating {stars} is not on the "
                                f"scale{allowed}")
            if movie_id in rated:
                raise DataError(f"{name} line {number}: movie {movie_id} is rated a second "
                                "time")
            rated[movie_id] = value
    except csv.Error as exc:
        raise DataError(f"{name} line {reader.line_num}: {exc}") from None
    if not rated:
        raise DataError(f"{name} holds no ratings")
    return rated


def write_person_ratings(rated: Mapping[int, float], titles: Mapping[int, str]) -> str:
    """CSV text ``movie_id,title,rating`` that :func:`read_person_ratings` reads back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["movie_id", "title", "rating"])
    for movie_id, stars in rated.items():
        writer.writerow([movie_id, titles.get(movie_id, ""), f"{stars:g}"])
    return out.getvalue()
