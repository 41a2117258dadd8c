"""``similar``: the movies closest to one in the run's embedding space (cosine)."""

from __future__ import annotations

from movierec.cli.common import emit, load_run, say, table
from movierec.errors import ConfigError


def add_parser(sub, common) -> None:
    p = sub.add_parser("similar", parents=[common], help="movies closest in embedding space")
    p.add_argument("--run", required=True, help="run id, unique prefix, or 'latest'")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--movie", type=int, help="MovieLens movie id")
    g.add_argument("--title", help="part of a title; the most rated match is used")
    p.add_argument("--top", type=int, default=10, help="how many (default 10)")
    p.add_argument("--min-ratings", type=int, default=0,
                   help="skip movies with fewer training ratings (default 0)")


def run(args) -> int:
    from movierec.inference import find_movies, similar

    found_run = load_run(args, args.run)
    movie_id = args.movie
    if movie_id is None:
        found = find_movies(found_run, args.title, limit=1)
        if found.empty:
            raise ConfigError(f"no movie title in run {found_run.run_id} contains "
                              f"{args.title!r}")
        movie_id = int(found["movie_id"].iloc[0])
        say(args, f"using {found['title'].iloc[0]} (movie {movie_id})")
    result = similar(found_run, movie_id, top=args.top, min_ratings=args.min_ratings)
    emit(args, result.to_dict(orient="records"),
         table(result, ["movie_id", "title", "genres", "similarity"]))
    return 0
