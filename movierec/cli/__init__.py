"""``python -m movierec``: list, download and synthesize datasets, train, evaluate, recommend,
find similar movies and manage runs from the command line. One module per command, each with
``add_parser`` and ``run``; the options they share and the output helpers are in
:mod:`movierec.cli.common`. The commands, their options and their JSON are a contract other
tools build on (README.md and docs/USER_GUIDE.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from movierec import __version__, distributed
from movierec.cli import (
    datasets,
    download,
    embeddings,
    evaluate,
    models,
    recommend,
    runs,
    similar,
    starters,
    synthesize,
    train,
    tune,
)
from movierec.cli.common import EXIT_USAGE, Parser, locations
from movierec.errors import ConfigError, MovieRecError
from movierec.process import tune_allocator

# In the order ``--help`` lists them.
COMMANDS = {"datasets": datasets, "download": download, "train": train, "tune": tune,
            "evaluate": evaluate, "recommend": recommend, "starters": starters, "similar": similar,
            "embeddings": embeddings, "runs": runs, "models": models, "synthesize": synthesize}


def build_parser() -> argparse.ArgumentParser:
    common = locations()
    parser = Parser(prog="python -m movierec", parents=[common],
                    description="Learn movie recommenders from MovieLens ratings.")
    parser.add_argument("--version", action="version", version=f"movierec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS.values():
        command.add_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for a user error, with one ``error:`` line)."""
    args = build_parser().parse_args(argv)
    rank = ""   # "rank R: " among processes started by torchrun
    try:
        rank = distributed.error_prefix()
        if distributed.launched() and args.command != "train":
            raise ConfigError(f"only train runs across processes; run {args.command} "
                              "without torchrun")
        with distributed.session():
            return COMMANDS[args.command].run(args)
    except MovieRecError as exc:
        sys.stderr.write(f"error: {rank}{exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write(f"error: {rank}interrupted\n")
        return 130
    except OSError as exc:
        target = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"error: {rank}{exc.strerror or exc}{target}\n")
        return EXIT_USAGE
    except RuntimeError as exc:
        reason = distributed.peer_failure(exc) if rank else None
        if reason is None:
            raise
        sys.stderr.write(f"error: {rank}another process failed or stopped answering (any error "
                         f"of its own is above): {reason}\n")
        return 1


def run() -> None:
    """The ``movierec`` console script (``pip install .``)."""
    tune_allocator()
    sys.exit(main())
