"""Find, download, parse and cache a dataset by name: the one entry point the rest uses."""

from __future__ import annotations

import os

from movierec import paths
from movierec.data.cache import load_cached, save_cached
from movierec.data.catalog import DEFAULT_DATASET, RELEASES, get_release
from movierec.data.dataset import Dataset
from movierec.data.demo import generate_demo
from movierec.data.download import ProgressFn, download
from movierec.data.parsers import parse
from movierec.data.sources import locate
from movierec.errors import DataError


def load_dataset(name: str = DEFAULT_DATASET, *, data_dir: str | os.PathLike | None = None,
                 cache_dir: str | os.PathLike | None = None, allow_download: bool = True,
                 mirror: str | None = None, progress: ProgressFn | None = None,
                 timeout: float = 30.0) -> Dataset:
    """Load dataset ``name``: from the parsed cache, else by parsing the local copy, else by
    downloading it (when ``allow_download``).

    Args:
        name: a catalog name (``ml-1m``...) or ``demo``.
        data_dir, cache_dir: override the location contract (see :mod:`movierec.paths`).
        allow_download: fetch from GroupLens (or ``mirror``) when no local copy exists.
        progress: download progress callback (bytes so far, total or None).
    Raises:
        DataError: unknown name, missing and not downloadable, or a corrupt file.
    """
    release = get_release(name)
    if release.synthetic:
        return generate_demo()
    ddir = paths.data_dir(data_dir)
    source = locate(release, ddir)
    if source is None:
        if not allow_download:
            raise DataError(f"{name} is not in {ddir}; download it with "
                            f"`python -m movierec download {name}` or point --data-dir (or "
                            "MOVIEREC_DATA_DIR) at a folder holding it")
        download(release, ddir, mirror=mirror, progress=progress, timeout=timeout)
        source = locate(release, ddir)
        if source is None:
            raise DataError(f"{name} was downloaded but cannot be found in {ddir}")
    cdir = paths.cache_dir(cache_dir)
    dataset = load_cached(source, cdir)
    if dataset is None:
        dataset = parse(source)
        save_cached(dataset, source, cdir)
    return dataset


def dataset_status(data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One row per catalog release: whether it is present in the data dir, and where."""
    ddir = paths.data_dir(data_dir)
    rows = []
    for release in RELEASES.values():
        where, problem = None, None
        if release.synthetic:
            where = "generated offline"
        else:
            try:
                source = locate(release, ddir)
                where = source.describe() if source else None
            except DataError as exc:
                problem = str(exc)
        rows.append({
            "name": release.name, "title": release.title, "present": where is not None,
            "location": where, "problem": problem, "ratings": release.n_ratings,
            "users": release.n_users, "movies": release.n_movies,
            "download_mb": release.zip_mb, "synthetic": release.synthetic,
            "note": release.note,
        })
    return rows

