"""Running a search study: trials drawn by Optuna's TPE sampler from a model's search space, each
trained by the one training loop on a validation split carved from the training part and pruned
epoch by epoch; studies kept in an Optuna RDB storage (SQLite in the runs folder by default,
PostgreSQL for many machines), shared by every process that names the same study, and resumed
where they stopped. The best setting is retrained on the whole training part and tested once."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import random
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import optuna
import pandas as pd
import sqlalchemy

from movierec.config import TrainConfig, from_dict, to_dict
from movierec.data.dataset import Dataset
from movierec.errors import ConfigError, MovieRecError
from movierec.experiment import start_training
from movierec.models import get_model_spec
from movierec.recipe import TRAIN_FIELDS, Recipe
from movierec.runs import RunStore
from movierec.split import Split, make_split, tuning_split
from movierec.tuning.objectives import Objective
from movierec.tuning.space import Choice, Param, Range, from_json, parse_param, to_json

STORAGE_FILE = "studies.db"
PRUNERS = ("median", "hyperband", "none")
# A trial whose process stopped sending heartbeats this long ago (killed, its machine gone)
# is failed by the next process that opens the study.
HEARTBEAT_SECONDS = 30
GRACE_SECONDS = 120
# Tries at opening a storage whose tables another process is creating at the same moment.
SCHEMA_TRIES = 5

# Trials that fail are told by the caller (and kept with the trial), not by Optuna's log with
# a traceback.
optuna.logging.set_verbosity(optuna.logging.ERROR)


class Stopped(Exception):
    """Raised by ``should_stop`` checks: the study ends after failing the trial it was in."""


# --- storage ----------------------------------------------------------------------------------
def default_storage(runs_dir=None) -> str:
    """The SQLite file of the runs folder that keeps every study by default."""
    root = RunStore(runs_dir).root
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot write studies to {root} ({exc.strerror or exc}); choose a "
                          "writable folder with --runs-dir or give --storage") from None
    return f"sqlite:///{root / STORAGE_FILE}"


def shown_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and JSON)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    credentials, host = rest.split("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in credentials else ''}@{host}"


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage at ``url`` (``sqlite:///FILE``, ``postgresql://USER@HOST/DB``,
    any SQLAlchemy URL), checked to answer.

    Raises:
        ConfigError: not a database URL, a missing driver, or a database that does not answer.
    """
    shown = shown_url(url)
    if "://" not in url:
        raise ConfigError(f"--storage {shown!r} is not a database URL; give sqlite:///FILE or "
                          "postgresql://USER:PASSWORD@HOST/DATABASE")
    sqlite = url.startswith("sqlite")
    engine = {"connect_args": {"timeout": 60}} if sqlite else \
        {"pool_pre_ping": True,
         **({"connect_args": {"connect_timeout": 10}} if url.startswith("postgresql") else {})}
    database = _sqlite_file(url) if sqlite else None
    for attempt in range(SCHEMA_TRIES):
        try:
            # Processes that open a new SQLite file at once would race to create Optuna's
            # tables (and its alembic version row): they take turns, by a lock file beside it.
            with (_file_lock(f"{database}.open") if database else contextlib.nullcontext()), \
                    warnings.catch_warnings():   # heartbeats are "experimental" in Optuna 5
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=engine,
                                                  heartbeat_interval=HEARTBEAT_SECONDS,
                                                  grace_period=GRACE_SECONDS)
        except ImportError as exc:
            missing = getattr(exc.__cause__, "name", None) or getattr(exc, "name", None)
            raise ConfigError(f"the storage {shown} needs a database driver that is not "
                              "installed" + (f" (Python package {missing!r})" if missing else "")
                              ) from None
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy's many errors, said in one line
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            # Processes that open a new server database at once race to create Optuna's
            # tables: the losers find them made, and the next try uses them.
            racing = any(word in str(exc) for word in
                         ("duplicate key", "already exists", "UNIQUE constraint failed"))
            if racing and attempt + 1 < SCHEMA_TRIES:
                time.sleep(0.5 + random.random())
                continue
            raise ConfigError(f"the storage {shown} does not answer: "
                              f"{reason[0] if reason else type(exc).__name__}") from None
    raise AssertionError("unreachable")


# --- spaces and recipes -----------------------------------------------------------------------
def model_space(model: str) -> dict[str, Param]:
    """The search space model ``model`` declares (``SEARCH_SPACE`` of its config class)."""
    return dict(getattr(get_model_spec(model).config_cls, "SEARCH_SPACE", {}))


def resolve_space(recipe: Recipe, overrides: Sequence[str] = (), fixed: Sequence[str] = (),
                  only: bool = False) -> dict[str, Param]:
    """The model's space with ``--space`` entries over it (or, with ``only``, the entries
    alone), less the ``fixed`` settings (``--set``, ``--epochs``), each end checked against the
    settings' own rules (so that no trial is drawn that the model would refuse).

    Raises:
        ConfigError: a malformed entry, an unknown setting, a setting both fixed and searched,
            a fractional range of a whole-number setting, an end the setting refuses, or an
            empty space.
    """
    import typing

    space = {} if only else {k: p for k, p in model_space(recipe.model).items()
                             if k not in fixed}
    for item in overrides:
        key, param = parse_param(item)
        if key in fixed:
            raise ConfigError(f"--space {key}: {key} is also held fixed (--set or --epochs); "
                              "give one or the other")
        space[key] = param
    if not space:
        raise ConfigError(f"nothing to search: {recipe.model}'s space is empty or held fixed; "
                          "give one with --space")
    spec = get_model_spec(recipe.model)
    hints = {**typing.get_type_hints(spec.config_cls), **typing.get_type_hints(TrainConfig)}
    fields = set(to_dict(recipe.model_config)) | set(TRAIN_FIELDS)
    for key, param in space.items():
        if key not in fields:
            raise ConfigError(f"--space {key}: {recipe.model} has no setting {key!r}; its "
                              f"settings: {', '.join(sorted(fields - {'device', 'seed'}))}")
        if hints.get(key) is int and isinstance(param, Range) and not param.integer:
            raise ConfigError(f"--space {key}={param.text()}: {key} takes whole numbers; add "
                              ":int")
        for end in param.ends:
            try:
                trial_recipe(recipe, {key: end})
            except ConfigError as exc:
                raise ConfigError(f"--space {key}={param.text()}: {exc}") from None
    return space


def trial_recipe(recipe: Recipe, params: dict) -> Recipe:
    """``recipe`` with a trial's settings in place (model settings and training settings)."""
    spec = get_model_spec(recipe.model)
    model_part = {k: v for k, v in params.items() if k not in TRAIN_FIELDS}
    train_part = {k: v for k, v in params.items() if k in TRAIN_FIELDS}
    model_config = spec.config({**to_dict(recipe.model_config), **model_part})
    train = from_dict(TrainConfig, {**to_dict(recipe.train), **train_part})
    plan = recipe.plan if "epochs" not in train_part else (train.epochs,)
    return replace(recipe, model_config=model_config, train=train, plan=plan)


def recipe_to_json(recipe: Recipe) -> str:
    return json.dumps({"data": to_dict(recipe.data), "model": recipe.model,
                       "model_config": to_dict(recipe.model_config),
                       "train": to_dict(recipe.train), "plan": list(recipe.plan),
                       "preset": recipe.preset}, sort_keys=True)


def recipe_from_json(text: str) -> Recipe:
    from movierec.config import DataConfig

    found = json.loads(text)
    spec = get_model_spec(found["model"])
    return Recipe(from_dict(DataConfig, found["data"]), found["model"],
                  spec.config(found["model_config"]), from_dict(TrainConfig, found["train"]),
                  tuple(found["plan"]), found.get("preset", ""))


def default_study_name(recipe: Recipe, objective: str) -> str:
    return f"{recipe.model}-{objective}-{recipe.data.dataset}" + (
        f"-{recipe.preset}" if recipe.preset else "")


# --- studies ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudyPlan:
    """What a study tunes.

    Attributes:
        recipe: the base recipe (preset, flags); its data config says the test side.
        objective: what trials are scored on. space: what they draw from.
        name: the study's name in its storage. pruner: ``median``, ``hyperband`` or ``none``.
    """

    recipe: Recipe
    objective: Objective
    space: dict[str, Param] = field(hash=False)
    name: str
    pruner: str = "median"

    def __post_init__(self) -> None:
        if self.pruner not in PRUNERS:
            raise ConfigError(f"unknown pruner {self.pruner!r}; known: {', '.join(PRUNERS)}")
        if not self.name.strip() or len(self.name) > 200:
            raise ConfigError("a study name must be 1 to 200 characters")
        self.objective.check(self.recipe)


def _pruner(plan: StudyPlan) -> optuna.pruners.BasePruner:
    if plan.pruner == "none" or not plan.objective.per_epoch:
        return optuna.pruners.NopPruner()
    epochs = plan.space.get("epochs")
    most = int(epochs.ends[-1] if isinstance(epochs, Choice) else epochs.high) if epochs \
        else plan.recipe.epochs
    if plan.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=most,
                                              reduction_factor=3)
    # Slow starters (a low learning rate, many factors) often end best: a trial is compared
    # with the median only after the first third of its epochs.
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=max(2, most // 3))


INFO = "movierec"          # the study's user attr that says what it tunes (one JSON text)
INFO_WAIT_SECONDS = 10     # how long a process waits for another that is creating the study


def open_study(plan: StudyPlan, storage: optuna.storages.BaseStorage,
               create: bool = True) -> optuna.Study:
    """The study ``plan.name`` in ``storage`` (created the first time when ``create``); one
    that tunes another model or objective, on other data or with other fixed settings, or
    that drew a setting from a range of another kind, is refused."""
    sampler = optuna.samplers.TPESampler(n_startup_trials=8, multivariate=True,
                                         constant_liar=True)
    names = {s.study_name for s in storage.get_all_studies()}
    if plan.name not in names and not create:
        raise ConfigError(f"no study {plan.name!r} in {shown_url(str(storage.engine.url))} "
                          "to test; check --study and --storage")
    study = optuna.create_study(study_name=plan.name, storage=storage, sampler=sampler,
                                pruner=_pruner(plan), direction=plan.objective.direction,
                                load_if_exists=True)
    if plan.name not in names and INFO not in study.user_attrs:
        study.set_user_attr(INFO, json.dumps({
            "model": plan.recipe.model, "objective": plan.objective.name,
            "recipe": recipe_to_json(plan.recipe), "space": to_json(plan.space),
            "created": time.time()}))
        # The first trial is the recipe itself (a preset, or the defaults), so that the best
        # a study finds is never worse on validation than where it started.
        start = starting_point(plan.recipe, plan.space)
        if start:
            study.enqueue_trial(start, user_attrs={"start": True})
    _check_same(study, plan, _wait_for_info(study))
    study.set_user_attr("space", to_json(plan.space))
    return study


def starting_point(recipe: Recipe, space: dict[str, Param]) -> dict:
    """The recipe's own values of the searched settings that lie in their ranges (or among
    their choices), as a trial's parameters."""
    values = {**to_dict(recipe.model_config), **to_dict(recipe.train)}
    found = {}
    for key, param in space.items():
        value = values.get(key)
        if isinstance(value, list):
            value = ",".join(map(str, value))
        if isinstance(param, Choice):
            if value in param.values:
                found[key] = value
        elif isinstance(value, (int, float)) and param.low <= value <= param.high:
            found[key] = int(value) if param.integer else float(value)
    return found


def _wait_for_info(study: optuna.Study) -> dict:
    """The study's movierec attr, waiting a little for a process that is creating it."""
    deadline = time.monotonic() + INFO_WAIT_SECONDS
    while True:
        found = study_info(study)
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise ConfigError(f"study {study.study_name!r} was not made by movierec tune; give "
                              "another --study")
        time.sleep(0.2)


def study_info(study) -> dict | None:
    """What a movierec study tunes (``model``, ``objective``, ``recipe``, ``space``,
    ``created``), or None for a study made otherwise (or being created)."""
    attrs = study.user_attrs
    text = attrs.get(INFO)
    if text is None and {"model", "objective", "recipe", "space"} <= set(attrs):
        # the first studies kept these as attrs of their own
        return {k: attrs[k] for k in ("model", "objective", "recipe", "space")} | \
            {"created": attrs.get("created", 0.0)}
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _check_same(study: optuna.Study, plan: StudyPlan, info: dict) -> None:
    if info["model"] != plan.recipe.model or info["objective"] != plan.objective.name:
        raise ConfigError(f"study {plan.name!r} tunes {info['model']} on "
                          f"{info['objective']}, not {plan.recipe.model} on "
                          f"{plan.objective.name}; give another --study")
    saved = recipe_from_json(info["recipe"])
    if saved.data != plan.recipe.data:
        differ = [k for k, v in to_dict(saved.data).items() if to_dict(plan.recipe.data)[k] != v]
        raise ConfigError(f"study {plan.name!r} was run on other data ({', '.join(differ)} "
                          "differ); its trials would not compare; give another --study")
    searched = set(from_json(info["space"])) | set(plan.space) | {"device"}
    fixed_then = {**to_dict(saved.model_config), **to_dict(saved.train)}
    fixed_now = {**to_dict(plan.recipe.model_config), **to_dict(plan.recipe.train)}
    differ = sorted(k for k in fixed_then if k not in searched
                    and fixed_then[k] != fixed_now.get(k))
    if "epochs" not in searched and saved.plan != plan.recipe.plan and "epochs" not in differ:
        differ.append("epochs")
    if differ:
        raise ConfigError(f"study {plan.name!r} held {', '.join(differ)} at other values; its "
                          "trials would not compare; give the same settings or another --study")
    for trial in study.get_trials(deepcopy=False):
        for key, drawn in trial.distributions.items():
            if key in plan.space:
                try:
                    optuna.distributions.check_distribution_compatibility(
                        drawn, plan.space[key].distribution())
                except ValueError:
                    raise ConfigError(
                        f"--space {key}={plan.space[key].text()}: study {plan.name!r} drew "
                        f"{key} from {_drawn_text(drawn)}; a study may move a range's ends but "
                        "not its kind, scale or choices; give another --study") from None


def _drawn_text(drawn) -> str:
    if isinstance(drawn, optuna.distributions.CategoricalDistribution):
        return Choice(tuple(drawn.choices)).text()
    integer = isinstance(drawn, optuna.distributions.IntDistribution)
    return Range(drawn.low, drawn.high, drawn.log, integer).text()


def load_study(name: str, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """An existing study by name (ConfigError listing those there are otherwise)."""
    names = sorted(s.study_name for s in storage.get_all_studies())
    if name not in names:
        raise ConfigError(f"no study {name!r} in this storage; there are: "
                          f"{', '.join(names) or 'none'}")
    return optuna.load_study(study_name=name, storage=storage)


def study_recipe(study: optuna.Study) -> Recipe:
    """The base recipe a study was created with."""
    return recipe_from_json(study_info(study)["recipe"])


def best_recipe(study: optuna.Study) -> Recipe:
    """What the study's best trial trained (its base recipe and its draws), but on the whole
    training part: what the test retrains, "Train the best" trains and a preset keeps."""
    best = study.best_trial
    text = best.user_attrs.get("recipe")
    return recipe_from_json(text) if text else trial_recipe(study_recipe(study), best.params)


def study_space(study: optuna.Study) -> dict[str, Param]:
    """The ranges the study searches now (as last opened)."""
    return from_json(study.user_attrs.get("space") or study_info(study)["space"])


def drawn_ranges(study: optuna.Study) -> dict[str, Param]:
    """Every parameter the trials drew, with the widest range any trial drew it from (the
    scale the charts place the trials on)."""
    found: dict[str, Param] = {}
    for trial in study.get_trials(deepcopy=False):
        for key, drawn in trial.distributions.items():
            if isinstance(drawn, optuna.distributions.CategoricalDistribution):
                found.setdefault(key, Choice(tuple(drawn.choices)))
                continue
            integer = isinstance(drawn, optuna.distributions.IntDistribution)
            old = found.get(key)
            low, high = (drawn.low, drawn.high) if not isinstance(old, Range) else \
                (min(old.low, drawn.low), max(old.high, drawn.high))
            if low < high:
                found[key] = Range(low, high, drawn.log, integer)
    return found


def process_tag() -> str:
    """Which process ran a trial (kept with it)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Tuned:
    """What :func:`run_study` did (see :func:`summary` for the JSON).

    Attributes:
        study: the study, with every process's trials. trials_run: this process's trials.
        seconds: this process's time from splitting the data to the end of its last trial.
        train_seconds: the part of it spent in training epochs (validation included).
        stopped: asked to stop, or interrupted.
        test: the retrained best's ``{"trial", "run_id", "value", "params"}``, or None.
    """

    study: optuna.Study
    objective: Objective
    trials_run: list[int] = field(default_factory=list)
    seconds: float = 0.0
    train_seconds: float = 0.0
    stopped: bool = False
    test: dict | None = None


def run_study(plan: StudyPlan, dataset: Dataset, storage: optuna.storages.BaseStorage,
              trials: int | None, timeout: float | None = None,
              store: RunStore | None = None, test: bool = True,
              on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
              should_stop: Callable[[], bool] | None = None,
              on_test: Callable[[str], None] | None = None) -> Tuned:
    """Run ``trials`` more trials of ``plan`` (at most ``timeout`` seconds; a trial under way
    finishes), then, with ``test`` and a ``store``, retrain the best setting on the whole
    training part, save it as a run and score it once on the held-out side.

    Several processes may run the same study at once: each adds its own trials.

    Args:
        on_trial: called after each trial of this process.
        should_stop: polled between batches; True fails the trial under way and ends the
            study (no test).
        on_test: told what the test is doing.
    Raises:
        ConfigError: no trial of the study has finished and this process's all failed.
    """
    study = open_study(plan, storage, create=trials is None or trials > 0)
    result = Tuned(study, plan.objective)
    begun = time.perf_counter()
    outer = make_split(dataset, plan.recipe.data)
    inner = tuning_split(outer, plan.recipe.data)
    tag = process_tag()
    errors: list[str] = []

    def objective(trial: optuna.Trial) -> float:
        result.trials_run.append(trial.number)
        trial.set_user_attr("process", tag)
        started = time.perf_counter()
        try:
            params = {k: p.suggest(trial, k) for k, p in plan.space.items()}
            recipe = trial_recipe(plan.recipe, params)
            trial.set_user_attr("recipe", recipe_to_json(recipe))
            trial.set_user_attr("n_train", len(inner.train))
            value, trained = _train_trial(plan, recipe, dataset, inner, trial, should_stop)
        except MovieRecError as exc:
            errors.append(str(exc))
            trial.set_user_attr("error", str(exc))
            raise
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - started, 3))
        result.train_seconds += trained
        return value

    def train_time(_study, frozen) -> None:
        if frozen.state == optuna.trial.TrialState.PRUNED:
            result.train_seconds += frozen.user_attrs.get("train_seconds", 0.0)
        if on_trial is not None:
            on_trial(_study, frozen)

    try:
        if trials is None or trials > 0:
            study.optimize(objective, n_trials=trials, timeout=timeout, catch=(MovieRecError,),
                           callbacks=[train_time], gc_after_trial=False)
    except (Stopped, KeyboardInterrupt):
        result.stopped = True
    result.seconds = time.perf_counter() - begun
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        if errors:
            raise ConfigError(f"no trial of study {plan.name!r} finished; the last failed "
                              f"with: {errors[-1]}")
        return result
    if test and store is not None and not result.stopped:
        try:
            result.test = test_best(study, storage, plan.objective, dataset, store, on_test)
        except (Stopped, KeyboardInterrupt):
            result.stopped = True
    if result.test is None:
        kept = study.user_attrs.get("test")
        result.test = kept if kept and kept.get("trial") == study.best_trial.number else None
    return result


def _train_trial(plan: StudyPlan, recipe: Recipe, dataset: Dataset, inner: Split,
                 trial: optuna.Trial, should_stop) -> tuple[float, float]:
    """Train one trial on the tuning split; returns (score, seconds of training)."""
    objective = plan.objective
    train = recipe.train
    wanted_ranking = objective.name == "hr10"
    if train.ranking_eval != wanted_ranking:
        train = replace(train, ranking_eval=wanted_ranking)
    training = start_training(dataset, recipe.data, recipe.model, recipe.model_config, train,
                              run_id="trial", data=inner)

    def on_batch(_done: int, _total: int) -> None:
        if should_stop is not None and should_stop():
            raise Stopped

    seconds, last = 0.0, None
    try:
        for n in recipe.plan:
            for record in training.epochs(n, on_batch=on_batch):
                seconds += record.seconds + record.ranking_seconds
                if objective.per_epoch:
                    last = objective.epoch_value(training.run, inner, record)
                    if not math.isfinite(last):
                        raise ConfigError(f"the {objective.name} of epoch {record.epoch} is "
                                          f"{last}")
                    trial.report(last, record.epoch)
                    if trial.should_prune():
                        trial.set_user_attr("train_seconds", round(seconds, 3))
                        trial.set_user_attr("epochs", record.epoch)
                        raise optuna.TrialPruned(f"pruned after epoch {record.epoch}")
    finally:
        trial.set_user_attr("train_seconds", round(seconds, 3))
        trial.set_user_attr("epochs", training.run.epochs)
    return objective.final_value(training.run, inner, last), seconds


def test_best(study: optuna.Study, storage: optuna.storages.RDBStorage, objective: Objective,
              dataset: Dataset, store: RunStore,
              on_test: Callable[[str], None] | None = None) -> dict:
    """Retrain the study's best setting on the whole training part, save it as a run, and
    score it once on the held-out side (ratings or people; for ``map``, the retrained run's
    map). A best setting already tested is not tested again, by this process or another one
    sharing the study (they take turns): its result is kept with the study.

    Raises:
        Stopped: Ctrl-C or a stop while retraining; the partial run is deleted, nothing kept.
    """
    from movierec.workflows import start, train

    with _test_lock(storage, study.study_name):
        best = study.best_trial
        kept = optuna.load_study(study_name=study.study_name,
                                 storage=storage).user_attrs.get("test")
        if kept and kept.get("trial") == best.number:
            return kept
        recipe = best_recipe(study)
        if on_test is not None:
            on_test(f"retraining trial {best.number}'s setting on the whole training part")
        trained = train(start(recipe, dataset), recipe.plan, store=store)
        run = trained.run
        if not trained.completed:
            if trained.run_dir is not None:
                store.delete(run.run_id)
            raise Stopped
        store.set_name(run.run_id, f"best of {study.study_name}")
        value = objective.from_quality(run.history, trained.quality)
        found = {"trial": best.number, "run_id": run.run_id, "params": best.params,
                 "value": None if math.isnan(value) else value}
        study.set_user_attr("test", found)
        return found


@contextlib.contextmanager
def _test_lock(storage: optuna.storages.RDBStorage, name: str):
    """One process at a time tests study ``name``'s best: an advisory lock of the PostgreSQL
    database, a lock file beside an SQLite one (other databases: no lock)."""
    engine = storage.engine
    if engine.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
        return
    database = _sqlite_file(str(engine.url)) if engine.dialect.name == "sqlite" else None
    with _file_lock(f"{database}.test") if database else contextlib.nullcontext():
        yield


def _sqlite_file(url: str) -> str | None:
    """The database file of an SQLite URL whose folder exists (None: in memory, or a folder
    that is not there, which the storage itself will report)."""
    try:
        database = sqlalchemy.engine.make_url(url).database
    except Exception:  # noqa: BLE001 - a malformed URL is the storage's to report
        return None
    if not database or database == ":memory:" or not os.path.isdir(
            os.path.dirname(os.path.abspath(database))):
        return None
    return database


@contextlib.contextmanager
def _file_lock(name: str):
    """An exclusive lock on the file ``NAME.lock``, held for the block."""
    with open(f"{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- reading a study --------------------------------------------------------------------------
def counts(study: optuna.Study) -> dict[str, int]:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    state = optuna.trial.TrialState
    return {"n_trials": len(states), "n_complete": states.count(state.COMPLETE),
            "n_pruned": states.count(state.PRUNED), "n_failed": states.count(state.FAIL),
            "n_running": states.count(state.RUNNING)}


def summary(result: Tuned, storage_url: str) -> dict:
    """The ``tune --json`` document."""
    study = result.study
    found = counts(study)
    try:
        best = study.best_trial
    except ValueError:
        best = None
    test = result.test or {}
    return {"study": study.study_name, "storage": shown_url(storage_url),
            "model": (study_info(study) or {}).get("model"), "objective": result.objective.name,
            "direction": result.objective.direction, **found,
            "best_trial": best.number if best else None,
            "best_params": best.params if best else None,
            "best_value": best.value if best else None,
            "best_run_id": test.get("run_id") if best and test.get("trial") == best.number
            else None,
            "test_value": test.get("value") if best and test.get("trial") == best.number
            else None,
            "trials_this_process": result.trials_run, "stopped": result.stopped,
            "seconds": round(result.seconds, 3), "train_seconds": round(result.train_seconds, 3)}


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: ``trial``, ``state``, ``value`` (a pruned trial's last report),
    ``best`` (best so far among finished trials), ``epochs``, ``seconds``, ``process`` and
    each parameter."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        value = t.value
        if value is None and t.intermediate_values:
            value = t.intermediate_values[max(t.intermediate_values)]
        rows.append({"trial": t.number, "state": t.state.name.lower(), "value": value,
                     "epochs": t.user_attrs.get("epochs"), "seconds": t.user_attrs.get("seconds"),
                     "process": t.user_attrs.get("process", ""),
                     "error": t.user_attrs.get("error", ""),
                     **{f"param {k}": v for k, v in t.params.items()}})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    done = frame["value"].where(frame["state"] == "complete")
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    frame["best"] = done.cummax() if maximize else done.cummin()
    return frame


def importances(study: optuna.Study) -> dict[str, float]:
    """Each parameter's share of the variation of the finished trials' scores (Optuna's fANOVA
    evaluator, seeded); empty with fewer than two finished trials or one parameter."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    params = {k for t in complete for k in t.params}
    values = {t.value for t in complete}
    if len(complete) < 2 or len(params) < 1 or len(values) < 2:
        return {}
    try:
        return optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    except (RuntimeError, ValueError):
        return {}


def normalised_params(frame: pd.DataFrame, space: dict[str, Param]) -> pd.DataFrame:
    """The trials' parameters on a common 0..1 scale (log ranges on a log scale, choices by
    position) for a parallel-coordinates chart: ``trial``, ``state``, ``value`` and one column
    per parameter (blank where a trial did not draw it)."""
    out = frame[["trial", "state", "value"]].copy() if len(frame) else \
        pd.DataFrame(columns=["trial", "state", "value"])
    for key, param in space.items():
        column = frame.get(f"param {key}")
        if column is None:
            out[key] = np.nan
            continue
        out[key] = [_position(param, v) for v in column]
    return out


def _position(param: Param, value) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if isinstance(param, Choice):
        where = list(param.values).index(value) if value in param.values else 0
        return where / max(len(param.values) - 1, 1)
    low, high, v = float(param.low), float(param.high), float(value)
    if param.log:
        low, high, v = math.log(low), math.log(high), math.log(max(v, 1e-300))
    return float(np.clip((v - low) / (high - low), 0, 1))


def list_studies(storage: optuna.storages.BaseStorage) -> list[dict]:
    """Every movierec study of ``storage`` (others are left out): name, model, objective,
    direction, counts and best value, oldest first."""
    rows = []
    for s in storage.get_all_studies():
        info = study_info(s)
        if info is None:
            continue
        study = optuna.load_study(study_name=s.study_name, storage=storage)
        try:
            best = study.best_value
        except ValueError:
            best = None
        rows.append({"study": s.study_name, "model": info["model"],
                     "objective": info["objective"], "direction": s.directions[0].name.lower(),
                     **counts(study), "best_value": best, "created": info["created"]})
    return sorted(rows, key=lambda r: r["created"])

