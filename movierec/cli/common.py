"""What the commands share: the parser class, the options every command takes, argparse types,
output (one JSON document, or lines for people; progress on stderr) and reading people's
answers."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence

from movierec import distributed
from movierec.errors import ConfigError

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one ``error: ...`` line and exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        sys.exit(EXIT_USAGE)


def locations() -> argparse.ArgumentParser:
    """The options of every command: where things are, and how to print."""
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


def option(args, name: str, default=None):
    """A shared option's value (they are left out of ``args`` when not given)."""
    return getattr(args, name, default)


# --- argparse types ---------------------------------------------------------------------------
def movie_id(text: str) -> int:
    """argparse type of a movie id."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a movie id is a whole number, got {text!r}") \
            from None


def dataset_name(text: str) -> str:
    """argparse type of ``--dataset``: a catalog name or a safe folder name (whether the folder
    exists is checked when the data is loaded)."""
    from movierec.data.catalog import FOLDER_NAME_RULE, RELEASES, is_folder_name
    if text in RELEASES or is_folder_name(text):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is neither a catalog name ({', '.join(RELEASES)}) "
                                     f"nor a folder name ({FOLDER_NAME_RULE} characters)")


def numbers(text: str, name: str) -> tuple[int, ...]:
    """Positive whole numbers separated by commas (``3,5,10``) of option ``name``."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"{name} expects whole numbers separated by commas, got "
                          f"{text!r}") from None
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"{name} expects positive whole numbers, got {text!r}")
    return values


def rates(items: list[str]) -> dict[int, float]:
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


# --- output -----------------------------------------------------------------------------------
def emit(args, document, human: str) -> None:
    """Print the command's result: ``document`` as JSON with ``--json``, else ``human``."""
    if not distributed.is_main():
        return
    if option(args, "json", False):
        sys.stdout.write(json.dumps(jsonable(document), indent=2) + "\n")
    else:
        sys.stdout.write(human.rstrip("\n") + "\n")


def jsonable(obj):
    """``obj`` with numpy values, NaN (as null) and other types made JSON-ready."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
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


def say(args, text: str) -> None:
    """A line of progress on stderr (not with ``--quiet``, and by rank 0 alone)."""
    if not option(args, "quiet", False) and distributed.is_main():
        sys.stderr.write(text + "\n")


def progress_bar(args, **kwargs):
    from tqdm import tqdm
    return tqdm(disable=option(args, "quiet", False) or not distributed.is_main() or None,
                file=sys.stderr, dynamic_ncols=True, **kwargs)


def download_progress(args, name: str):
    """A download's progress callback and the state that holds its bar (close it after)."""
    state = {}

    def update(done: int, total: int | None) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = progress_bar(args, total=total, unit="B", unit_scale=True,
                                              unit_divisor=1024, desc=f"download {name}")
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()
    return update, state


def quality_progress(args):
    """A bar for measuring quality and its ``(what, done, total)`` callback."""
    bar = progress_bar(args, total=None, unit="person", leave=False)

    def update(label: str, done: int, total: int) -> None:
        if bar.total != total or bar.desc != label:
            bar.reset(total=total)
            bar.set_description(label)
        bar.n = done
        bar.refresh() if done == total else bar.update(0)
    return bar, update


def table(frame, columns: Sequence[str]) -> str:
    """Rows of a result for people."""
    if len(frame) == 0:
        return "(none)"
    shown = frame[list(columns)].copy()
    if "genres" in shown:
        shown["genres"] = shown["genres"].map(lambda g: "|".join(g))
    return shown.to_string(index=False, float_format=lambda v: f"{v:.3f}")


def metrics_text(values: dict, sep: str) -> str:
    """The validation metrics a model has (a ranking model has no RMSE, a star model trained
    without ranking evaluation no HR@10), as ``RMSE 0.8414, MAE ...``."""
    names = (("val_rmse", "RMSE"), ("val_mae", "MAE"), ("val_accuracy", "accuracy"),
             ("val_hr10", "HR@10"), ("val_ndcg10", "NDCG@10"))
    shown = [f"{label} {values[key]:.4f}" for key, label in names
             if isinstance(values.get(key), float) and math.isfinite(values[key])]
    return sep.join(shown) or "no metrics"


# --- inputs -----------------------------------------------------------------------------------
def store(args):
    """The run store of ``--runs-dir``, repaired after any save a killed process left
    halfway (a command is a process of its own)."""
    from movierec.runs import RunStore
    return RunStore(option(args, "runs_dir")).recover()


def load_run(args, ref: str):
    """The saved run ``ref`` (an id, a unique prefix or 'latest')."""
    return store(args).load(ref)


def load_data(args, name: str):
    """Dataset ``name``, downloaded with a progress bar when absent (one process per machine
    first, among torchrun's)."""
    from movierec.data import load_dataset
    update, state = download_progress(args, name)
    try:
        with distributed.load_first_per_machine():
            return load_dataset(name, data_dir=option(args, "data_dir"),
                                cache_dir=option(args, "cache_dir"), progress=update)
    finally:
        if state.get("bar") is not None:
            state["bar"].close()


def read_file(path: str, limit: int) -> bytes:
    """Up to ``limit`` + 1 bytes of ``path`` (one more shows it is too big)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_people_file(args, run):
    """The ``--people`` file: ``{person: Answers}`` in file order."""
    from movierec.person import MAX_PEOPLE_BYTES, read_people

    return read_people(read_file(args.people, MAX_PEOPLE_BYTES), args.people, run.rating_scale)


def known_answers(args, run, person, answers) -> tuple[dict[int, float], list[int], list[int]]:
    """A person's ratings and skips of movies the run knows, and the ids it does not (said on
    stderr)."""
    rated = {m: s for m, s in answers.rated.items() if m in run.item_ids}
    skipped = [m for m in answers.skipped if m in run.item_ids]
    ignored = sorted(set(answers.rated) - set(rated) | set(answers.skipped) - set(skipped))
    if ignored:
        say(args, f"person {person}: movie(s) {', '.join(map(str, ignored[:5]))} unknown to "
                  f"run {run.run_id}, left out")
    return rated, skipped, ignored
