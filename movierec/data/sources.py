"""Where a release's files are read from: an extracted folder or a zip, found in the data dir;
and which other folders of the data dir are datasets of their own (custom folders)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from movierec.data.catalog import RELEASES, Release, custom_release, is_folder_name
from movierec.errors import DataError

# A member larger than this is refused rather than read into memory (ml-32m's ratings.csv, the
# largest real file, is about 880 MB).
MAX_MEMBER_BYTES = 2 * 1024**3
# A folder holding this file was generated (``python -m movierec synthesize``): its data is
# synthetic, and every display of it says so.
SYNTHETIC_MARKER = "SYNTHETIC.md"


def is_synthetic_folder(folder: Path) -> bool:
    """Whether ``folder`` was written by ``python -m movierec synthesize`` (it holds
    :data:`SYNTHETIC_MARKER`)."""
    return (Path(folder) / SYNTHETIC_MARKER).is_file()


class Source:
    """The files of one release, in a folder or inside a zip.

    Args:
        release: which release the files belong to.
        path: the folder holding the files, or the zip.
        prefix: inside a zip, the folder the files sit in (with a trailing slash).
    """

    def __init__(self, release: Release, path: Path, prefix: str = "") -> None:
        self.release = release
        self.path = Path(path)
        self.prefix = prefix
        self.is_zip = self.path.is_file()

    def describe(self) -> str:
        return f"{self.path}!{self.prefix}" if self.is_zip else str(self.path)

    @property
    def synthetic(self) -> bool:
        """True for a folder marked as generated (see :func:`is_synthetic_folder`)."""
        return not self.is_zip and is_synthetic_folder(self.path)

    def local_path(self, name: str) -> Path | None:
        """File ``name`` on disk, or None inside a zip (then :meth:`read` it)."""
        return None if self.is_zip else self.path / name

    def files(self) -> list[Path]:
        """The files on disk whose change must invalidate a parsed cache."""
        if self.is_zip:
            return [self.path]
        names = [self.release.ratings_file, self.release.movies_file, self.release.users_file,
                 "u.genre", SYNTHETIC_MARKER]
        return [self.path / n for n in names if n and (self.path / n).is_file()]

    def has(self, name: str) -> bool:
        if self.is_zip:
            try:
                with zipfile.ZipFile(self.path) as zf:
                    zf.getinfo(self.prefix + name)
                return True
            except (KeyError, zipfile.BadZipFile, OSError):
                return False
        return (self.path / name).is_file()

    def read(self, name: str, limit: int | None = None) -> bytes:
        """The bytes of file ``name`` (its first ``limit`` bytes when given); a DataError naming
        it when it is missing or unreadable."""
        where = f"{name} in {self.describe()}"
        try:
            if self.is_zip:
                with zipfile.ZipFile(self.path) as zf:
                    info = zf.getinfo(self.prefix + name)
                    if info.file_size > MAX_MEMBER_BYTES and limit is None:
                        raise DataError(f"{where} claims {info.file_size:,} bytes; refusing to "
                                        "read a member that large")
                    with zf.open(info) as fh:
                        data = fh.read(MAX_MEMBER_BYTES + 1 if limit is None else limit)
                    if len(data) > MAX_MEMBER_BYTES:
                        raise DataError(f"{where} is larger than its header says; refusing it")
                    return data
            if limit is not None:
                with open(self.path / name, "rb") as fh:
                    return fh.read(limit)
            return (self.path / name).read_bytes()
        except KeyError:
            raise DataError(f"{name} is missing from {self.path}") from None
        except FileNotFoundError:
            raise DataError(f"{name} is missing from {self.path}") from None
        except zipfile.BadZipFile as exc:
            raise DataError(f"{self.path} is not a readable zip file ({exc})") from None
        except (OSError, EOFError, zipfile.LargeZipFile) as exc:
            raise DataError(f"cannot read {where}: {exc}") from None


def _folder_has_release(folder: Path, release: Release) -> bool:
    return (folder / release.ratings_file).is_file() and (folder / release.movies_file).is_file()


def zip_prefix(zip_path: Path, release: Release) -> str | None:
    """The folder inside ``zip_path`` that holds ``release``'s ratings and movies files, or None.

    Raises:
        DataError: the file is not a readable zip.
    """
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{zip_path} is not a readable zip file ({exc})") from None
    for prefix in (f"{release.folder}/", f"{release.name}/", ""):
        if prefix + release.ratings_file in names and prefix + release.movies_file in names:
            return prefix
    return None


def _restore_interrupted_swap(release: Release, data_dir: Path) -> None:
    """An install killed between "move the old copy aside" and "move the new one in" leaves
    ``.<name>.old-*`` and no ``<name>/``: put the old copy back."""
    final = data_dir / release.name
    if final.exists():
        return
    for old in sorted(data_dir.glob(f".{release.name}.old-*")):
        if _folder_has_release(old, release):
            try:
                old.rename(final)
            except OSError:
                pass
            return


def custom_folders(data_dir: Path) -> list[str]:
    """Names of the folders directly in ``data_dir`` that hold a ``ratings.csv`` and are no
    catalog release (nor a release's zip folder), sorted; [] when ``data_dir`` is unreadable."""
    taken = set(RELEASES) | {r.folder for r in RELEASES.values()}
    try:
        entries = list(Path(data_dir).iterdir())
    except OSError:
        return []
    return sorted(p.name for p in entries
                  if p.name not in taken and is_folder_name(p.name)
                  and (p / "ratings.csv").is_file())


def find_release(name: str, data_dir: Path) -> Release:
    """The catalog release ``name``, else the custom folder ``data_dir/name``.

    Raises:
        DataError: neither; the message lists the catalog names and the custom folders found.
    """
    if name in RELEASES:
        return RELEASES[name]
    if is_folder_name(name) and (Path(data_dir) / name / "ratings.csv").is_file():
        return custom_release(name)
    custom = ", ".join(custom_folders(data_dir)) or "none"
    raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(RELEASES)}; custom "
                    f"folders in {data_dir}: {custom} (a custom folder holds a ratings.csv with "
                    "the header userId,movieId,rating,timestamp)")


def locate(release: Release, data_dir: Path) -> Source | None:
    """Find ``release`` in ``data_dir`` as ``<name>/`` (also ``<name>/<folder>/``), ``<folder>/``
    or ``<name>.zip``; a custom folder only as ``<name>/`` with a ``ratings.csv``. None when it is
    not there.

    Raises:
        DataError: ``<name>.zip`` exists but is not a zip holding this release.
    """
    if release.custom:
        folder = data_dir / release.folder
        return Source(release, folder) if (folder / release.ratings_file).is_file() else None
    _restore_interrupted_swap(release, data_dir)
    for folder in (data_dir / release.name, data_dir / release.name / release.folder,
                   data_dir / release.folder):
        if _folder_has_release(folder, release):
            return Source(release, folder)
    zip_path = data_dir / release.zip_name
    if zip_path.is_file():
        prefix = zip_prefix(zip_path, release)
        if prefix is None:
            raise DataError(f"{zip_path} does not hold {release.name}: no "
                            f"{release.ratings_file} and {release.movies_file} inside")
        return Source(release, zip_path, prefix)
    return None
