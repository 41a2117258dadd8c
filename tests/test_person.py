"""A person's ratings file: what the Recommend page exports reads back; every bad file gets a
message naming the file and line, and nothing half-read is returned."""

from __future__ import annotations

import pytest

from movierec.errors import DataError
from movierec.person import MAX_BYTES, read_person_ratings, write_person_ratings

WHOLE = (1.0, 2.0, 3.0, 4.0, 5.0)


def test_export_reads_back_including_awkward_titles():
    rated = {2571: 5.0, 1: 4.0, 3114: 1.0}
    titles = {2571: "Matrix, The (1999)", 1: 'Toy "Story" (1995)', 3114: "Amélie; 2 (2001)"}
    text = write_person_ratings(rated, titles)
    assert read_person_ratings(text.encode(), "mine.csv", WHOLE) == rated
    # A spreadsheet's BOM, extra columns, spaces and blank lines are fine.
    edited = "\ufeffmovie_id , rating,note\n 1 , 4 ,loved it\n\n2571,5,\n"
    assert read_person_ratings(edited.encode("utf-8"), "mine.csv", WHOLE) == {1: 4.0, 2571: 5.0}


@pytest.mark.parametrize("content, message", [
    (b"film,stars\n1,5\n", "mine.csv: expected a CSV header with movie_id and rating"),
    (b"", "found nothing"),
    (b"movie_id,rating\n", "mine.csv holds no ratings"),
    (b"movie_id,rating\n1,5\nabc,4\n", "mine.csv line 3: movie_id must be a whole number"),
    (b"movie_id,rating\n1,\n", "mine.csv line 2: movie_id must be a whole number"),
    (b"movie_id,rating\n1,4.5\n", "mine.csv line 2: rating 4.5 is not on the scale"),
    (b"movie_id,rating\n1,nan\n", "line 2: rating nan is not on the scale"),
    (b"movie_id,rating\n1,9\n", "allowed: 1 to 5 in steps of 1"),
    (b"movie_id,rating\n1,5\n1,3\n", "mine.csv line 3: movie 1 is rated a second time"),
    ("movie_id,rating\n1,5\n".encode("utf-16"), "not a UTF-8 text file"),
    (b"movie_id,rating\n1,5\xff\n", "not a UTF-8 text file"),
    (b"movie_id,rating\x00\n1,5\n", "not a text file"),
    (b"movie_id,rating\n" + b"1,5\n" * (MAX_BYTES // 4), "a ratings file is at most"),
])
def test_bad_files_are_refused_with_file_and_line(content, message):
    with pytest.raises(DataError) as info:
        read_person_ratings(content, "mine.csv", WHOLE)
    assert message in str(info.value)


def test_too_many_rows_are_refused():
    rows = "".join(f"{i},4\n" for i in range(1, 20_003))
    with pytest.raises(DataError, match="more than 20,000 ratings"):
        read_person_ratings(("movie_id,rating\n" + rows).encode(), "big.csv", WHOLE)


def test_half_stars_on_a_half_star_scale():
    scale = tuple(x / 2 for x in range(1, 11))
    assert read_person_ratings(b"movie_id,rating\n7,3.5\n", "f.csv", scale) == {7: 3.5}
    assert read_person_ratings(b"movie_id,rating\n7,3.5\n", "f.csv") == {7: 3.5}


def test_lines_are_the_files_own_even_after_blank_lines():
    with pytest.raises(DataError, match="mine.csv line 5: movie_id must be a whole number"):
        read_person_ratings(b"movie_id,rating\n1,5\n\n\nx,4\n", "mine.csv", WHOLE)


def test_people_files_carry_skips_and_people_without_answers():
    from movierec.person import Answers, read_people, write_people

    text = ("person,movie_id,rating\nann,1,5\nann,2,\nbob,,\ncarl,3,4\nann,4,2\ncarl,5,\n")
    people = read_people(text.encode(), "p.csv", WHOLE)
    assert list(people) == ["ann", "bob", "carl"]                   # the file's order
    assert people["ann"] == Answers({1: 5.0, 4: 2.0}, (2,))
    assert people["bob"] == Answers({}, ())
    assert people["carl"] == Answers({3: 4.0}, (5,))
    assert read_people(write_people(people).encode(), "again.csv", WHOLE) == people


@pytest.mark.parametrize("content, message", [
    (b"person,movie_id,rating\nann,1,5\nann,1,\n", "line 3: person ann has movie 1 a second"),
    (b"person,movie_id,rating\nann,x,\n", "line 2: movie_id must be a whole number"),
    (b"person,movie_id,rating\nann,,5\n", "line 2: rating 5 has no movie_id"),
    (b"person,movie_id,rating\n,1,5\n", "line 2: the person is missing"),
    (b"person,movie_id,rating\nann,1,6\n", "line 2: rating 6 is not on the scale"),
    (b"person,movie_id,rating\n", "p.csv holds no people"),
    (b"movie_id,rating\n1,5\n", "expected a CSV header with person, movie_id and rating"),
])
def test_bad_people_files_are_refused_with_file_and_line(content, message):
    from movierec.person import read_people

    with pytest.raises(DataError) as info:
        read_people(content, "p.csv", WHOLE)
    assert message in str(info.value)
