"""Where datasets, parsed-data caches and runs live (DESIGN.md's location contract)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "movierec"


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Folder holding GroupLens releases: ``explicit``, else ``$MOVIEREC_DATA_DIR``, else a
    per-user cache dir. It may be read-only (a shared copy)."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("MOVIEREC_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir(APP)) / "datasets"


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Writable folder for parsed-data caches: ``explicit``, else ``$MOVIEREC_CACHE_DIR``,
    else a per-user cache dir. Never the data dir itself."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("MOVIEREC_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir(APP)) / "parsed"


def runs_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Folder of saved runs: ``explicit``, else ``$MOVIEREC_HOME/runs``, else a per-user data
    dir."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("MOVIEREC_HOME")
    if env:
        return Path(env).expanduser() / "runs"
    return Path(platformdirs.user_data_dir(APP)) / "runs"
