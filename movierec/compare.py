"""Comparing runs as people do: a short label for each (its name, else its model and the
settings that set it apart from the others compared) and a table of only the settings that
differ between them (MLflow's "show diff only")."""

from __future__ import annotations

import pandas as pd

# Settings that say nothing about how a run learned (or are the same for every run).
_IGNORED = {"device", "ranking_eval", "holdout"}
_DATA = ("dataset", "fraction", "split", "new_people", "seed")


def settings_of(summary: dict) -> dict:
    """A run summary's settings as one flat dict: ``dataset``, data, model and training
    settings (lists as text)."""
    found = {"model": summary["model"], "dataset": summary["dataset"],
             "fraction": summary["fraction"], "split": summary.get("split", "random"),
             "new_people": summary.get("new_people", 0), "seed": summary.get("seed", 0)}
    for part in ("model_config", "train_config"):
        for key, value in summary.get(part, {}).items():
            if key in _IGNORED:
                continue
            found[key if key not in found else f"{part.split('_')[0]} {key}"] = \
                ",".join(map(str, value)) if isinstance(value, list) else value
    return found


def differing(summaries: list[dict]) -> pd.DataFrame:
    """One row per run (``run``: its id) and a column for each setting whose values differ
    between the runs (settings a model does not have count as blank); no setting columns for
    a single run."""
    rows = [settings_of(s) for s in summaries]
    keys = list(dict.fromkeys(k for row in rows for k in row))
    differ = [k for k in keys if len({shown_value(row.get(k)) for row in rows}) > 1]
    return pd.DataFrame([{"run": s["run_id"], **{k: row.get(k) for k in differ}}
                         for s, row in zip(summaries, rows, strict=True)],
                        columns=["run", *differ])


def labels(summaries: list[dict], names: dict[str, str] | None = None,
           most: int = 3) -> dict[str, str]:
    """A short label per run id: the name given to it, else its model and up to ``most`` of
    the settings that set it apart from the other runs of that model (``mf · dim 128, lr
    0.01``; its own settings before the training ones), else its model alone when it is the
    only run of its model (and the data differ in nothing), else its model, dataset and time
    of creation. Labels are unique: a clash gets the end of the run id."""
    names = names or {}
    by_model: dict[str, list[dict]] = {}
    for summary in summaries:
        by_model.setdefault(summary["model"], []).append(summary)
    data_differ = [k for k in differing(summaries).columns if k in _DATA]
    found = {}
    for summary in summaries:
        run_id = summary["run_id"]
        if names.get(run_id):
            found[run_id] = names[run_id]
            continue
        siblings = by_model[summary["model"]]
        row = differing(siblings).set_index("run").loc[run_id].to_dict() \
            if len(siblings) > 1 else {k: settings_of(summary)[k] for k in data_differ}
        parts = [f"{k.replace('_', ' ')} {shown_value(v)}" for k, v in row.items()
                 if k != "model" and v is not None and shown_value(v) != ""][:most]
        if parts or len(siblings) == 1:
            found[run_id] = " · ".join([summary["model"], ", ".join(parts)] if parts else
                                       [summary["model"]])
        else:
            stamp = str(summary.get("created", ""))[5:16].replace("T", " ")
            found[run_id] = f"{summary['model']} · {summary['dataset']} {stamp}".strip()
    counts = pd.Series(list(found.values())).value_counts()
    return {run_id: f"{label} ({run_id[-4:]})" if counts[label] > 1 else label
            for run_id, label in found.items()}


def shown_value(value) -> str:
    """A setting's value as the labels and tables write it ('' for none)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
