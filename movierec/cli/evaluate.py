"""``evaluate``: score a saved run on the split it was trained on (held-out ratings, top-N,
onboarding, new people, neighbours), or on the NCF paper's exact top-N test alone."""

from __future__ import annotations

import math
import time
from pathlib import Path

from movierec.cli.common import emit, load_data, load_run, numbers, quality_progress
from movierec.errors import ConfigError


def add_parser(sub, common) -> None:
    p = sub.add_parser("evaluate", parents=[common],
                       help="score a run: held-out ratings, top-N, onboarding, new people, "
                            "neighbours")
    p.add_argument("--run", required=True, help="run id, unique prefix, or 'latest'")
    p.add_argument("--given", default="3,5,10", metavar="K,...",
                   help="numbers of ratings the new people give (default 3,5,10)")
    p.add_argument("--references", default="most rated,item-kNN,EASE", metavar="NAME,...",
                   help="reference recommenders beside the run in the onboarding and "
                        "new-person protocols (default: most rated,item-kNN,EASE; 'none' for "
                        "none)")
    p.add_argument("--ncf", metavar="FILE",
                   help="only the NCF paper's exact top-N test: HR@10 and NDCG@10 on the "
                        "candidates of this test.negative file (lines: user, held-out movie, "
                        "negatives; MovieLens ids); needs no dataset")


def run(args) -> int:
    from movierec.evaluation.people import REFERENCES, PeopleProtocol
    from movierec.evaluation.report import TABLES, describe
    from movierec.workflows import evaluate

    if args.ncf is not None:
        return _ncf(args)
    protocol = PeopleProtocol(given=numbers(args.given, "--given"))
    references = [] if args.references.strip().lower() == "none" else \
        [r.strip() for r in args.references.split(",") if r.strip()]
    unknown = sorted(set(references) - set(REFERENCES))
    if unknown:
        raise ConfigError(f"unknown reference(s) {', '.join(unknown)} for --references; "
                          f"known: {', '.join(REFERENCES)}, or none")
    found = load_run(args, args.run)
    dataset = load_data(args, found.data_config.dataset)
    bar, update = quality_progress(args)
    try:
        result = evaluate(found, dataset, protocol, references, progress=update)
    finally:
        bar.close()
    data, metrics, ranking, baselines = result.split, result.metrics, result.ranking, \
        result.baselines
    quality, notes = result.quality, result.notes
    among = "among 100" if data.candidates is None else \
        f"among its {data.candidates.item_idx.shape[1]} candidates in test.negative"
    doc = {"run_id": found.run_id, "model": found.model_name,
           "dataset": found.data_config.dataset, "split": found.data_config.split,
           "n_test": len(data.validation),
           "val_loss": metrics["loss"], "val_rmse": metrics["rmse"], "val_mae": metrics["mae"],
           "val_accuracy": metrics["accuracy"], "hr10": ranking["hr10"],
           "ndcg10": ranking["ndcg10"], "ranking_users": ranking["n_users"],
           "ranking_candidates": "sampled" if data.candidates is None else "test.negative",
           **baselines,
           "onboarding": quality["onboarding"].to_dict(orient="records")
           if "onboarding" in quality else None,
           "new_people": quality["people"].to_dict(orient="records")
           if "people" in quality else None,
           "neighbours": quality["neighbours"].to_dict(orient="records")
           if "neighbours" in quality else None, "not_measured": notes}
    texts = [describe(name, quality[name]) if name in quality else
             f"{name} quality: not measured; {notes.get(name, '')}" for name in TABLES]
    emit(args, doc,
         f"run {found.run_id} on {len(data.validation):,} held-out ratings of "
         f"{found.data_config.dataset}"
         + ("\n  predicts no stars (a ranking model)" if math.isnan(metrics["rmse"]) else
            f"\n  RMSE {metrics['rmse']:.4f}  MAE {metrics['mae']:.4f}  accuracy "
            f"{metrics['accuracy']:.4f}")
         + f"  loss {metrics['loss']:.4f}"
         f"\n  top-N (one held-out movie per user {among}): HR@10 {ranking['hr10']:.4f}  "
         f"NDCG@10 {ranking['ndcg10']:.4f} over {ranking['n_users']:,} users"
         f"\n  baselines: global mean RMSE {baselines['mean_rmse']:.4f}; user+movie bias RMSE "
         f"{baselines['bias_rmse']:.4f}\n" + "\n".join(texts))
    return 0


def _ncf(args) -> int:
    """``evaluate --ncf FILE``: the NCF paper's exact test alone (the run and the file)."""
    from movierec.data.ncf import read_test_negative
    from movierec.evaluation.ncf import run_ncf_metrics

    test = read_test_negative(args.ncf)
    found = load_run(args, args.run)
    start = time.perf_counter()
    result = run_ncf_metrics(found, test)
    seconds = time.perf_counter() - start
    path = str(Path(args.ncf).resolve())
    doc = {"run_id": found.run_id, "model": found.model_name,
           "dataset": found.data_config.dataset, "split": found.data_config.split,
           "protocol": "ncf", "file": path, **result, "seconds": round(seconds, 3)}
    emit(args, doc,
         f"run {found.run_id} on the NCF test {path}: HR@10 {result['hr10']:.4f}  NDCG@10 "
         f"{result['ndcg10']:.4f} over {result['n_users']:,} users ({seconds:.1f} s)"
         f"\n  {result['merged']:,} users have their held-out movie among its negatives "
         f"(counted once); unknown to the run, so ranked last: {result['unknown_users']:,} "
         f"user(s), {result['unknown_movies']:,} movie(s)")
    return 0
