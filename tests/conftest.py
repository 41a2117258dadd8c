"""Shared fixtures: isolated data/cache/runs folders, the demo dataset, tiny trained runs."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from movierec.config import DataConfig, TrainConfig
from movierec.data import generate_demo
from movierec.experiment import start_training
from movierec.models import get_model_spec
from tests.httpserver import server  # noqa: F401 - a fixture for every test module

SHARED_DATA = Path(os.environ.get("MOVIEREC_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))
requires_shared_data = pytest.mark.skipif(
    not (SHARED_DATA / "ml-100k" / "u.data").is_file(),
    reason=f"real MovieLens copies not found in {SHARED_DATA}")
requires_ncf_data = pytest.mark.skipif(
    not ((SHARED_DATA / "ml-1m" / "ratings.dat").is_file()
         and (SHARED_DATA / "ncf-ml-1m" / "test.negative").is_file()),
    reason=f"ml-1m and the NCF paper's test of it not found in {SHARED_DATA}")


def pytest_configure(config):
    """Under pytest-xdist (`.ci/run` runs two workers), each worker's torch takes its share of
    the cores instead of all of them, so that the workers do not oversubscribe the machine."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def pytest_collection_modifyitems(config, items):
    """The slow tests first (a stable sort keeps the rest in order): under pytest-xdist the
    longest ones then start at once on every worker instead of last on one."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def isolated_locations(tmp_path_factory, monkeypatch):
    """Every test gets its own data, cache and runs folders; nothing touches the user's."""
    root = tmp_path_factory.mktemp("locations")
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("MOVIEREC_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("MOVIEREC_HOME", str(root / "home"))
    monkeypatch.delenv("MOVIEREC_MIRROR", raising=False)
    return root


@pytest.fixture(scope="session")
def _demo_pristine():
    return generate_demo()


@pytest.fixture
def demo(_demo_pristine):
    """The demo dataset, shared across tests; fails the test that mutated it."""
    before = (_demo_pristine.ratings.copy(), _demo_pristine.movies.copy())
    yield _demo_pristine
    pd.testing.assert_frame_equal(before[0], _demo_pristine.ratings)
    pd.testing.assert_frame_equal(before[1], _demo_pristine.movies)


def train_demo(demo_dataset, model: str, epochs: int, settings: dict | None = None, **train):
    """A finished :class:`Training` of ``model`` (with hyperparameters ``settings``) on the
    demo data."""
    defaults = {"batch_size": 1024, "lr": 3e-3, "seed": 0}
    training = start_training(demo_dataset, DataConfig("demo", 1.0, 0.1, 0), model,
                              get_model_spec(model).config(settings),
                              TrainConfig(epochs=epochs, **{**defaults, **train}))
    for _ in training.epochs():
        pass
    return training


@pytest.fixture(scope="session")
def mf_demo_run(_demo_pristine):
    """An MF run trained on the demo data (shared: never mutate it)."""
    return train_demo(_demo_pristine, "mf", 8).run


@pytest.fixture(scope="session")
def seednet_demo_run(_demo_pristine):
    """A seednet run on the demo data, with light dropout so that it learns people's tastes
    in a few epochs (shared: never mutate it)."""
    return train_demo(_demo_pristine, "seednet", 10, {"dropout": 0.1, "embedding_dropout": 0.1},
                      batch_size=512).run


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Let fixtures see whether the test failed (the browser test screenshots failures)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
