"""Two-dimensional maps of the learned movie embeddings (t-SNE, or PCA as the fast choice),
with the facts a map needs per movie (title, year, genres, popularity)."""

from __future__ import annotations

import math
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from movierec.config import to_dict
from movierec.errors import ConfigError
from movierec.runs import Run, RunStore

METHODS = ("tsne", "pca")
# Up to this many movies, scikit-learn's Barnes-Hut t-SNE (the maps measured since issue 1);
# beyond, openTSNE's FFT-accelerated t-SNE (Linderman et al. 2019), which placed 20,000 movies
# in about half of scikit-learn's time here and reports its progress.
SKLEARN_TSNE_MAX = 5_000
DEFAULT_MAX_MOVIES = 20_000
# Beyond SKLEARN_TSNE_MAX movies, vectors longer than this are reduced by PCA first.
OPEN_TSNE_DIMS = 50


class _ShortExplorationTSNE(TSNE):
    """scikit-learn's t-SNE with 100 early-exaggeration steps instead of 250.

    Started from PCA, the exaggerated phase has converged (gradient norm about 5e-5) by step 100
    on ML-1M's movies, and its other 150 steps cost 40% of the default run. With Barnes-Hut's
    angle at 0.8 this maps 3,706 movies in about 8 s instead of 28 s, at a final KL divergence
    of 2.12 against the default's 2.05 (see benchmarks/core.py).
    """

    _EXPLORATION_MAX_ITER = 100


@dataclass(frozen=True)
class ProjectionConfig:
    """How to flatten the embeddings to 2-D.

    Attributes:
        method: ``tsne`` (Barnes-Hut t-SNE) or ``pca``.
        perplexity: t-SNE's effective number of neighbours (5 to 100, and under a third of the
            number of movies).
        iterations: t-SNE optimisation steps after its early-exaggeration steps.
        seed: t-SNE's random seed.
        max_movies: map at most this many movies, the most rated ones (a map of MovieLens
            32M's 87,585 movies would take many minutes, and most have a handful of ratings).
    """

    method: str = "tsne"
    perplexity: float = 30.0
    iterations: int = 300
    seed: int = 0
    max_movies: int = DEFAULT_MAX_MOVIES

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not 5 <= self.perplexity <= 100:
            raise ConfigError(f"perplexity must be from 5 to 100, got {self.perplexity:g}")
        if not 150 <= self.iterations <= 5000:
            raise ConfigError(f"iterations must be from 150 to 5000, got {self.iterations}")
        if not 3 <= self.max_movies <= 1_000_000:
            raise ConfigError(f"max_movies must be from 3 to 1000000, got {self.max_movies}")

    @property
    def name(self) -> str:
        """A file-name-safe label, used to store the projection beside its run."""
        most = "" if self.max_movies == DEFAULT_MAX_MOVIES else f"-m{self.max_movies}"
        if self.method == "pca":
            return "map-pca" + most
        return (f"map-tsne-p{self.perplexity:g}-i{self.iterations}-s{self.seed}"
                .replace(".", "_") + most)


def project(vectors: np.ndarray, config: ProjectionConfig = ProjectionConfig(),
            progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Coordinates ``(n, 2)`` for ``vectors`` ``(n, d)``.

    Args:
        progress: called with (steps done, steps in all) as t-SNE goes; openTSNE (beyond
            :data:`SKLEARN_TSNE_MAX` movies) reports every 25 steps, scikit-learn only at the
            end.
    Raises:
        ConfigError: too few points for the method or the perplexity.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    n = len(vectors)
    if n < 3:
        raise ConfigError(f"a map needs at least 3 movies, got {n}")
    pca = PCA(n_components=2, random_state=config.seed).fit_transform(vectors)
    if config.method == "pca":
        return pca
    if config.perplexity * 3 >= n:
        raise ConfigError(f"perplexity {config.perplexity:g} is too large for {n} movies; use "
                          f"at most {max(5, math.floor((n - 1) / 3))}")
    total = _ShortExplorationTSNE._EXPLORATION_MAX_ITER + config.iterations
    if n > SKLEARN_TSNE_MAX:
        if vectors.shape[1] > OPEN_TSNE_DIMS:
            # Item-to-item models' vectors have one entry per movie (8,000 and more): their
            # first principal components keep the neighbourhoods at a fraction of the time.
            vectors = PCA(n_components=OPEN_TSNE_DIMS, random_state=config.seed) \
                .fit_transform(vectors)
        return _open_tsne(vectors.astype(np.float32), config, total, progress)
    tsne = _ShortExplorationTSNE(
        n_components=2, perplexity=config.perplexity, max_iter=total,
        angle=0.8, init="pca", random_state=config.seed, n_jobs=-1)
    coords = tsne.fit_transform(vectors.astype(np.float32))
    if progress is not None:
        progress(total, total)
    return coords


def _open_tsne(vectors: np.ndarray, config: ProjectionConfig, total: int,
               progress: Callable[[int, int], None] | None) -> np.ndarray:
    """openTSNE with the same schedule as the scikit-learn map (PCA start, 100 exaggerated
    steps, then ``config.iterations``), its FFT gradients and approximate neighbours."""
    import openTSNE

    exaggerated = _ShortExplorationTSNE._EXPLORATION_MAX_ITER
    seen = {"second": False, "last": 0}

    def report(iteration: int, error: float, embedding) -> None:
        # openTSNE counts each phase from zero: the exaggerated steps, then the others.
        if iteration <= seen["last"]:
            seen["second"] = True
        seen["last"] = iteration
        if progress is not None:
            progress(min(iteration + exaggerated * seen["second"], total), total)

    tsne = openTSNE.TSNE(n_components=2, perplexity=config.perplexity, n_iter=config.iterations,
                    early_exaggeration_iter=exaggerated, initialization="pca",
                    negative_gradient_method="fft", neighbors="auto",
                    random_state=config.seed, n_jobs=os.cpu_count() or 1,
                    callbacks=report, callbacks_every_iters=25)
    coords = np.asarray(tsne.fit(vectors))
    if progress is not None:
        progress(total, total)
    return coords


def distinctive_genre(genres: pd.Series) -> pd.Series:
    """Each movie's rarest genre across the table (Drama and Comedy only when alone), a
    better single colour than the alphabetically first genre."""
    counts = Counter(g for gs in genres for g in gs)
    return genres.map(lambda gs: min(gs, key=lambda g: (counts[g], g)) if len(gs) else "(none)")


def mapped_movies(run: Run, config: ProjectionConfig = ProjectionConfig()) -> np.ndarray:
    """Which rows of ``run.movie_table()`` a map places: the movies with training ratings,
    at most ``config.max_movies`` of them, the most rated (ties to the lower id)."""
    table = run.movie_table()
    counts = table["n_ratings"].to_numpy()
    seen = counts > 0
    if seen.sum() > config.max_movies:
        ids = table["movie_id"].to_numpy()
        top = np.lexsort((ids, -counts))[:config.max_movies]
        seen = np.zeros(len(table), dtype=bool)
        seen[top] = True
    return seen


def movie_map(run: Run, config: ProjectionConfig = ProjectionConfig(),
              store: RunStore | None = None,
              progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """The run's movies that have training ratings (the ``config.max_movies`` most rated), with
    2-D coordinates.

    With ``store``, the coordinates are read from beside the run when they were computed
    before, and saved there otherwise.

    Args:
        progress: see :func:`project`.

    Returns:
        Columns ``movie_id``, ``title``, ``year``, ``genres``, ``genre`` (the distinctive one),
        ``n_ratings``, ``x``, ``y``.
    """
    table = run.movie_table()
    seen = mapped_movies(run, config)
    coords = None
    if store is not None:
        cached = store.read_extra(run.run_id, config.name)
        if cached is not None and len(cached) == int(seen.sum()) and \
                np.array_equal(cached["movie_id"].to_numpy(), table.loc[seen, "movie_id"]):
            coords = cached[["x", "y"]].to_numpy()
    if coords is None:
        # Unit length, so that the map's distances follow the cosine that ranks neighbours.
        coords = project(run.unit_vectors().numpy()[seen], config, progress)
        if store is not None:
            store.write_extra(run.run_id, config.name, pd.DataFrame({
                "movie_id": table.loc[seen, "movie_id"].to_numpy(),
                "x": coords[:, 0], "y": coords[:, 1]}))
    result = table.loc[seen, ["movie_id", "title", "year", "genres", "n_ratings"]].copy()
    result.insert(4, "genre", distinctive_genre(result["genres"]))
    result["x"], result["y"] = coords[:, 0], coords[:, 1]
    result.attrs["projection"] = to_dict(config)
    return result.reset_index(drop=True)


PROJECTOR_COLUMNS = ("movie_id", "title", "genres", "n_ratings", "year")


def _tsv_text(value) -> str:
    return " ".join(str(value).split())   # no tab or line break inside a field


def write_projector_files(run: Run, out: str | os.PathLike, min_ratings: int = 1) \
        -> tuple[Path, Path, int]:
    """Write the run's movie vectors in the TensorFlow Embedding Projector's format:
    ``vectors.tsv`` (one movie per line, its vector tab-separated, no header) and
    ``metadata.tsv`` (a header ``movie_id title genres n_ratings year``, then one line per
    movie in the same order). The vectors are those whose cosine ranks neighbours.

    Args:
        min_ratings: only movies with at least this many training ratings.
    Returns:
        (vectors path, metadata path, number of movies).
    Raises:
        ConfigError: no movie has ``min_ratings`` ratings, or ``out`` cannot be written.
    """
    table = run.movie_table()
    keep = (table["n_ratings"] >= max(min_ratings, 0)).to_numpy()
    if not keep.any():
        raise ConfigError(f"no movie of run {run.run_id} has {min_ratings} training ratings")
    vectors = run.model.item_embeddings().detach().float().cpu().numpy()[keep]
    rows = table[keep]
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, lines in (
                ("vectors.tsv", ("\t".join(f"{v:.6g}" for v in vec) for vec in vectors)),
                ("metadata.tsv", ["\t".join(PROJECTOR_COLUMNS)] + [
                    "\t".join([str(r.movie_id), _tsv_text(r.title), "|".join(r.genres),
                               str(r.n_ratings), "" if pd.isna(r.year) else str(int(r.year))])
                    for r in rows.itertuples()])):
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write("\n".join(lines) + "\n")
                os.replace(tmp, folder / name)
            finally:
                Path(tmp).unlink(missing_ok=True)   # gone after the rename; a half-write's
            paths.append(folder / name)
    except OSError as exc:
        raise ConfigError(f"cannot write the projector files to {folder}: "
                          f"{exc.strerror or exc}") from None
    return paths[0], paths[1], int(keep.sum())
