"""Fold-in, recommendations and similar movies: right answers, and the model left untouched."""

from __future__ import annotations

import pytest
import torch

from movierec.errors import ConfigError, UnknownIdError
from movierec.inference import because, find_movies, fold_in, recommend, similar


def state_copy(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def planted_person(run, genre: str) -> dict[int, float]:
    """Five stars for six popular movies of only ``genre``, two stars for six of others."""
    table = run.movie_table()
    popular = table[table["n_ratings"] >= 50].sort_values("n_ratings", ascending=False)
    only = popular[popular["genres"].map(lambda g: g == [genre])].head(6)
    other = popular[popular["genres"].map(lambda g: genre not in g)].head(6)
    return {**{int(m): 5.0 for m in only["movie_id"]}, **{int(m): 2.0 for m in other["movie_id"]}}


@pytest.mark.parametrize("fixture", ["mf_demo_run", "seednet_demo_run"])
def test_fold_in_never_changes_the_model(request, fixture):
    run = request.getfixturevalue(fixture)
    before = state_copy(run.model)
    grads = [p.grad for p in run.model.parameters()]
    result = recommend(run, planted_person(run, "Horror"), top=5)
    vec = fold_in(run.model, [0, 1, 2], [5.0, 1.0, 3.0])
    assert len(result) == 5 and vec.ndim == 1
    after = run.model.state_dict()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key
    assert [p.grad for p in run.model.parameters()] == grads
    assert not run.model.training


def group_person(run, likes: set[str], dislikes: set[str]) -> dict[int, float]:
    """Five stars for six popular movies of only genres a taste group loves, two stars for six
    of genres it dislikes."""
    table = run.movie_table()
    popular = table[table["n_ratings"] >= 50].sort_values("n_ratings", ascending=False)
    loved = popular[popular["genres"].map(lambda g: bool(g) and set(g) <= likes)].head(6)
    hated = popular[popular["genres"].map(lambda g: bool(set(g) & dislikes)
                                          and not set(g) & likes)].head(6)
    return {**{int(m): 5.0 for m in loved["movie_id"]}, **{int(m): 2.0 for m in hated["movie_id"]}}


@pytest.mark.parametrize("fixture, at_least", [("mf_demo_run", 45), ("seednet_demo_run", 35)])
def test_recommends_what_the_planted_taste_group_loves(request, demo, fixture, at_least):
    run = request.getfixturevalue(fixture)
    groups = demo.users.drop_duplicates(["likes", "dislikes"]).head(6)
    loved = hated = expected = 0
    for likes, dislikes in groups[["likes", "dislikes"]].itertuples(index=False):
        liked_set, disliked_set = set(likes.split("|")), set(dislikes.split("|"))
        rated = group_person(run, liked_set, disliked_set)
        assert len(rated) == 12
        top = recommend(run, rated, top=10)
        loved += sum(bool(set(g) & liked_set) for g in top["genres"])
        hated += sum(bool(set(g) & disliked_set) for g in top["genres"])
        expected += 10 * run.movie_table()["genres"].map(liked_set.intersection).astype(bool).mean()
        assert not set(top["movie_id"]) & set(rated)
        assert top["predicted_rating"].is_monotonic_decreasing
        assert top["predicted_rating"].between(1, 5).all()
    # Of 60 suggestions to six people, most have a loved genre (about 16 would by chance),
    # and hardly any a disliked one.
    assert loved >= at_least and loved >= 2 * expected, (loved, expected)
    assert hated <= 3, hated


def test_recommend_filters_and_errors(mf_demo_run):
    rated = planted_person(mf_demo_run, "Comedy")
    only = recommend(mf_demo_run, rated, top=7, genres=["Western", "Horror"])
    assert len(only) == 7 and all({"Western", "Horror"} & set(g) for g in only["genres"])
    popular = recommend(mf_demo_run, rated, top=7, min_ratings=300)
    assert (popular["n_ratings"] >= 300).all()
    with pytest.raises(UnknownIdError, match="unknown movie id 999999"):
        recommend(mf_demo_run, {999999: 4.0})
    with pytest.raises(ConfigError, match="not on the scale"):
        recommend(mf_demo_run, {1: 4.5})
    with pytest.raises(ConfigError, match="rate at least one"):
        recommend(mf_demo_run, {})
    with pytest.raises(ConfigError, match="top"):
        recommend(mf_demo_run, rated, top=0)


def test_similar_movies_by_cosine(mf_demo_run):
    result = similar(mf_demo_run, 1, top=5)
    assert len(result) == 5 and 1 not in set(result["movie_id"])
    assert result["similarity"].is_monotonic_decreasing
    assert result["similarity"].between(-1, 1).all()
    emb = torch.nn.functional.normalize(mf_demo_run.model.item_embeddings().detach(), dim=1)
    pos = mf_demo_run.item_ids.index([1, int(result["movie_id"][0])])
    assert float(emb[pos[0]] @ emb[pos[1]]) == pytest.approx(result["similarity"][0], abs=1e-5)
    with pytest.raises(UnknownIdError, match="unknown movie id 0"):
        similar(mf_demo_run, 0)


def test_because_names_only_a_liked_movie_that_is_really_close(mf_demo_run):
    run = mf_demo_run
    rated = planted_person(run, "Horror")
    top = recommend(run, rated, top=5)
    reasons = because(run, top["movie_id"].tolist(), rated)
    assert len(reasons) == 5
    named = [r for r in reasons if r is not None]
    assert named and all(rated[r] == 5.0 for r in named)
    # a named movie has the suggestion among its 20 nearest neighbours
    for movie, reason in zip(top["movie_id"], reasons, strict=True):
        if reason is not None:
            assert movie in set(similar(run, reason, top=20, min_ratings=1)["movie_id"])
    # a movie outside the 20 nearest neighbours of every liked movie gets no reason at all
    liked = [m for m, s in rated.items() if s == 5.0]
    close = {int(m) for x in liked for m in similar(run, x, top=20, min_ratings=1)["movie_id"]}
    table = run.movie_table()
    far = next(int(m) for m in table.loc[table["n_ratings"] > 0, "movie_id"]
               if m not in close and m not in rated)
    assert because(run, [far], rated) == [None]
    assert because(run, [1], {}) == [None]


def test_title_search_forgives_articles_accents_and_case():
    import pandas as pd
    table = pd.DataFrame({"movie_id": [1, 2, 3, 4],
                          "title": ["Matrix, The (1999)", "Amélie (2001)",
                                    "Misérables, Les (1995)", "Matrix Reloaded (2003)"],
                          "n_ratings": [10, 5, 3, 7]})
    assert find_movies(table, "the matrix")["movie_id"].tolist() == [1]
    assert find_movies(table, "MATRIX")["movie_id"].tolist() == [1, 4]
    assert find_movies(table, "matrix, the")["movie_id"].tolist() == [1]
    assert find_movies(table, "amelie")["movie_id"].tolist() == [2]
    assert find_movies(table, "les miserables")["movie_id"].tolist() == [3]
    assert find_movies(table, "  ").empty
