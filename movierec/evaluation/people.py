"""The new-person protocol: what a person sees after rating a few movies.

People held out of training entirely (``DataConfig.new_people``) each give ``K`` of their own
ratings, chosen at random (seeded), and get ``top`` suggestions from every movie they did not
give that has at least ``min_ratings`` training ratings, exactly as ``recommend`` makes them. A
suggestion is a hit when the person rated it ``liked`` stars or more among their other ratings.

Per ``K`` it reports precision@top (hits / top), recall@top (hits over the smaller of ``top``
and the person's liked hidden movies), NDCG@top (binary gains), the share of suggestions among
the ``popular`` most-rated movies, the number of distinct movies suggested across all people,
and novelty (the mean self-information, -log2 of the share of training users who rated a
suggestion). The references are fitted on the same training ratings: the most-rated list,
item-kNN (the sum of the given movies' cosine similarities of mean-centred ratings) and EASE.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.errors import ConfigError
from movierec.evaluation.neighbours import item_knn_vectors
from movierec.interactions import Interactions
from movierec.limits import MAX_ITEMS
from movierec.models.itemitem import EASEConfig, ease_weights, gram_matrix

# Scores of every movie (table order) for a person who gave ``stars`` to ``positions`` and was
# shown and skipped the movies at ``skipped`` (none in this protocol).
Ranker = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

REFERENCES = ("most rated", "item-kNN", "EASE")


@dataclass(frozen=True)
class PeopleProtocol:
    """Settings of the new-person protocol.

    Attributes:
        given: the numbers of ratings each person gives (one pass each).
        top: suggestions per person.
        liked: a hidden rating at or above this makes a suggestion a hit.
        min_ratings: suggestions come from movies with at least this many training ratings
            (``recommend``'s default).
        popular: the size of the most-rated list whose share of suggestions is reported.
        seed: seeds which ratings each person gives.
    """

    given: tuple[int, ...] = (3, 5, 10)
    top: int = 10
    liked: float = 4.0
    min_ratings: int = 10
    popular: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.given or any(k < 1 for k in self.given):
            raise ConfigError(f"given must list positive numbers of ratings, got {self.given}")
        if self.top < 1 or self.popular < 1:
            raise ConfigError("top and popular must be at least 1")


@dataclass(frozen=True, eq=False)
class Query:
    """One person's turn: the ratings they give, the movies they liked among the rest, and
    the movies they were shown and skipped (never suggested)."""

    given_items: np.ndarray
    given_stars: np.ndarray
    liked_hidden: np.ndarray
    skipped: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def make_queries(people: Interactions, k: int, liked: float, seed: int = 0) -> list[Query]:
    """One query per person with more than ``k`` ratings: ``k`` of them given at random
    (seeded by ``seed`` and ``k``), the liked ones among the others hidden."""
    rng = np.random.default_rng([seed, k])
    order = np.argsort(people.user_idx, kind="stable")
    bounds = np.searchsorted(people.user_idx[order], np.arange(people.n_users + 1))
    queries = []
    for person in range(people.n_users):
        rows = order[bounds[person]:bounds[person + 1]]
        if len(rows) <= k:
            continue
        shown = rng.permutation(len(rows))
        given, hidden = rows[shown[:k]], rows[shown[k:]]
        queries.append(Query(people.item_idx[given], people.rating[given],
                             people.item_idx[hidden][people.rating[hidden] >= liked]))
    return queries


def score_lists(lists: np.ndarray, queries: list[Query], train: Interactions,
                protocol: PeopleProtocol) -> dict:
    """The protocol's numbers for suggestion lists ``(people, top)`` of table positions."""
    top = protocol.top
    counts = train.item_counts()
    popular = np.argsort(-counts, kind="stable")[:protocol.popular]
    discounts = 1.0 / np.log2(np.arange(2, top + 2))
    precision, recall, ndcg = [], [], []
    for row, query in zip(lists, queries, strict=True):
        hits = np.isin(row, query.liked_hidden)
        precision.append(hits.sum() / top)
        n_liked = len(query.liked_hidden)
        if n_liked:
            recall.append(hits.sum() / min(top, n_liked))
            ideal = discounts[:min(top, n_liked)].sum()
            ndcg.append((discounts[:len(row)] * hits).sum() / ideal)
    shown = lists.ravel()
    users = max(len(np.unique(train.user_idx)), 1)
    return {
        "precision": float(np.mean(precision)),
        "recall": float(np.mean(recall)) if recall else math.nan,
        "ndcg": float(np.mean(ndcg)) if ndcg else math.nan,
        "popular_share": float(np.isin(shown, popular).mean()),
        "distinct": int(len(np.unique(shown))),
        "median_popularity": float(np.median(counts[shown])) if len(shown) else math.nan,
        "novelty": float(np.mean(-np.log2(np.maximum(counts[shown], 1) / users))),
        "people": len(queries),
    }


def suggestion_lists(ranker: Ranker, queries: list[Query], keep: np.ndarray, top: int,
                     progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Each query's ``top`` suggestions from ``ranker`` among the movies ``keep`` marks, never
    one the person gave or skipped."""
    from movierec.inference import top_positions

    lists = np.empty((len(queries), top), dtype=np.int64)
    for row, query in enumerate(queries):
        allowed = keep.copy()
        allowed[query.given_items] = False
        allowed[query.skipped] = False
        best = top_positions(ranker(query.given_items, query.given_stars, query.skipped),
                             allowed, top)
        if len(best) < top:
            raise ConfigError(f"only {len(best)} movies are left to suggest; lower "
                              "min_ratings")
        lists[row] = best
        if progress is not None:
            progress(row + 1, len(queries))
    return lists


def run_ranker(run) -> Ranker:
    """What a run suggests: :func:`movierec.inference.person_scores`, fold-in and all."""
    from movierec.inference import person_scores

    return lambda positions, stars, skipped: person_scores(run, positions, stars, skipped)[0]


def reference_rankers(train: Interactions, names: Iterable[str] = REFERENCES) \
        -> dict[str, Ranker]:
    """The references fitted on ``train``: ``most rated``, ``item-kNN`` and ``EASE`` (the
    last two keep an n x n matrix, so they are left out beyond ``MAX_ITEMS`` movies)."""
    names = list(names)
    unknown = sorted(set(names) - set(REFERENCES))
    if unknown:
        raise ConfigError(f"unknown reference(s) {', '.join(unknown)}; known: "
                          f"{', '.join(REFERENCES)}")
    rankers: dict[str, Ranker] = {}
    counts = train.item_counts().astype(np.float64)
    if "most rated" in names:
        rankers["most rated"] = lambda positions, stars, skipped: counts
    if train.n_items > MAX_ITEMS:
        return rankers
    if "item-kNN" in names:
        vectors = item_knn_vectors(train)
        norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(1)).ravel())
        unit = sp.diags(1.0 / np.maximum(norms, 1e-12)) @ vectors
        cosine = np.asarray((unit @ unit.T).toarray())
        np.fill_diagonal(cosine, 0.0)
        rankers["item-kNN"] = lambda positions, stars, skipped: cosine[positions].sum(0)
    if "EASE" in names:
        rated = sp.csr_matrix((np.ones(len(train)), (train.user_idx, train.item_idx)),
                              shape=(train.n_users, train.n_items))
        weights = ease_weights(gram_matrix(rated), EASEConfig().l2)
        rankers["EASE"] = lambda positions, stars, skipped: weights[positions].sum(0)
    return rankers


def new_person_table(rankers: dict[str, Ranker], people: Interactions, train: Interactions,
                     protocol: PeopleProtocol = PeopleProtocol(),
                     progress: Callable[[str, int, int], None] | None = None) -> pd.DataFrame:
    """The new-person protocol for every ranker (a run's and the references').

    Args:
        rankers: name -> scores of every movie for a person's given ratings.
        people: the held-out people's ratings (over the training movie map).
        train: the training ratings (candidate filter, popularity, novelty).
        progress: called with (name, people done, people) while a ranker runs.
    Returns:
        One row per ranker and number of given ratings: ``method``, ``given``,
        ``precision``, ``recall``, ``ndcg``, ``popular_share``, ``distinct``,
        ``median_popularity``, ``novelty``, ``people``.
    """
    if people.n_items != train.n_items:
        raise ConfigError("the people and the training ratings use different movie maps")
    keep = train.item_counts() >= max(protocol.min_ratings, 1)
    rows = []
    for k in protocol.given:
        queries = make_queries(people, k, protocol.liked, protocol.seed)
        if not queries:
            raise ConfigError(f"no held-out person has more than {k} ratings")
        for name, ranker in rankers.items():
            report = None if progress is None else \
                (lambda done, total, name=name, k=k: progress(f"{name}, {k} given", done, total))
            lists = suggestion_lists(ranker, queries, keep, protocol.top, report)
            rows.append({"method": name, "given": k,
                         **score_lists(lists, queries, train, protocol)})
    return pd.DataFrame(rows)
