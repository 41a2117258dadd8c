"""No name a user gives (run id, dataset, extra table, uploaded file) reaches outside the data
and runs folders; each hostile name is refused with a clear error, on the library and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from movierec.config import DataConfig
from movierec.data import get_release, load_dataset
from movierec.errors import ConfigError, DataError, MovieRecError, RunError
from movierec.runs import RunStore
from tests.clitools import run_main

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ["../escape", "../../etc/passwd", "/etc/passwd", "a/b", "..", ".", "", "run\x00id",
           "C:\\windows", ".hidden", "~root", "x" * 300]


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_run_ids_and_extra_names_are_refused(tmp_path, mf_demo_run, name):
    store = RunStore(tmp_path / "home" / "runs")
    store.save(mf_demo_run)
    before = _tree(tmp_path)
    with pytest.raises(MovieRecError):
        store.path(name)
    with pytest.raises(MovieRecError):
        store.load(name)
    with pytest.raises(MovieRecError):
        store.delete(name)
    with pytest.raises(RunError):
        store.write_extra(mf_demo_run.run_id, name, mf_demo_run.movies.head(2))
    assert store.read_extra(mf_demo_run.run_id, name) is None
    assert _tree(tmp_path) == before                     # nothing written or removed
    assert store.load(mf_demo_run.run_id).epochs == mf_demo_run.epochs


@pytest.mark.parametrize("name", HOSTILE + ["ml-1m/../../x", "ml-1m\\..\\x"])
def test_hostile_dataset_names_are_refused(tmp_path, name):
    with pytest.raises(DataError, match="known datasets"):
        get_release(name)
    with pytest.raises(MovieRecError):
        load_dataset(name, data_dir=tmp_path / "data", allow_download=False)
    with pytest.raises(ConfigError):
        DataConfig(dataset=name)
    assert _tree(tmp_path) == set()


@pytest.mark.parametrize("args", [
    ["runs", "show", "../../etc/passwd"],
    ["runs", "delete", "../outside"],
    ["recommend", "--run", "/etc/passwd", "--rate", "1=5"],
    ["similar", "--run", "..", "--movie", "1"],
    ["train", "--dataset", "../ml-1m", "--epochs", "1"],
    ["download", "ml-1m/../../x"],
])
def test_hostile_names_on_the_command_line(tmp_path, args, monkeypatch, capfd):
    """In this process (tests/test_cli.py shows the real ``python -m movierec`` says the
    same)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    result = run_main(capfd, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert (outside / "keep.txt").read_text() == "mine"


def test_uploads_are_size_limited():
    import tomllib

    from movierec.data.catalog import RELEASES

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    limit_mb = config["server"]["maxUploadSize"]
    largest = max(r.zip_mb for r in RELEASES.values() if not r.synthetic)
    # Big enough for every release a person would upload, small enough to refuse nonsense.
    assert largest <= limit_mb <= 512
