"""The location contract: flag, else environment variable, else a per-user folder."""

from __future__ import annotations

from pathlib import Path

from movierec import paths


def test_flag_then_environment_then_per_user(monkeypatch, tmp_path):
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("MOVIEREC_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("MOVIEREC_HOME", str(tmp_path / "h"))
    assert paths.data_dir() == tmp_path / "d" and paths.cache_dir() == tmp_path / "c"
    assert paths.runs_dir() == tmp_path / "h" / "runs"
    assert paths.data_dir("/x") == Path("/x") and paths.runs_dir("/y") == Path("/y")
    for name in ("MOVIEREC_DATA_DIR", "MOVIEREC_CACHE_DIR", "MOVIEREC_HOME"):
        monkeypatch.delenv(name)
    assert paths.data_dir().name == "datasets" and paths.cache_dir().name == "parsed"
    assert paths.runs_dir().name == "runs"
    assert paths.data_dir() != paths.cache_dir()
