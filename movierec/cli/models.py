"""``models``: the registry's models, their hyperparameters and the search space each declares
for ``tune``."""

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
        space = {k: p.text() for k, p in getattr(spec.config_cls, "SEARCH_SPACE", {}).items()}
        doc.append({"name": spec.name, "title": spec.title, "summary": spec.summary,
                    "paper": spec.paper, "hyperparameters": params,
                    "train_defaults": to_dict(spec.train_defaults), "search_space": space})
        lines.append(f"{spec.name}: {spec.title}\n  {spec.summary}\n  hyperparameters: "
                     + ", ".join(f"{k}={v}" for k, v in params.items())
                     + "\n  tune searches: " + ", ".join(f"{k}={v}" for k, v in space.items()))
    emit(args, doc, "\n".join(lines))
    return 0
