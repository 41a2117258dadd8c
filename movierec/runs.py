"""Saved runs: configs, per-epoch history, metrics, id maps, movies and weights in one folder,
written atomically and loaded without ever unpickling code."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from movierec import __version__, paths
from movierec.config import DataConfig, TrainConfig, from_dict, to_dict
from movierec.errors import RunError, UnknownIdError
from movierec.interactions import IdMap
from movierec.models import Recommender, get_model_spec
from movierec.run import Run  # noqa: F401 - RunStore.load gives a Run (the library API)

FORMAT_VERSION = 1
REQUIRED_FILES = ("config.json", "history.json", "arrays.npz", "movies.parquet", "weights.pt")
# Leftover staging/trash folders older than this are removed when a store is opened.
STALE_SECONDS = 3600
MAX_NAME = 80   # characters of a run's name (see RunStore.set_name)
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class RunStore:
    """A folder of runs, one sub-folder each.

    Saving writes a complete new folder beside the old one and swaps them by renames, so an
    interrupted save leaves the previous state; :meth:`recover` repairs a swap interrupted
    between its two renames. Opening a store changes nothing on disk.
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = paths.runs_dir(root)

    def recover(self) -> RunStore:
        """Finish or undo what saves and deletions killed halfway left behind (a process that
        owns the folder calls this once when it starts); returns the store."""
        if not self.root.is_dir():
            return self
        for old in self.root.glob(".old-*"):
            run_id = old.name[len(".old-"):].rsplit("-", 1)[0]
            target = self.root / run_id
            try:
                if target.exists():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    old.rename(target)
            except OSError:
                pass
        # Staging and trash folders of saves or deletions killed halfway: ignored by ids(),
        # removed once stale (a fresh one may belong to a save running in another process).
        stale = time.time() - STALE_SECONDS
        for leftover in [*self.root.glob(".staging-*"), *self.root.glob(".trash-*")]:
            try:
                if leftover.stat().st_mtime < stale:
                    shutil.rmtree(leftover, ignore_errors=True)
            except OSError:
                pass
        return self

    def path(self, run_id: str) -> Path:
        if not _RUN_ID.match(run_id or ""):
            raise RunError(f"{run_id!r} is not a valid run id")
        return self.root / run_id

    # --- writing ------------------------------------------------------------------------------
    def save(self, run: Run) -> Path:
        """Write ``run`` atomically; returns its folder."""
        final = self.path(run.run_id)
        if not run.created:
            run.created = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f".staging-{run.run_id}-"))
        except OSError as exc:
            raise RunError(f"cannot write runs to {self.root} ({exc.strerror or exc}); choose a "
                           "writable folder with --runs-dir or MOVIEREC_HOME") from None
        try:
            self._write(run, staging)
            if (final / "name.txt").is_file():   # a name outlives saves of more epochs
                shutil.copy2(final / "name.txt", staging / "name.txt")
            _fsync_dir(staging)
            old = None
            if final.exists():
                old = self.root / f".old-{run.run_id}-{uuid.uuid4().hex[:6]}"
                final.rename(old)
            staging.rename(final)
            staging = None
            _fsync_dir(self.root)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            return final
        except OSError as exc:
            raise RunError(f"cannot save run {run.run_id}: {exc}") from None
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)

    def _write(self, run: Run, folder: Path) -> None:
        config = {
            "format": FORMAT_VERSION, "movierec": __version__, "run_id": run.run_id,
            "model": run.model_name, "model_config": to_dict(run.model_config),
            "data_config": to_dict(run.data_config), "train_config": to_dict(run.train_config),
            "rating_scale": list(run.rating_scale), "n_users": run.model.n_users,
            "n_items": run.model.n_items, "synthetic": run.synthetic, "created": run.created,
            "train_seconds": run.train_seconds, "n_train": run.n_train,
            "n_validation": run.n_validation,
            "metrics": run.metrics(), "epochs": run.epochs, "config_key": run.config_key,
        }
        (folder / "config.json").write_text(json.dumps(config, indent=2))
        (folder / "history.json").write_text(json.dumps(run.history, indent=1))
        with open(folder / "arrays.npz", "wb") as fh:
            np.savez(fh, user_ids=run.user_ids.ids, item_ids=run.item_ids.ids,
                     item_counts=np.asarray(run.item_counts, dtype=np.int64))
        movies = run.movies[["movie_id", "title", "year", "genres"]]
        movies.to_parquet(folder / "movies.parquet", index=False)
        state = {k: v.detach().cpu() for k, v in run.model.state_dict().items()}
        torch.save(state, folder / "weights.pt")
        if run.trainer_state is not None:
            torch.save(_to_cpu(run.trainer_state), folder / "trainer.pt")
        for name in os.listdir(folder):
            with open(folder / name, "rb") as fh:
                os.fsync(fh.fileno())

    def delete(self, run_id: str) -> None:
        """Remove a run (broken ones too)."""
        folder = self.path(self.resolve(run_id))
        trash = self.root / f".trash-{folder.name}-{uuid.uuid4().hex[:6]}"
        try:
            folder.rename(trash)
        except OSError as exc:
            raise RunError(f"cannot delete run {run_id}: {exc}") from None
        shutil.rmtree(trash, ignore_errors=True)

    # --- reading ------------------------------------------------------------------------------
    def ids(self) -> list[str]:
        """Run ids, least recently saved first."""
        if not self.root.is_dir():
            return []
        folders = [p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")]

        def saved_at(folder: Path) -> float:
            # config.json is rewritten by every save and by nothing else (a folder's own time
            # also moves when a projection is stored beside the run).
            config = folder / "config.json"
            return (config if config.is_file() else folder).stat().st_mtime

        return [p.name for p in sorted(folders, key=lambda p: (saved_at(p), p.name))]

    def resolve(self, ref: str) -> str:
        """A run id from ``ref``: an id, a unique prefix of one, or ``latest``.

        Raises:
            UnknownIdError: no such run, or the prefix matches several.
        """
        if not ref or not ref.strip():
            raise UnknownIdError("no run id given; `python -m movierec runs` lists them")
        ids = self.ids()
        if ref == "latest":
            if not ids:
                raise UnknownIdError(f"there are no runs in {self.root}; train one first")
            return ids[-1]
        if ref in ids:
            return ref
        matches = [i for i in ids if i.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise UnknownIdError(f"run {ref!r} is ambiguous: {', '.join(matches[:5])}")
        raise UnknownIdError(f"unknown run {ref!r} in {self.root}; `python -m movierec runs` "
                             "lists them")

    def read_config(self, run_id: str) -> dict:
        folder = self.path(run_id)
        try:
            config = json.loads((folder / "config.json").read_text())
        except FileNotFoundError:
            raise RunError(f"run {run_id} is broken: config.json is missing") from None
        except (OSError, ValueError) as exc:
            raise RunError(f"run {run_id} is broken: config.json cannot be read ({exc})") \
                from None
        if not isinstance(config, dict) or config.get("format") != FORMAT_VERSION:
            raise RunError(f"run {run_id} has an unknown format; it was written by another "
                           "movierec version")
        return config

    def list(self) -> list[dict]:
        """One dict per run: its summary, or ``status: broken`` with the problem."""
        rows = []
        for run_id in self.ids():
            try:
                config = self.read_config(run_id)
                missing = [f for f in REQUIRED_FILES if not (self.root / run_id / f).is_file()]
                if missing:
                    raise RunError(f"run {run_id} is broken: {', '.join(missing)} missing")
                rows.append({
                    "run_id": run_id, "status": "ok", "name": self.name(run_id),
                    "model": config["model"],
                    "dataset": config["data_config"]["dataset"],
                    "synthetic": config.get("synthetic", False),
                    "fraction": config["data_config"]["fraction"], "epochs": config["epochs"],
                    "created": config["created"], "train_seconds": config["train_seconds"],
                    "config_key": config.get("config_key"),
                    "planned_epochs": config["train_config"]["epochs"],
                    **config["metrics"],
                })
            except (RunError, KeyError, TypeError) as exc:
                rows.append({"run_id": run_id, "status": "broken", "problem": str(exc)})
        return rows

    def set_name(self, run_id: str, name: str) -> None:
        """Give run ``run_id`` a name people read in place of its id ('' drops it); kept in
        ``name.txt`` beside the run, so that naming never rewrites the run itself."""
        name = " ".join(str(name).split())
        if len(name) > MAX_NAME:
            raise RunError(f"a run name is at most {MAX_NAME} characters, got {len(name)}")
        folder = self.path(self.resolve(run_id))
        try:
            if not name:
                (folder / "name.txt").unlink(missing_ok=True)
                return
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-name-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(name)
            os.replace(tmp, folder / "name.txt")
        except OSError as exc:
            raise RunError(f"cannot name run {run_id}: {exc.strerror or exc}") from None

    def name(self, run_id: str) -> str:
        """The name given to run ``run_id`` ('' when none)."""
        try:
            return (self.path(run_id) / "name.txt").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError, RunError):
            return ""

    def find(self, key: str, epochs: int | None = None) -> str | None:
        """The newest sound run trained exactly as ``key`` says, for ``epochs`` in all (default:
        its training config's, not continued), or None."""
        for row in reversed(self.list()):
            if row["status"] == "ok" and row.get("config_key") == key \
                    and row["epochs"] == (row["planned_epochs"] if epochs is None else epochs):
                return row["run_id"]
        return None

    def write_extra(self, run_id: str, name: str, frame: pd.DataFrame) -> Path:
        """Store a derived table (a projection, say) beside a run, atomically."""
        if not _RUN_ID.match(name):
            raise RunError(f"{name!r} is not a valid file name")
        folder = self.path(self.resolve(run_id)) / "extras"
        try:
            folder.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            os.close(fd)
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, folder / f"{name}.parquet")
        except OSError as exc:
            raise RunError(f"cannot write {name} for run {run_id}: {exc}") from None
        return folder / f"{name}.parquet"

    def stamp(self, run_id: str, extras: tuple[str, ...] = ()) -> tuple[int, ...]:
        """What changes when the run is saved again (and when any of its ``extras`` is
        written): a cache key that follows the files. Zeros for what is not there."""
        try:
            folder = self.path(run_id)
        except RunError:
            return (0,) * (1 + len(extras))
        found = []
        for path in [folder / "config.json",
                     *(folder / "extras" / f"{name}.parquet" for name in extras)]:
            try:
                found.append(path.stat().st_mtime_ns)
            except OSError:
                found.append(0)
        return tuple(found)

    def read_extra(self, run_id: str, name: str) -> pd.DataFrame | None:
        """A table stored with :meth:`write_extra`, or None (also when it is unreadable)."""
        if not _RUN_ID.match(name):
            return None
        path = self.path(self.resolve(run_id)) / "extras" / f"{name}.parquet"
        try:
            return pd.read_parquet(path)
        except Exception:  # noqa: BLE001 - missing or damaged: the caller recomputes
            return None

    def load(self, ref: str, with_trainer_state: bool = False) -> Run:
        """Load a run for use (model in evaluation mode on the CPU).

        Args:
            ref: run id, unique prefix, or ``latest``.
            with_trainer_state: also load what continuing needs.
        Raises:
            UnknownIdError: no such run. RunError: the run is broken or not a movierec run.
        """
        run_id = self.resolve(ref)
        folder = self.path(run_id)
        config = self.read_config(run_id)
        try:
            spec = get_model_spec(config["model"])
            model_config = from_dict(spec.config_cls, config["model_config"])
            data_config = from_dict(DataConfig, config["data_config"])
            train_config = from_dict(TrainConfig, config["train_config"])
            model = spec.build(int(config["n_users"]), int(config["n_items"]),
                               tuple(config["rating_scale"]), model_config)
            _load_weights(model, folder / "weights.pt", run_id)
            with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
                user_ids = IdMap(arrays["user_ids"], "user")
                item_ids = IdMap(arrays["item_ids"], "movie")
                item_counts = arrays["item_counts"]
            movies = pd.read_parquet(folder / "movies.parquet")
            movies["genres"] = [list(g) for g in movies["genres"]]
            history = json.loads((folder / "history.json").read_text())
            trainer_state = None
            if with_trainer_state and (folder / "trainer.pt").is_file():
                trainer_state = torch.load(folder / "trainer.pt", map_location="cpu",
                                           weights_only=True)
        except RunError:
            raise
        except Exception as exc:  # noqa: BLE001 - any damage: the run is broken, say which
            raise RunError(f"run {run_id} is broken: {type(exc).__name__}: {exc}"[:500]) \
                from None
        if len(user_ids) != model.n_users or len(item_ids) != model.n_items \
                or len(item_counts) != model.n_items:
            raise RunError(f"run {run_id} is broken: its id maps do not match its weights")
        return Run(run_id=run_id, model_name=config["model"], model_config=model_config,
                   data_config=data_config, train_config=train_config, model=model,
                   user_ids=user_ids, item_ids=item_ids, item_counts=item_counts,
                   movies=movies, history=history, trainer_state=trainer_state,
                   synthetic=bool(config.get("synthetic")), created=config.get("created", ""),
                   train_seconds=float(config.get("train_seconds", 0.0)),
                   n_train=int(config.get("n_train", 0)),
                   n_validation=int(config.get("n_validation", config.get("n_test", 0))))


def _load_weights(model: Recommender, path: Path, run_id: str) -> None:
    """Load ``weights.pt`` into ``model`` as tensors only (never code); a RunError saying what
    is wrong with the file otherwise."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise RunError(f"run {run_id} is broken: weights.pt holds more than tensors; refusing "
                       "to load it (a pickle can run code)") from None
    except Exception as exc:  # noqa: BLE001 - truncated, empty or not a torch file at all
        raise RunError(f"run {run_id} is broken: weights.pt cannot be read, it is damaged or "
                       f"not a torch file ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise RunError(f"run {run_id} is broken: weights.pt does not hold a state dict")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise RunError(f"run {run_id} is broken: weights.pt does not fit the model its "
                       f"config.json describes ({first[:200]})") from None
    model.eval()


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj
