"""What the sweep page shows of a set of runs: the params that vary, the metrics, and
how strongly each param goes with each metric (parameter importance, as W&B shows it).

Importance is a correlation, computed here in plain Python (no numpy):

- a numeric param (every value parses as a number): Pearson's r with the metric, signed,
  so "higher learning rate, lower accuracy" reads as a negative bar;
- a categorical param: the correlation ratio eta (0 to 1, unsigned): how much of the
  metric's spread the categories explain.

Runs without the metric, or without the param, are left out of that pair. A pair with
fewer than three runs, or with a constant param or metric, has no value (None).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MIN_RUNS = 3
#: Metrics a search's parent logs for its best child, preferred as the headline metric.
HEADLINE_HINTS = ("mean_test_score", "best_cv_score", "best_score", "best_value", "score",
                  "accuracy", "acc", "val_accuracy", "val_acc", "val_loss", "loss")


def as_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < MIN_RUNS:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def correlation_ratio(categories: Sequence[str], ys: Sequence[float]) -> float | None:
    n = len(ys)
    if n < MIN_RUNS or len(set(categories)) < 2:
        return None
    mean = sum(ys) / n
    total = sum((y - mean) ** 2 for y in ys)
    if total <= 0:
        return None
    groups: dict[str, list[float]] = {}
    for category, y in zip(categories, ys):
        groups.setdefault(category, []).append(y)
    between = sum(len(g) * (sum(g) / len(g) - mean) ** 2 for g in groups.values())
    return math.sqrt(min(between / total, 1.0))


def importance(
    rows: Sequence[dict[str, Any]], params: Sequence[str], numeric: dict[str, bool], metric: str
) -> list[dict[str, Any]]:
    """Per param: {param, value, kind}; strongest first, params without a value last."""
    out = []
    for param in params:
        pairs = [(row["params"][param], row["metrics"][metric]) for row in rows
                 if param in row["params"] and metric in row["metrics"]]
        if numeric[param]:
            value = pearson([float(p) for p, _ in pairs], [m for _, m in pairs])
            kind = "pearson"
        else:
            value = correlation_ratio([str(p) for p, _ in pairs], [m for _, m in pairs])
            kind = "eta"
        out.append({"param": param, "value": value, "kind": kind, "runs": len(pairs)})
    out.sort(key=lambda item: (item["value"] is None, -abs(item["value"] or 0), item["param"]))
    return out


def sweep_data(runs: Sequence[Any]) -> dict[str, Any]:
    """The JSON the sweep page draws from: one row per run, the params that vary (with
    whether each is numeric), the metrics, and the importance of each param per metric."""
    rows = []
    for run in runs:
        metrics = {k: v for k, v in run.data.metrics.items()
                   if not k.startswith("system/") and as_number(v) is not None}
        rows.append({"id": run.info.run_id, "name": run.info.run_name or run.info.run_id[:8],
                     "status": run.info.status, "params": dict(run.data.params),
                     "metrics": metrics})
    values: dict[str, set[str]] = {}
    for row in rows:
        for key, value in row["params"].items():
            values.setdefault(key, set()).add(value)
    params = sorted(k for k, v in values.items() if len(v) > 1)
    numeric = {k: all(as_number(v) is not None for v in values[k]) for k in params}
    for row in rows:  # numbers as numbers, so the browser can place them on an axis
        row["params"] = {k: (float(v) if numeric[k] else v)
                         for k, v in row["params"].items() if k in numeric}
    metrics = sorted({k for row in rows for k in row["metrics"]})
    return {
        "rows": rows,
        "params": params,
        "numeric": numeric,
        "metrics": metrics,
        "importance": {m: importance(rows, params, numeric, m) for m in metrics},
    }


def headline_metric(metrics: Sequence[str]) -> str:
    """The metric a sweep page opens on: a well-known score name, else the first."""
    for hint in HEADLINE_HINTS:
        for key in metrics:
            if key == hint or key.endswith("/" + hint) or key.endswith("_" + hint):
                return key
    return metrics[0] if metrics else ""
