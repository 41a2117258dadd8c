"""The onboarding protocol: what a newcomer sees after rating the strip the Recommend page shows
(ask and reveal, after Rashid et al., "Getting to know you", IUI 2002).

People held out of training entirely (``DataConfig.new_people``) go through ``rounds`` strips of
``shown`` movies each, chosen by the product's own strip (:class:`movierec.starters.Strip`,
which sees what they rated and skipped so far). Each person rates, with their own stars, the
shown movies that are in their history and skips the others; the next strip never shows a
movie again. After each round every ranker makes ``top`` suggestions from the ratings and skips
given so far, among the movies with at least ``min_ratings`` training ratings that were not
shown; a suggestion is a hit when the person rated it ``liked`` stars or more. Every ranker is
asked with the same revealed ratings.

Per round and ranker it reports the ratings given (the mean so far and in this round, and the
share of people with none yet), precision@top, recall@top, NDCG@top, the share of suggestions
among the ``popular`` most-rated movies, the distinct movies suggested across everyone and the
median number of training ratings of the suggestions. A person with no rating yet gets the
suggestions of a ranker that learns from skips, and the most rated movies not shown from any
other (whose scores need a rating).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movierec.errors import ConfigError
from movierec.evaluation.people import (
    PeopleProtocol,
    Query,
    Ranker,
    score_lists,
    suggestion_lists,
)
from movierec.interactions import Interactions

# The next strip for someone who gave ``stars`` to ``positions`` and skipped ``skipped``:
# ``(positions, stars, skipped, n) -> positions`` (``Strip.next_positions``).
StripChooser = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class OnboardingProtocol:
    """Settings of the onboarding protocol.

    Attributes:
        rounds: strips each person goes through.
        shown: movies on one strip (the Recommend page shows 12).
        top: suggestions per person.
        liked: a rating at or above this makes a suggestion a hit.
        min_ratings: suggestions come from movies with at least this many training ratings.
        popular: the size of the most-rated list whose share of suggestions is reported.
    """

    rounds: int = 3
    shown: int = 12
    top: int = 10
    liked: float = 4.0
    min_ratings: int = 10
    popular: int = 100

    def __post_init__(self) -> None:
        if not (isinstance(self.rounds, int) and 1 <= self.rounds <= 50):
            raise ConfigError(f"rounds must be a whole number from 1 to 50, got {self.rounds}")
        if not (isinstance(self.shown, int) and 1 <= self.shown <= 200):
            raise ConfigError(f"shown must be a whole number from 1 to 200, got {self.shown}")
        if self.top < 1 or self.popular < 1:
            raise ConfigError("top and popular must be at least 1")


@dataclass(frozen=True, eq=False)
class Answers:
    """What the people have told after one round: per person, the rated movies (table
    positions) with their stars, and the movies shown and skipped."""

    rated: list[np.ndarray]
    stars: list[np.ndarray]
    skipped: list[np.ndarray]
    new: np.ndarray          # ratings given in this round, per person


def _histories(people: Interactions) -> list[tuple[np.ndarray, np.ndarray]]:
    order = np.lexsort((people.item_idx, people.user_idx))
    bounds = np.searchsorted(people.user_idx[order], np.arange(people.n_users + 1))
    return [(people.item_idx[order[a:b]], people.rating[order[a:b]])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def reveal(strip: StripChooser, people: Interactions, protocol: OnboardingProtocol,
           progress: Callable[[int, int], None] | None = None) -> list[Answers]:
    """Take every person through ``protocol.rounds`` strips: each round shows the next
    ``protocol.shown`` movies the strip chooses from their answers so far; they rate those in
    their history (with their own stars) and skip the rest.

    Returns:
        The answers after each round (cumulative).
    """
    return _reveal(strip, _histories(people), protocol, progress)


def _reveal(strip: StripChooser, histories: list[tuple[np.ndarray, np.ndarray]],
            protocol: OnboardingProtocol, progress: Callable[[int, int], None] | None) \
        -> list[Answers]:
    rated = [np.zeros(0, np.int64) for _ in histories]
    stars = [np.zeros(0, np.float32) for _ in histories]
    skipped = [np.zeros(0, np.int64) for _ in histories]
    rounds = []
    total = protocol.rounds * len(histories)
    for number in range(protocol.rounds):
        new = np.zeros(len(histories), dtype=np.int64)
        for person, (items, ratings) in enumerate(histories):
            shown = np.asarray(strip(rated[person], stars[person], skipped[person],
                                     protocol.shown), dtype=np.int64)
            where = np.searchsorted(items, shown)
            where = np.minimum(where, max(len(items) - 1, 0))
            seen = (items[where] == shown) if len(items) else np.zeros(len(shown), bool)
            rated[person] = np.concatenate([rated[person], shown[seen]])
            stars[person] = np.concatenate([stars[person], ratings[where[seen]]])
            skipped[person] = np.concatenate([skipped[person], shown[~seen]])
            new[person] = int(seen.sum())
            if progress is not None:
                progress(number * len(histories) + person + 1, total)
        rounds.append(Answers(list(rated), list(stars), list(skipped), new))
    return rounds


def round_queries(answers: Answers, histories: list[tuple[np.ndarray, np.ndarray]],
                  liked: float) -> list[Query]:
    """One query per person (``histories``: each person's movies and stars, by movie): what
    they rated and skipped, and the movies they liked that they were not shown."""
    queries = []
    for person, (items, ratings) in enumerate(histories):
        shown = np.concatenate([answers.rated[person], answers.skipped[person]])
        hidden = ~np.isin(items, shown)
        queries.append(Query(answers.rated[person], answers.stars[person],
                             items[hidden & (ratings >= liked)], answers.skipped[person]))
    return queries


def onboarding_table(rankers: dict[str, Ranker], strip: StripChooser, people: Interactions,
                     train: Interactions, protocol: OnboardingProtocol = OnboardingProtocol(),
                     learns_from_skips: frozenset[str] = frozenset(),
                     progress: Callable[[str, int, int], None] | None = None) -> pd.DataFrame:
    """The onboarding protocol for every ranker (a run's and the references'), all asked with
    the answers that ``strip`` draws out.

    Args:
        rankers: name -> scores of every movie for ``(rated positions, stars, skipped)``.
        strip: chooses each next strip (the product's).
        people: the held-out people's ratings (over the training movie map).
        train: the training ratings (candidate filter, popularity).
        learns_from_skips: the rankers that can score someone who has only skipped; the others
            give such a person the most rated movies not shown.
        progress: called with (what, done, total).
    Returns:
        One row per ranker and round: ``method``, ``round``, ``shown`` (movies shown so far),
        ``ratings`` (mean given so far), ``new_ratings`` (mean given in this round),
        ``no_ratings`` (share of people with none yet), ``precision``, ``recall``, ``ndcg``,
        ``popular_share``, ``distinct``, ``median_popularity``, ``novelty``, ``people``.
    """
    if people.n_items != train.n_items:
        raise ConfigError("the people and the training ratings use different movie maps")
    if people.n_users == 0:
        raise ConfigError("no held-out person to take through the strips")
    keep = train.item_counts() >= max(protocol.min_ratings, 1)
    counts = train.item_counts().astype(np.float64)
    scoring = PeopleProtocol(top=protocol.top, liked=protocol.liked,
                             min_ratings=protocol.min_ratings, popular=protocol.popular)
    walk = None if progress is None else (lambda done, total: progress("strips", done, total))
    rows = []
    histories = _histories(people)
    for number, answers in enumerate(_reveal(strip, histories, protocol, walk), start=1):
        queries = round_queries(answers, histories, protocol.liked)
        given = np.array([len(q.given_items) for q in queries])
        for name, ranker in rankers.items():
            if name not in learns_from_skips:
                ranker = _most_rated_without_ratings(ranker, counts)
            report = None if progress is None else \
                (lambda done, total, name=name, number=number:
                 progress(f"{name}, round {number}", done, total))
            lists = suggestion_lists(ranker, queries, keep, protocol.top, report)
            rows.append({"method": name, "round": number, "shown": number * protocol.shown,
                         "ratings": float(given.mean()),
                         "new_ratings": float(answers.new.mean()),
                         "no_ratings": float((given == 0).mean()),
                         **score_lists(lists, queries, train, scoring)})
    return pd.DataFrame(rows)


def _most_rated_without_ratings(ranker: Ranker, counts: np.ndarray) -> Ranker:
    def scores(positions, stars, skipped):
        return counts if len(positions) == 0 else ranker(positions, stars, skipped)
    return scores
