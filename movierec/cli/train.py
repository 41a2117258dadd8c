"""``train``: train a model from a preset and flags (or continue a run) and save it as a run,
with its quality measured as people see it."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from movierec import distributed, paths
from movierec.cli.common import (
    dataset_name,
    emit,
    load_data,
    metrics_text,
    option,
    progress_bar,
    quality_progress,
    say,
    store,
)
from movierec.config import SPLITS, DataConfig, to_dict
from movierec.errors import ConfigError
from movierec.recipe import DATA_FIELDS, TRAIN_FIELDS, Recipe, get_preset, make_recipe

# Flags that name a setting of a new run (``--resume`` continues a run with its own).
_NOT_WITH_RESUME = tuple(dict.fromkeys(("preset", "model") + DATA_FIELDS + TRAIN_FIELDS))


def add_parser(sub, common) -> None:
    from movierec.presets import PRESETS

    p = sub.add_parser("train", parents=[common], help="train a model and save it as a run")
    p.add_argument("--preset", metavar="NAME",
                   help=f"start from a recipe: {', '.join(sorted(PRESETS))}, or one saved in "
                        "the runs folder (from the Tune page); other options override it")
    add_data_options(p)
    p.add_argument("--no-ranking-eval", action="store_true",
                   help="skip HR@10/NDCG@10 after each epoch")
    p.add_argument("--no-quality", action="store_true",
                   help="skip measuring suggestions for new people and neighbour quality "
                        "after training")
    p.add_argument("--epochs", type=int, help="epochs to train (default: the model's)")
    p.add_argument("--batch-size", type=int, help="ratings per step (default: the model's)")
    p.add_argument("--lr", type=float, help="Adam learning rate (default: the model's)")
    p.add_argument("--lr-decay", type=float, help="learning rate factor per epoch")
    p.add_argument("--weight-decay", type=float, help="Adam L2 weight decay")
    p.add_argument("--device", help="auto (default), cpu or cuda")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a model hyperparameter, e.g. --set dropout=0.3 --set hidden=256,128 "
                        "(see `models`)")
    p.add_argument("--resume", metavar="RUN", help="continue this run for --epochs more "
                                                   "epochs (default: its own count)")
    p.add_argument("--no-save", action="store_true", help="do not save the run")
    p.add_argument("--name", help="a name for the run, shown in place of its id on the pages "
                                  "(`runs rename` changes it)")


def add_data_options(p) -> None:
    """The options that say which ratings a run learns from and how they are split (``train``
    and ``tune`` share them)."""
    from movierec.data.catalog import DEFAULT_DATASET, RELEASES
    from movierec.models import DEFAULT_MODEL, MODELS

    p.add_argument("--dataset", type=dataset_name, metavar="NAME",
                   help=f"dataset: {', '.join(RELEASES)} (default {DEFAULT_DATASET}; 'demo' is "
                        "synthetic and offline), or a folder of the data dir holding ratings.csv")
    p.add_argument("--model", choices=list(MODELS), help=f"model (default {DEFAULT_MODEL})")
    p.add_argument("--fraction", type=float, help="share of the ratings kept (default 1.0)")
    p.add_argument("--validation-size", "--test-size", dest="validation_size", type=float,
                   metavar="SHARE", help="share held out for validation (default 0.1)")
    p.add_argument("--seed", type=int, help="seed of the split, the weights and the shuffling "
                                            "(default 0)")
    p.add_argument("--split", choices=list(SPLITS),
                   help="hold out --validation-size of the ratings at random (default), each "
                        "user's latest rating (leave-one-out: the NCF ranking protocol; a random "
                        "one where ratings have no timestamps), or exactly the ratings of a "
                        "test.rating file (ncf: see --holdout)")
    p.add_argument("--holdout", metavar="FILE",
                   help="a test.rating file (UserID::MovieID::Rating::Timestamp lines): test on "
                        "exactly those ratings and train on all the others; implies --split "
                        "ncf, whose default is DATA_DIR/ncf-DATASET/test.rating. A "
                        "test.negative file beside it fixes the candidates of HR@10/NDCG@10")
    p.add_argument("--max-movies", type=int, metavar="N",
                   help="keep only the ratings of the N most rated movies (default: all); "
                        "ease and newcomer handle up to 20,000")
    p.add_argument("--max-users", type=int, metavar="N",
                   help="keep only the ratings of N users drawn at random (default: all); "
                        "for ease and newcomer on the largest sets")
    p.add_argument("--new-people", type=int, metavar="N",
                   help="hold N people out of training entirely, for the new-person protocol "
                        "(default 0)")


def parse_sets(items: list[str]) -> dict:
    """``--set KEY=VALUE`` values as ``{key: text}``."""
    values = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        values[key.strip().replace("-", "_")] = value.strip()
    return values


def recipe_from_args(args) -> Recipe:
    """What ``train`` trains for these flags: the preset's recipe with the flags given over it
    (the same function the dashboard's Train page calls with its form)."""
    data = {f: getattr(args, f) for f in DATA_FIELDS
            if f != "holdout" and getattr(args, f, None) is not None}
    runs_dir = option(args, "runs_dir")
    base = to_dict(get_preset(args.preset, runs_dir).data) if args.preset else {}
    if args.holdout is not None and args.split is None:
        data["split"] = "ncf"
    if data.get("split", base.get("split")) == "ncf":
        data["holdout"] = _holdout_path(args, data.get("dataset",
                                                       base.get("dataset", DataConfig.dataset)))
    elif args.holdout is not None:
        data["holdout"] = args.holdout
    train = {f: getattr(args, f) for f in TRAIN_FIELDS if getattr(args, f, None) is not None}
    if getattr(args, "no_ranking_eval", False):
        train["ranking_eval"] = False
    return make_recipe(args.preset, model=args.model, data=data,
                       model_settings=parse_sets(getattr(args, "set", [])), train=train,
                       runs_dir=runs_dir)


def _holdout_path(args, dataset: str) -> str:
    """The absolute path of the ``test.rating`` file of ``train --split ncf``: ``--holdout``,
    else ``<data dir>/ncf-<dataset>/test.rating``; a ConfigError when it is not a file."""
    if args.holdout is not None:
        path, origin = Path(args.holdout).expanduser(), "--holdout"
    else:
        path = paths.data_dir(option(args, "data_dir")) / f"ncf-{dataset}" / "test.rating"
        origin = f"the default of --split ncf on {dataset}"
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"no test.rating file at {path} ({origin}); give one with "
                          "--holdout FILE")
    return str(path)


def _peak_rss_mb() -> float | None:
    """This process's peak resident memory so far, in MB (None where unknown)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 1024 if sys.platform != "darwin" else peak / 2**20, 1)


def run(args) -> int:
    from movierec.evaluation.report import describe
    from movierec.experiment import continue_training
    from movierec.workflows import start, train

    if args.name is not None:
        from movierec.runs import MAX_NAME

        if not args.name.strip() or len(args.name) > MAX_NAME:
            raise ConfigError(f"--name must be 1 to {MAX_NAME} characters")
        if args.no_save:
            raise ConfigError("--name names a saved run; drop --no-save")
    runs = store(args)
    if args.resume:
        blocked = [f for f in _NOT_WITH_RESUME
                   if f not in ("epochs", "ranking_eval") and getattr(args, f, None) is not None]
        blocked += ["set"] if args.set else []
        if blocked:
            raise ConfigError("--resume continues a run with its own settings; drop "
                              + ", ".join("--" + b.replace("_", "-") for b in blocked))
        resumed = runs.load(args.resume, with_trainer_state=True)
        loading = time.perf_counter()
        dataset = load_data(args, resumed.data_config.dataset)
        load_seconds = time.perf_counter() - loading
        training = continue_training(resumed, dataset)
        plan = [args.epochs if args.epochs is not None else resumed.train_config.epochs]
    else:
        recipe = recipe_from_args(args)
        loading = time.perf_counter()
        dataset = load_data(args, recipe.data.dataset)
        load_seconds = time.perf_counter() - loading
        training = start(recipe, dataset)
        plan = recipe.plan
        say(args, f"training {recipe.model} on {dataset.display_name}: "
                  f"{training.run.n_train:,} train / {training.run.n_validation:,} validation "
                  f"ratings, {training.run.model.n_users:,} users x "
                  f"{training.run.model.n_items:,} movies")

    bar = progress_bar(args, total=None, unit="batch", leave=False)
    measuring: dict = {}

    def on_batch(done: int, total: int) -> None:
        if bar.total != total:
            bar.reset(total=total)
            bar.set_description(f"epoch {training.run.epochs + 1}")
        bar.n = done
        bar.refresh() if done == total else bar.update(0)

    def on_epoch(rec) -> None:
        bar.clear()
        say(args, f"epoch {rec.epoch:>3}  train loss {rec.train_loss:.4f} | val loss "
                  f"{rec.val_loss:.4f}  {metrics_text(vars(rec), '  ')}  ({rec.seconds:.1f} s)")

    def after_training(trained) -> None:
        bar.close()
        measuring["peak"] = _peak_rss_mb()   # of training: measuring is not training
        if not (args.no_quality or not distributed.is_main()):
            say(args, "measuring neighbour quality"
                + (f" and suggestions for {trained.data_config.new_people} new people (strips "
                   "and random ratings)" if training.split.people is not None else "") + "...")
            measuring["bar"], measuring["update"] = quality_progress(args)

    def on_quality(label: str, done: int, total: int) -> None:
        measuring["update"](label, done, total)

    main = distributed.is_main()   # rank 0 alone saves, measures and reports
    try:
        result = train(training, plan, store=runs if main and not args.no_save else None,
                       measure=main and not args.no_quality, on_epoch=on_epoch,
                       on_batch=on_batch, on_quality=on_quality, after_training=after_training)
    finally:
        bar.close()
        if "bar" in measuring:
            measuring["bar"].close()
    trained = result.run
    if not result.completed:
        say(args, f"interrupted; keeping the {trained.epochs} whole epochs trained")
    if trained.epochs == 0:
        raise ConfigError("training stopped before the first epoch finished; nothing to save")
    if not main:
        return 0 if result.completed else 130
    for name, reason in result.notes.items():
        say(args, f"{name} quality not measured: {reason}")
    if args.name is not None and result.run_dir:
        runs.set_name(trained.run_id, args.name)
    summary = trained.summary()
    summary["name"] = runs.name(trained.run_id) if result.run_dir else ""
    summary["run_dir"] = str(result.run_dir) if result.run_dir else None
    summary["history"] = trained.history
    summary["completed"] = result.completed
    summary["peak_rss_mb"] = measuring.get("peak")
    summary["load_seconds"] = round(load_seconds, 3)
    summary["world_size"] = distributed.world_size()
    summary["batch_per_process"] = math.ceil(trained.train_config.batch_size
                                             / distributed.world_size())
    summary["quality"] = {name: table.to_dict(orient="records")
                          for name, table in result.quality.items()}
    emit(args, summary,
         f"run {trained.run_id}: {trained.epochs} epochs in {trained.train_seconds:.1f} s; "
         f"validation {metrics_text(trained.history[-1] if trained.history else {}, ', ')}"
         + "".join(f"\n{describe(name, table)}" for name, table in result.quality.items())
         + (f"\nsaved to {result.run_dir}" if result.run_dir else "\n(not saved)"))
    return 0 if result.completed else 130
