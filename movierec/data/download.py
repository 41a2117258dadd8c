"""Fetch a GroupLens zip with progress and a timeout, verify it and extract it safely.

A download goes to a temporary ``.part`` file that is removed unless it verifies; extraction
writes only the release's own files, refuses unsafe entry names, links and absurd sizes, and
lands in the data dir by one rename, so a half-finished download or extraction is never taken
for data.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import stat
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from movierec.data.catalog import GROUPLENS_BASE_URL, RELEASES, Release
from movierec.errors import DataError, DownloadError

ProgressFn = Callable[[int, "int | None"], None]
"""Called with (bytes so far, total bytes or None) as a download proceeds."""

CHUNK = 1 << 20
MAX_TOTAL_UNCOMPRESSED = 4 * 1024**3   # ml-32m unpacks to about 1 GB
MAX_RATIO = 200                        # MovieLens text compresses about 3-6 times
# A .part file or extraction folder untouched this long belongs to a killed process.
STALE_SECONDS = 600
USER_AGENT = "movierec (+https://grouplens.org/datasets/movielens/)"


def base_url(explicit: str | None = None) -> str:
    """The mirror to download from: ``explicit``, else ``$MOVIEREC_MIRROR``, else GroupLens."""
    return explicit or os.environ.get("MOVIEREC_MIRROR") or GROUPLENS_BASE_URL


def _fetch(url: str, out, timeout: float, progress: ProgressFn | None) -> tuple[int, int | None]:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        done = 0
        if progress:
            progress(0, total)
        while True:
            chunk = resp.read(CHUNK)
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return done, total


def _published_md5(url: str, timeout: float) -> str | None:
    """GroupLens publishes ``<zip>.md5`` beside each zip; None when there is none to read."""
    try:
        request = urllib.request.Request(url + ".md5", headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            text = resp.read(4096).decode("ascii", "replace")
    except (OSError, http.client.HTTPException, ValueError):
        return None
    for word in text.replace("=", " ").split():
        if len(word) == 32 and all(c in "0123456789abcdefABCDEF" for c in word):
            return word.lower()
    return None


def clear_stale(data_dir: Path, release: Release, older_than: float = STALE_SECONDS) -> None:
    """Remove what a killed download or extraction of ``release`` left in ``data_dir``
    (``.ml-1m.zip.*.part`` files, ``.ml-1m.extract-*`` folders). Only leftovers untouched for
    ``older_than`` seconds go: one still growing belongs to a download in another process."""
    cutoff = time.time() - older_than
    leftovers = [*data_dir.glob(f".{release.zip_name}.*.part"),
                 *data_dir.glob(f".{release.name}.extract-*")]
    if (data_dir / release.name).exists():   # else an old copy may be all there is: keep it
        leftovers += data_dir.glob(f".{release.name}.old-*")
    for leftover in leftovers:
        try:
            if leftover.lstat().st_mtime >= cutoff:
                continue
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        except OSError:
            pass


def download(release: Release, data_dir: Path, *, mirror: str | None = None,
             timeout: float = 30.0, progress: ProgressFn | None = None) -> Path:
    """Download ``release`` into ``data_dir`` and extract it to ``data_dir/<name>/``.

    Args:
        release: a real (non-demo) release.
        data_dir: writable folder to put it in.
        mirror: base URL to use instead of GroupLens (tests use a local server).
        timeout: seconds to wait on the connection or on any single read.
        progress: called with (bytes so far, total or None).
    Returns:
        The folder the release's files now sit in.
    Raises:
        DownloadError: unreachable, cut short, timed out, or the file does not verify.
    """
    url = release.url(base_url(mirror))
    if url is None:
        raise DataError(f"{release.name} is generated, not downloaded")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        clear_stale(data_dir, release)
        fd, part_name = tempfile.mkstemp(dir=data_dir, prefix=f".{release.zip_name}.",
                                         suffix=".part")
    except OSError as exc:
        raise DataError(f"cannot write to the data dir {data_dir} ({exc.strerror or exc}); "
                        "choose a writable one with --data-dir or MOVIEREC_DATA_DIR") from None
    part = Path(part_name)
    offline_hint = (f"If this machine is offline, copy {release.zip_name} into {data_dir} "
                    "or use the offline 'demo' dataset.")
    try:
        try:
            with os.fdopen(fd, "wb") as out:
                done, total = _fetch(url, out, timeout, progress)
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") \
                from None
        except http.client.IncompleteRead as exc:
            raise DownloadError(f"the download of {url} was cut short after "
                                f"{len(exc.partial):,} bytes of a chunk; try again") from None
        except TimeoutError:
            raise DownloadError(f"the download of {url} timed out after {timeout:g} s without "
                                f"data. {offline_hint}") from None
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(f"cannot download {url}: {reason}. {offline_hint}") from None
        if total is not None and done != total:
            raise DownloadError(f"the download of {url} was cut short: {done:,} of {total:,} "
                                "bytes arrived; try again")
        expected = _published_md5(url, timeout)
        if expected is not None:
            digest = hashlib.md5(usedforsecurity=False)
            with part.open("rb") as fh:
                for chunk in iter(lambda: fh.read(CHUNK), b""):
                    digest.update(chunk)
            if digest.hexdigest() != expected:
                raise DownloadError(f"{url} does not match its published MD5 checksum "
                                    f"({digest.hexdigest()} != {expected}); try again")
        return install_zip(part, data_dir, release)
    finally:
        part.unlink(missing_ok=True)


def _is_unsafe(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return True
    path = PurePosixPath(name)
    return path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def identify_zip(zip_path: Path) -> Release:
    """Which catalog release ``zip_path`` holds, judged by the files inside it.

    Raises:
        DataError: not a zip, or no known release inside.
    """
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{zip_path.name} is not a readable zip file ({exc})") from None
    for release in RELEASES.values():
        if release.synthetic:
            continue
        for prefix in (f"{release.folder}/", f"{release.name}/"):
            if all(prefix + f in names for f in (release.ratings_file, release.movies_file)):
                return release
    raise DataError(f"{zip_path.name} is not a MovieLens release: it holds no known "
                    "ratings/movies files (expected for example ml-1m/ratings.dat)")


def install_zip(zip_path: Path, data_dir: Path, release: Release | None = None) -> Path:
    """Extract the release in ``zip_path`` safely into ``data_dir/<name>/``.

    Only the files inside the release's folder are written. The whole archive is refused when
    any entry has an absolute or ``..`` path or is a link, when it claims an absurd size or
    compression ratio, or when a file fails its CRC. The new folder replaces an old one in one
    rename, so a failure leaves whatever was there before; the extracted files must parse before
    they replace anything.

    Returns:
        The folder the release now sits in.
    """
    zip_path = Path(zip_path)
    release = release or identify_zip(zip_path)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{zip_path.name} is not a readable zip file ({exc})") from None
    with zf:
        infos = zf.infolist()
        prefix = next((p for p in (f"{release.folder}/", f"{release.name}/")
                       if any(i.filename == p + release.ratings_file for i in infos)), None)
        if prefix is None:
            raise DataError(f"{zip_path.name} does not hold {release.name} "
                            f"({release.folder}/{release.ratings_file} is missing)")
        total = 0
        for info in infos:
            if _is_unsafe(info.filename):
                raise DataError(f"{zip_path.name}: refusing an entry with an unsafe path "
                                f"{info.filename!r}")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise DataError(f"{zip_path.name}: refusing a symbolic link entry "
                                f"{info.filename!r}")
            total += info.file_size
            if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(1, info.compress_size):
                raise DataError(f"{zip_path.name}: entry {info.filename!r} claims a compression "
                                "ratio no MovieLens file has; refusing a possible zip bomb")
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise DataError(f"{zip_path.name} would unpack to {total / 1e9:.1f} GB, more than "
                            f"the {MAX_TOTAL_UNCOMPRESSED / 1e9:.0f} GB allowed; refusing it")
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=data_dir, prefix=f".{release.name}.extract-"))
        except OSError as exc:
            raise DataError(f"cannot write to the data dir {data_dir} "
                            f"({exc.strerror or exc})") from None
        try:
            root = staging.resolve()
            for info in infos:
                if info.is_dir() or not info.filename.startswith(prefix):
                    continue
                rel = info.filename[len(prefix):]
                if not rel or rel.startswith("__MACOSX"):
                    continue
                target = (staging / rel).resolve()
                if root not in target.parents:
                    raise DataError(f"{zip_path.name}: entry {info.filename!r} escapes the "
                                    "data dir; refusing it")
                target.parent.mkdir(parents=True, exist_ok=True)
                _extract_member(zf, info, target, zip_path.name)
            _check_parses(release, staging, zip_path.name)
            final = data_dir / release.name
            replace_dir(staging, final)
            staging = None
            return final
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)


def _check_parses(release: Release, folder: Path, zip_name: str) -> None:
    """Parse the extracted copy before it replaces anything: a release with a damaged file is
    refused and the copy already installed (if any) stays."""
    from movierec.data.parsers import parse
    from movierec.data.sources import Source

    try:
        parse(Source(release, folder))
    except DataError as exc:
        raise DataError(f"{zip_name} was not installed, its {release.name} files are damaged: "
                        f"{exc}") from None


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, zip_name: str) \
        -> None:
    written = 0
    try:
        with zf.open(info) as src, target.open("wb") as dst:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                written += len(chunk)
                if written > info.file_size:
                    raise DataError(f"{zip_name}: entry {info.filename!r} is larger than its "
                                    "header says; refusing it")
                dst.write(chunk)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, NotImplementedError) as exc:
        raise DataError(f"{zip_name} is corrupt: {info.filename} cannot be extracted "
                        f"({exc})") from None
    except OSError as exc:
        raise DataError(f"cannot write {target}: {exc.strerror or exc}") from None


def replace_dir(new: Path, final: Path) -> None:
    """Put folder ``new`` at ``final``, replacing an old one by renames (never half-written)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    try:
        new.rename(final)
    except OSError:
        if old is not None:
            old.rename(final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
