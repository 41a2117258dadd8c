"""Parse once, then reload from parquet: a cache keyed by the source files' path, size and
modification time, kept in a writable cache dir and never next to the data."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from movierec.data import stats
from movierec.data.dataset import Dataset
from movierec.data.sources import Source

PARSER_VERSION = 1
TABLES = ("ratings", "movies", "users")
STATS_FILE = "stats.json"   # the Data page's numbers (movierec.data.stats), written with the rest
# An entry is ``<dataset name>-<key>``: the stale entries of ``ml-1m`` are ``ml-1m-`` and a key,
# never another dataset whose name starts alike (a custom ``ml-1m-small``).
_KEY = re.compile(r"[0-9a-f]{20}")


def cache_key(source: Source) -> str:
    """A hex key that changes whenever a source file or the parser changes."""
    parts: list = [PARSER_VERSION, source.release.name, source.prefix]
    for path in source.files():
        st = path.stat()
        parts.append([str(path.resolve()), st.st_size, st.st_mtime_ns])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def _entry(source: Source, cache_dir: Path) -> Path:
    return cache_dir / f"{source.release.name}-{cache_key(source)}"


def load_cached(source: Source, cache_dir: Path) -> Dataset | None:
    """The cached parse of ``source``, or None when there is none (or it is unreadable)."""
    try:
        entry = _entry(source, cache_dir)
    except OSError:
        return None
    meta_path = entry / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        tables = {t: pd.read_parquet(entry / f"{t}.parquet") for t in meta["tables"]
                  if t != "ratings"}
        # Numbers only: one column per block, without pandas' consolidating copy (32M rows).
        tables["ratings"] = pq.read_table(entry / "ratings.parquet").to_pandas(
            split_blocks=True, self_destruct=True)
        movies = tables["movies"]
        movies["genres"] = [list(g) for g in movies["genres"]]
        return Dataset(meta["name"], tables["ratings"], movies, tables.get("users"),
                       tuple(meta["rating_scale"]), synthetic=meta.get("synthetic", False),
                       source=meta["source"])
    except Exception:  # noqa: BLE001 - any damage to a cache entry means: parse again
        shutil.rmtree(entry, ignore_errors=True)
        return None


def save_cached(dataset: Dataset, source: Source, cache_dir: Path) -> Path | None:
    """Write ``dataset`` to the cache atomically; None when the cache dir is not writable."""
    try:
        entry = _entry(source, cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".staging-"))
    except OSError:
        return None
    try:
        tables = {"ratings": dataset.ratings, "movies": dataset.movies, "users": dataset.users}
        written = []
        for name, frame in tables.items():
            if frame is not None:
                # Ratings as one row group of plain lz4 columns: ml-32m's reads in about half
                # the time of the default (many dictionary-coded snappy row groups).
                fast = {"row_group_size": max(len(frame), 1), "compression": "lz4",
                        "use_dictionary": False} if name == "ratings" else {}
                frame.to_parquet(staging / f"{name}.parquet", index=False, **fast)
                written.append(name)
        meta = {"name": dataset.name, "source": dataset.source,
                "rating_scale": list(dataset.rating_scale), "tables": written,
                "parser_version": PARSER_VERSION, "synthetic": dataset.synthetic}
        (staging / "meta.json").write_text(json.dumps(meta))
        (staging / STATS_FILE).write_text(stats.to_json(stats.dataset_stats(dataset)))
        for stale in cache_dir.glob(f"{dataset.name}-*"):
            if stale.name != entry.name and _KEY.fullmatch(stale.name[len(dataset.name) + 1:]):
                shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(staging, entry)
        except OSError:  # another process cached the same entry first
            return entry if (entry / "meta.json").is_file() else None
        staging = None
        return entry
    except OSError:
        return None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def load_cached_stats(source: Source, cache_dir: Path) -> dict | None:
    """The numbers :func:`~movierec.data.stats.dataset_stats` gave when ``source`` was parsed,
    or None (no cache entry, or one written before they were kept)."""
    try:
        return stats.from_json((_entry(source, cache_dir) / STATS_FILE).read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_cached_stats(source: Source, cache_dir: Path, numbers: dict) -> None:
    """Keep ``numbers`` in ``source``'s cache entry (when there is one and it is writable)."""
    try:
        entry = _entry(source, cache_dir)
        if (entry / "meta.json").is_file():
            partial = entry / f".{STATS_FILE}.{os.getpid()}"
            partial.write_text(stats.to_json(numbers))
            os.replace(partial, entry / STATS_FILE)
    except OSError:
        pass
