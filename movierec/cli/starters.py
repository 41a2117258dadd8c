"""``starters``: the strip of movies a newcomer is asked to rate next (for one person, or for
everyone in a people file)."""

from __future__ import annotations

from movierec.cli.common import (
    emit,
    known_answers,
    load_run,
    movie_id,
    rates,
    read_people_file,
    table,
)
from movierec.errors import ConfigError

COLUMNS = ["movie_id", "title", "year", "genres", "n_ratings"]


def add_parser(sub, common) -> None:
    p = sub.add_parser("starters", parents=[common],
                       help="the strip of movies a newcomer is asked to rate next")
    p.add_argument("--run", required=True, help="run id, unique prefix, or 'latest'")
    p.add_argument("--rate", action="extend", nargs="+", default=[], metavar="MOVIE_ID=STARS",
                   help="a rating the person gave, e.g. --rate 2858=5 480=4")
    p.add_argument("--skip", action="extend", nargs="+", default=[], type=movie_id,
                   metavar="MOVIE_ID", help="a movie the person was shown and skipped")
    p.add_argument("--people", metavar="FILE",
                   help="CSV with columns person,movie_id,rating (an empty rating: shown and "
                        "skipped; an empty movie_id: a person with no answers yet): the next "
                        "strip of each person")
    p.add_argument("--top", type=int, default=12, help="movies on the strip (default 12)")


def run(args) -> int:
    from movierec.starters import Strip, check_answers

    if args.top < 1:
        raise ConfigError(f"--top must be at least 1, got {args.top}")
    found = load_run(args, args.run)
    strip = Strip.for_run(found, args.top)
    if args.people:
        if args.rate or args.skip:
            raise ConfigError("--people gives everyone's answers; drop --rate and --skip")
        doc, lines = [], []
        for person, answers in read_people_file(args, found).items():
            rated, skipped, ignored = known_answers(args, found, person, answers)
            shown = strip.next_movies(rated, skipped, args.top)
            entry = {"person": person, "starters": shown[COLUMNS].to_dict(orient="records")}
            if ignored:
                entry["ignored"] = ignored
            doc.append(entry)
            lines.append(f"person {person} ({len(rated)} ratings, {len(skipped)} skipped):\n"
                         + table(shown, ["movie_id", "title", "n_ratings"]))
        emit(args, doc, "\n".join(lines))
        return 0
    rated = rates(args.rate)
    check_answers(found, rated, args.skip)
    shown = strip.next_movies(rated, args.skip, args.top)
    emit(args, shown[COLUMNS].to_dict(orient="records"),
         table(shown, ["movie_id", "title", "genres", "n_ratings"]))
    return 0
