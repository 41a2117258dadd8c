"""``runs``: list, show or delete saved runs."""

from __future__ import annotations

from movierec.cli.common import emit, metrics_text, store
from movierec.errors import ConfigError


def add_parser(sub, common) -> None:
    p = sub.add_parser("runs", parents=[common], help="list, show or delete saved runs")
    p.add_argument("action", nargs="?", default="list", choices=["list", "show", "delete"])
    p.add_argument("run", nargs="?", help="run id, unique prefix, or 'latest'")


def run(args) -> int:
    runs = store(args)
    if args.action == "list":
        rows = runs.list()
        lines = [f"runs in {runs.root}:"] if rows else [f"no runs in {runs.root}"]
        for r in rows:
            if r["status"] == "ok":
                lines.append(f"  {r['run_id']:<44} {r['epochs']:>3} epochs  "
                             f"{metrics_text(r, '  ')}")
            else:
                lines.append(f"  {r['run_id']:<44} BROKEN: {r['problem']}")
        emit(args, rows, "\n".join(lines))
        return 0
    if not args.run:
        raise ConfigError(f"`runs {args.action}` needs a run id")
    if args.action == "show":
        found = runs.load(args.run)
        doc = {**found.summary(), "run_dir": str(runs.path(found.run_id)),
               "history": found.history}
        emit(args, doc, "\n".join(f"{k}: {v}" for k, v in found.summary().items()))
        return 0
    run_id = runs.resolve(args.run)
    runs.delete(run_id)
    emit(args, {"deleted": run_id}, f"deleted {run_id}")
    return 0
