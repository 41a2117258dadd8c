"""The strip a newcomer is asked to rate: popular and varied for any run, following the person's
answers for the onboarding model, never a movie already answered; bad answers refused."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.embeddings import distinctive_genre
from movierec.errors import ConfigError, UnknownIdError
from movierec.starters import Strip, check_answers, starters
from tests.conftest import train_demo


@pytest.fixture(scope="module")
def onboard_run(_demo_pristine):
    return train_demo(_demo_pristine, "onboard", 1).run


def test_a_runs_strip_is_popular_and_varied_and_skips_what_was_answered(mf_demo_run):
    strip = starters(mf_demo_run, {1: 5.0}, [2, 3], n=10)
    assert len(strip) == 10 and not {1, 2, 3} & set(strip["movie_id"])
    assert list(strip.columns) == ["movie_id", "title", "year", "genres", "n_ratings"]
    assert distinctive_genre(strip["genres"]).value_counts().max() <= 2
    assert strip["n_ratings"].min() >= mf_demo_run.movie_table()["n_ratings"].median()
    assert not Strip.for_run(mf_demo_run).adaptive
    # a movie this run does not know tells it nothing (it is ignored)
    assert starters(mf_demo_run, {1: 5.0, 10**9: 4.0}, [2, 3], n=10).equals(strip)


def test_the_onboarding_models_strip_follows_the_answers(onboard_run):
    strip = Strip.for_run(onboard_run)
    assert strip.adaptive
    first = strip.next_movies()
    assert len(first) == 12 and first.equals(starters(onboard_run))   # the same for everyone
    ids = first["movie_id"].tolist()
    fan = strip.next_movies({m: 5.0 for m in ids[:6]}, ids[6:])
    stranger = strip.next_movies({m: 5.0 for m in ids[6:]}, ids[:6])
    for shown in (fan, stranger):
        assert len(shown) == 12 and not set(shown["movie_id"]) & set(ids)
    assert set(fan["movie_id"]) != set(stranger["movie_id"])
    # the pool runs out: fewer movies, never one shown before
    answered: list[int] = []
    while True:
        shown = strip.next_movies({}, answered, 50)["movie_id"].tolist()
        assert not set(shown) & set(answered)
        if not shown:
            break
        answered += shown
    assert len(answered) == onboard_run.model.n_pool


def test_strip_positions_are_quick_to_choose(onboard_run):
    strip = Strip.for_run(onboard_run)
    shown = strip.next_positions(np.array([0, 1]), np.array([5.0, 3.0], np.float32),
                                 np.array([2]), 5)
    assert len(shown) == 5 and not {0, 1, 2} & set(shown.tolist())
    with pytest.raises(ConfigError, match="at least 1"):
        strip.next_positions(np.zeros(0, np.int64), np.zeros(0, np.float32),
                             np.zeros(0, np.int64), 0)


def test_impossible_answers_are_refused(onboard_run):
    known = int(onboard_run.item_ids.ids[0])
    with pytest.raises(UnknownIdError, match="unknown movie id 999999"):
        check_answers(onboard_run, {999999: 5.0}, [])
    with pytest.raises(UnknownIdError, match="unknown movie id 999998"):
        check_answers(onboard_run, {}, [999998])
    with pytest.raises(ConfigError, match="not on the scale"):
        check_answers(onboard_run, {known: 7.0}, [])
    with pytest.raises(ConfigError, match="both rated and skipped"):
        check_answers(onboard_run, {known: 4.0}, [known])
    check_answers(onboard_run, {known: 4.0}, [int(onboard_run.item_ids.ids[1])])
