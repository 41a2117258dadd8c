"""``runs``: list, show, name or delete saved runs."""

from __future__ import annotations

from movierec.cli.common import emit, metrics_text, store
from movierec.errors import ConfigError


def add_parser(sub, common) -> None:
    p = sub.add_parser("runs", parents=[common], help="list, show, name or delete saved runs")
    p.add_argument("action", nargs="?", default="list",
                   choices=["list", "show", "rename", "delete"])
    p.add_argument("run", nargs="?", help="run id, unique prefix, or 'latest'")
    p.add_argument("name", nargs="?",
                   help="with rename: the run's new name, shown in place of its id ('' drops "
                        "it)")


def run(args) -> int:
    runs = store(args)
    if args.action == "list":
        rows = runs.list()
        lines = [f"runs in {runs.root}:"] if rows else [f"no runs in {runs.root}"]
        for r in rows:
            if r["status"] == "ok":
                lines.append(f"  {r['run_id']:<44} {r['epochs']:>3} epochs  "
                             f"{metrics_text(r, '  ')}"
                             + (f"  \"{r['name']}\"" if r.get("name") else ""))
            else:
                lines.append(f"  {r['run_id']:<44} BROKEN: {r['problem']}")
        emit(args, rows, "\n".join(lines))
        return 0
    if not args.run:
        raise ConfigError(f"`runs {args.action}` needs a run id")
    if args.action == "show":
        found = runs.load(args.run)
        doc = {**found.summary(), "name": runs.name(found.run_id),
               "run_dir": str(runs.path(found.run_id)), "history": found.history}
        emit(args, doc, "\n".join(f"{k}: {v}" for k, v in found.summary().items()))
        return 0
    run_id = runs.resolve(args.run)
    if args.action == "rename":
        if args.name is None:
            raise ConfigError("`runs rename RUN NAME` needs the new name ('' drops it)")
        runs.set_name(run_id, args.name)
        emit(args, {"run_id": run_id, "name": runs.name(run_id)},
             f"{run_id} is now called {runs.name(run_id)!r}" if runs.name(run_id) else
             f"{run_id} has no name now")
        return 0
    if args.name is not None:
        raise ConfigError(f"`runs {args.action}` takes one run id")
    runs.delete(run_id)
    emit(args, {"deleted": run_id}, f"deleted {run_id}")
    return 0
