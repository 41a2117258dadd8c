"""Named starting points for training, shared by the CLI and the Train page: the built-in ones,
and those people saved (from a search study, on the Tune page) in the runs folder."""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from dataclasses import dataclass

from movierec import paths
from movierec.config import DataConfig, TrainConfig, from_dict, to_dict
from movierec.errors import ConfigError

SAVED_FILE = "presets.json"   # the saved presets of a runs folder
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Preset:
    """A complete recipe: data, model, training, and extra epochs run as a continuation.

    Attributes:
        name, description: what users pick and read.
        data: the data config. model: registry name. train: the training config.
        model_settings: hyperparameters that differ from the model's defaults.
        extra_epochs: epochs trained afterwards as a continuation (0 for none).
    """

    name: str
    description: str
    data: DataConfig
    model: str
    train: TrainConfig
    model_settings: tuple[tuple[str, object], ...] = ()
    extra_epochs: int = 0


PRESETS = {
    "notebook": Preset(
        "notebook",
        "Replay of the seed notebook: seednet on 1% of ML-1M, 10% held out, Adam at 0.001, "
        "20 epochs, then 5 more as its second train() call. Batch 128 keeps it to seconds; "
        "Keras used 32 (--batch-size 32 replays that, about four times slower).",
        DataConfig(dataset="ml-1m", fraction=0.01, validation_size=0.1, seed=0),
        "seednet",
        TrainConfig(epochs=20, batch_size=128, lr=1e-3),
        extra_epochs=5,
    ),
    "seednet-light-dropout": Preset(
        "seednet-light-dropout",
        "The notebook's network on all of ML-1M with dropout 0.25 instead of 0.5: the same "
        "layers learn people's tastes much sooner (validation RMSE about 0.874 after 10 epochs "
        "against 0.897 with 0.5).",
        DataConfig(dataset="ml-1m", fraction=1.0, validation_size=0.1, seed=0),
        "seednet",
        TrainConfig(epochs=10, batch_size=4096, lr=3e-3),
        model_settings=(("dropout", 0.25), ("embedding_dropout", 0.25)),
    ),
    "recommended": Preset(
        "recommended",
        "The Recommend page's one-click model: onboard, fitted in closed form in about 30 s on "
        "all of ML-1M but 600 people held out to measure its suggestions on, and 2% of the "
        "ratings for validation. It serves both ways in: a newcomer who answers the strip of "
        "popular movies (rating those they have seen, skipping the rest; the strip follows "
        "their answers) and one who searches for movies they love. Its settings were chosen "
        "on 600 other held-out people (seed 1) by benchmarks/onboarding.py.",
        DataConfig(dataset="ml-1m", fraction=1.0, validation_size=0.02, seed=0, new_people=600),
        "onboard",
        TrainConfig(epochs=1, batch_size=65536),
    ),
    "seednet-map": Preset(
        "seednet-map",
        "The notebook's layers (embeddings, three dense layers of 128 with batch norm, softmax "
        "over the stars) trained for a map: dropout 0.1 instead of 0.5 everywhere, batch 2048 at "
        "lr 0.005 for 22 epochs (about 100 s on ML-1M here). Its neighbours share genres and "
        "series far more often than the defaults' (which are near chance), though less often "
        "than item-kNN's; 600 people are held out to measure its suggestions.",
        DataConfig(dataset="ml-1m", fraction=1.0, validation_size=0.02, seed=0, new_people=600),
        "seednet",
        TrainConfig(epochs=22, batch_size=2048, lr=0.005),
        model_settings=(("dropout", 0.1), ("embedding_dropout", 0.1)),
    ),
    "top-n": Preset(
        "top-n",
        "The top-N recipe (HR@10, NDCG@10 on the NCF paper's test): iALS with 256 factors, "
        "unrated pairs weighted 0.1, regularisation 0.01 scaled by each user's and movie's "
        "ratings, 8 sweeps (about 80 s on ML-1M here); each user's latest rating held out "
        "for validation (a random one where ratings carry no dates), under 1% of ML-1M.",
        DataConfig(dataset="ml-1m", fraction=1.0, seed=0, split="leave-one-out"),
        "ials",
        TrainConfig(epochs=8, batch_size=65536),
        model_settings=(("dim", 256), ("unobserved_weight", 0.1), ("reg", 0.01)),
    ),
}


def saved_presets(runs_dir=None) -> dict[str, Preset]:
    """The presets saved in the runs folder (``presets.json``), by name; empty when none.

    Raises:
        ConfigError: the file is there but is not a presets file (what is wrong is said).
    """
    path = paths.runs_dir(runs_dir) / SAVED_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read the saved presets {path}: {exc.strerror or exc}") \
            from None
    from movierec.models import get_model_spec

    try:
        entries = json.loads(text)
        found = {}
        for entry in entries:
            spec = get_model_spec(entry["model"])
            spec.config(dict(entry["model_settings"]))          # checked like a form
            found[entry["name"]] = Preset(
                entry["name"], entry["description"], from_dict(DataConfig, entry["data"]),
                entry["model"], from_dict(TrainConfig, entry["train"]),
                tuple((k, v) for k, v in entry["model_settings"]), int(entry["extra_epochs"]))
        return found
    except (ValueError, KeyError, TypeError, ConfigError) as exc:
        raise ConfigError(f"the saved presets {path} are damaged ({exc}); fix or delete the "
                          "file") from None


def all_presets(runs_dir=None) -> dict[str, Preset]:
    """The built-in presets, then the saved ones (a damaged file leaves only the built-in)."""
    try:
        return {**PRESETS, **saved_presets(runs_dir)}
    except ConfigError:
        return dict(PRESETS)


def save_preset(preset: Preset, runs_dir=None) -> None:
    """Add ``preset`` to the runs folder's saved presets (replacing a saved one of that name;
    a built-in name is refused), atomically."""
    if not _NAME.match(preset.name):
        raise ConfigError(f"a preset name is 1 to 64 lower-case letters, digits, '.', '_' or "
                          f"'-', starting with a letter or digit; got {preset.name!r}")
    if preset.name in PRESETS:
        raise ConfigError(f"{preset.name!r} is a built-in preset; choose another name")
    folder = paths.runs_dir(runs_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{SAVED_FILE}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)      # two sessions saving at once keep both
            saved = saved_presets(runs_dir)
            saved[preset.name] = preset
            entries = [{"name": p.name, "description": p.description, "data": to_dict(p.data),
                        "model": p.model, "train": to_dict(p.train),
                        "model_settings": [[k, list(v) if isinstance(v, tuple) else v]
                                           for k, v in p.model_settings],
                        "extra_epochs": p.extra_epochs} for p in saved.values()]
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-presets-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entries, fh, indent=1)
            os.replace(tmp, folder / SAVED_FILE)
    except OSError as exc:
        raise ConfigError(f"cannot save the preset in {folder}: {exc.strerror or exc}") \
            from None
