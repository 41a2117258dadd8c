"""The GroupLens MovieLens releases movierec knows: where each lives, its layout and format; and
the description of a custom folder (your own ``ratings.csv``) that the data dir may hold."""

from __future__ import annotations

import re
from dataclasses import dataclass

from movierec.errors import DataError

GROUPLENS_BASE_URL = "https://files.grouplens.org/datasets/movielens/"

WHOLE_STARS = (1.0, 2.0, 3.0, 4.0, 5.0)
HALF_STARS = tuple(x / 2 for x in range(1, 11))


@dataclass(frozen=True)
class Release:
    """One MovieLens release.

    Attributes:
        name: the name users type (``ml-1m``); also the folder it is extracted to.
        title: a human name for lists and the dashboard.
        folder: the top folder inside the GroupLens zip (``ml-10M100K`` for ml-10m).
        format: which parser reads it: ``dat`` (``::`` files), ``100k`` (tab and ``|`` files),
            ``csv`` (comma files with a header) or ``demo`` (generated, no files).
        ratings_file, movies_file, users_file: file names inside ``folder``; ``users_file`` is
            None where the release has no user table.
        rating_scale: the star values a rating can take.
        n_ratings, n_users, n_movies: published sizes, shown before a download.
        zip_mb: approximate size of the download in megabytes.
        note: one line on what it is.
        custom: True for a folder of the data dir that is no catalog release (sizes unknown,
            nothing to download).
    """

    name: str
    title: str
    folder: str
    format: str
    ratings_file: str
    movies_file: str
    users_file: str | None
    rating_scale: tuple[float, ...]
    n_ratings: int
    n_users: int
    n_movies: int
    zip_mb: float
    note: str
    custom: bool = False

    @property
    def synthetic(self) -> bool:
        """True for the ``demo`` set, generated in memory (a synthetic custom folder is files on
        disk: :attr:`Source.synthetic <movierec.data.sources.Source.synthetic>` says so)."""
        return self.format == "demo"

    @property
    def zip_name(self) -> str:
        return f"{self.name}.zip"

    def url(self, base_url: str = GROUPLENS_BASE_URL) -> str | None:
        """Download address of the zip, or None for generated data and custom folders."""
        if self.synthetic or self.custom:
            return None
        return base_url.rstrip("/") + "/" + self.zip_name

    def member_files(self) -> tuple[str, ...]:
        """The data files movierec reads, as paths inside the zip."""
        names = [self.ratings_file, self.movies_file]
        if self.users_file:
            names.append(self.users_file)
        return tuple(f"{self.folder}/{n}" for n in names)


RELEASES: dict[str, Release] = {
    r.name: r
    for r in [
        Release("ml-100k", "MovieLens 100K (1998)", "ml-100k", "100k", "u.data", "u.item",
                "u.user", WHOLE_STARS, 100_000, 943, 1_682, 4.9,
                "100,000 ratings from 943 users on 1,682 movies, with user demographics."),
        Release("ml-1m", "MovieLens 1M (2003)", "ml-1m", "dat", "ratings.dat", "movies.dat",
                "users.dat", WHOLE_STARS, 1_000_209, 6_040, 3_883, 5.9,
                "1 million ratings from 6,040 users on 3,706 movies; the notebook's dataset."),
        Release("ml-latest-small", "MovieLens latest small (2018)", "ml-latest-small", "csv",
                "ratings.csv", "movies.csv", None, HALF_STARS, 100_836, 610, 9_742, 1.0,
                "100,836 half-star ratings from 610 users on 9,742 movies."),
        Release("ml-10m", "MovieLens 10M (2009)", "ml-10M100K", "dat", "ratings.dat",
                "movies.dat", None, HALF_STARS, 10_000_054, 69_878, 10_681, 65.6,
                "10 million half-star ratings from 69,878 users on 10,681 movies."),
        Release("ml-20m", "MovieLens 20M (2015)", "ml-20m", "csv", "ratings.csv", "movies.csv",
                None, HALF_STARS, 20_000_263, 138_493, 27_278, 198.7,
                "20 million half-star ratings from 138,493 users on 27,278 movies."),
        Release("ml-25m", "MovieLens 25M (2019)", "ml-25m", "csv", "ratings.csv", "movies.csv",
                None, HALF_STARS, 25_000_095, 162_541, 62_423, 262.0,
                "25 million half-star ratings from 162,541 users on 62,423 movies."),
        Release("ml-32m", "MovieLens 32M (2023)", "ml-32m", "csv", "ratings.csv", "movies.csv",
                None, HALF_STARS, 32_000_204, 200_948, 87_585, 239.0,
                "32 million half-star ratings from 200,948 users on 87,585 movies."),
        Release("demo", "Demo (synthetic, offline)", "demo", "demo", "", "", None, WHOLE_STARS,
                100_000, 1_000, 800, 0.0,
                "SYNTHETIC: generated offline with planted genre tastes; not real people."),
    ]
}

DEFAULT_DATASET = "ml-1m"

# A custom folder's name: one path component, no separators, not hidden, no "..".
_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FOLDER_NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64"


def is_folder_name(name: object) -> bool:
    """Whether ``name`` may name a custom dataset folder (a catalog name need not)."""
    return (isinstance(name, str) and _FOLDER_NAME.fullmatch(name) is not None
            and ".." not in name)


def custom_release(name: str) -> Release:
    """The description of custom folder ``name``: ``ratings.csv`` (and optionally ``movies.csv``)
    in the MovieLens-latest layout, half stars (whole stars are half stars too).

    Raises:
        DataError: ``name`` is a catalog name or not a safe folder name.
    """
    if name in RELEASES or not is_folder_name(name):
        raise DataError(f"{name!r} cannot name a custom dataset folder (catalog names are taken; "
                        f"allowed: {FOLDER_NAME_RULE})")
    return Release(name, f"{name} (custom folder)", name, "csv", "ratings.csv", "movies.csv",
                   None, HALF_STARS, 0, 0, 0, 0.0,
                   f"Your own ratings: the folder {name}/ of the data dir.", custom=True)


def get_release(name: str) -> Release:
    """The release called ``name``; a DataError listing the known names otherwise."""
    try:
        return RELEASES[name]
    except KeyError:
        known = ", ".join(RELEASES)
        raise DataError(f"unknown dataset {name!r}; known datasets: {known}") from None
