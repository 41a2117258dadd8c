"""The datasets as the Data page names them: the catalog's releases and the data dir's own
folders, with a word on what each is."""

from __future__ import annotations

from movierec.data import RELEASES, Release
from movierec.data.sources import custom_folders, find_release, is_synthetic_folder
from movierec.errors import MovieRecError
from ui import cache


def dataset_names() -> list[str]:
    """The catalog's names, then the custom folders of the data dir."""
    return list(RELEASES) + custom_folders(cache.data_dir())


def release(name: str) -> Release:
    """The catalog release or custom folder ``name`` (a MovieRecError when it is neither)."""
    return find_release(name, cache.data_dir())


def dataset_label(name: str) -> str:
    try:
        found = release(name)
    except MovieRecError:
        return f"{name} · not here"
    mark = "synthetic" if generated(name) else ("here" if cache.present(name) else "not here")
    title = "your folder" if found.custom else found.title
    return f"{name} · {title} · {mark}"


def generated(name: str) -> bool:
    """Whether dataset ``name`` is synthetic data: the ``demo`` release, or a folder that
    ``synthesize`` wrote."""
    try:
        found = release(name)
    except MovieRecError:
        return False
    return found.synthetic or (found.custom and is_synthetic_folder(cache.data_dir() / name))


def dataset_note(name: str) -> str:
    """One line on what dataset ``name`` is, for the Data page."""
    found = release(name)
    if found.custom and generated(name):
        return (f"Synthetic: the folder {name}/ of the data dir, written by `python -m movierec "
                "synthesize` (see its SYNTHETIC.md).")
    return found.note
