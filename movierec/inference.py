"""Using a trained run: fold in a new person from a few ratings, recommend unrated movies, and
find similar movies by cosine similarity of the movie embeddings. Nothing here changes a model."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

from movierec.errors import ConfigError, UnknownIdError
from movierec.models.base import Recommender
from movierec.runs import Run
from movierec.titles import normalise_title, title_forms


def fold_in(model: Recommender, item_idx, ratings, prior_weight: float = 0.3,
            max_iter: int = 20, skipped=None) -> torch.Tensor:
    """Fit a user vector for a new person from their ratings, every model parameter frozen.

    Models that encode a person directly (:meth:`Recommender.person_vector`) give it at once.
    Otherwise it is a MAP estimate: the model's own loss on the person's ratings plus a
    Gaussian prior centred on the average user, with the spread of the learned user vectors
    (``prior_weight`` scales it). The model's weights, buffers and ``.grad`` are left exactly
    as they were.

    Args:
        model: a trained model.
        item_idx: the rated movies' table positions.
        ratings: their stars (on the model's scale).
        skipped: table positions of movies the person was shown and skipped, for models that
            learn from that (the others ignore it).
    Returns:
        The user vector (``(D,)``), usable with ``model.score_vectors``.
    """
    items = torch.as_tensor(np.asarray(item_idx), dtype=torch.long)
    stars = torch.as_tensor(np.asarray(ratings, dtype=np.float32))
    if items.ndim != 1 or len(items) != len(stars):
        raise ConfigError("fold-in needs one rating per rated movie")
    with torch.no_grad():
        direct = model.person_vector(
            items, stars, None if skipped is None else
            torch.as_tensor(np.asarray(skipped, dtype=np.int64)))
    if direct is not None:   # a model that encodes people straight from their answers
        return direct
    if len(items) == 0:
        raise ConfigError("fold-in needs at least one rating")
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        items, stars = items.to(device), stars.to(device)
        with torch.no_grad():
            population = model.user_vectors(torch.arange(model.n_users, device=device))
            mean = population.mean(0)
            var = population.var(0, unbiased=False).clamp_min(1e-6)
        vec = mean.clone().requires_grad_(True)
        optimizer = torch.optim.LBFGS([vec], lr=1.0, max_iter=max_iter,
                                      line_search_fn="strong_wolfe")
        generator = torch.Generator().manual_seed(0)

        def objective() -> torch.Tensor:
            optimizer.zero_grad()
            generator.manual_seed(0)   # the same sampled negatives at every evaluation
            data_term = model.fold_in_loss(vec, items, stars, generator)
            prior = 0.5 * prior_weight * ((vec - mean).square() / var).sum()
            loss = data_term + prior
            (grad,) = torch.autograd.grad(loss, [vec])
            vec.grad = grad
            return loss.detach()

        optimizer.step(objective)
        return vec.detach()
    finally:
        model.train(was_training)


def rated_positions(run: Run, rated: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """Table positions and stars of ``rated`` (``{movie_id: stars}``).

    Raises:
        ConfigError: a star off the run's scale. UnknownIdError: a movie the run does not
            know.
    """
    scale = run.rating_scale
    ids = np.fromiter((int(m) for m in rated), dtype=np.int64, count=len(rated))
    stars = np.fromiter((float(s) for s in rated.values()), dtype=np.float32, count=len(rated))
    for movie_id, value in zip(ids, stars, strict=True):
        if not np.isin(np.float32(value), np.asarray(scale, dtype=np.float32)):
            raise ConfigError(f"rating {value:g} for movie {movie_id} is not on the scale "
                              f"{scale[0]:g}-{scale[-1]:g} (steps of {scale[1] - scale[0]:g})")
    try:
        positions = run.item_ids.index(ids)
    except UnknownIdError as exc:
        raise UnknownIdError(f"{exc} (not among the {len(run.item_ids)} movies this run knows)") \
            from None
    return positions, stars


def person_scores(run: Run, positions: np.ndarray, stars: np.ndarray,
                  skipped: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every movie's ranking score and predicted stars (NaN for models that only rank) for a
    new person who gave ``stars`` to the movies at table ``positions`` (and skipped those at
    ``skipped``)."""
    model = run.model
    vec = fold_in(model, positions, stars, skipped=skipped)
    with torch.no_grad():
        out = model.score_all(vec[None, :])[0]
        score = model.ranking_score(out).cpu().numpy()
        predicted = np.full(model.n_items, np.nan) if model.output == "score" else \
            model.expected_rating(out).cpu().numpy()
    return score, predicted


def top_positions(score: np.ndarray, keep: np.ndarray, top: int) -> np.ndarray:
    """The ``top`` highest-scoring positions among those ``keep`` marks, best first (ties
    keep table order)."""
    candidates = np.flatnonzero(keep)
    return candidates[np.argsort(-score[candidates], kind="stable")[:top]]


def recommend(run: Run, rated: Mapping[int, float], top: int = 10, min_ratings: int = 10,
              genres: list[str] | None = None, skipped=()) -> pd.DataFrame:
    """Top unrated movies for a new person who gave ``rated`` (``{movie_id: stars}``).

    Args:
        run: a loaded run.
        top: how many to return.
        min_ratings: skip movies with fewer training ratings (their scores are guesses).
        genres: keep only movies having at least one of these genres.
        skipped: movie ids the person was shown and skipped ("haven't seen it"): models that
            learn from skips use them, and none is suggested. Ids the run does not know are
            ignored.
    Returns:
        Rows ``movie_id``, ``title``, ``year``, ``genres``, ``predicted_rating`` (NaN for models
        that rank rather than predict stars), ``score`` (what the list is sorted by),
        ``n_ratings``, best first; never a movie in ``rated`` or ``skipped``.
    """
    if top < 1:
        raise ConfigError(f"top must be at least 1, got {top}")
    if not rated and not run.model.uses_skips:
        raise ConfigError("rate at least one movie first")
    positions, stars = rated_positions(run, rated)
    skip_positions, known = run.item_ids.lookup(
        np.fromiter((int(m) for m in skipped), dtype=np.int64))
    skip_positions = np.setdiff1d(skip_positions[known], positions)
    score, predicted = person_scores(run, positions, stars, skip_positions)
    table = run.movie_table()
    keep = (table["n_ratings"] >= max(min_ratings, 1)).to_numpy(copy=True)
    keep[positions] = False
    keep[skip_positions] = False
    if genres:
        wanted = set(genres)
        keep &= np.fromiter((bool(wanted.intersection(g)) for g in table["genres"]), bool,
                            count=len(table))
    best = top_positions(score, keep, top)
    result = table.iloc[best][["movie_id", "title", "year", "genres", "n_ratings"]].copy()
    result.insert(4, "predicted_rating", predicted[best].astype(float))
    result.insert(5, "score", score[best].astype(float))
    return result.reset_index(drop=True)


def similar(run: Run, movie_id: int, top: int = 10, min_ratings: int = 0) -> pd.DataFrame:
    """Movies whose embeddings are closest to ``movie_id``'s by cosine similarity.

    Returns:
        Rows ``movie_id``, ``title``, ``year``, ``genres``, ``similarity``, ``n_ratings``,
        most similar first, without the movie itself.
    """
    if top < 1:
        raise ConfigError(f"top must be at least 1, got {top}")
    try:
        position = run.item_ids.index(int(movie_id))
    except UnknownIdError as exc:
        raise UnknownIdError(f"{exc} (not among the {len(run.item_ids)} movies this run knows)") \
            from None
    emb = run.unit_vectors()
    sims = (emb @ emb[position]).numpy()
    table = run.movie_table()
    keep = (table["n_ratings"] >= min_ratings).to_numpy(copy=True)
    keep[position] = False
    best = top_positions(sims, keep, top)
    result = table.iloc[best][["movie_id", "title", "year", "genres", "n_ratings"]].copy()
    result.insert(4, "similarity", sims[best].astype(float))
    return result.reset_index(drop=True)


CLOSE_RANK = 20   # a suggestion is "because you rated" a movie only among its nearest 20


def because(run: Run, movie_ids, rated: Mapping[int, float],
            close_rank: int = CLOSE_RANK) -> list[int | None]:
    """For each movie in ``movie_ids``, the movie the person liked (rated at or above their
    own average) that it is really close to: it must be among that movie's ``close_rank``
    nearest neighbours (by the cosine similarity of :func:`similar`, over the movies with
    training ratings); the liked movie it ranks highest for is named. None when no liked
    movie is that close, so that a reason is never a stretch."""
    liked_mean = float(np.mean(list(rated.values()))) if rated else 0.0
    liked = [m for m, s in rated.items() if s >= liked_mean and m in run.item_ids]
    if not liked or len(movie_ids) == 0:
        return [None] * len(movie_ids)
    known = torch.as_tensor(run.item_counts > 0)
    emb = run.unit_vectors()
    with torch.no_grad():
        liked_pos = torch.as_tensor(run.item_ids.index(np.asarray(liked, dtype=np.int64)))
        asked = torch.as_tensor(run.item_ids.index(np.asarray(movie_ids, dtype=np.int64)))
        sims = emb[liked_pos] @ emb.T                       # (liked, all movies)
        sims[:, ~known] = -torch.inf
        sims[torch.arange(len(liked_pos)), liked_pos] = -torch.inf
        # each movie's place in each liked movie's neighbour list (0 = nearest)
        order = torch.argsort(sims, dim=1, descending=True, stable=True)
        place = torch.empty_like(order).scatter_(
            1, order, torch.arange(order.shape[1]).expand_as(order).contiguous())
    best_rank, best = place[:, asked].min(0)
    return [int(liked[b]) if r < close_rank else None
            for r, b in zip(best_rank.tolist(), best.tolist(), strict=True)]


def find_movies(run_or_movies, query: str, limit: int = 10) -> pd.DataFrame:
    """Movies whose title matches ``query``, forgiving case, accents, punctuation and
    MovieLens' trailing articles ("matrix, the" and "the matrix" both find "Matrix, The
    (1999)"); most rated first when counts are known."""
    table = run_or_movies.movie_table() if isinstance(run_or_movies, Run) else run_or_movies
    words = normalise_title(query)
    if not words:
        return table.iloc[:0]
    if isinstance(run_or_movies, Run):
        # Normalised once per run: about half a second for MovieLens 32M's 87,585 titles.
        forms = run_or_movies.derived("title_forms",
                                      lambda: table["title"].astype(str).map(title_forms))
    else:
        forms = table["title"].astype(str).map(title_forms)
    found = table[forms.str.contains(words, regex=False)]
    if "n_ratings" in found.columns:
        found = found.sort_values("n_ratings", ascending=False, kind="stable")
    return found.head(limit)
