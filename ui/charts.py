"""Chart and diagram builders shared by the pages (pure functions: data in, chart out)."""

from __future__ import annotations

import altair as alt
import pandas as pd

METRICS = {"loss": "loss (the model's own objective)", "rmse": "RMSE (stars)",
           "accuracy": "accuracy (exact star)", "hr10": "HR@10 (held-out movie in the top 10)",
           "ndcg10": "NDCG@10 (how high it ranks)"}


def history_frame(histories: dict[str, list[dict]]) -> pd.DataFrame:
    """Long table run / epoch / metric / split / value from per-epoch records."""
    rows = []
    for run_id, history in histories.items():
        for record in history:
            for metric in METRICS:
                for split in ("train", "val"):
                    value = record.get(f"{split}_{metric}")
                    if value is not None and value == value:   # skip None and NaN
                        rows.append({"run": run_id, "epoch": record["epoch"],
                                     "metric": metric, "split": "training" if split == "train"
                                     else "validation", "value": value})
    return pd.DataFrame(rows, columns=["run", "epoch", "metric", "split", "value"])


def curve(frame: pd.DataFrame, metric: str, height: int = 260) -> alt.Chart:
    """One metric per epoch: colour by run, dashes for training, solid for validation."""
    data = frame[frame["metric"] == metric]
    runs = sorted(frame["run"].unique())     # every chart colours a run alike
    many = len(runs) > 1
    bottom = {"orient": "bottom", "direction": "vertical", "labelLimit": 360}
    color = alt.Color("run:N", title=None, scale=alt.Scale(scheme="tableau10", domain=runs),
                      legend=alt.Legend(**bottom)) if many else \
        alt.Color("split:N", title=None, scale=alt.Scale(scheme="tableau10"),
                  legend=alt.Legend(**bottom))
    return alt.Chart(data, height=height, title=METRICS[metric]).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
        color=color,
        strokeDash=alt.StrokeDash("split:N", title=None, sort=["validation", "training"],
                                  legend=alt.Legend(**bottom) if many else None),
        tooltip=["run", "epoch", "split", alt.Tooltip("value:Q", format=".4f")],
    )


def architecture_dot(layers: list[dict]) -> str:
    """Graphviz DOT of a model's layers (see ``Recommender.architecture``)."""
    lines = ["digraph G {", 'rankdir=TB; node [shape=box, style="rounded,filled", '
             'fillcolor="#fff7ed", color="#c2410c", fontname="Helvetica", fontsize=10];']
    for layer in layers:
        label = f"{layer['name']}\\n{layer['kind']}"
        if layer["shape"]:
            label += f"\\n{layer['shape']}"
        if layer["params"]:
            label += f"\\n{layer['params']:,} params"
        lines.append(f'"{layer["name"]}" [label="{label}"];')
        for source in layer["inputs"]:
            lines.append(f'"{source}" -> "{layer["name"]}";')
    lines.append("}")
    return "\n".join(lines)
