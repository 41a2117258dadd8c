"""Frozen, hashable settings: what data a run uses and how it trains. Together with a model's own
config they are the cache key of a trained model and the content of a saved run."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import typing
from dataclasses import dataclass

from movierec.data.catalog import DEFAULT_DATASET, FOLDER_NAME_RULE, RELEASES, is_folder_name
from movierec.errors import ConfigError

SPLITS = ("random", "leave-one-out", "ncf")


@dataclass(frozen=True)
class DataConfig:
    """Which ratings a run learns from and how they are split.

    Attributes:
        dataset: catalog name (``ml-1m`` by default; ``demo`` works offline) or the name of a
            custom folder of the data dir (checked when the data is loaded).
        fraction: share of all ratings kept, seeded (the notebook's ``chop``); 1.0 keeps all.
        validation_size: share of the kept ratings held out for validation (the notebook's
            ``split(.10)``).
        seed: seed of the chop and the split.
        split: ``random`` (``validation_size`` of the ratings held out at random),
            ``leave-one-out`` (every user's latest rating held out, the NCF protocol; ties,
            and ratings without real timestamps (the shared ml-1m's are all 0), drawn at random,
            seeded) or ``ncf`` (exactly the ratings of the ``holdout`` file held out, all
            the others trained on). ``validation_size`` is unused but by ``random``.
        new_people: people held out of training entirely, chosen at random (seeded) among
            those with at least 20 ratings: the new people of the new-person protocol, who
            give a few ratings and are judged on the rest (0 holds out nobody).
        holdout: with split ``ncf`` (and only then), the path of a ``test.rating`` file (the
            NCF paper's held-out ratings); a ``test.negative`` file beside it fixes the
            candidates of the ranking metrics. ``fraction`` must then be 1 and
            ``new_people`` 0.
        max_movies: keep only the ratings of this many movies, the most rated ones (ties to
            the lower id), before anything else; 0 keeps every movie. For models that keep a
            movies x movies matrix (``ease``, ``newcomer``) on catalogues larger than they
            handle (MovieLens 32M has 87,585 movies).
        max_users: keep only the ratings of this many users, drawn at random (seeded), after
            ``max_movies``; 0 keeps everyone. The closed-form models' solve grows with the
            square of each person's ratings: on MovieLens 32M a sample of users fits in
            minutes where all of them take far longer.
    """

    # Fields added after runs were first saved: hashed only when set, so that the configs of
    # earlier runs (which lack them) keep their keys.
    HASHED_WHEN_SET: typing.ClassVar[tuple[str, ...]] = ("holdout", "max_movies", "max_users")
    # Fields renamed since runs were first saved: {former name: name}. Saved configs with the
    # former name still load, and hashes use the former name, so that keys stay the same.
    RENAMED: typing.ClassVar[dict[str, str]] = {"test_size": "validation_size"}

    dataset: str = DEFAULT_DATASET
    fraction: float = 1.0
    validation_size: float = 0.1
    seed: int = 0
    split: str = "random"
    new_people: int = 0
    holdout: str = ""
    max_movies: int = 0
    max_users: int = 0

    def __post_init__(self) -> None:
        if self.dataset not in RELEASES and not is_folder_name(self.dataset):
            raise ConfigError(f"unknown dataset {self.dataset!r}: neither a catalog name "
                              f"({', '.join(RELEASES)}) nor a folder name ({FOLDER_NAME_RULE} "
                              "characters)")
        if not (0 < self.fraction <= 1):
            raise ConfigError(f"fraction must be in (0, 1], got {self.fraction:g}")
        if not (0 < self.validation_size < 1):
            raise ConfigError(f"validation_size must be in (0, 1), got {self.validation_size:g}")
        if self.split not in SPLITS:
            raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if not (isinstance(self.new_people, int) and 0 <= self.new_people <= 1_000_000):
            raise ConfigError(f"new_people must be a whole number from 0 to 1000000, got "
                              f"{self.new_people}")
        if not (isinstance(self.max_movies, int) and 0 <= self.max_movies <= 10_000_000):
            raise ConfigError(f"max_movies must be a whole number from 0 (every movie) to "
                              f"10000000, got {self.max_movies}")
        if not (isinstance(self.max_users, int) and 0 <= self.max_users <= 100_000_000):
            raise ConfigError(f"max_users must be a whole number from 0 (everyone) to "
                              f"100000000, got {self.max_users}")
        if self.split == "ncf":
            if self.max_movies or self.max_users:
                raise ConfigError("split 'ncf' tests on the paper's own users and movies: "
                                  f"max_movies and max_users must be 0, got {self.max_movies} "
                                  f"and {self.max_users}")
            if not self.holdout:
                raise ConfigError("split 'ncf' needs holdout: the path of a test.rating file "
                                  "(the ratings to test on)")
            if self.fraction != 1 or self.new_people:
                raise ConfigError("split 'ncf' trains on every rating but the holdout file's: "
                                  f"fraction must be 1 and new_people 0, got {self.fraction:g} "
                                  f"and {self.new_people}")
        elif self.holdout:
            raise ConfigError(f"holdout (a test.rating file) is only used with split 'ncf', not "
                              f"{self.split!r}")


@dataclass(frozen=True)
class TrainConfig:
    """How a model is optimised (Adam on minibatches).

    Attributes:
        epochs: passes over the training ratings.
        batch_size: ratings per step; large batches keep the CPU busy (Keras' default was 32).
        lr: Adam's learning rate.
        lr_decay: multiply the learning rate by this after every epoch (1.0 keeps it fixed).
        weight_decay: Adam's L2 penalty on every parameter (0 as in the notebook).
        seed: seeds initial weights, shuffling and dropout, for reproducible runs.
        device: ``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda``.
        ranking_eval: also measure HR@10 and NDCG@10 (NCF protocol) after every epoch.
    """

    epochs: int = 10
    batch_size: int = 4096
    lr: float = 3e-3
    lr_decay: float = 1.0
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    ranking_eval: bool = True

    def __post_init__(self) -> None:
        if not (isinstance(self.epochs, int) and 1 <= self.epochs <= 10_000):
            raise ConfigError(f"epochs must be a whole number from 1 to 10000, got {self.epochs}")
        if not (isinstance(self.batch_size, int) and 1 <= self.batch_size <= 10_000_000):
            raise ConfigError(f"batch_size must be a whole number >= 1, got {self.batch_size}")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 10):
            raise ConfigError(f"lr must be in (0, 10], got {self.lr:g}")
        if not (0 < self.lr_decay <= 1):
            raise ConfigError(f"lr_decay must be in (0, 1], got {self.lr_decay:g}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay:g}")
        if self.device not in ("auto", "cpu", "cuda", "mps") and not self.device.startswith(
                "cuda:"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")


def to_dict(config) -> dict:
    """A config as a JSON-ready dict (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(config).items()}


def from_dict(cls, values: dict):
    """Build config class ``cls`` from a dict, converting types and refusing unknown keys."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    renamed = getattr(cls, "RENAMED", {})
    values = {renamed.get(k, k): v for k, v in values.items()}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)} for {cls.__name__}; "
                          f"known: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    return cls(**{k: coerce(v, hints[k], k) for k, v in values.items()})


def coerce(value, hint, name: str):
    """Turn ``value`` (maybe a string from a command line or form) into type ``hint``."""
    origin = typing.get_origin(hint)
    try:
        if hint is bool:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if hint is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            number = float(value) if isinstance(value, str) else value
            if isinstance(number, float) and not number.is_integer():
                raise ValueError(value)
            return int(number)
        if hint is float:
            result = float(value)
            if math.isnan(result):
                raise ValueError(value)
            return result
        if hint is str:
            return str(value)
        if origin is tuple:
            (inner, *_rest) = typing.get_args(hint)
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(coerce(v, inner, name) for v in items if str(v).strip() != "")
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: cannot read {value!r} as {getattr(hint, '__name__', hint)}") \
            from None
    return value


def _hashed(config) -> dict:
    values = to_dict(config)
    for name in getattr(config, "HASHED_WHEN_SET", ()):
        if values[name] == getattr(type(config), name):
            del values[name]
    for former, name in getattr(config, "RENAMED", {}).items():
        values[former] = values.pop(name)
    return values


def config_hash(*configs) -> str:
    """A short stable hash of configs (with their class names): the key of a trained model."""
    payload = [[type(c).__name__, _hashed(c)] for c in configs]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
