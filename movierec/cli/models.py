"""``models``: the registry's models and their hyperparameters."""

from __future__ import annotations

import dataclasses

from movierec.cli.common import emit
from movierec.config import to_dict


def add_parser(sub, common) -> None:
    sub.add_parser("models", parents=[common], help="list models and their hyperparameters")


def run(args) -> int:
    from movierec.models import MODELS
    doc, lines = [], []
    for spec in MODELS.values():
        params = {f.name: f.default for f in dataclasses.fields(spec.config_cls)}
        doc.append({"name": spec.name, "title": spec.title, "summary": spec.summary,
                    "paper": spec.paper, "hyperparameters": params,
                    "train_defaults": to_dict(spec.train_defaults)})
        lines.append(f"{spec.name}: {spec.title}\n  {spec.summary}\n  hyperparameters: "
                     + ", ".join(f"{k}={v}" for k, v in params.items()))
    emit(args, doc, "\n".join(lines))
    return 0
