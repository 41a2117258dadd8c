"""One parser per MovieLens file format, each returning the common :class:`Dataset` tables.

Formats: ``dat`` (``::``-separated, ml-1m and ml-10m), ``100k`` (tab-separated ``u.data`` with
``|``-separated ``u.item``/``u.user``) and ``csv`` (the comma releases with a header line, and
custom folders). Errors name the file and, where one is to blame, the line.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from movierec.data.catalog import Release
from movierec.data.dataset import RATING_COLUMNS, Dataset, split_genres, year_from_title
from movierec.data.sources import Source
from movierec.errors import DataError

# ML-1M's users.dat codes occupations as numbers (its README lists them).
ML1M_OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)
_RATING_DTYPES = {0: np.int64, 1: np.int64, 2: np.float64, 3: np.int64}
_ARROW_RATING_TYPES = {"user_id": pa.int32(), "movie_id": pa.int32(), "rating": pa.float32(),
                       "timestamp": pa.int64()}
CSV_RATINGS_HEADER = "userId,movieId,rating,timestamp"
CSV_MOVIES_HEADER = ["movieId", "title", "genres"]


def decode(data: bytes, fname: str) -> str:
    """Text of the MovieLens file ``fname``: UTF-8 where it is valid, else latin-1 (ml-1m,
    ml-100k); a DataError for UTF-16 or binary data."""
    check_text(data, fname)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _text(source: Source, fname: str) -> str:
    return decode(source.read(fname), fname)


def check_text(data: bytes, fname: str) -> None:
    """Refuse bytes that cannot be a MovieLens text file (UTF-16/32 or binary data)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data:
        raise DataError(f"{fname}: not a plain text file (it holds NUL bytes: UTF-16 or binary "
                        "data?); MovieLens files are ASCII, latin-1 or UTF-8 text")


def read_ratings(data: bytes, fname: str, sep: str, header: bool,
                 scale: tuple[float, ...]) -> pd.DataFrame:
    """Parse a four-column ratings table (user, movie, rating, timestamp) and check it.

    Args:
        data: the file's bytes; ``sep`` must be a single character.
        fname: the file's name, for messages.
        header: whether the first line is a header to skip.
        scale: allowed star values.
    Returns:
        A frame with ``RATING_COLUMNS`` in compact dtypes.
    """
    first_line = 2 if header else 1
    if not data.strip():
        raise DataError(f"{fname}: the file is empty")
    check_text(data, fname)
    try:
        frame = pd.read_csv(io.BytesIO(data), sep=sep, header=None, skiprows=int(header),
                            dtype=_RATING_DTYPES, engine="c", skip_blank_lines=True,
                            encoding="latin-1")
    except pd.errors.EmptyDataError:
        raise DataError(f"{fname}: the file holds no ratings") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{fname}: {_parser_message(exc, first_line - 1)}") from None
    except (ValueError, OverflowError):
        frame = None
    if frame is None or frame.isna().any().any():
        _raise_first_bad_value(data, fname, sep, header)
    _check_width(frame, fname, sep)
    frame.columns = list(RATING_COLUMNS)
    _check_ratings(frame, fname, first_line, scale)
    return pd.DataFrame({
        "user_id": frame["user_id"].to_numpy(np.int32),
        "movie_id": frame["movie_id"].to_numpy(np.int32),
        "rating": frame["rating"].to_numpy(np.float32),
        "timestamp": frame["timestamp"].to_numpy(np.int64),
    })


def _check_width(frame: pd.DataFrame, fname: str, sep: str) -> None:
    if frame.shape[1] != 4:
        shown = "'::'" if sep == "\t" else repr(sep)
        raise DataError(f"{fname}: expected 4 fields per line (user, movie, rating, timestamp) "
                        f"separated by {shown}, found {frame.shape[1]}")


def _parser_message(exc: Exception, offset: int) -> str:
    text = str(exc).replace("Error tokenizing data. C error: ", "").strip()
    if offset and "line" in text:
        # pandas counts lines after the skipped header; say the file's own line number.
        words = text.split()
        for i, w in enumerate(words[:-1]):
            if w == "line" and words[i + 1].rstrip(",").isdigit():
                words[i + 1] = str(int(words[i + 1].rstrip(",")) + offset) + ","
        text = " ".join(words).rstrip(",")
    return text


def _raise_first_bad_value(data: bytes, fname: str, sep: str, header: bool) -> None:
    frame = pd.read_csv(io.BytesIO(data), sep=sep, header=None, skiprows=int(header), dtype=str,
                        keep_default_na=False, engine="c", encoding="latin-1")
    _check_width(frame, fname, sep)
    names = list(RATING_COLUMNS)
    for col in range(min(frame.shape[1], 4)):
        values = frame.iloc[:, col]
        numbers = pd.to_numeric(values, errors="coerce")
        if col != 2:
            numbers = numbers.where(numbers == numbers.round())
        bad = np.flatnonzero(numbers.isna().to_numpy())
        if len(bad):
            row = int(bad[0])
            line = _line_of_row(data, row, header)
            value = values.iloc[row]
            if value == "":
                raise DataError(f"{fname} line {line}: the {names[col]} field is missing")
            what = "a number" if col == 2 else "a whole number"
            raise DataError(f"{fname} line {line}: {names[col]} is {value!r}, not {what}")
    raise DataError(f"{fname}: could not read the ratings (a line has fewer than 4 fields?)")


def _line_of_row(data: bytes, row: int, header: bool) -> int:
    """1-based file line of data row ``row`` (blank lines are skipped by the parser)."""
    seen = -1
    for number, line in enumerate(data.splitlines(), start=1):
        if header and number == 1:
            continue
        if line.strip():
            seen += 1
            if seen == row:
                return number
    return row + 1 + int(header)


def _check_ratings(frame: pd.DataFrame, fname: str, first_line: int,
                   scale: tuple[float, ...]) -> None:
    def fail(mask: np.ndarray, what: str) -> None:
        row = int(np.flatnonzero(mask)[0])
        raise DataError(f"{fname} line {row + first_line}: {what}")

    users, movies = frame["user_id"].to_numpy(), frame["movie_id"].to_numpy()
    if min(users.min(), movies.min()) <= 0:
        fail((users <= 0) | (movies <= 0), "user and movie ids must be positive")
    if max(users.max(), movies.max()) > 2**31 - 1:
        fail((users > 2**31 - 1) | (movies > 2**31 - 1), "an id is too large")
    ratings = frame["rating"].to_numpy()
    steps = np.asarray(scale, dtype=np.float64)
    at = np.minimum(np.searchsorted(steps, ratings), len(steps) - 1)
    on_scale = steps[at] == ratings
    if not on_scale.all():
        row = int(np.flatnonzero(~on_scale)[0])
        raise DataError(f"{fname} line {row + first_line}: rating {ratings[row]:g} is not on "
                        f"this release's scale ({scale[0]:g} to {scale[-1]:g} in steps of "
                        f"{scale[1] - scale[0]:g})")
    row = first_repeat(users, movies)
    if row is not None:
        raise DataError(f"{fname} line {row + first_line}: user {users[row]} rates movie "
                        f"{movies[row]} a second time")


def first_repeat(users: np.ndarray, movies: np.ndarray) -> int | None:
    """The first row whose (user, movie) pair an earlier row already holds, or None.

    One int64 key per row (``user << 32 | movie``; ids are positive 31-bit numbers): a file
    sorted by user then movie is checked in one pass, any other by sorting the keys.
    """
    keys = (users.astype(np.int64) << 32) | movies.astype(np.int64)
    if len(keys) < 2 or bool((keys[1:] > keys[:-1]).all()):
        return None
    ordered = np.sort(keys)
    if bool((ordered[1:] != ordered[:-1]).all()):
        return None
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    repeats = order[1:][ordered[1:] == ordered[:-1]]   # every occurrence after the first
    return int(repeats.min())


def _split_lines(text: str, fname: str, sep: str, n_fields: int, what: str,
                 at_least: bool = False) -> list[list[str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(sep)
        if len(parts) != n_fields and not (at_least and len(parts) > n_fields):
            raise DataError(f"{fname} line {number}: expected {n_fields} {what} fields "
                            f"separated by {sep!r}, found {len(parts)}")
        try:
            parts[0] = int(parts[0])
        except ValueError:
            raise DataError(f"{fname} line {number}: id {parts[0]!r} is not a whole number") \
                from None
        rows.append(parts)
    if not rows:
        raise DataError(f"{fname}: the file is empty")
    return rows


def _movies_frame(ids, titles, genres: pd.Series) -> pd.DataFrame:
    titles = pd.Series(titles, dtype=object).str.strip().astype("str")
    movies = pd.DataFrame({
        "movie_id": np.asarray(ids, dtype=np.int32),
        "title": titles,
        "year": year_from_title(titles),
        "genres": genres.to_numpy(),
    })
    if movies["movie_id"].duplicated().any():
        dup = int(movies.loc[movies["movie_id"].duplicated(), "movie_id"].iloc[0])
        raise DataError(f"movie id {dup} is listed twice in the movies file")
    return movies


def parse_dat(source: Source) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """ml-1m / ml-10m: ``ratings.dat``, ``movies.dat`` and (ml-1m) ``users.dat``."""
    rel = source.release
    raw = source.read(rel.ratings_file)
    if b"\t" in raw[:4096]:
        raise DataError(f"{rel.ratings_file}: holds tabs; a '::'-separated file was expected")
    ratings = read_ratings(raw.replace(b"::", b"\t"), rel.ratings_file, "\t", False,
                           rel.rating_scale)
    rows = _split_lines(_text(source, rel.movies_file), rel.movies_file, "::", 3, "movie")
    movies = _movies_frame([r[0] for r in rows], [r[1] for r in rows],
                           split_genres(pd.Series([r[2] for r in rows], dtype=object)))
    users = None
    if rel.users_file and source.has(rel.users_file):
        rows = _split_lines(_text(source, rel.users_file), rel.users_file, "::", 5, "user")
        occupations = []
        for r in rows:
            code = int(r[3]) if r[3].strip().isdigit() else -1
            occupations.append(ML1M_OCCUPATIONS[code] if 0 <= code < len(ML1M_OCCUPATIONS)
                               else r[3])
        users = pd.DataFrame({
            "user_id": np.asarray([r[0] for r in rows], dtype=np.int32),
            "gender": pd.Series([r[1] for r in rows], dtype="str"),
            "age": pd.to_numeric(pd.Series([r[2] for r in rows]), errors="coerce"
                                 ).astype("Int16"),
            "occupation": pd.Series(occupations, dtype="str"),
            "zip": pd.Series([r[4] for r in rows], dtype="str"),
        })
    return ratings, movies, users


def parse_100k(source: Source) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """ml-100k: tab-separated ``u.data``; ``|``-separated ``u.item`` and ``u.user``."""
    rel = source.release
    ratings = read_ratings(source.read(rel.ratings_file), rel.ratings_file, "\t", False,
                           rel.rating_scale)
    genre_names = list(ML100K_GENRES)
    if source.has("u.genre"):
        pairs = [line.rsplit("|", 1) for line in _text(source, "u.genre").splitlines()
                 if "|" in line]
        by_index = {int(i): name for name, i in pairs if i.strip().isdigit()}
        if sorted(by_index) == list(range(len(by_index))):
            genre_names = [by_index[i] for i in range(len(by_index))]
    n_fields = 5 + len(genre_names)
    rows = _split_lines(_text(source, rel.movies_file), rel.movies_file, "|", n_fields,
                        "movie")
    genres = pd.Series([[g for g, flag in zip(genre_names, r[5:], strict=True)
                         if flag.strip() == "1" and g != "unknown"] for r in rows], dtype=object)
    movies = _movies_frame([r[0] for r in rows], [r[1] for r in rows], genres)
    users = None
    if rel.users_file and source.has(rel.users_file):
        rows = _split_lines(_text(source, rel.users_file), rel.users_file, "|", 5, "user")
        users = pd.DataFrame({
            "user_id": np.asarray([r[0] for r in rows], dtype=np.int32),
            "gender": pd.Series([r[2] for r in rows], dtype="str"),
            "age": pd.to_numeric(pd.Series([r[1] for r in rows]), errors="coerce"
                                 ).astype("Int16"),
            "occupation": pd.Series([r[3] for r in rows], dtype="str"),
            "zip": pd.Series([r[4] for r in rows], dtype="str"),
        })
    return ratings, movies, users


def _read_csv_ratings_fast(source: Source, fname: str,
                           scale: tuple[float, ...]) -> pd.DataFrame | None:
    """A well-formed ``ratings.csv`` read by pyarrow's multi-threaded reader straight into the
    compact dtypes, then checked; None when pyarrow refuses the file (the caller re-reads it
    with :func:`read_ratings`, whose messages name the line and the field)."""
    where = source.local_path(fname)
    stream = pa.BufferReader(source.read(fname)) if where is None else str(where)
    try:
        table = pacsv.read_csv(
            stream,
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=list(RATING_COLUMNS),
                                           block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(column_types=_ARROW_RATING_TYPES,
                                                 null_values=[], strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    except OSError as exc:
        raise DataError(f"cannot read {fname} in {source.describe()}: {exc}") from None
    if table.num_rows == 0:
        return None
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    _check_ratings(frame, fname, 2, scale)
    return frame


def _placeholder_movies(ids: np.ndarray) -> pd.DataFrame:
    """Movies known only by their id: title ``Movie <id>``, no year, no genres."""
    return _movies_frame(ids, [f"Movie {i}" for i in ids],
                         pd.Series([[] for _ in ids], dtype=object))


def parse_csv(source: Source) -> tuple[pd.DataFrame, pd.DataFrame, None]:
    """ml-latest-small, ml-20m, ml-25m, ml-32m and custom folders: ``ratings.csv`` and
    ``movies.csv``. Movies rated but not listed (all of them, when a custom folder has no
    ``movies.csv``) get a placeholder row (:func:`_placeholder_movies`)."""
    rel = source.release
    head = source.read(rel.ratings_file, limit=1 << 16)
    check_text(head, rel.ratings_file)
    header = head.split(b"\n", 1)[0].strip().decode("utf-8", "replace")
    if header.replace('"', "") != CSV_RATINGS_HEADER:
        raise DataError(f"{rel.ratings_file} line 1: header is {header[:80]!r}; "
                        f"expected {CSV_RATINGS_HEADER!r}")
    ratings = _read_csv_ratings_fast(source, rel.ratings_file, rel.rating_scale)
    if ratings is None:
        ratings = read_ratings(source.read(rel.ratings_file), rel.ratings_file, ",", True,
                               rel.rating_scale)
    rated = np.unique(ratings["movie_id"].to_numpy())
    if not source.has(rel.movies_file):
        return ratings, _placeholder_movies(rated), None
    movies = _read_csv_movies(_text(source, rel.movies_file), rel.movies_file)
    unlisted = np.setdiff1d(rated, movies["movie_id"].to_numpy())
    if len(unlisted):
        movies = pd.concat([movies, _placeholder_movies(unlisted)], ignore_index=True)
    return ratings, movies, None


def _read_csv_movies(text: str, fname: str) -> pd.DataFrame:
    reader = csv.reader(io.StringIO(text))
    head = next(reader, None)
    if head != CSV_MOVIES_HEADER:
        raise DataError(f"{fname} line 1: header is {head!r}; expected {CSV_MOVIES_HEADER!r}")
    ids, titles, genres = [], [], []
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != 3 or not row[0].strip().isdigit():
            raise DataError(f"{fname} line {number}: expected movieId,title,genres, "
                            f"found {row!r}"[:200])
        ids.append(int(row[0]))
        titles.append(row[1])
        genres.append(row[2])
    if not ids:
        raise DataError(f"{fname}: the file holds no movies")
    return _movies_frame(ids, titles, split_genres(pd.Series(genres, dtype=object)))


PARSERS = {"dat": parse_dat, "100k": parse_100k, "csv": parse_csv}


def parse(source: Source) -> Dataset:
    """Parse the release found at ``source`` into a :class:`Dataset`."""
    rel: Release = source.release
    try:
        parser = PARSERS[rel.format]
    except KeyError:
        raise DataError(f"{rel.name}: no parser for format {rel.format!r}") from None
    ratings, movies, users = parser(source)
    return Dataset(rel.name, ratings, movies, users, rel.rating_scale,
                   synthetic=source.synthetic, source=source.describe())
