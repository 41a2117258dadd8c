"""``python -m movierec``: list, download and synthesize datasets, train, evaluate, recommend,
find similar movies and manage runs from the command line (DESIGN.md's CLI contract)."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from movierec import __version__, distributed, paths
from movierec.config import SPLITS, DataConfig, TrainConfig, from_dict, to_dict
from movierec.errors import ConfigError, MovieRecError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one ``error: ...`` line and exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        sys.exit(EXIT_USAGE)


def _locations() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS,
                        help="folder of MovieLens releases (default: $MOVIEREC_DATA_DIR, else a "
                             "per-user cache dir)")
    common.add_argument("--cache-dir", default=argparse.SUPPRESS,
                        help="writable folder for parsed-data caches (default: "
                             "$MOVIEREC_CACHE_DIR, else a per-user cache dir)")
    common.add_argument("--runs-dir", default=argparse.SUPPRESS,
                        help="folder of saved runs (default: $MOVIEREC_HOME/runs, else a "
                             "per-user data dir)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print exactly one JSON document on stdout, last")
    common.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bars or per-epoch lines on stderr")
    return common


def build_parser() -> argparse.ArgumentParser:
    from movierec.data.catalog import DEFAULT_DATASET, RELEASES
    from movierec.models import DEFAULT_MODEL, MODELS
    from movierec.presets import PRESETS

    common = _locations()
    parser = _Parser(prog="python -m movierec", parents=[common],
                     description="Learn movie recommenders from MovieLens ratings.")
    parser.add_argument("--version", action="version", version=f"movierec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("datasets", parents=[common],
                   help="list known datasets, which are here, and the custom folders")

    p = sub.add_parser("download", parents=[common], help="download a MovieLens release")
    p.add_argument("name", choices=[n for n, r in RELEASES.items() if not r.synthetic],
                   metavar="NAME", help="release to fetch: " + ", ".join(
                       n for n, r in RELEASES.items() if not r.synthetic))
    p.add_argument("--force", action="store_true", help="download again even if present")
    p.add_argument("--mirror", help="base URL to fetch from instead of GroupLens "
                                    "(default: $MOVIEREC_MIRROR)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to wait for the server (default 30)")

    p = sub.add_parser("train", parents=[common], help="train a model and save it as a run")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="start from a recipe (notebook: the seed notebook's replay); other "
                        "options override it")
    p.add_argument("--dataset", type=_dataset_name, metavar="NAME",
                   help=f"dataset: {', '.join(RELEASES)} (default {DEFAULT_DATASET}; 'demo' is "
                        "synthetic and offline), or a folder of the data dir holding ratings.csv")
    p.add_argument("--model", choices=list(MODELS), help=f"model (default {DEFAULT_MODEL})")
    p.add_argument("--fraction", type=float, help="share of the ratings kept (default 1.0)")
    p.add_argument("--test-size", type=float, help="share held out for validation "
                                                   "(default 0.1)")
    p.add_argument("--seed", type=int, help="seed of the split, the weights and the shuffling "
                                            "(default 0)")
    p.add_argument("--split", choices=list(SPLITS),
                   help="hold out --test-size of the ratings at random (default), each user's "
                        "latest rating (leave-one-out: the NCF ranking protocol; a random one "
                        "where ratings have no timestamps), or exactly the ratings of a "
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

    p = sub.add_parser("evaluate", parents=[common],
                       help="score a run: held-out ratings, top-N, onboarding, new people, "
                            "neighbours")
    p.add_argument("--run", required=True, help="run id, unique prefix, or 'latest'")
    p.add_argument("--given", default="3,5,10", metavar="K,...",
                   help="numbers of ratings the new people give (default 3,5,10)")
    p.add_argument("--references", default="most rated,item-kNN,EASE", metavar="NAME,...",
                   help="reference recommenders beside the run in the onboarding and "
                        "new-person protocols (default: most rated,item-kNN,EASE; 'none' for "
                        "none)")
    p.add_argument("--ncf", metavar="FILE",
                   help="only the NCF paper's exact top-N test: HR@10 and NDCG@10 on the "
                        "candidates of this test.negative file (lines: user, held-out movie, "
                        "negatives; MovieLens ids); needs no dataset")

    p = sub.add_parser("recommend", parents=[common], help="suggest movies for a new person")
    p.add_argument("--run", required=True, help="run id, unique prefix, or 'latest'")
    p.add_argument("--rate", action="extend", nargs="+", default=[], metavar="MOVIE_ID=STARS",
                   help="a rating of the new person, e.g. --rate 2571=5 1=4")
    p.add_argument("--ratings-file", help="CSV with columns movie_id,rating")
    p.add_argument("--skip", action="extend", nargs="+", default=[], type=_movie_id,
                   metavar="MOVIE_ID", help="a movie the person was shown and skipped (never "
                                            "suggested; models that learn from skips use it)")
    p.add_argument("--people", metavar="FILE",
                   help="CSV with columns person,movie_id,rating (an empty rating: shown and "
                        "skipped): suggestions for each person")
    p.add_argument("--top", type=int, default=10, help="how many suggestions (default 10)")
    p.add_argument("--min-ratings", type=int, default=10,
                   help="skip movies with fewer training ratings (default 10)")
    p.add_argument("--genre", action="append", default=[], help="only movies of this genre "
                                                                "(repeatable)")

    p = sub.add_parser("starters", parents=[common],
                       help="the strip of movies a newcomer is asked to rate next")
    p.add_argument("--run", required=True, help="run id, unique prefix, or 'latest'")
    p.add_argument("--rate", action="extend", nargs="+", default=[], metavar="MOVIE_ID=STARS",
                   help="a rating the person gave, e.g. --rate 2858=5 480=4")
    p.add_argument("--skip", action="extend", nargs="+", default=[], type=_movie_id,
                   metavar="MOVIE_ID", help="a movie the person was shown and skipped")
    p.add_argument("--people", metavar="FILE",
                   help="CSV with columns person,movie_id,rating (an empty rating: shown and "
                        "skipped; an empty movie_id: a person with no answers yet): the next "
                        "strip of each person")
    p.add_argument("--top", type=int, default=12, help="movies on the strip (default 12)")

    p = sub.add_parser("similar", parents=[common], help="movies closest in embedding space")
    p.add_argument("--run", required=True, help="run id, unique prefix, or 'latest'")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--movie", type=int, help="MovieLens movie id")
    g.add_argument("--title", help="part of a title; the most rated match is used")
    p.add_argument("--top", type=int, default=10, help="how many (default 10)")
    p.add_argument("--min-ratings", type=int, default=0,
                   help="skip movies with fewer training ratings (default 0)")

    p = sub.add_parser("embeddings", parents=[common],
                       help="write the movie vectors for the TensorFlow Embedding Projector")
    p.add_argument("--run", required=True, help="run id, unique prefix, or 'latest'")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder for vectors.tsv and metadata.tsv (created if missing)")
    p.add_argument("--min-ratings", type=int, default=1,
                   help="only movies with at least this many training ratings (default 1)")

    p = sub.add_parser("runs", parents=[common], help="list, show or delete saved runs")
    p.add_argument("action", nargs="?", default="list", choices=["list", "show", "delete"])
    p.add_argument("run", nargs="?", help="run id, unique prefix, or 'latest'")

    sub.add_parser("models", parents=[common], help="list models and their hyperparameters")

    p = sub.add_parser("synthesize", parents=[common],
                       help="write a synthetic MovieLens-shaped dataset folder")
    p.add_argument("--like", choices=list(RELEASES), metavar="NAME",
                   help="take the numbers of users, movies and ratings from this release, "
                        "e.g. ml-32m")
    p.add_argument("--users", type=int, metavar="N", help="number of users (overrides --like)")
    p.add_argument("--movies", type=int, metavar="N", help="number of movies (overrides --like)")
    p.add_argument("--ratings", type=int, metavar="N",
                   help="number of ratings, at least 20 per user (overrides --like)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0); the same arguments "
                                                        "always write the same bytes")
    p.add_argument("--out", metavar="DIR",
                   help="folder to create; its name is the dataset's name (default: "
                        "DATA_DIR/synthetic-<like>, or synthetic-<users>u-<movies>m-<ratings>r)")
    p.add_argument("--force", action="store_true",
                   help="replace --out when it holds a synthetic dataset (never other data)")
    return parser


def _movie_id(text: str) -> int:
    """argparse type of a movie id."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a movie id is a whole number, got {text!r}") \
            from None


def _dataset_name(text: str) -> str:
    """argparse type of ``--dataset``: a catalog name or a safe folder name (whether the folder
    exists is checked when the data is loaded)."""
    from movierec.data.catalog import FOLDER_NAME_RULE, RELEASES, is_folder_name
    if text in RELEASES or is_folder_name(text):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is neither a catalog name ({', '.join(RELEASES)}) "
                                     f"nor a folder name ({FOLDER_NAME_RULE} characters)")


# --- output helpers ---------------------------------------------------------------------------
def _emit(args, document, human: str) -> None:
    if not distributed.is_main():
        return
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(_jsonable(document), indent=2) + "\n")
    else:
        sys.stdout.write(human.rstrip("\n") + "\n")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    try:
        import pandas as pd
        if pd.isna(obj):
            return None
    except (TypeError, ValueError):
        pass
    return str(obj)


def _say(args, text: str) -> None:
    if not getattr(args, "quiet", False) and distributed.is_main():
        sys.stderr.write(text + "\n")


def _progress_bar(args, **kwargs):
    from tqdm import tqdm
    return tqdm(disable=getattr(args, "quiet", False) or not distributed.is_main() or None,
                file=sys.stderr, dynamic_ncols=True, **kwargs)


def _download_progress(args, name: str):
    state = {}

    def update(done: int, total: int | None) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = _progress_bar(args, total=total, unit="B", unit_scale=True,
                                               unit_divisor=1024, desc=f"download {name}")
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()
    return update, state


def _table(frame, columns: Sequence[str]) -> str:
    if len(frame) == 0:
        return "(none)"
    shown = frame[list(columns)].copy()
    if "genres" in shown:
        shown["genres"] = shown["genres"].map(lambda g: "|".join(g))
    return shown.to_string(index=False, float_format=lambda v: f"{v:.3f}")


# --- commands ---------------------------------------------------------------------------------
def cmd_datasets(args) -> int:
    from movierec.data import dataset_status
    rows = dataset_status(getattr(args, "data_dir", None))
    lines = [f"data dir: {paths.data_dir(getattr(args, 'data_dir', None))}"]
    for r in rows:
        mark = "present" if r["present"] else ("PROBLEM" if r["problem"] else "absent")
        count = f"{r['ratings']:>11,} ratings" if r["ratings"] is not None else " " * 19
        kind = ("  [synthetic]" if r["synthetic"] and r["custom"] else "") \
            + ("  [custom]" if r["custom"] else "")
        lines.append(f"  {r['name']:<16} {mark:<8} {count}  {r['title']}{kind}"
                     + (f"  [{r['problem']}]" if r["problem"] else ""))
    _emit(args, {"data_dir": str(paths.data_dir(getattr(args, "data_dir", None))),
                 "datasets": rows}, "\n".join(lines))
    return 0


def cmd_download(args) -> int:
    from movierec.data import download, get_release
    from movierec.data.sources import locate
    release = get_release(args.name)
    ddir = paths.data_dir(getattr(args, "data_dir", None))
    source = None if args.force else locate(release, ddir)
    if source is None:
        update, state = _download_progress(args, release.name)
        try:
            download(release, ddir, mirror=args.mirror, timeout=args.timeout, progress=update)
        finally:
            if state.get("bar") is not None:
                state["bar"].close()
        source = locate(release, ddir)
        status = "downloaded"
    else:
        status = "already present"
    where = source.describe() if source else str(ddir / release.name)
    _emit(args, {"dataset": release.name, "status": status, "location": where},
          f"{release.name}: {status} at {where}")
    return 0


def cmd_synthesize(args) -> int:
    from movierec.data.catalog import RELEASES
    from movierec.data.synthesize import check_out, check_sizes, default_out, synthesize
    like = RELEASES[args.like] if args.like else None
    sizes = [getattr(args, f) if getattr(args, f) is not None else
             (getattr(like, f"n_{f}") if like else None) for f in ("users", "movies", "ratings")]
    if None in sizes:
        raise ConfigError("give --like NAME (e.g. --like ml-32m) or all of --users, --movies "
                          "and --ratings")
    n_users, n_movies, n_ratings = sizes
    ddir = paths.data_dir(getattr(args, "data_dir", None))
    out = Path(args.out) if args.out else default_out(ddir, args.like, n_users, n_movies,
                                                      n_ratings, args.seed)
    check_sizes(n_users, n_movies, n_ratings)
    check_out(out.expanduser().absolute(), args.force)
    _say(args, f"generating {n_ratings:,} ratings from {n_users:,} users on {n_movies:,} "
               f"movies into {out}...")
    doc = synthesize(out, n_users, n_movies, n_ratings, seed=args.seed, like=args.like,
                     force=args.force)
    path = Path(doc["path"])
    where = "" if path.parent == ddir.expanduser().absolute() else \
        f" --data-dir {path.parent}"
    _emit(args, doc, f"wrote {doc['ratings']:,} synthetic ratings to {path} in "
                     f"{doc['seconds']:.1f} s; train on it with `python -m movierec train "
                     f"--dataset {doc['name']}{where}`")
    return 0


def _load(args, name: str):
    from movierec.data import load_dataset
    update, state = _download_progress(args, name)
    try:
        with distributed.load_first_per_machine():
            return load_dataset(name, data_dir=getattr(args, "data_dir", None),
                                cache_dir=getattr(args, "cache_dir", None), progress=update)
    finally:
        if state.get("bar") is not None:
            state["bar"].close()


def _parse_sets(items: list[str]) -> dict:
    values = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        values[key.strip().replace("-", "_")] = value.strip()
    return values


def _train_loop(args, training, n_epochs: int) -> bool:
    """Run ``n_epochs`` with progress; False when interrupted with Ctrl-C."""
    bar = _progress_bar(args, total=None, unit="batch", leave=False)
    last_epoch = training.run.epochs

    def on_batch(done: int, total: int) -> None:
        if bar.total != total:
            bar.reset(total=total)
            bar.set_description(f"epoch {last_epoch + 1}")
        bar.n = done
        bar.refresh() if done == total else bar.update(0)

    try:
        for rec in training.epochs(n_epochs, on_batch=on_batch):
            last_epoch = rec.epoch
            bar.clear()
            _say(args, f"epoch {rec.epoch:>3}  train loss {rec.train_loss:.4f} | val loss "
                       f"{rec.val_loss:.4f}  {_metrics_text(vars(rec), '  ')}  "
                       f"({rec.seconds:.1f} s)")
    except KeyboardInterrupt:
        bar.close()
        training.rewind()
        _say(args, f"interrupted; keeping the {last_epoch} whole epochs trained")
        return False
    bar.close()
    return True


def _peak_rss_mb() -> float | None:
    """This process's peak resident memory so far, in MB (None where unknown)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 1024 if sys.platform != "darwin" else peak / 2**20, 1)


def _holdout_path(args, dataset: str) -> str:
    """The absolute path of the ``test.rating`` file of ``train --split ncf``: ``--holdout``,
    else ``<data dir>/ncf-<dataset>/test.rating``; a ConfigError when it is not a file."""
    if args.holdout is not None:
        path, origin = Path(args.holdout).expanduser(), "--holdout"
    else:
        path = paths.data_dir(getattr(args, "data_dir", None)) / f"ncf-{dataset}" / "test.rating"
        origin = f"the default of --split ncf on {dataset}"
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"no test.rating file at {path} ({origin}); give one with "
                          "--holdout FILE")
    return str(path)


def cmd_train(args) -> int:
    from movierec.evaluation.report import describe
    from movierec.experiment import continue_training, start_training
    from movierec.models import DEFAULT_MODEL, get_model_spec
    from movierec.presets import PRESETS
    from movierec.runs import RunStore

    store = RunStore(getattr(args, "runs_dir", None))
    if args.resume:
        blocked = [f for f in ("preset", "dataset", "model", "fraction", "test_size", "seed",
                               "split", "holdout", "new_people", "max_movies", "max_users",
                               "batch_size", "lr", "lr_decay", "weight_decay", "device")
                   if getattr(args, f) is not None] + (["set"] if args.set else [])
        if blocked:
            raise ConfigError("--resume continues a run with its own settings; drop "
                              + ", ".join("--" + b.replace("_", "-") for b in blocked))
        run = store.load(args.resume, with_trainer_state=True)
        loading = time.perf_counter()
        dataset = _load(args, run.data_config.dataset)
        load_seconds = time.perf_counter() - loading
        training = continue_training(run, dataset)
        plans = [args.epochs if args.epochs is not None else run.train_config.epochs]
    else:
        preset = PRESETS[args.preset] if args.preset else None
        data_values = to_dict(preset.data) if preset else {}
        for field, value in (("dataset", args.dataset), ("fraction", args.fraction),
                             ("test_size", args.test_size), ("seed", args.seed),
                             ("split", args.split), ("new_people", args.new_people),
                             ("max_movies", args.max_movies), ("max_users", args.max_users)):
            if value is not None:
                data_values[field] = value
        if args.holdout is not None and args.split is None:
            data_values["split"] = "ncf"
        if data_values.get("split") == "ncf":
            data_values["holdout"] = _holdout_path(args, data_values.get("dataset",
                                                                         DataConfig.dataset))
        elif args.holdout is not None:
            data_values["holdout"] = args.holdout
        data_config = from_dict(DataConfig, data_values)
        model_name = args.model or (preset.model if preset else DEFAULT_MODEL)
        spec = get_model_spec(model_name)
        settings = dict(preset.model_settings) if preset and model_name == preset.model else {}
        model_config = spec.config({**settings, **_parse_sets(args.set)})
        train_values = to_dict(preset.train if preset and model_name == preset.model
                               else spec.train_defaults)
        for field in ("epochs", "batch_size", "lr", "lr_decay", "weight_decay", "seed",
                      "device"):
            value = getattr(args, field)
            if value is not None:
                train_values[field] = value
        if args.no_ranking_eval:
            train_values["ranking_eval"] = False
        train_config = from_dict(TrainConfig, train_values)
        loading = time.perf_counter()
        dataset = _load(args, data_config.dataset)
        load_seconds = time.perf_counter() - loading
        training = start_training(dataset, data_config, model_name, model_config, train_config)
        plans = [train_config.epochs]
        if preset and preset.extra_epochs and args.epochs is None:
            plans.append(preset.extra_epochs)
        _say(args, f"training {model_name} on {dataset.display_name}: "
                   f"{training.run.n_train:,} train / {training.run.n_test:,} test ratings, "
                   f"{training.run.model.n_users:,} users x {training.run.model.n_items:,} "
                   f"movies")
    completed = True
    for n in plans:
        completed = _train_loop(args, training, n)
        if not completed:
            break
    run = training.run
    if run.epochs == 0:
        raise ConfigError("training stopped before the first epoch finished; nothing to save")
    if not distributed.is_main():   # rank 0 alone saves, measures and reports
        return 0 if completed else 130
    run_dir = None
    if not args.no_save:
        run_dir = store.save(run)
    peak = _peak_rss_mb()   # of training: measuring quality afterwards is not training
    quality = {} if args.no_quality or not completed else \
        _measure(args, run, training.split, store if run_dir else None)
    summary = run.summary()
    summary["run_dir"] = str(run_dir) if run_dir else None
    summary["history"] = run.history
    summary["completed"] = completed
    summary["peak_rss_mb"] = peak
    summary["load_seconds"] = round(load_seconds, 3)
    summary["world_size"] = distributed.world_size()
    summary["batch_per_process"] = math.ceil(run.train_config.batch_size
                                             / distributed.world_size())
    summary["quality"] = {name: table.to_dict(orient="records")
                          for name, table in quality.items()}
    _emit(args, summary,
          f"run {run.run_id}: {run.epochs} epochs in {run.train_seconds:.1f} s; validation "
          f"{_metrics_text(run.history[-1] if run.history else {}, ', ')}"
          + "".join(f"\n{describe(name, table)}" for name, table in quality.items())
          + (f"\nsaved to {run_dir}" if run_dir else "\n(not saved)"))
    return 0 if completed else 130


def _quality_progress(args):
    bar = _progress_bar(args, total=None, unit="person", leave=False)

    def update(label: str, done: int, total: int) -> None:
        if bar.total != total or bar.desc != label:
            bar.reset(total=total)
            bar.set_description(label)
        bar.n = done
        bar.refresh() if done == total else bar.update(0)
    return bar, update


def _measure(args, run, split, store) -> dict:
    """The run's quality tables after training (stored beside it when ``store`` is given)."""
    from movierec.evaluation.report import measure_run, save_quality

    _say(args, "measuring neighbour quality"
         + (f" and suggestions for {run.data_config.new_people} new people (strips and random "
            "ratings)"
            if split.people is not None else "") + "...")
    bar, update = _quality_progress(args)
    notes: dict[str, str] = {}
    try:
        quality = measure_run(run, split, progress=update, notes=notes)
    finally:
        bar.close()
    for name, reason in notes.items():
        _say(args, f"{name} quality not measured: {reason}")
    if store is not None:
        save_quality(store, run.run_id, quality)
    return quality


def _evaluate_ncf(args) -> int:
    """``evaluate --ncf FILE``: the NCF paper's exact test alone (the run and the file)."""
    from movierec.evaluation.ncf import read_test_negative, run_ncf_metrics
    from movierec.runs import RunStore

    test = read_test_negative(args.ncf)
    run = RunStore(getattr(args, "runs_dir", None)).load(args.run)
    start = time.perf_counter()
    result = run_ncf_metrics(run, test)
    seconds = time.perf_counter() - start
    path = str(Path(args.ncf).resolve())
    doc = {"run_id": run.run_id, "model": run.model_name, "dataset": run.data_config.dataset,
           "split": run.data_config.split, "protocol": "ncf", "file": path, **result,
           "seconds": round(seconds, 3)}
    _emit(args, doc,
          f"run {run.run_id} on the NCF test {path}: HR@10 {result['hr10']:.4f}  NDCG@10 "
          f"{result['ndcg10']:.4f} over {result['n_users']:,} users ({seconds:.1f} s)"
          f"\n  {result['merged']:,} users have their held-out movie among its negatives "
          f"(counted once); unknown to the run, so ranked last: {result['unknown_users']:,} "
          f"user(s), {result['unknown_movies']:,} movie(s)")
    return 0


def cmd_evaluate(args) -> int:
    from movierec.evaluation.baselines import baseline_metrics
    from movierec.evaluation.people import REFERENCES, PeopleProtocol
    from movierec.evaluation.ranking import ranking_metrics
    from movierec.evaluation.report import TABLES, describe, measure_run
    from movierec.runs import RunStore
    from movierec.split import make_split
    from movierec.training import evaluate

    if args.ncf is not None:
        return _evaluate_ncf(args)
    protocol = PeopleProtocol(given=_numbers(args.given, "--given"))
    references = [] if args.references.strip().lower() == "none" else \
        [r.strip() for r in args.references.split(",") if r.strip()]
    unknown = sorted(set(references) - set(REFERENCES))
    if unknown:
        raise ConfigError(f"unknown reference(s) {', '.join(unknown)} for --references; "
                          f"known: {', '.join(REFERENCES)}, or none")
    run = RunStore(getattr(args, "runs_dir", None)).load(args.run)
    dataset = _load(args, run.data_config.dataset)
    data = make_split(dataset, run.data_config)
    metrics = evaluate(run.model, data.test)
    baselines = baseline_metrics(data.train, data.test)
    ranking = ranking_metrics(run.model, data.train, data.test, seed=run.data_config.seed,
                              candidates=data.candidates)
    among = "among 100" if data.candidates is None else \
        f"among its {data.candidates.item_idx.shape[1]} candidates in test.negative"
    bar, update = _quality_progress(args)
    notes: dict[str, str] = {}
    try:
        quality = measure_run(run, data, protocol, references, progress=update, notes=notes)
    finally:
        bar.close()
    if data.people is None:
        for name in ("onboarding", "people"):
            notes[name] = ("this run trained on every user (train with --new-people 600 to "
                           "hold some out)")
    doc = {"run_id": run.run_id, "model": run.model_name, "dataset": run.data_config.dataset,
           "split": run.data_config.split, "n_test": len(data.test),
           "val_loss": metrics["loss"], "val_rmse": metrics["rmse"], "val_mae": metrics["mae"],
           "val_accuracy": metrics["accuracy"], "hr10": ranking["hr10"],
           "ndcg10": ranking["ndcg10"], "ranking_users": ranking["n_users"],
           "ranking_candidates": "sampled" if data.candidates is None else "test.negative",
           **baselines,
           "onboarding": quality["onboarding"].to_dict(orient="records")
           if "onboarding" in quality else None,
           "new_people": quality["people"].to_dict(orient="records")
           if "people" in quality else None,
           "neighbours": quality["neighbours"].to_dict(orient="records")
           if "neighbours" in quality else None, "not_measured": notes}
    texts = [describe(name, quality[name]) if name in quality else
             f"{name} quality: not measured; {notes.get(name, '')}" for name in TABLES]
    _emit(args, doc,
          f"run {run.run_id} on {len(data.test):,} held-out ratings of {run.data_config.dataset}"
          + ("\n  predicts no stars (a ranking model)" if math.isnan(metrics["rmse"]) else
             f"\n  RMSE {metrics['rmse']:.4f}  MAE {metrics['mae']:.4f}  accuracy "
             f"{metrics['accuracy']:.4f}")
          + f"  loss {metrics['loss']:.4f}"
          f"\n  top-N (one held-out movie per user {among}): HR@10 {ranking['hr10']:.4f}  "
          f"NDCG@10 {ranking['ndcg10']:.4f} over {ranking['n_users']:,} users"
          f"\n  baselines: global mean RMSE {baselines['mean_rmse']:.4f}; user+movie bias RMSE "
          f"{baselines['bias_rmse']:.4f}\n" + "\n".join(texts))
    return 0


def _numbers(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"{option} expects whole numbers separated by commas, got "
                          f"{text!r}") from None
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"{option} expects positive whole numbers, got {text!r}")
    return values


def _metrics_text(values: dict, sep: str) -> str:
    """The validation metrics a model has (a ranking model has no RMSE, a star model trained
    without ranking evaluation no HR@10), as ``RMSE 0.8414, MAE ...``."""
    names = (("val_rmse", "RMSE"), ("val_mae", "MAE"), ("val_accuracy", "accuracy"),
             ("val_hr10", "HR@10"), ("val_ndcg10", "NDCG@10"))
    shown = [f"{label} {values[key]:.4f}" for key, label in names
             if isinstance(values.get(key), float) and math.isfinite(values[key])]
    return sep.join(shown) or "no metrics"


def _read_file(path: str, limit: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_ratings_file(path: str) -> dict[int, float]:
    from movierec.person import MAX_BYTES, read_person_ratings

    return read_person_ratings(_read_file(path, MAX_BYTES), path)


def _read_people_file(args, run):
    from movierec.person import MAX_PEOPLE_BYTES, read_people

    return read_people(_read_file(args.people, MAX_PEOPLE_BYTES), args.people, run.rating_scale)


def _known_answers(args, run, person, answers) -> tuple[dict[int, float], list[int], list[int]]:
    """A person's ratings and skips of movies the run knows, and the ids it does not (said on
    stderr)."""
    rated = {m: s for m, s in answers.rated.items() if m in run.item_ids}
    skipped = [m for m in answers.skipped if m in run.item_ids]
    ignored = sorted(set(answers.rated) - set(rated) | set(answers.skipped) - set(skipped))
    if ignored:
        _say(args, f"person {person}: movie(s) {', '.join(map(str, ignored[:5]))} unknown to "
                   f"run {run.run_id}, left out")
    return rated, skipped, ignored


def _recommend_people(args) -> int:
    """``recommend --people FILE``: everyone's suggestions, each as ``recommend`` makes them;
    a person's movies that the run does not know are left out (and listed)."""
    from movierec.inference import recommend
    from movierec.runs import RunStore

    run = RunStore(getattr(args, "runs_dir", None)).load(args.run)
    people = _read_people_file(args, run)
    doc, lines = [], []
    for person, answers in people.items():
        rated, skipped, ignored = _known_answers(args, run, person, answers)
        entry = {"person": person, "suggestions": []}
        if ignored:
            entry["ignored"] = ignored
        if rated or (skipped and run.model.uses_skips):
            result = recommend(run, rated, top=args.top, min_ratings=args.min_ratings,
                               genres=args.genre or None, skipped=skipped)
            entry["suggestions"] = result.to_dict(orient="records")
            lines.append(f"person {person} ({len(rated)} ratings, {len(skipped)} skipped):\n"
                         + _table(result, ["movie_id", "title", "genres", "predicted_rating"]))
        else:
            entry["error"] = ("none of this person's movies is known to the run" if ignored
                              else "this person has rated no movie yet")
            lines.append(f"person {person}: {entry['error']}")
        doc.append(entry)
    _emit(args, doc, "\n".join(lines))
    return 0


def _rates(items: list[str]) -> dict[int, float]:
    """``--rate MOVIE_ID=STARS`` values as ``{movie_id: stars}``."""
    rated: dict[int, float] = {}
    for item in items:
        movie, sep, stars = item.partition("=")
        try:
            rated[int(movie)] = float(stars)
        except ValueError:
            raise ConfigError(f"--rate expects MOVIE_ID=STARS, got {item!r}") from None
        if not sep:
            raise ConfigError(f"--rate expects MOVIE_ID=STARS, got {item!r}")
    return rated


def cmd_recommend(args) -> int:
    from movierec.inference import recommend
    from movierec.runs import RunStore

    if args.people:
        if args.rate or args.ratings_file or args.skip:
            raise ConfigError("--people gives everyone's answers; drop --rate, --skip and "
                              "--ratings-file")
        return _recommend_people(args)
    rated: dict[int, float] = {}
    if args.ratings_file:
        rated.update(_read_ratings_file(args.ratings_file))
    rated.update(_rates(args.rate))
    if not rated:
        raise ConfigError("give at least one rating with --rate MOVIE_ID=STARS or "
                          "--ratings-file")
    run = RunStore(getattr(args, "runs_dir", None)).load(args.run)
    result = recommend(run, rated, top=args.top, min_ratings=args.min_ratings,
                       genres=args.genre or None, skipped=args.skip)
    rows = result.to_dict(orient="records")
    _emit(args, rows, _table(result, ["movie_id", "title", "genres", "predicted_rating"]))
    return 0


def cmd_starters(args) -> int:
    from movierec.runs import RunStore
    from movierec.starters import Strip, check_answers

    if args.top < 1:
        raise ConfigError(f"--top must be at least 1, got {args.top}")
    run = RunStore(getattr(args, "runs_dir", None)).load(args.run)
    strip = Strip.for_run(run, args.top)
    columns = ["movie_id", "title", "year", "genres", "n_ratings"]
    if args.people:
        if args.rate or args.skip:
            raise ConfigError("--people gives everyone's answers; drop --rate and --skip")
        doc, lines = [], []
        for person, answers in _read_people_file(args, run).items():
            rated, skipped, ignored = _known_answers(args, run, person, answers)
            shown = strip.next_movies(rated, skipped, args.top)
            entry = {"person": person, "starters": shown[columns].to_dict(orient="records")}
            if ignored:
                entry["ignored"] = ignored
            doc.append(entry)
            lines.append(f"person {person} ({len(rated)} ratings, {len(skipped)} skipped):\n"
                         + _table(shown, ["movie_id", "title", "n_ratings"]))
        _emit(args, doc, "\n".join(lines))
        return 0
    rated = _rates(args.rate)
    check_answers(run, rated, args.skip)
    shown = strip.next_movies(rated, args.skip, args.top)
    _emit(args, shown[columns].to_dict(orient="records"),
          _table(shown, ["movie_id", "title", "genres", "n_ratings"]))
    return 0


def cmd_similar(args) -> int:
    from movierec.inference import find_movies, similar
    from movierec.runs import RunStore

    run = RunStore(getattr(args, "runs_dir", None)).load(args.run)
    movie_id = args.movie
    if movie_id is None:
        found = find_movies(run, args.title, limit=1)
        if found.empty:
            raise ConfigError(f"no movie title in run {run.run_id} contains {args.title!r}")
        movie_id = int(found["movie_id"].iloc[0])
        _say(args, f"using {found['title'].iloc[0]} (movie {movie_id})")
    result = similar(run, movie_id, top=args.top, min_ratings=args.min_ratings)
    rows = result.to_dict(orient="records")
    _emit(args, rows, _table(result, ["movie_id", "title", "genres", "similarity"]))
    return 0


def cmd_embeddings(args) -> int:
    from movierec.embeddings import write_projector_files
    from movierec.runs import RunStore

    run = RunStore(getattr(args, "runs_dir", None)).load(args.run)
    vectors, metadata, n = write_projector_files(run, args.out, min_ratings=args.min_ratings)
    _emit(args, {"run_id": run.run_id, "vectors": str(vectors), "metadata": str(metadata),
                 "movies": n, "dimensions": int(run.model.item_embeddings().shape[1])},
          f"{n:,} movies of run {run.run_id}:\n  {vectors}\n  {metadata}\n"
          "load both at https://projector.tensorflow.org (Load, then choose the files)")
    return 0


def cmd_runs(args) -> int:
    from movierec.runs import RunStore

    store = RunStore(getattr(args, "runs_dir", None))
    if args.action == "list":
        rows = store.list()
        lines = [f"runs in {store.root}:"] if rows else [f"no runs in {store.root}"]
        for r in rows:
            if r["status"] == "ok":
                lines.append(f"  {r['run_id']:<44} {r['epochs']:>3} epochs  "
                             f"{_metrics_text(r, '  ')}")
            else:
                lines.append(f"  {r['run_id']:<44} BROKEN: {r['problem']}")
        _emit(args, rows, "\n".join(lines))
        return 0
    if not args.run:
        raise ConfigError(f"`runs {args.action}` needs a run id")
    if args.action == "show":
        run = store.load(args.run)
        doc = {**run.summary(), "run_dir": str(store.path(run.run_id)), "history": run.history}
        lines = [f"{k}: {v}" for k, v in run.summary().items()]
        _emit(args, doc, "\n".join(lines))
        return 0
    run_id = store.resolve(args.run)
    store.delete(run_id)
    _emit(args, {"deleted": run_id}, f"deleted {run_id}")
    return 0


def cmd_models(args) -> int:
    import dataclasses

    from movierec.models import MODELS
    doc, lines = [], []
    for spec in MODELS.values():
        params = {f.name: f.default for f in dataclasses.fields(spec.config_cls)}
        doc.append({"name": spec.name, "title": spec.title, "summary": spec.summary,
                    "paper": spec.paper, "hyperparameters": params,
                    "train_defaults": to_dict(spec.train_defaults)})
        lines.append(f"{spec.name}: {spec.title}\n  {spec.summary}\n  hyperparameters: "
                     + ", ".join(f"{k}={v}" for k, v in params.items()))
    _emit(args, doc, "\n".join(lines))
    return 0


COMMANDS = {"datasets": cmd_datasets, "download": cmd_download, "train": cmd_train,
            "evaluate": cmd_evaluate, "recommend": cmd_recommend, "starters": cmd_starters,
            "similar": cmd_similar,
            "embeddings": cmd_embeddings, "runs": cmd_runs, "models": cmd_models,
            "synthesize": cmd_synthesize}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for a user error, with one ``error:`` line)."""
    args = build_parser().parse_args(argv)
    rank = ""   # "rank R: " among processes started by torchrun
    try:
        rank = distributed.error_prefix()
        if distributed.launched() and args.command != "train":
            raise ConfigError(f"only train runs across processes; run {args.command} "
                              "without torchrun")
        with distributed.session():
            return COMMANDS[args.command](args)
    except MovieRecError as exc:
        sys.stderr.write(f"error: {rank}{exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write(f"error: {rank}interrupted\n")
        return 130
    except OSError as exc:
        target = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"error: {rank}{exc.strerror or exc}{target}\n")
        return EXIT_USAGE
    except RuntimeError as exc:
        reason = distributed.peer_failure(exc) if rank else None
        if reason is None:
            raise
        sys.stderr.write(f"error: {rank}another process failed or stopped answering (any error "
                         f"of its own is above): {reason}\n")
        return 1


def run() -> None:
    """The ``movierec`` console script (``pip install .``)."""
    sys.exit(main())


if __name__ == "__main__":
    run()
