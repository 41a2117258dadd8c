"""One recipe for every front-end: a preset plus overrides become the data, model and training
configs and the epoch plan. ``train`` on the command line, the Train page, Recommend's one-click
training and the background jobs all build what they train here, so that the same choices train
the same thing wherever they are made."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from movierec.config import DataConfig, TrainConfig, from_dict, to_dict
from movierec.errors import ConfigError
from movierec.presets import PRESETS, Preset

DATA_FIELDS = tuple(f.name for f in dataclasses.fields(DataConfig))
TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))


@dataclass(frozen=True)
class Recipe:
    """Everything a new run is trained from.

    Attributes:
        data, model, model_config, train: the configs (``model`` is a registry name).
        plan: epochs per training call: ``train.epochs`` first, then each continuation a preset
            asks for (the notebook's second ``fit``).
        preset: the preset it started from ('' for none).
    """

    data: DataConfig
    model: str
    model_config: object
    train: TrainConfig
    plan: tuple[int, ...]
    preset: str = ""

    @property
    def epochs(self) -> int:
        """Epochs trained in all."""
        return sum(self.plan)


def get_preset(name: str, runs_dir=None) -> Preset:
    """A built-in preset, or one saved in the runs folder ``runs_dir`` (see
    :func:`movierec.presets.saved_presets`)."""
    if name in PRESETS:
        return PRESETS[name]
    from movierec.presets import saved_presets

    saved = saved_presets(runs_dir)
    if name in saved:
        return saved[name]
    raise ConfigError(f"unknown preset {name!r}; known: {', '.join([*PRESETS, *saved])}")


def make_recipe(preset: str | None = None, *, model: str | None = None,
                data: Mapping | None = None, model_settings: Mapping | None = None,
                train: Mapping | None = None, runs_dir=None) -> Recipe:
    """The recipe of ``preset`` (or of the defaults) with overrides.

    Args:
        model: the model to train; the preset's (else the default model) when None. A model
            other than the preset's starts from its own settings and training defaults; the
            preset's data settings still apply.
        data: DataConfig fields that differ from the preset's.
        model_settings: hyperparameters (values may be strings, as typed) over the preset's.
        train: TrainConfig fields over the preset's (or the model's defaults). Giving
            ``epochs`` drops the preset's continuation, as the command line's ``--epochs`` does.
        runs_dir: the runs folder whose saved presets ``preset`` may name (default: the
            usual one).

    Raises:
        ConfigError: an unknown preset, model or field, or a value out of range.
    """
    from movierec.models import DEFAULT_MODEL, get_model_spec

    found = get_preset(preset, runs_dir) if preset else None
    data, model_settings, train = dict(data or {}), dict(model_settings or {}), dict(train or {})
    for name, given, known in (("data", data, DATA_FIELDS), ("training", train, TRAIN_FIELDS)):
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ConfigError(f"unknown {name} setting(s) {', '.join(unknown)}; known: "
                              f"{', '.join(known)}")
    data_config = from_dict(DataConfig, {**(to_dict(found.data) if found else {}), **data})
    model_name = model or (found.model if found else DEFAULT_MODEL)
    spec = get_model_spec(model_name)
    own = found is not None and model_name == found.model
    settings = dict(found.model_settings) if own else {}
    model_config = spec.config({**settings, **model_settings})
    base = found.train if own else spec.train_defaults
    train_config = from_dict(TrainConfig, {**to_dict(base), **train})
    plan = [train_config.epochs]
    if own and found.extra_epochs and "epochs" not in train:
        plan.append(found.extra_epochs)
    return Recipe(data_config, model_name, model_config, train_config, tuple(plan),
                  found.name if found else "")


def overrides(values: Mapping, baseline) -> dict:
    """The entries of ``values`` that differ from config ``baseline``'s fields: what a form
    filled from a preset changed (and so what the command line would have had as flags)."""
    base = to_dict(baseline)
    return {k: v for k, v in values.items() if k not in base or _same(v, base[k]) is False}


def _same(value, default) -> bool:
    if isinstance(default, (list, tuple)):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        try:
            return [type(d)(v) for d, v in zip(default, value, strict=True)] == list(default)
        except (TypeError, ValueError):
            return False
    if isinstance(default, bool) or default is None:
        return value == default
    try:
        return type(default)(value) == default
    except (TypeError, ValueError):
        return False
