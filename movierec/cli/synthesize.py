"""``synthesize``: write a synthetic MovieLens-shaped dataset folder (the same arguments always
write the same bytes)."""

from __future__ import annotations

from pathlib import Path

from movierec import paths
from movierec.cli.common import emit, option, say
from movierec.errors import ConfigError


def add_parser(sub, common) -> None:
    from movierec.data.catalog import RELEASES

    p = sub.add_parser("synthesize", parents=[common],
                       help="write a synthetic MovieLens-shaped dataset folder")
    p.add_argument("--like", choices=list(RELEASES), metavar="NAME",
                   help="take the numbers of users, movies and ratings from this release, "
                        "e.g. ml-32m")
    p.add_argument("--users", type=int, metavar="N", help="number of users (overrides --like)")
    p.add_argument("--movies", type=int, metavar="N", help="number of movies (overrides --like)")
    p.add_argument("--ratings", type=int, metavar="N",
                   help="number of ratings, at least 20 per user (overrides --like)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0); the same arguments "
                                                        "always write the same bytes")
    p.add_argument("--out", metavar="DIR",
                   help="folder to create; its name is the dataset's name (default: "
                        "DATA_DIR/synthetic-<like>, or synthetic-<users>u-<movies>m-<ratings>r)")
    p.add_argument("--force", action="store_true",
                   help="replace --out when it holds a synthetic dataset (never other data)")


def run(args) -> int:
    from movierec.data.catalog import RELEASES
    from movierec.data.synthesize import check_out, check_sizes, default_out, synthesize
    like = RELEASES[args.like] if args.like else None
    sizes = [getattr(args, f) if getattr(args, f) is not None else
             (getattr(like, f"n_{f}") if like else None) for f in ("users", "movies", "ratings")]
    if None in sizes:
        raise ConfigError("give --like NAME (e.g. --like ml-32m) or all of --users, --movies "
                          "and --ratings")
    n_users, n_movies, n_ratings = sizes
    ddir = paths.data_dir(option(args, "data_dir"))
    out = Path(args.out) if args.out else default_out(ddir, args.like, n_users, n_movies,
                                                      n_ratings, args.seed)
    check_sizes(n_users, n_movies, n_ratings)
    check_out(out.expanduser().absolute(), args.force)
    say(args, f"generating {n_ratings:,} ratings from {n_users:,} users on {n_movies:,} "
              f"movies into {out}...")
    doc = synthesize(out, n_users, n_movies, n_ratings, seed=args.seed, like=args.like,
                     force=args.force)
    path = Path(doc["path"])
    where = "" if path.parent == ddir.expanduser().absolute() else \
        f" --data-dir {path.parent}"
    emit(args, doc, f"wrote {doc['ratings']:,} synthetic ratings to {path} in "
                    f"{doc['seconds']:.1f} s; train on it with `python -m movierec train "
                    f"--dataset {doc['name']}{where}`")
    return 0
