"""``datasets``: the known datasets, which are here, and the custom folders."""

from __future__ import annotations

from movierec import paths
from movierec.cli.common import emit, option

HELP = "list known datasets, which are here, and the custom folders"


def add_parser(sub, common) -> None:
    sub.add_parser("datasets", parents=[common], help=HELP)


def run(args) -> int:
    from movierec.data import dataset_status
    rows = dataset_status(option(args, "data_dir"))
    where = paths.data_dir(option(args, "data_dir"))
    lines = [f"data dir: {where}"]
    for r in rows:
        mark = "present" if r["present"] else ("PROBLEM" if r["problem"] else "absent")
        count = f"{r['ratings']:>11,} ratings" if r["ratings"] is not None else " " * 19
        kind = ("  [synthetic]" if r["synthetic"] and r["custom"] else "") \
            + ("  [custom]" if r["custom"] else "")
        lines.append(f"  {r['name']:<16} {mark:<8} {count}  {r['title']}{kind}"
                     + (f"  [{r['problem']}]" if r["problem"] else ""))
    emit(args, {"data_dir": str(where), "datasets": rows}, "\n".join(lines))
    return 0
