"""One trained run: its model, configs, id maps, movies and per-epoch history, and what is
derived from it (see :class:`Run`). The store that saves and loads runs is
:mod:`movierec.runs`."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from movierec.config import DataConfig, TrainConfig, config_hash, to_dict
from movierec.interactions import IdMap
from movierec.models import Recommender


@dataclass(eq=False)
class Run:
    """One trained model with everything needed to use, evaluate or continue it.

    Attributes:
        run_id: folder name in the run store.
        model_name: registry name; model_config, data_config, train_config: its settings.
        model: the network, in evaluation mode once trained.
        user_ids, item_ids: id maps of the model's tables.
        item_counts: training ratings per ``item_idx`` (popularity, and what the model knows).
        movies: ``movie_id``, ``title``, ``year``, ``genres`` of the movies in ``item_ids``.
        history: one dict per epoch (see :class:`movierec.training.EpochRecord`).
        trainer_state: optimizer and random-stream state for continuing, or None.
        synthetic: True when trained on generated data.
        created: ISO time of the first save.
        train_seconds: time spent in training epochs, all sessions together.
        n_train, n_validation: ratings in each side of the split.
    """

    run_id: str
    model_name: str
    model_config: object
    data_config: DataConfig
    train_config: TrainConfig
    model: Recommender
    user_ids: IdMap
    item_ids: IdMap
    item_counts: np.ndarray
    movies: pd.DataFrame
    history: list[dict] = field(default_factory=list)
    trainer_state: dict | None = None
    synthetic: bool = False
    created: str = ""
    train_seconds: float = 0.0
    n_train: int = 0
    n_validation: int = 0
    # What is computed from the trained model and kept with it: see derived().
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def derived(self, name: str, compute):
        """``compute()``, worked out once per run and kept: a loaded run is shared by every
        session of the dashboard, and this is the one place it keeps anything. Training
        more epochs forgets it (:meth:`forget_derived`)."""
        found = self._derived.get(name)
        if found is None:
            found = self._derived[name] = compute()
        return found

    def forget_derived(self) -> None:
        """Drop what :meth:`derived` kept (the model changed)."""
        self._derived.clear()

    def unit_vectors(self) -> torch.Tensor:
        """The movie vectors at unit length (CPU, float32): their dot products are the
        cosine similarities that rank neighbours. Do not modify the tensor."""
        def compute() -> torch.Tensor:
            with torch.no_grad():
                vectors = self.model.item_embeddings().detach().float().cpu()
                return torch.nn.functional.normalize(vectors, dim=1)
        return self.derived("unit_vectors", compute)

    @property
    def epochs(self) -> int:
        return len(self.history)

    @property
    def config_key(self) -> str:
        """Hash of the data, model and training configs (see :func:`run_key`)."""
        return run_key(self.data_config, self.model_name, self.model_config, self.train_config)

    @property
    def rating_scale(self) -> tuple[float, ...]:
        return tuple(float(s) for s in self.model.stars.tolist())

    def metrics(self) -> dict:
        """Final validation metrics (those of the last epoch), empty before any epoch."""
        if not self.history:
            return {}
        last = self.history[-1]
        return {k: last.get(k) for k in ("val_loss", "val_rmse", "val_mae", "val_accuracy",
                                         "val_hr10", "val_ndcg10")}

    def movie_table(self) -> pd.DataFrame:
        """Movies in table order (row ``item_idx``) with their training rating counts.

        Built once per run (a page asks for it on every rerun) and handed out as a shallow
        copy: with pandas' copy-on-write, what a caller sets on it stays its own. The genre
        lists inside are shared: never change one in place."""
        def build() -> pd.DataFrame:
            table = self.movies.set_index("movie_id").reindex(self.item_ids.ids)
            table["title"] = table["title"].fillna("").astype(object)
            missing = table["title"] == ""
            table.loc[missing, "title"] = [f"movie {i}" for i in table.index[missing]]
            table["genres"] = [g if isinstance(g, list) else [] for g in table["genres"]]
            table["n_ratings"] = self.item_counts
            table.index.name = "movie_id"
            return table.reset_index()
        return self.derived("movie_table", build).copy(deep=False)

    def movies_by_id(self) -> pd.DataFrame:
        """:meth:`movie_table` indexed by ``movie_id`` (the column kept), built once."""
        return self.derived("movies_by_id", lambda: self.movie_table().set_index(
            "movie_id", drop=False)).copy(deep=False)

    def summary(self) -> dict:
        """The run in one JSON-ready dict (configs, sizes, final metrics)."""
        return {
            "run_id": self.run_id, "model": self.model_name, "dataset": self.data_config.dataset,
            "synthetic": self.synthetic, "fraction": self.data_config.fraction,
            "validation_size": self.data_config.validation_size,
            "test_size": self.data_config.validation_size,   # its former name, for older tools
            "seed": self.data_config.seed,
            "split": self.data_config.split, "new_people": self.data_config.new_people,
            **({"holdout": self.data_config.holdout} if self.data_config.holdout else {}),
            "n_train": self.n_train, "n_test": self.n_validation, "epochs": self.epochs,
            "train_seconds": round(self.train_seconds, 3), "created": self.created,
            "model_config": to_dict(self.model_config),
            "train_config": to_dict(self.train_config),
            **self.metrics(),
        }


def run_key(data_config: DataConfig, model_name: str, model_config, train_config: TrainConfig) \
        -> str:
    """The key of a trained model: equal configs give equal keys (and, seeded, equal models)."""
    return f"{model_name}-" + config_hash(data_config, model_config, train_config)


def new_run_id(model_name: str, dataset: str) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{model_name}-{dataset}-{stamp}-{uuid.uuid4().hex[:4]}"
