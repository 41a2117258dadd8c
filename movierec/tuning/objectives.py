"""What a search study scores a trial on: a number the dashboard's people would care about,
measured by the project's own protocols on a validation split (and validation people) carved
from the training part; the retrained best is scored the same way, once, on the test side."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from movierec.errors import ConfigError
from movierec.evaluation.neighbours import neighbour_quality
from movierec.evaluation.report import THIS_RUN, measure_run
from movierec.recipe import Recipe
from movierec.run import Run
from movierec.split import Split
from movierec.training import EpochRecord


@dataclass(frozen=True)
class Objective:
    """One thing a study can optimise.

    Attributes:
        name: what ``--objective`` takes. title: a short label for charts.
        direction: ``minimize`` or ``maximize``.
        per_epoch: measured after every epoch, so the pruner can stop a poor trial early;
            the others are measured once, after the last epoch.
        summary: what is measured, in one sentence.
    """

    name: str
    title: str
    direction: str
    per_epoch: bool
    summary: str

    @property
    def needs_people(self) -> bool:
        return self.name in ("people", "onboarding")

    def check(self, recipe: Recipe) -> None:
        """Refuse a recipe this objective cannot score, before any trial runs."""
        from movierec.models import get_model_spec

        model = get_model_spec(recipe.model).model_cls
        if self.name == "rmse" and model.output == "score":
            raise ConfigError(f"objective rmse needs a model that predicts stars; "
                              f"{recipe.model} only ranks movies (try --objective hr10)")
        if self.needs_people and not recipe.data.new_people:
            raise ConfigError(f"objective {self.name} scores suggestions for people held out "
                              "of training; hold some out with --new-people 600 (or start "
                              "from --preset recommended)")
        if self.name in ("people", "onboarding", "map") and recipe.data.split == "ncf":
            raise ConfigError(f"objective {self.name} is not measured on the NCF paper's "
                              "split; use --split random")

    def epoch_value(self, run: Run, data: Split, record: EpochRecord) -> float:
        """The score after an epoch (``per_epoch`` objectives)."""
        if self.name == "rmse":
            return record.val_rmse
        if self.name == "hr10":
            if record.val_hr10 is None:
                raise ConfigError("HR@10 could not be measured on this validation split (too "
                                  "few movies to draw 99 unrated ones from)")
            return record.val_hr10
        if self.name == "map":
            return map_score(neighbour_quality(run.unit_vectors().numpy(), run.movie_table()))
        raise ValueError(f"objective {self.name} is measured once, after training")

    def final_value(self, run: Run, data: Split, last: float | None) -> float:
        """The trial's score once trained: the last epoch's for ``per_epoch`` objectives (in
        ``last``), else measured now on ``data``'s people."""
        if self.per_epoch:
            return float(last)
        notes: dict[str, str] = {}
        quality = measure_run(run, data, references=(), notes=notes, tables=(self.name,))
        if self.name not in quality:
            raise ConfigError(f"{self.name} could not be measured: "
                              f"{notes.get(self.name, 'no held-out people')}")
        return self.from_quality(run.history, quality)

    def from_quality(self, history: list[dict], quality: dict[str, pd.DataFrame]) -> float:
        """The score of a trained run from its last epoch and its quality tables (those a
        saved run keeps beside it); NaN when the table it needs is missing."""
        if self.name in ("rmse", "hr10"):
            value = history[-1].get(f"val_{self.name}") if history else None
            return math.nan if value is None else float(value)
        table = quality.get("neighbours" if self.name == "map" else self.name)
        if table is None:
            return math.nan
        if self.name == "map":
            return map_score(table)
        if self.name == "people":
            return people_score(table)
        return onboarding_score(table)


def map_score(table: pd.DataFrame) -> float:
    """The one number of a neighbour-quality table (see
    :func:`~movierec.evaluation.neighbours.neighbour_quality`): the mean of its first row's
    genre agreement and series check, both shares from 0 to 1 (item-kNN scores about 0.4 on
    ML-1M, chance about 0.1); the genre agreement alone where no film of a series was among
    the movies compared (the series check is then undefined)."""
    row = table.iloc[0]
    genres, series = float(row["genre_agreement"]), float(row["series_check"])
    return genres if math.isnan(series) else (genres + series) / 2


def people_score(table: pd.DataFrame) -> float:
    """Precision@10 of the run's suggestions for new people, averaged over the numbers of
    ratings they give (3, 5 and 10: :class:`~movierec.evaluation.people.PeopleProtocol`)."""
    return float(table.loc[table["method"] == THIS_RUN, "precision"].mean())


def onboarding_score(table: pd.DataFrame) -> float:
    """Precision@10 of the run's suggestions after the first strip of the onboarding protocol
    (what a newcomer sees after answering the strip once)."""
    rows = table[(table["method"] == THIS_RUN) & (table["round"] == 1)]
    return float(rows["precision"].iloc[0])


OBJECTIVES = {
    "rmse": Objective("rmse", "validation RMSE", "minimize", True,
                      "RMSE of the predicted stars on validation ratings held out of the "
                      "training part"),
    "hr10": Objective("hr10", "validation HR@10", "maximize", True,
                      "HR@10 of a held-out rating of every validation user among 99 movies they "
                      "did not rate"),
    "people": Objective("people", "new-person precision@10", "maximize", False,
                        "precision@10 for validation people who give 3, 5 or 10 random "
                        "ratings (the mean of the three)"),
    "onboarding": Objective("onboarding", "onboarding precision@10 (first strip)", "maximize",
                            False, "precision@10 for validation people after answering the "
                                   "first strip the Recommend page shows"),
    "map": Objective("map", "map score (genres and series)", "maximize", True,
                     "the mean of the genre agreement and the series check of each movie's 10 "
                     "nearest neighbours on the map (the genre agreement alone without "
                     "series)"),
}


def get_objective(name: str) -> Objective:
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ConfigError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}") \
            from None
