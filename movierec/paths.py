"""Where datasets, parsed-data caches and runs live (the locations in docs/USER_GUIDE.md)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "movierec"


def _resolve(explicit, variable: str, default: Path, suffix: str = "") -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(variable)
    if env:
        return Path(env).expanduser() / suffix if suffix else Path(env).expanduser()
    return default


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Folder holding GroupLens releases: ``explicit``, else ``$MOVIEREC_DATA_DIR``, else a
    per-user cache dir. It may be read-only (a shared copy)."""
    return _resolve(explicit, "MOVIEREC_DATA_DIR",
                    Path(platformdirs.user_cache_dir(APP)) / "datasets")


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Writable folder for parsed-data caches: ``explicit``, else ``$MOVIEREC_CACHE_DIR``,
    else a per-user cache dir. Never the data dir itself."""
    return _resolve(explicit, "MOVIEREC_CACHE_DIR",
                    Path(platformdirs.user_cache_dir(APP)) / "parsed")


def runs_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Folder of saved runs: ``explicit``, else ``$MOVIEREC_HOME/runs``, else a per-user data
    dir."""
    return _resolve(explicit, "MOVIEREC_HOME", Path(platformdirs.user_data_dir(APP)) / "runs",
                    suffix="runs")
