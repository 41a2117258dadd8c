"""The strip of movies a newcomer is asked to rate (the Recommend page, ``starters`` and the
onboarding protocol all use this one): the next movies to show, from what the person has rated
and skipped so far.

A run whose model can tell which movies a person has probably seen (the ``onboard`` model's
seen head) gets a strip that follows the person: the movies whose answer is most worth having,
never two near neighbours together. Any other run gets popular, varied movies: the most rated,
at most two per distinctive genre, none among the three nearest neighbours of one already
picked (by the cosine of the run's movie vectors, as MovieLens' own first strip was popular
movies)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from movierec.errors import ConfigError
from movierec.runs import Run
from movierec.strip import nearest_in_pool, pick_varied

SHOWN = 12        # movies on one strip
NEAR = 3          # a movie is not shown beside one of its 3 nearest neighbours
PER_GENRE = 2     # popular strips: at most two movies of a distinctive genre


@dataclass(frozen=True, eq=False)
class Strip:
    """What a run needs to choose strips, prepared once (shared and never changed).

    Attributes:
        run: the run.
        pool: the table positions of the movies a strip may show.
        near: each pool movie's nearest pool movies (pool positions).
        groups: the pool movies' distinctive genres, or None when the model picks by itself.
        adaptive: whether the strip follows the person's answers (the model has a seen head).
    """

    run: Run
    pool: np.ndarray
    near: np.ndarray
    groups: np.ndarray | None
    adaptive: bool

    @classmethod
    def for_run(cls, run: Run, n: int = SHOWN, popular: bool = False) -> Strip:
        """The run's strip: the model's own (adaptive) when it has one (and ``popular`` is
        False), else popular and varied from the ``max(20 n, 200)`` most rated movies."""
        model = run.model
        if hasattr(model, "strip_scores") and not popular:
            return cls(run, model.pool.cpu().numpy(), model.pool_near.cpu().numpy(), None,
                       True)
        from movierec.embeddings import distinctive_genre

        counts = np.asarray(run.item_counts)
        ranked = np.lexsort((np.arange(len(counts)), -counts))
        pool = ranked[:max(20 * n, 200)]
        pool = pool[counts[pool] > 0]
        with torch.no_grad():
            vectors = model.item_embeddings().detach().float().cpu().numpy()[pool]
        groups = distinctive_genre(run.movie_table()["genres"].iloc[pool]).to_numpy()
        return cls(run, pool, nearest_in_pool(vectors, NEAR), groups, False)

    def next_positions(self, positions: np.ndarray, stars: np.ndarray,
                       skipped: np.ndarray, n: int = SHOWN) -> np.ndarray:
        """Table positions of the next ``n`` movies to show someone who gave ``stars`` to the
        movies at ``positions`` and skipped those at ``skipped`` (none of which is shown
        again); fewer when the pool runs out."""
        if n < 1:
            raise ConfigError(f"a strip shows at least 1 movie, got {n}")
        answered = np.concatenate([np.asarray(positions, np.int64),
                                   np.asarray(skipped, np.int64)])
        available = ~np.isin(self.pool, answered)
        if self.adaptive:
            model = self.run.model
            with torch.no_grad():
                vec = model.person_vector(torch.as_tensor(np.asarray(positions, np.int64)),
                                          torch.as_tensor(np.asarray(stars, np.float32)),
                                          torch.as_tensor(np.asarray(skipped, np.int64)))
                worth = model.strip_scores(vec).cpu().numpy()
        else:
            worth = np.asarray(self.run.item_counts, dtype=np.float64)[self.pool]
        picked = pick_varied(worth, self.near, available, n, self.groups, PER_GENRE)
        return self.pool[picked]

    def next_movies(self, rated: Mapping[int, float] | None = None,
                    skipped: Iterable[int] = (), n: int = SHOWN) -> pd.DataFrame:
        """The next strip for someone who gave ``rated`` (``{movie_id: stars}``) and skipped
        ``skipped`` (movie ids): rows ``movie_id``, ``title``, ``year``, ``genres``,
        ``n_ratings``. Movies the run does not know are ignored (they tell it nothing)."""
        rated = dict(rated or {})
        ids = self.run.item_ids
        rated_ids = np.fromiter(rated, dtype=np.int64, count=len(rated))
        positions, known = ids.lookup(rated_ids)
        stars = np.fromiter(rated.values(), dtype=np.float32, count=len(rated))
        skip_ids = np.fromiter((int(m) for m in skipped), dtype=np.int64)
        skip_positions, skip_known = ids.lookup(skip_ids)
        best = self.next_positions(positions[known], stars[known], skip_positions[skip_known],
                                   n)
        table = self.run.movie_table()
        return table.iloc[best][["movie_id", "title", "year", "genres", "n_ratings"]] \
            .reset_index(drop=True)


def starters(run: Run, rated: Mapping[int, float] | None = None, skipped: Iterable[int] = (),
             n: int = SHOWN) -> pd.DataFrame:
    """The next strip of ``run`` for one person (see :meth:`Strip.next_movies`)."""
    return Strip.for_run(run, n).next_movies(rated, skipped, n)


def check_answers(run: Run, rated: Mapping[int, float], skipped: Iterable[int]) -> None:
    """Refuse answers a person cannot have given: a star off the run's scale, a movie the run
    does not know, or a movie both rated and skipped.

    Raises:
        ConfigError, UnknownIdError: saying which movie.
    """
    from movierec.errors import UnknownIdError
    from movierec.inference import rated_positions

    rated_positions(run, rated)
    for movie_id in skipped:
        if movie_id not in run.item_ids:
            raise UnknownIdError(f"unknown movie id {movie_id} (not among the "
                                 f"{len(run.item_ids)} movies this run knows)")
        if movie_id in rated:
            raise ConfigError(f"movie {movie_id} is both rated and skipped")
