"""One contract every registered model must keep."""

from __future__ import annotations

import io

import pytest
import torch

from movierec.errors import ConfigError
from movierec.models import MODELS, Recommender, get_model_spec

SCALE = (1.0, 2.0, 3.0, 4.0, 5.0)


@pytest.fixture(params=sorted(MODELS))
def model(request) -> Recommender:
    torch.manual_seed(0)
    built = MODELS[request.param].build(7, 11, SCALE)
    if built.closed_form:   # fitted on a few made-up ratings, so that its scores differ
        users = torch.arange(7).repeat_interleave(4)
        items = (users * 3 + torch.arange(28) % 4) % 11
        built.fit_epoch(users, items, torch.arange(28).float() % 5 + 1, 1)
    return built.eval()


def test_scores_pairs_with_broadcasting(model):
    users = torch.tensor([0, 3, 6])
    items = torch.tensor([1, 5, 10])
    out = model(users, items)
    assert out.shape[0] == 3
    one_vs_all = model(torch.tensor([3]), torch.arange(11))
    assert one_vs_all.shape[0] == 11
    torch.testing.assert_close(one_vs_all[5], out[1])
    grid = model(torch.arange(7)[:, None], torch.arange(11)[None, :])
    assert grid.shape[:2] == (7, 11)
    torch.testing.assert_close(grid[6, 10], out[2])


def test_predictions_are_on_the_scale(model):
    pred = model.predict(torch.arange(7)[:, None], torch.arange(11)[None, :])
    assert pred.shape == (7, 11) and torch.isfinite(pred).all()
    if model.output != "score":   # models that rank give scores, not stars
        assert (pred >= 1.0).all() and (pred <= 5.0).all()


def test_user_vectors_drive_scores(model):
    vec = model.user_vectors(torch.tensor([2]))
    torch.testing.assert_close(model.score_vectors(vec, torch.tensor([4])),
                               model(torch.tensor([2]), torch.tensor([4])))


def test_item_embeddings_one_row_per_item(model):
    emb = model.item_embeddings()
    assert emb.shape[0] == 11 and emb.ndim == 2


def test_loss_and_gradients(model):
    model.train()
    users, items = torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 3])
    ratings = torch.tensor([1.0, 3.0, 5.0, 4.0])
    loss, data_loss, out = model.training_loss(users, items, model.targets(ratings),
                                               torch.Generator().manual_seed(0))
    assert out.shape[0] == 4 and float(data_loss.detach()) <= float(loss.detach()) + 1e-6
    assert torch.isfinite(loss)
    if model.closed_form:   # fitted by solves: nothing for an optimizer to step on
        assert not loss.requires_grad
        assert not any(p.requires_grad for p in model.parameters())
        return
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_closed_form_models_score_people_directly(model):
    items, stars = torch.tensor([1, 4]), torch.tensor([5.0, 2.0])
    vec = model.person_vector(items, stars)
    if not model.closed_form:
        assert vec is None
        return
    scores = model.score_all(vec[None, :])
    assert scores.shape == (1, 11) and torch.isfinite(scores).all()
    assert scores.abs().sum() > 0
    torch.testing.assert_close(model.score_vectors(vec[None, :], torch.tensor([7])),
                               scores[:, 7])


def test_save_and_load_path_is_weights_only(model):
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    spec = next(s for s in MODELS.values() if isinstance(model, s.model_cls))
    clone = spec.build(7, 11, SCALE, model.config).eval()
    clone.load_state_dict(torch.load(buffer, weights_only=True))
    torch.testing.assert_close(clone(torch.tensor([1]), torch.arange(11)),
                               model(torch.tensor([1]), torch.arange(11)))


def test_registry_refuses_unknowns():
    with pytest.raises(ConfigError, match="known models"):
        get_model_spec("nope")
    spec = get_model_spec("seednet")
    with pytest.raises(ConfigError, match="unknown setting"):
        spec.config({"dropuot": "0.1"})
    with pytest.raises(ConfigError, match="dropout"):
        spec.config({"dropout": "1.5"})
    assert spec.config({"hidden": "64,32", "batch_norm": "false"}).hidden == (64, 32)


def test_seednet_is_the_notebooks_network():
    net = get_model_spec("seednet").build(6040, 3706, SCALE)
    assert net.movie_embed.weight.shape == (3706, 32) and net.user_embed.weight.shape == (6040, 32)
    dense = [m for m in net.dense if isinstance(m, torch.nn.Linear)]
    norms = [m for m in net.dense if isinstance(m, torch.nn.BatchNorm1d)]
    assert [(d.in_features, d.out_features) for d in dense] == [(64, 128), (128, 128), (128, 128)]
    assert len(norms) == 2 and net.out.out_features == 5
    assert net.movie_flatten.p == net.user_flatten.p == 0.5
    # Order: dense1, relu, dropout, batchnorm1, dense2, relu, dropout, batchnorm2, dense3, ...
    kinds = [type(m).__name__ for m in net.dense]
    assert kinds == ["Linear", "ReLU", "Dropout", "BatchNorm1d", "Linear", "ReLU", "Dropout",
                     "BatchNorm1d", "Linear", "ReLU", "Dropout"]


def test_architecture_accounts_for_every_parameter(model):
    layers = model.architecture()
    names = [layer["name"] for layer in layers]
    assert len(names) == len(set(names))
    for layer in layers:
        assert set(layer) == {"name", "kind", "shape", "params", "inputs"}
        assert all(i in names[:names.index(layer["name"])] for i in layer["inputs"])
    assert sum(layer["params"] for layer in layers) == model.n_parameters()


def test_seednet_architecture_matches_the_notebook():
    layers = {x["name"]: x for x in get_model_spec("seednet").build(6040, 3706, SCALE)
              .architecture()}
    assert layers["concat"]["inputs"] == ["movie_flatten", "user_flatten"]
    assert layers["dense1"]["params"] == 64 * 128 + 128 and layers["output"]["shape"] == \
        "(batch, 5)"
    assert layers["batch norm2"]["inputs"] == ["dense2"] and "dense3" in layers


def test_autorec_saves_and_loads_its_inputs(tmp_path, demo):
    from movierec.config import DataConfig, TrainConfig
    from movierec.experiment import start_training
    from movierec.runs import RunStore
    training = start_training(demo, DataConfig("demo", 0.2), "autorec",
                              get_model_spec("autorec").config({"hidden": 16}),
                              TrainConfig(epochs=1, batch_size=4096, ranking_eval=False))
    list(training.epochs())
    store = RunStore(tmp_path)
    store.save(training.run)
    loaded = store.load(training.run.run_id)
    assert len(loaded.model.input_users) == len(training.split.train)
    users, items = torch.tensor([0]), torch.arange(loaded.model.n_items)
    torch.testing.assert_close(loaded.model.predict(users, items),
                               training.run.model.predict(users, items))
