"""Maps of the movie embeddings: shape, neighbourhoods kept, cached beside the run."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.embeddings import ProjectionConfig, distinctive_genre, movie_map, project
from movierec.errors import ConfigError
from movierec.runs import RunStore


def clusters(n_per=60, dims=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (3, dims))
    points = np.concatenate([c + rng.normal(0, 1, (n_per, dims)) for c in centres])
    return points, np.repeat([0, 1, 2], n_per)


@pytest.mark.parametrize("method", ["tsne", "pca"])
def test_projection_keeps_clusters_apart(method):
    points, labels = clusters()
    xy = project(points, ProjectionConfig(method=method, perplexity=20, iterations=250))
    assert xy.shape == (180, 2) and np.isfinite(xy).all()
    # Each point's nearest neighbour on the map is from its own cluster.
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(1)] == labels).mean() > 0.95


def test_bad_settings():
    points, _ = clusters(n_per=5)
    with pytest.raises(ConfigError, match="too large"):
        project(points, ProjectionConfig(perplexity=30))
    with pytest.raises(ConfigError, match="method"):
        ProjectionConfig(method="umap")
    with pytest.raises(ConfigError, match="perplexity"):
        ProjectionConfig(perplexity=1)
    with pytest.raises(ConfigError, match="at least 3"):
        project(points[:2], ProjectionConfig(method="pca"))


def test_distinctive_genre_prefers_the_rarer():
    import pandas as pd
    genres = pd.Series([["Comedy", "Drama"], ["Drama"], ["Comedy"], ["Comedy", "Horror"], []])
    assert distinctive_genre(genres).tolist() == ["Drama", "Drama", "Comedy", "Horror",
                                                   "(none)"]


def test_movie_map_is_cached_beside_the_run(mf_demo_run, tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    store.save(mf_demo_run)
    config = ProjectionConfig(iterations=150)
    first = movie_map(mf_demo_run, config, store)
    assert len(first) == int((mf_demo_run.item_counts > 0).sum())
    assert {"movie_id", "title", "year", "genres", "genre", "n_ratings", "x", "y"} <= \
        set(first.columns)
    assert (store.path(mf_demo_run.run_id) / "extras" / f"{config.name}.parquet").is_file()
    import movierec.embeddings as emb
    monkeypatch.setattr(emb, "project", lambda *a, **k: pytest.fail("recomputed"))
    again = movie_map(mf_demo_run, config, store)
    np.testing.assert_allclose(again[["x", "y"]], first[["x", "y"]])


def test_large_maps_use_open_tsne_and_report_progress(monkeypatch):
    import movierec.embeddings as emb
    monkeypatch.setattr(emb, "SKLEARN_TSNE_MAX", 100)   # 180 points: the large-map path
    points, labels = clusters()
    steps = []
    xy = project(points, ProjectionConfig(perplexity=20, iterations=150),
                 lambda done, total: steps.append((done, total)))
    assert xy.shape == (180, 2) and np.isfinite(xy).all()
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(1)] == labels).mean() > 0.95
    # Both phases report, in order: 100 exaggerated steps, then the 150 others.
    done = [s for s, _ in steps]
    assert done == sorted(done) and done[-1] == 250 and {25, 100, 125} <= set(done)
    assert {t for _, t in steps} == {250}


def test_maps_place_at_most_max_movies_the_most_rated(mf_demo_run, tmp_path):
    store = RunStore(tmp_path / "runs")
    store.save(mf_demo_run)
    config = ProjectionConfig(method="pca", max_movies=50)
    mapped = movie_map(mf_demo_run, config, store)
    table = mf_demo_run.movie_table()
    top = table.sort_values(["n_ratings", "movie_id"], ascending=[False, True]).head(50)
    assert sorted(mapped["movie_id"]) == sorted(top["movie_id"])
    assert config.name == "map-pca-m50" and ProjectionConfig(method="pca").name == "map-pca"
    with pytest.raises(ConfigError, match="max_movies"):
        ProjectionConfig(max_movies=2)
