"""The synthetic demo set: deterministic, MovieLens-shaped, labelled, with planted structure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.data import generate_demo, load_dataset


def test_deterministic_and_shaped_like_movielens(demo):
    again = generate_demo(seed=0)
    pd.testing.assert_frame_equal(demo.ratings, again.ratings)
    assert not generate_demo(seed=1).ratings.equals(demo.ratings)
    s = demo.summary()
    assert 950 <= s["users"] <= 1000 and 700 <= s["movies"] <= 800
    assert 90_000 <= s["ratings"] <= 110_000
    assert set(np.unique(demo.ratings["rating"])) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert demo.ratings.groupby("user_id").size().min() >= 20
    assert demo.movies["year"].between(1900, 2024).all()
    assert demo.movies["genres"].map(len).between(1, 3).all()


def test_says_it_is_synthetic(demo):
    assert demo.synthetic and demo.display_name == "demo (synthetic)"
    assert demo.movies["title"].str.contains("[synthetic]", regex=False).all()
    assert "synthetic" in demo.source
    assert load_dataset("demo").synthetic


def test_planted_tastes_show_in_the_ratings(demo):
    users = demo.users.set_index("user_id")
    genres = demo.movies.set_index("movie_id")["genres"]
    r = demo.ratings.assign(genres=demo.ratings["movie_id"].map(genres))
    liked, disliked = [], []
    for user_id, likes, dislikes in users[["likes", "dislikes"]].itertuples():
        mine = r[r["user_id"] == user_id]
        like_set, dislike_set = set(likes.split("|")), set(dislikes.split("|"))
        is_liked = mine["genres"].map(like_set.intersection).astype(bool)
        is_disliked = mine["genres"].map(dislike_set.intersection).astype(bool)
        liked.append(mine.loc[is_liked & ~is_disliked, "rating"].mean())
        disliked.append(mine.loc[is_disliked & ~is_liked, "rating"].mean())
        if len(liked) == 200:
            break
    assert np.nanmean(liked) - np.nanmean(disliked) > 1.0
