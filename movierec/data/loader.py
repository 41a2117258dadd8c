"""Find, download, parse and cache a dataset by name: the one entry point the rest uses."""

from __future__ import annotations

import os

from movierec import paths
from movierec.data import stats
from movierec.data.cache import load_cached, load_cached_stats, save_cached, save_cached_stats
from movierec.data.catalog import DEFAULT_DATASET, RELEASES
from movierec.data.dataset import Dataset
from movierec.data.demo import generate_demo
from movierec.data.download import ProgressFn, download
from movierec.data.parsers import parse
from movierec.data.sources import custom_folders, find_release, is_synthetic_folder, locate
from movierec.data.synthesize import read_marker
from movierec.errors import DataError


def load_dataset(name: str = DEFAULT_DATASET, *, data_dir: str | os.PathLike | None = None,
                 cache_dir: str | os.PathLike | None = None, allow_download: bool = True,
                 mirror: str | None = None, progress: ProgressFn | None = None,
                 timeout: float = 30.0) -> Dataset:
    """Load dataset ``name``: from the parsed cache, else by parsing the local copy, else by
    downloading it (when ``allow_download``).

    Args:
        name: a catalog name (``ml-1m``...), ``demo``, or the name of a custom folder of the
            data dir (one holding ``ratings.csv``, see :func:`~movierec.data.sources.find_release`).
        data_dir, cache_dir: override the location contract (see :mod:`movierec.paths`).
        allow_download: fetch from GroupLens (or ``mirror``) when no local copy exists.
        progress: download progress callback (bytes so far, total or None).
    Raises:
        DataError: unknown name, missing and not downloadable, or a corrupt file.
    """
    ddir = paths.data_dir(data_dir)
    release = find_release(name, ddir)
    if release.synthetic:
        return generate_demo()
    source = locate(release, ddir)
    if source is None:
        if release.custom:
            raise DataError(f"{ddir / name} no longer holds a ratings.csv")
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


def load_stats(name: str = DEFAULT_DATASET, *, data_dir: str | os.PathLike | None = None,
               cache_dir: str | os.PathLike | None = None) -> dict:
    """The headline numbers and small tables of dataset ``name`` (see
    :func:`~movierec.data.stats.dataset_stats`): kept with its parsed cache, else computed from
    the data (parsing it if needed, never downloading) and kept.

    Raises:
        DataError: as :func:`load_dataset` with ``allow_download=False``.
    """
    ddir = paths.data_dir(data_dir)
    release = find_release(name, ddir)
    if release.synthetic:
        return stats.dataset_stats(generate_demo())
    source = locate(release, ddir)
    cdir = paths.cache_dir(cache_dir)
    found = load_cached_stats(source, cdir) if source is not None else None
    if found is None:
        dataset = load_dataset(name, data_dir=ddir, cache_dir=cdir, allow_download=False)
        source = source or locate(release, ddir)
        found = load_cached_stats(source, cdir) if source is not None else None
        if found is None:
            found = stats.dataset_stats(dataset)
            if source is not None:
                save_cached_stats(source, cdir, found)
    return found


def dataset_status(data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One row per catalog release: whether it is present in the data dir, and where; then one
    per custom folder of the data dir (``custom``: True; sizes known only for synthetic ones,
    from their marker file, else None)."""
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
            "custom": False, "note": release.note,
        })
    for name in custom_folders(ddir):
        folder = ddir / name
        synthetic = is_synthetic_folder(folder)
        facts = read_marker(folder) if synthetic else {}
        if synthetic:
            note = (f"SYNTHETIC: generated by `python -m movierec synthesize` (seed "
                    f"{facts.get('seed', '?')}); not real people.")
        else:
            note = "Your own ratings.csv" + ("" if (folder / "movies.csv").is_file()
                                             else " (no movies.csv: titles are movie ids)")
        rows.append({
            "name": name, "title": f"{name} ({'synthetic' if synthetic else 'custom'} folder)",
            "present": True, "location": str(folder), "problem": None,
            "ratings": facts.get("ratings"), "users": facts.get("users"),
            "movies": facts.get("movies"), "download_mb": 0.0, "synthetic": synthetic,
            "custom": True, "note": note,
        })
    return rows
