"""A run's quality as a person sees it, in one call: neighbour quality of its movie vectors and,
when it held people out, the onboarding and new-person protocols; stored beside the run, read
back by the pages, and put into words for the command line."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pandas as pd

from movierec.errors import ConfigError
from movierec.evaluation.neighbours import neighbour_quality
from movierec.evaluation.onboarding import OnboardingProtocol, onboarding_table
from movierec.evaluation.people import (
    PeopleProtocol,
    new_person_table,
    reference_rankers,
    run_ranker,
)
from movierec.runs import Run, RunStore
from movierec.split import Split

THIS_RUN = "this run"
TABLES = ("onboarding", "people", "neighbours")


def measure_run(run: Run, split: Split, protocol: PeopleProtocol = PeopleProtocol(),
                references: Sequence[str] = ("most rated",),
                progress: Callable[[str, int, int], None] | None = None,
                notes: dict[str, str] | None = None,
                onboarding: OnboardingProtocol = OnboardingProtocol(),
                tables: Sequence[str] = TABLES) -> dict[str, pd.DataFrame]:
    """The run's quality tables (those of ``tables`` that can be measured).

    Args:
        split: the split the run was trained on (``make_split(dataset, run.data_config)``).
        references: reference recommenders measured beside the run on the same people.
        progress: called with (what, done, total) during the people protocols.
        notes: filled with the reason for each table that cannot be measured on this data
            (too few movies with enough ratings, say).
        onboarding: the onboarding protocol's settings.
    Returns:
        ``{"onboarding": ..., "people": ...}`` (see :func:`onboarding_table` and
        :func:`new_person_table`) when ``split`` holds people out, and ``{"neighbours": ...}``
        (see :func:`neighbour_quality`), each when measurable. The run's rows are labelled
        ``this run``.
    """
    from movierec.starters import Strip

    def measured(name: str, table: Callable[[], pd.DataFrame]) -> None:
        if name not in tables_wanted:
            return
        try:
            found[name] = table()
        except ConfigError as exc:
            if notes is not None:
                notes[name] = str(exc)

    tables_wanted, found = set(tables), {}
    if split.people is not None and tables_wanted & {"onboarding", "people"}:
        rankers = {THIS_RUN: run_ranker(run), **reference_rankers(split.train, references)}
        measured("onboarding", lambda: onboarding_table(
            rankers, Strip.for_run(run, onboarding.shown).next_positions, split.people,
            split.train, onboarding,
            frozenset({THIS_RUN}) if run.model.uses_skips else frozenset(), progress))
        measured("people", lambda: new_person_table(rankers, split.people, split.train,
                                                    protocol, progress))
    measured("neighbours", lambda: run_neighbour_quality(run, split))
    return found


def run_neighbour_quality(run: Run, split: Split) -> pd.DataFrame:
    """Neighbour quality of the run's movie vectors, with item-kNN (on ``split.train``) and
    chance beside them (see :func:`neighbour_quality`)."""
    vectors = run.unit_vectors().numpy()
    return neighbour_quality(vectors, run.movie_table(), split.train, label=THIS_RUN)


def save_quality(store: RunStore, run_id: str, quality: dict[str, pd.DataFrame]) -> None:
    """Store the tables beside the run (a later save of the run, which changes the model,
    drops them)."""
    for name, table in quality.items():
        store.write_extra(run_id, f"quality-{name}", table)


def load_quality(store: RunStore, run_id: str) -> dict[str, pd.DataFrame]:
    """The tables stored beside the run (those measured so far)."""
    found = {name: store.read_extra(run_id, f"quality-{name}") for name in TABLES}
    return {name: table for name, table in found.items() if table is not None}


def _number(value, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else \
        f"{value:.{digits}f}"


def describe(name: str, table: pd.DataFrame) -> str:
    """A quality table in words, for the command line."""
    if name == "onboarding":
        first = table.iloc[0]
        lines = [f"onboarding ({int(first['people']):,} people never seen in training rate "
                 f"what they know of each strip of {int(first['shown'])} and skip the rest; "
                 "hit = a suggestion they rated 4 stars or more, not shown):"]
        lines.append(f"  {'':<12}{'round':>6}{'shown':>6}{'rated':>7}{'none':>6}{'prec@10':>9}"
                     f"{'recall':>8}{'NDCG':>7}{'top-100':>9}{'distinct':>9}{'med.pop':>8}")
        for row in table.itertuples():
            lines.append(f"  {row.method:<12}{row.round:>6}{row.shown:>6}{row.ratings:>7.1f}"
                         f"{row.no_ratings:>6.0%}{_number(row.precision):>9}"
                         f"{_number(row.recall):>8}{_number(row.ndcg):>7}"
                         f"{_number(row.popular_share, 2):>9}{row.distinct:>9,}"
                         f"{row.median_popularity:>8,.0f}")
        return "\n".join(lines)
    if name == "people":
        lines = [f"new people ({int(table['people'].iloc[0]):,} never seen in training; hit = "
                 "a suggestion they rated 4 stars or more):"]
        lines.append(f"  {'':<12}{'given':>6}{'prec@10':>9}{'recall':>8}{'NDCG':>7}"
                     f"{'top-100':>9}{'distinct':>9}{'novelty':>9}")
        for row in table.itertuples():
            lines.append(f"  {row.method:<12}{row.given:>6}{_number(row.precision):>9}"
                         f"{_number(row.recall):>8}{_number(row.ndcg):>7}"
                         f"{_number(row.popular_share, 2):>9}{row.distinct:>9,}"
                         f"{_number(row.novelty, 2):>9}")
        return "\n".join(lines)
    first = table.iloc[0]
    lines = [f"neighbour quality ({int(first['movies']):,} movies with 20+ ratings, 10 "
             f"neighbours each; series check over {int(first['series_movies'])} series films):"]
    for row in table.itertuples():
        series = "-" if math.isnan(row.series_check) else f"{row.series_check:.0%}"
        lines.append(f"  {row.vectors:<12} genre agreement {row.genre_agreement:.3f}  "
                     f"series check {series}")
    return "\n".join(lines)
