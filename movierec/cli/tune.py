"""``tune``: a search study of a model's hyperparameters on Optuna (see
:mod:`movierec.tuning`): trials scored on a validation split carved from the training part,
pruned epoch by epoch, kept in a storage that other processes may share; then the best setting
retrained on the whole training part, saved as a run and tested once."""

from __future__ import annotations

import time

from movierec.cli.common import emit, load_data, option, say, store
from movierec.cli.train import add_data_options, recipe_from_args
from movierec.errors import ConfigError


def add_parser(sub, common) -> None:
    from movierec.presets import PRESETS
    from movierec.tuning.objectives import OBJECTIVES
    from movierec.tuning.study import PRUNERS

    p = sub.add_parser("tune", parents=[common],
                       help="search a model's hyperparameters (Optuna) and test the best once")
    p.add_argument("--preset", metavar="NAME",
                   help=f"start from this recipe ({', '.join(sorted(PRESETS))}, or a saved "
                        "one): its data settings and the settings not searched; other options "
                        "override it")
    add_data_options(p)
    p.add_argument("--objective", required=True, choices=list(OBJECTIVES),
                   help="; ".join(f"{o.name}: {o.summary}" for o in OBJECTIVES.values()))
    p.add_argument("--trials", type=int, default=20,
                   help="trials this process runs (default 20; 0 runs none and only tests the "
                        "study's best)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="start no trial after this many seconds (the one under way finishes)")
    p.add_argument("--study", metavar="NAME",
                   help="the study's name (default MODEL-OBJECTIVE-DATASET[-PRESET]); the same "
                        "name resumes it, from any process that gives the same --storage")
    p.add_argument("--storage", metavar="URL",
                   help="where studies are kept: an SQLAlchemy URL such as "
                        "postgresql://USER:PASSWORD@HOST/DB (default: sqlite:///RUNS_DIR/"
                        "studies.db)")
    p.add_argument("--space", action="append", default=[],
                   metavar="KEY=LOW:HIGH[:log|:int] | KEY=A,B,C",
                   help="search this setting over this range or these values instead of the "
                        "model's own (see `models`); repeatable")
    p.add_argument("--space-only", action="store_true",
                   help="search only the --space settings; the others keep their values")
    p.add_argument("--pruner", choices=PRUNERS, default="median",
                   help="stop poor trials early by their per-epoch scores (default median)")
    p.add_argument("--epochs", type=int, help="epochs of every trial (default: the model's)")
    p.add_argument("--device", help="auto (default), cpu or cuda")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a model hyperparameter held fixed (left out of the search), e.g. "
                        "--set dim=128")
    p.add_argument("--no-test", action="store_true",
                   help="do not retrain and test the best setting (when several processes "
                        "share a study, let one of them test it at the end)")


def run(args) -> int:
    from movierec.tuning.objectives import get_objective
    from movierec.tuning.study import (
        StudyPlan,
        default_storage,
        default_study_name,
        open_storage,
        resolve_space,
        run_study,
        summary,
    )

    if args.trials < 0 or args.trials > 100_000:
        raise ConfigError(f"--trials must be a whole number from 0 to 100000, got {args.trials}")
    if args.timeout is not None and not args.timeout > 0:
        raise ConfigError(f"--timeout must be a number of seconds above 0, got {args.timeout:g}")
    objective = get_objective(args.objective)
    recipe = recipe_from_args(args)
    from movierec.cli.train import parse_sets

    fixed = [*parse_sets(args.set), *(["epochs"] if args.epochs is not None else [])]
    plan = StudyPlan(recipe, objective,
                     resolve_space(recipe, args.space, fixed, only=args.space_only),
                     args.study or default_study_name(recipe, objective.name), args.pruner)
    url = args.storage or default_storage(option(args, "runs_dir"))
    storage = open_storage(url)
    dataset = load_data(args, recipe.data.dataset)
    say(args, f"study {plan.name}: {recipe.model} on {objective.title} ({objective.direction}), "
              f"{args.trials} trials" + (f" or {args.timeout:g} s" if args.timeout else "")
              + "; searching " + ", ".join(f"{k} {p.text()}" for k, p in plan.space.items()))
    begun = time.perf_counter()

    def on_trial(study, trial) -> None:
        value = "" if trial.value is None else f"{trial.value:.4f} "
        try:
            best = f"best {study.best_value:.4f} (trial {study.best_trial.number})"
        except ValueError:
            best = "no finished trial yet"
        error = trial.user_attrs.get("error")
        say(args, f"trial {trial.number} {trial.state.name.lower()} {value}"
                  f"after {trial.user_attrs.get('epochs', 0)} epochs in "
                  f"{trial.user_attrs.get('seconds', 0):.1f} s"
                  + (f" ({error})" if error else "") + f"; {best}")

    result = run_study(plan, dataset, storage, args.trials, args.timeout,
                       store=None if args.no_test else store(args), on_trial=on_trial,
                       on_test=lambda text: say(args, text + "..."))
    document = summary(result, url)
    document["wall_seconds"] = round(time.perf_counter() - begun, 3)
    test = "" if document["test_value"] is None else \
        f"; retrained as run {document['best_run_id']}, test {objective.name} " \
        f"{document['test_value']:.4f}"
    best = "no trial finished" if document["best_value"] is None else \
        f"best {objective.name} {document['best_value']:.4f} (trial " \
        f"{document['best_trial']}: " + ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in document["best_params"].items()) + ")"
    emit(args, document,
         f"study {document['study']} ({document['storage']}): {document['n_trials']} trials, "
         f"{document['n_complete']} complete, {document['n_pruned']} pruned, "
         f"{document['n_failed']} failed; {best}{test}")
    return 130 if result.stopped else 0
