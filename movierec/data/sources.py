"""Where a release's files are read from: an extracted folder or a zip, found in the data dir."""

from __future__ import annotations

import zipfile
from pathlib import Path

from movierec.data.catalog import Release
from movierec.errors import DataError

# A member larger than this is refused rather than read into memory (ml-32m's ratings.csv, the
# largest real file, is about 880 MB).
MAX_MEMBER_BYTES = 2 * 1024**3


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

    def files(self) -> list[Path]:
        """The files on disk whose change must invalidate a parsed cache."""
        if self.is_zip:
            return [self.path]
        names = [self.release.ratings_file, self.release.movies_file, self.release.users_file,
                 "u.genre"]
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

    def read(self, name: str) -> bytes:
        """The bytes of file ``name``; a DataError naming it when it is missing or unreadable."""
        where = f"{name} in {self.describe()}"
        try:
            if self.is_zip:
                with zipfile.ZipFile(self.path) as zf:
                    info = zf.getinfo(self.prefix + name)
                    if info.file_size > MAX_MEMBER_BYTES:
                        raise DataError(f"{where} claims {info.file_size:,} bytes; refusing to "
                                        "read a member that large")
                    with zf.open(info) as fh:
                        data = fh.read(MAX_MEMBER_BYTES + 1)
                    if len(data) > MAX_MEMBER_BYTES:
                        raise DataError(f"{where} is larger than its header says; refusing it")
                    return data
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


def locate(release: Release, data_dir: Path) -> Source | None:
    """Find ``release`` in ``data_dir`` as ``<name>/`` (also ``<name>/<folder>/``), ``<folder>/``
    or ``<name>.zip``; None when it is not there.

    Raises:
        DataError: ``<name>.zip`` exists but is not a zip holding this release.
    """
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
