"""``recommend``: suggestions for a new person from their ratings (and skips), or for everyone
in a people file."""

from __future__ import annotations

from movierec.cli.common import (
    emit,
    known_answers,
    load_run,
    movie_id,
    rates,
    read_file,
    read_people_file,
    table,
)
from movierec.errors import ConfigError

COLUMNS = ["movie_id", "title", "genres", "predicted_rating"]


def add_parser(sub, common) -> None:
    p = sub.add_parser("recommend", parents=[common], help="suggest movies for a new person")
    p.add_argument("--run", required=True, help="run id, unique prefix, or 'latest'")
    p.add_argument("--rate", action="extend", nargs="+", default=[], metavar="MOVIE_ID=STARS",
                   help="a rating of the new person, e.g. --rate 2571=5 1=4")
    p.add_argument("--ratings-file", help="CSV with columns movie_id,rating")
    p.add_argument("--skip", action="extend", nargs="+", default=[], type=movie_id,
                   metavar="MOVIE_ID", help="a movie the person was shown and skipped (never "
                                            "suggested; models that learn from skips use it)")
    p.add_argument("--people", metavar="FILE",
                   help="CSV with columns person,movie_id,rating (an empty rating: shown and "
                        "skipped): suggestions for each person")
    p.add_argument("--top", type=int, default=10, help="how many suggestions (default 10)")
    p.add_argument("--min-ratings", type=int, default=10,
                   help="skip movies with fewer training ratings (default 10)")
    p.add_argument("--genre", action="append", default=[], help="only movies of this genre "
                                                                "(repeatable)")


def run(args) -> int:
    from movierec.inference import recommend
    from movierec.person import MAX_BYTES, read_person_ratings

    if args.people:
        if args.rate or args.ratings_file or args.skip:
            raise ConfigError("--people gives everyone's answers; drop --rate, --skip and "
                              "--ratings-file")
        return _people(args)
    rated: dict[int, float] = {}
    if args.ratings_file:
        rated.update(read_person_ratings(read_file(args.ratings_file, MAX_BYTES),
                                         args.ratings_file))
    rated.update(rates(args.rate))
    if not rated:
        raise ConfigError("give at least one rating with --rate MOVIE_ID=STARS or "
                          "--ratings-file")
    found = load_run(args, args.run)
    result = recommend(found, rated, top=args.top, min_ratings=args.min_ratings,
                       genres=args.genre or None, skipped=args.skip)
    emit(args, result.to_dict(orient="records"), table(result, COLUMNS))
    return 0


def _people(args) -> int:
    """``recommend --people FILE``: everyone's suggestions, each as ``recommend`` makes them;
    a person's movies that the run does not know are left out (and listed)."""
    from movierec.inference import recommend

    found = load_run(args, args.run)
    doc, lines = [], []
    for person, answers in read_people_file(args, found).items():
        rated, skipped, ignored = known_answers(args, found, person, answers)
        entry = {"person": person, "suggestions": []}
        if ignored:
            entry["ignored"] = ignored
        if rated or (skipped and found.model.uses_skips):
            result = recommend(found, rated, top=args.top, min_ratings=args.min_ratings,
                               genres=args.genre or None, skipped=skipped)
            entry["suggestions"] = result.to_dict(orient="records")
            lines.append(f"person {person} ({len(rated)} ratings, {len(skipped)} skipped):\n"
                         + table(result, COLUMNS))
        else:
            entry["error"] = ("none of this person's movies is known to the run" if ignored
                              else "this person has rated no movie yet")
            lines.append(f"person {person}: {entry['error']}")
        doc.append(entry)
    emit(args, doc, "\n".join(lines))
    return 0
