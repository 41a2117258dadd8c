"""Chart and diagram builders shared by the pages (pure functions: data in, chart out)."""

from __future__ import annotations

import altair as alt
import pandas as pd

METRICS = {"loss": "loss (the model's own objective)", "rmse": "RMSE (stars)",
           "accuracy": "accuracy (exact star)", "hr10": "HR@10 (held-out movie in the top 10)",
           "ndcg10": "NDCG@10 (how high it ranks)"}


# Altair's tableau10, spelled out so that the page's one legend shows the charts' colours.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")
X_AXES = {"epoch": "epoch", "seconds": "training seconds"}


def history_frame(histories: dict[str, list[dict]]) -> pd.DataFrame:
    """Long table run / epoch / seconds (training time so far) / metric / split / value from
    per-epoch records."""
    rows = []
    for run_id, history in histories.items():
        elapsed = 0.0
        for record in history:
            elapsed += float(record.get("seconds") or 0.0)
            for metric in METRICS:
                for split in ("train", "val"):
                    value = record.get(f"{split}_{metric}")
                    if value is not None and value == value:   # skip None and NaN
                        rows.append({"run": run_id, "epoch": record["epoch"],
                                     "seconds": round(elapsed, 2), "metric": metric,
                                     "split": "training" if split == "train" else "validation",
                                     "value": value})
    return pd.DataFrame(rows, columns=["run", "epoch", "seconds", "metric", "split", "value"])


def run_colours(runs: list[str]) -> dict[str, str]:
    """The colour of each run, as every chart of the page draws it (in the order given)."""
    return {run: PALETTE[i % len(PALETTE)] for i, run in enumerate(runs)}


def curve(frame: pd.DataFrame, metric: str, height: int = 260, x: str = "epoch",
          log: bool = False, runs: list[str] | None = None, legend: bool = True) -> alt.Chart:
    """One metric over epochs (or training seconds): colour by run, dashes for training, solid
    for validation; ``log`` puts the metric on a log scale. With ``legend`` False the page
    shows one legend for all its charts (the colours of :func:`run_colours` for ``runs``)."""
    data = frame[frame["metric"] == metric]
    runs = runs or sorted(frame["run"].unique())     # every chart colours a run alike
    many = len(runs) > 1
    bottom = {"orient": "bottom", "direction": "vertical", "labelLimit": 360}
    colours = run_colours(runs)
    color = alt.Color("run:N", title=None,
                      scale=alt.Scale(domain=runs, range=[colours[r] for r in runs]),
                      legend=alt.Legend(**bottom) if legend else None) if many else \
        alt.Color("split:N", title=None, scale=alt.Scale(scheme="tableau10"),
                  legend=alt.Legend(**bottom) if legend else None)
    y_scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    return alt.Chart(data, height=height, title=METRICS[metric]).mark_line(point=True).encode(
        x=alt.X(f"{x}:Q", title=X_AXES[x], axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title=metric + (" (log scale)" if log else ""), scale=y_scale),
        color=color,
        strokeDash=alt.StrokeDash("split:N", title=None, sort=["validation", "training"],
                                  legend=alt.Legend(**bottom) if many and legend else None),
        tooltip=["run", "epoch", alt.Tooltip("seconds:Q", title="training s"), "split",
                 alt.Tooltip("value:Q", format=".4f")],
    )


STATE_COLOURS = {"complete": "#4e79a7", "pruned": "#f28e2b", "fail": "#e15759",
                 "running": "#bab0ac"}


def optimisation_history(trials: pd.DataFrame, title: str) -> alt.Chart:
    """Each trial's score (a pruned one's last report) by trial number, coloured by how it
    ended, and the best finished score so far as a step line."""
    states = [s for s in STATE_COLOURS if (trials["state"] == s).any()]
    points = alt.Chart(trials.dropna(subset=["value"])).mark_circle(size=70).encode(
        x=alt.X("trial:Q", title="trial", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title=title, scale=alt.Scale(zero=False)),
        color=alt.Color("state:N", title=None, scale=alt.Scale(
            domain=states, range=[STATE_COLOURS[s] for s in states]),
            legend=alt.Legend(orient="bottom")),
        tooltip=["trial", "state", alt.Tooltip("value:Q", format=".4f"), "epochs",
                 alt.Tooltip("seconds:Q", format=".1f")])
    best = alt.Chart(trials.dropna(subset=["best"])).mark_line(
        interpolate="step-after", color="#59a14f").encode(
        x="trial:Q", y=alt.Y("best:Q", title=title),
        tooltip=[alt.Tooltip("best:Q", title="best so far", format=".4f")])
    return (best + points).properties(height=320, title="Optimisation history")


def parallel_coordinates(wide: pd.DataFrame, params: list[str], title: str,
                         direction: str) -> alt.Chart:
    """One line per finished or pruned trial across its parameters, each on its range (0: the
    low end, 1: the high end; Altair's fold transform), coloured by score (darker: better)."""
    data = wide.dropna(subset=["value"])
    return alt.Chart(data).transform_fold(params, as_=["param", "position"]).mark_line(
        opacity=0.75, point=True).encode(
        x=alt.X("param:N", title=None, sort=params, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("position:Q", title="low end to high end of the range",
                scale=alt.Scale(domain=[0, 1])),
        detail="trial:N",
        color=alt.Color("value:Q", title=title, scale=alt.Scale(
            scheme="viridis", reverse=direction == "maximize")),
        strokeDash=alt.StrokeDash("state:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["trial", "state", alt.Tooltip("value:Q", format=".4f")],
    ).properties(height=320, title="Parallel coordinates")


def importance_chart(shares: dict[str, float]) -> alt.Chart:
    """Each hyperparameter's share of the variation of the scores, largest first."""
    data = pd.DataFrame({"param": list(shares), "importance": list(shares.values())})
    return alt.Chart(data).mark_bar(color="#4e79a7").encode(
        x=alt.X("importance:Q", title="share of the variation of the scores (fANOVA)",
                axis=alt.Axis(format="%")),
        y=alt.Y("param:N", title=None, sort="-x"),
        tooltip=["param", alt.Tooltip("importance:Q", format=".1%")],
    ).properties(height=alt.Step(32), title="Hyperparameter importance")


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
