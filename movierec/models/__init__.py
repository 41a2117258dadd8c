"""The model registry: one place that names every model, its settings and its training defaults;
it feeds the CLI, the Train page and the tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch

from movierec.config import TrainConfig, from_dict
from movierec.errors import ConfigError
from movierec.models.autorec import AutoRec, AutoRecConfig
from movierec.models.base import Recommender
from movierec.models.bpr import BPR, BPRConfig
from movierec.models.ials import IALS, IALSConfig
from movierec.models.itemitem import EASE, EASEConfig, Newcomer, NewcomerConfig
from movierec.models.mf import MF, MFConfig
from movierec.models.onboard import Onboard, OnboardConfig
from movierec.models.seednet import SeedNet, SeedNetConfig

_BUILDING = threading.Lock()   # one seeded build at a time (see ModelSpec.build)


@dataclass(frozen=True)
class ModelSpec:
    """A registered model.

    Attributes:
        name: registry name (``seednet``).
        title: a short human name.
        model_cls, config_cls: the ``Recommender`` subclass and its frozen config dataclass.
        train_defaults: the ``TrainConfig`` this model trains well with.
        summary: one line on what it is; paper: where it comes from.
    """

    name: str
    title: str
    model_cls: type[Recommender]
    config_cls: type
    train_defaults: TrainConfig
    summary: str
    paper: str

    def build(self, n_users: int, n_items: int, rating_scale: tuple[float, ...],
              config=None, seed: int | None = None) -> Recommender:
        """A freshly initialised model; with ``seed``, initialised from that seed alone.

        The layers draw their first weights from torch's process-wide stream. With a seed the
        build seeds a copy of that stream, one build at a time, and puts the process's own
        back afterwards: a training job that starts in a server thread leaves the other
        sessions' random numbers alone (every later draw uses an explicit generator).
        """
        config = config or self.config_cls()
        if seed is None:
            return self.model_cls(n_users, n_items, rating_scale, config)
        with _BUILDING, torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.model_cls(n_users, n_items, rating_scale, config)

    def config(self, values: dict | None = None):
        """This model's config from a dict of (possibly string) values; defaults elsewhere."""
        return from_dict(self.config_cls, values or {})


MODELS: dict[str, ModelSpec] = {
    "seednet": ModelSpec(
        "seednet", "Notebook network (embeddings + dense + softmax)", SeedNet, SeedNetConfig,
        TrainConfig(epochs=10, batch_size=4096, lr=3e-3),
        "The seed notebook's network: 32-d movie and user embeddings, three dense layers of "
        "128 with dropout 0.5 and batch norm, a softmax over the star values.",
        "conx 'Recommending Movies' notebook, after R. Wilson's Keras example"),
    "mf": ModelSpec(
        "mf", "Biased matrix factorisation", MF, MFConfig,
        TrainConfig(epochs=12, batch_size=8192, lr=3e-3),
        "Global mean + user bias + movie bias + dot product of learned factors, squared error.",
        "Koren, Bell & Volinsky 2009, IEEE Computer 42(8)"),
    "autorec": ModelSpec(
        "autorec", "Item-based AutoRec", AutoRec, AutoRecConfig,
        TrainConfig(epochs=20, batch_size=16384, lr=3e-3, lr_decay=0.9),
        "Each movie's column of ratings is squeezed through a 500-unit sigmoid code and "
        "decoded back into a rating for every user; the most accurate star predictor here.",
        "Sedhain, Menon, Sanner & Xie 2015, WWW"),
    "bpr": ModelSpec(
        "bpr", "Matrix factorisation trained to rank (BPR)", BPR, BPRConfig,
        TrainConfig(epochs=20, batch_size=8192, lr=3e-3),
        "Every rating counts as a pick; each pick is scored above movies sampled from the rest. "
        "Best at top-N lists (HR@10, NDCG@10); it predicts no stars.",
        "Rendle et al. 2009, UAI; He et al. 2017, WWW"),
    "ease": ModelSpec(
        "ease", "EASE (item-to-item, closed form)", EASE, EASEConfig,
        TrainConfig(epochs=1, batch_size=65536),
        "Item-to-item weights that rebuild who rated what from everything else, in closed "
        "form (seconds); a person's scores come straight from their ratings.",
        "Steck 2019, WWW"),
    "newcomer": ModelSpec(
        "newcomer", "Suggestions for newcomers (item-to-item, few ratings)", Newcomer,
        NewcomerConfig, TrainConfig(epochs=1, batch_size=65536),
        "Item-to-item weights fitted, in closed form, to people shown with only a few of their "
        "ratings and asked which other movies they liked; popularity is discounted as a "
        "person rates more. Weak for someone who rates only popular movies (see onboard).",
        "after Steck 2019, WWW, and Steck 2020, NeurIPS (denoising linear autoencoders)"),
    "onboard": ModelSpec(
        "onboard", "Suggestions for newcomers, both ways in (item-to-item, strip and search)",
        Onboard, OnboardConfig, TrainConfig(epochs=1, batch_size=65536),
        "Item-to-item weights fitted, in closed form, to people who answer strips of popular "
        "movies (rating those they have seen, skipping the rest) and to people who search for "
        "a few of their movies; it also picks the next strip. The one-click model of the "
        "Recommend page.",
        "after Steck 2019, WWW, and Steck 2020, NeurIPS; strips after Rashid et al. 2002, IUI"),
    "ials": ModelSpec(
        "ials", "Matrix factorisation by alternating least squares (iALS)", IALS, IALSConfig,
        TrainConfig(epochs=8, batch_size=65536),
        "User and movie factors fitted so that rated pairs score 1 and all others 0 (weighted "
        "low), by exact alternating solves; the top-N model (HR@10, NDCG@10). It predicts no "
        "stars.",
        "Hu, Koren & Volinsky 2008, ICDM; Rendle, Krichene, Zhang & Koren 2022, RecSys"),
}

DEFAULT_MODEL = "seednet"


def get_model_spec(name: str) -> ModelSpec:
    """The registered model ``name``; a ConfigError listing the known names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(MODELS)}") \
            from None


__all__ = ["MODELS", "DEFAULT_MODEL", "ModelSpec", "Recommender", "get_model_spec", "MF",
           "MFConfig", "SeedNet", "SeedNetConfig", "BPR", "BPRConfig", "EASE", "EASEConfig",
           "Newcomer", "NewcomerConfig", "Onboard", "OnboardConfig", "IALS", "IALSConfig"]
