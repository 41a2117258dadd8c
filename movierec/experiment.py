"""From settings to a trained run: split the data as configured, build the model, train it epoch
by epoch (continuing where an earlier session stopped), and keep the run's record up to date."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np

from movierec.config import DataConfig, TrainConfig
from movierec.data.dataset import Dataset
from movierec.errors import ConfigError
from movierec.memory import check_fits
from movierec.models import get_model_spec
from movierec.run import Run, new_run_id
from movierec.split import Split, make_split
from movierec.training import EpochLoop, EpochRecord, resolve_device


class Training:
    """A run being trained. Iterate :meth:`epochs`; ``run`` stays current after each epoch,
    so it can be saved at any point (after a ``break`` too). If an epoch is cut off midway
    (Ctrl-C), :meth:`rewind` puts the model back as it was after the last whole epoch."""

    def __init__(self, run: Run, data: Split) -> None:
        self.run = run
        self.split = data
        self.trainer = EpochLoop(run.model, data, run.train_config, state=run.trainer_state)
        self._snapshot = self._take_snapshot()

    def _take_snapshot(self) -> tuple[dict, dict]:
        return (copy.deepcopy(self.run.model.state_dict()),
                copy.deepcopy(self.trainer.state_dict()))

    def rewind(self) -> None:
        """Undo a partly trained epoch: weights and trainer state as after the last whole one."""
        weights, state = self._snapshot
        self.run.forget_derived()
        self.run.model.load_state_dict(weights)
        self.run.model.eval()
        self.trainer.load_state_dict(state)
        self.run.trainer_state = self.trainer.state_dict()

    def epochs(self, n: int | None = None,
               on_batch: Callable[[int, int], None] | None = None) -> Iterator[EpochRecord]:
        """Train ``n`` more epochs (default: the train config's ``epochs``)."""
        n = self.run.train_config.epochs if n is None else n
        for record in self.trainer.epochs(n, on_batch=on_batch):
            self.run.forget_derived()
            self.run.history.append(record.to_dict())
            self.run.train_seconds += record.seconds
            self.run.trainer_state = self.trainer.state_dict()
            self._snapshot = self._take_snapshot()
            yield record


def start_training(dataset: Dataset, data_config: DataConfig, model_name: str,
                   model_config=None, train_config: TrainConfig | None = None,
                   run_id: str | None = None, data: Split | None = None) -> Training:
    """Split the data, build model ``model_name`` (seeded) and return a :class:`Training`.

    Args:
        model_config: the model's config (its defaults when None).
        train_config: the model's registered training defaults when None.
        data: the split to train on, when not ``make_split(dataset, data_config)`` (a search
            study's trials train on :func:`movierec.split.tuning_split`; such a run is scored,
            never saved, since its data config names the other split).
    """
    spec = get_model_spec(model_name)
    model_config = model_config or spec.config_cls()
    train_config = train_config or spec.train_defaults
    data = data or make_split(dataset, data_config)
    # Refused here, before the model is allocated, when it cannot fit in memory.
    check_fits(spec, model_config, data.n_users, data.n_items, len(data.train),
               train_config.batch_size, resolve_device(train_config.device))
    model = spec.build(data.n_users, data.n_items, dataset.rating_scale, model_config,
                       seed=train_config.seed)
    movies = dataset.movies[dataset.movies["movie_id"].isin(data.train.item_ids.ids)]
    run = Run(run_id=run_id or new_run_id(model_name, dataset.name), model_name=model_name,
              model_config=model_config, data_config=data_config, train_config=train_config,
              model=model, user_ids=data.train.user_ids, item_ids=data.train.item_ids,
              item_counts=data.train.item_counts(), movies=movies.reset_index(drop=True),
              synthetic=dataset.synthetic, n_train=len(data.train),
              n_validation=len(data.validation))
    return Training(run, data)


def continue_training(run: Run, dataset: Dataset) -> Training:
    """Resume ``run`` (loaded ``with_trainer_state``) on the same split it was trained on."""
    if run.trainer_state is None:
        raise ConfigError(f"run {run.run_id} has no trainer state to continue from")
    data = make_split(dataset, run.data_config)
    if not (np.array_equal(data.train.item_ids.ids, run.item_ids.ids)
            and np.array_equal(data.train.user_ids.ids, run.user_ids.ids)):
        raise ConfigError(f"the {dataset.name} data on disk no longer matches run "
                          f"{run.run_id}'s id maps; train a new run instead")
    return Training(run, data)
