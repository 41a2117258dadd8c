"""Film series found from titles: sequel numbers, roman numerals, Part/Episode, subtitles, and
no series out of remakes or a king's numeral."""

from __future__ import annotations

import pandas as pd

from movierec.evaluation.series import detect_series, series_stems
from tests.conftest import SHARED_DATA, requires_shared_data

TITLES = [
    "Rocky (1976)", "Rocky II (1979)", "Rocky V (1990)",
    "Star Trek: The Wrath of Khan (1982)", "Star Trek III: The Search for Spock (1984)",
    "Star Trek: Generations (1994)",
    "Godfather, The (1972)", "Godfather: Part II, The (1974)",
    "Naked Gun: From the Files of Police Squad!, The (1988)",
    "Naked Gun 2 1/2: The Smell of Fear, The (1991)",
    "Nightmare on Elm Street, A (1984)", "Nightmare on Elm Street 3: Dream Warriors, A (1987)",
    "Mad Max (1979)", "Mad Max 2 (a.k.a. The Road Warrior) (1981)",
    "Jaws (1975)", "Jaws 3-D (1983)",
    "Halloween (1978)", "Halloween: H20 (1998)", "Halloween II (1981)",
    "Mission: Impossible (1996)", "Mission: Impossible 2 (2000)", "Mission, The (1986)",
    "Henry V (1989)", "Henry: Portrait of a Serial Killer (1990)",
    "Henry: Portrait of a Serial Killer, Part 2 (1996)",
    "Hamlet (1948)", "Hamlet (1990)",
    "Apollo 13 (1995)", "2 Days in the Valley (1996)", "Alien (1979)",
    "Amélie (2001)",
]

EXPECTED = {
    "rocky": ["Rocky (1976)", "Rocky II (1979)", "Rocky V (1990)"],
    "star trek": ["Star Trek: The Wrath of Khan (1982)",
                  "Star Trek III: The Search for Spock (1984)", "Star Trek: Generations (1994)"],
    "godfather": ["Godfather, The (1972)", "Godfather: Part II, The (1974)"],
    "naked gun": ["Naked Gun: From the Files of Police Squad!, The (1988)",
                  "Naked Gun 2 1/2: The Smell of Fear, The (1991)"],
    "nightmare on elm street": ["Nightmare on Elm Street, A (1984)",
                                "Nightmare on Elm Street 3: Dream Warriors, A (1987)"],
    "mad max": ["Mad Max (1979)", "Mad Max 2 (a.k.a. The Road Warrior) (1981)"],
    "jaws": ["Jaws (1975)", "Jaws 3-D (1983)"],
    "halloween": ["Halloween (1978)", "Halloween: H20 (1998)", "Halloween II (1981)"],
    "mission impossible": ["Mission: Impossible (1996)", "Mission: Impossible 2 (2000)"],
    "henry portrait of a serial killer": ["Henry: Portrait of a Serial Killer (1990)",
                                          "Henry: Portrait of a Serial Killer, Part 2 (1996)"],
}


def grouped(titles: list[str]) -> dict[str, list[str]]:
    frame = pd.DataFrame({"title": titles, "series": detect_series(titles)}).dropna()
    return {s: list(g["title"]) for s, g in frame.groupby("series")}


def test_detected_series_by_hand():
    assert grouped(TITLES) == EXPECTED


def test_sequel_markers_are_recognised():
    stems = dict(zip(TITLES, series_stems(TITLES), strict=True))
    assert stems["Rocky (1976)"] == ("rocky", False)
    assert stems["Rocky V (1990)"] == ("rocky", True)
    assert stems["Godfather: Part II, The (1974)"] == ("godfather", True)
    assert stems["Jaws 3-D (1983)"] == ("jaws", True)
    # a number that is part of the name, not a sequel marker, at the front or alone
    assert stems["2 Days in the Valley (1996)"][0] == "2 days in the valley"
    assert stems["Apollo 13 (1995)"] == ("apollo", True)     # numbered, but alone: no series
    assert detect_series(["Apollo 13 (1995)"]) == [None]


@requires_shared_data
def test_series_in_movielens_1m():
    from movierec.data import load_dataset

    movies = load_dataset("ml-1m", data_dir=SHARED_DATA, allow_download=False).movies
    found = grouped(movies["title"].tolist())
    # Print the whole list so that a reader of the test log can judge it.
    for stem, titles in sorted(found.items()):
        print(f"{stem}: {' | '.join(titles)}")
    assert 70 <= len(found) <= 110
    assert len(found["star trek"]) == 9 and len(found["police academy"]) == 6
    assert len(found["star wars"]) == 4 and found["toy story"] == ["Toy Story (1995)",
                                                                   "Toy Story 2 (1999)"]
    assert {"rocky", "godfather", "lethal weapon", "back to the future", "die hard",
            "friday the 13th", "superman", "jaws", "home alone"} <= set(found)
    every = {t for titles in found.values() for t in titles}
    assert "Henry V (1989)" not in every and "Hamlet (1990)" not in every
    assert "Richard III (1995)" not in every
