"""``download``: fetch a MovieLens release (verified, extracted safely) into the data dir."""

from __future__ import annotations

from movierec import paths
from movierec.cli.common import download_progress, emit, option


def add_parser(sub, common) -> None:
    from movierec.data.catalog import RELEASES

    real = [n for n, r in RELEASES.items() if not r.synthetic]
    p = sub.add_parser("download", parents=[common], help="download a MovieLens release")
    p.add_argument("name", choices=real, metavar="NAME",
                   help="release to fetch: " + ", ".join(real))
    p.add_argument("--force", action="store_true", help="download again even if present")
    p.add_argument("--mirror", help="base URL to fetch from instead of GroupLens "
                                    "(default: $MOVIEREC_MIRROR)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to wait for the server (default 30)")


def run(args) -> int:
    from movierec.data import download, get_release
    from movierec.data.sources import locate
    release = get_release(args.name)
    ddir = paths.data_dir(option(args, "data_dir"))
    source = None if args.force else locate(release, ddir)
    if source is None:
        update, state = download_progress(args, release.name)
        try:
            download(release, ddir, mirror=args.mirror, timeout=args.timeout, progress=update)
        finally:
            if state.get("bar") is not None:
                state["bar"].close()
        source = locate(release, ddir)
        status = "downloaded"
    else:
        status = "already present"
    where = source.describe() if source else str(ddir / release.name)
    emit(args, {"dataset": release.name, "status": status, "location": where},
         f"{release.name}: {status} at {where}")
    return 0
