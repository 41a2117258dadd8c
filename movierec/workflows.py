"""What every front-end does with a model, written once: train a recipe (or continue a run),
save it, measure its quality as people see it and store that beside it; and evaluate a saved
run. The command line formats what these return; the background jobs and the pages call them
too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from movierec.data.dataset import Dataset
from movierec.errors import MovieRecError
from movierec.evaluation.onboarding import OnboardingProtocol
from movierec.evaluation.people import PeopleProtocol
from movierec.evaluation.report import TABLES, measure_run, save_quality
from movierec.experiment import Training, start_training
from movierec.recipe import Recipe
from movierec.runs import Run, RunStore
from movierec.split import Split, make_split
from movierec.training import EpochRecord

Progress = Callable[[str, int, int], None]


class Stopped(Exception):
    """Raised by a progress callback to stop: training keeps its whole epochs, measuring is
    left out."""


@dataclass
class Trained:
    """What :func:`train` did.

    Attributes:
        run, split: the run (current, saved when a store was given) and the split it trained on.
        completed: every planned epoch ran (False when stopped or interrupted).
        run_dir: where it was saved (None when not saved).
        quality: the quality tables measured (empty when not measured).
        notes: why a table was not measured, by table name (``quality`` for all of them).
    """

    run: Run
    split: Split
    completed: bool
    run_dir: Path | None = None
    quality: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def start(recipe: Recipe, dataset: Dataset) -> Training:
    """A :class:`Training` of ``recipe`` on ``dataset`` (split, model built and seeded)."""
    return start_training(dataset, recipe.data, recipe.model, recipe.model_config, recipe.train)


def measure_and_save(run: Run, split: Split, store: RunStore | None = None,
                     progress: Progress | None = None, tables: Sequence[str] = TABLES,
                     **protocols) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The run's quality ``tables`` (see :func:`~movierec.evaluation.report.measure_run`,
    which ``protocols`` are passed to), stored beside it when ``store`` is given; returns the
    tables and the reasons of those that could not be measured."""
    notes: dict[str, str] = {}
    quality = measure_run(run, split, progress=progress, notes=notes, tables=tables,
                          **protocols)
    if store is not None and quality:
        save_quality(store, run.run_id, quality)
    return quality, notes


def train(training: Training, plan: Sequence[int], *, store: RunStore | None = None,
          save_each_epoch: bool = False, measure: bool = True,
          on_epoch: Callable[[EpochRecord], None] | None = None,
          on_batch: Callable[[int, int], None] | None = None,
          on_quality: Progress | None = None,
          after_training: Callable[[Run], None] | None = None,
          tolerate_measure_errors: bool = False) -> Trained:
    """Train ``plan`` (epochs per call: a preset's continuation is a second call), then save
    and measure.

    A callback that raises :class:`Stopped`, or Ctrl-C, stops training: the model goes back to
    its last whole epoch, which is saved (when there is one) and not measured.

    Args:
        store: where the run is saved (after every epoch with ``save_each_epoch``, else once
            at the end); None: not saved, and the quality is not stored.
        measure: measure the quality of a completed run.
        after_training: called with the run between training and measuring.
        tolerate_measure_errors: a user error while measuring becomes a note instead of
            being raised (the run is kept either way).
    """
    completed = True
    run = training.run
    try:
        for n in plan:
            for record in training.epochs(n, on_batch=on_batch):
                if store is not None and save_each_epoch:
                    store.save(run)
                if on_epoch is not None:
                    on_epoch(record)
    except (Stopped, KeyboardInterrupt):
        training.rewind()
        completed = False
    result = Trained(run, training.split, completed)
    if store is not None and run.epochs:
        # Saved after its last epoch already, unless a stop rewound a part of an epoch.
        result.run_dir = store.path(run.run_id) if save_each_epoch and completed else \
            store.save(run)
    if after_training is not None:
        after_training(run)
    if not (completed and measure and run.epochs):
        return result
    try:
        result.quality, result.notes = measure_and_save(
            run, training.split, store if result.run_dir else None, on_quality)
    except Stopped:
        result.notes = {"quality": "stopped"}
    except MovieRecError as exc:
        if not tolerate_measure_errors:
            raise
        result.notes = {"quality": str(exc)}
    return result


@dataclass
class Evaluation:
    """A saved run scored on the split it was trained on (see :func:`evaluate`).

    Attributes:
        metrics: held-out loss, RMSE, MAE and accuracy. baselines: the global-mean and bias
            RMSEs. ranking: HR@10, NDCG@10 and the users they are over.
        quality, notes: the quality tables, and why those not measured were not.
    """

    run: Run
    split: Split
    metrics: dict
    baselines: dict
    ranking: dict
    quality: dict[str, pd.DataFrame]
    notes: dict[str, str]


def evaluate(run: Run, dataset: Dataset, protocol: PeopleProtocol = PeopleProtocol(),
             references: Sequence[str] = ("most rated",), progress: Progress | None = None,
             onboarding: OnboardingProtocol = OnboardingProtocol()) -> Evaluation:
    """Score ``run`` on its own split of ``dataset``: held-out ratings, top-N among sampled
    (or the test file's) candidates, and the people and neighbour protocols."""
    from movierec.evaluation.baselines import baseline_metrics
    from movierec.evaluation.ranking import ranking_metrics
    from movierec.training import evaluate as rating_metrics

    data = make_split(dataset, run.data_config)
    metrics = rating_metrics(run.model, data.validation)
    baselines = baseline_metrics(data.train, data.validation)
    ranking = ranking_metrics(run.model, data.train, data.validation, seed=run.data_config.seed,
                              candidates=data.candidates)
    quality, notes = measure_and_save(run, data, None, progress, protocol=protocol,
                                      references=references, onboarding=onboarding)
    if data.people is None:
        for name in ("onboarding", "people"):
            notes[name] = ("this run trained on every user (train with --new-people 600 to "
                           "hold some out)")
    return Evaluation(run, data, metrics, baselines, ranking, quality, notes)
