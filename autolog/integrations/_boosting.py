"""What the XGBoost, LightGBM and CatBoost integrations share: params, importance,
stopping.

Dataset tags and digests are `_datasets`' (every integration's), the importance chart is
drawn by `_plots`. Nothing here imports a framework or NumPy at module level; the helpers
receive the framework's objects and look at them by duck typing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from autolog.integrations._datasets import describe_data  # noqa: F401 - its former home
from autolog.integrations._plots import bar_chart_png

#: Features shown in the importance bar chart.
PLOT_TOP_FEATURES = 20


# -- params -------------------------------------------------------------------------------


def param_value(value: Any) -> Any:
    """A readable form for a param value: callables and objects by name, not by repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(param_value(v)) for v in value) + "]"
    if callable(value) or hasattr(value, "__call__"):  # noqa: B004 - functions and objects
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
        return name or type(value).__qualname__
    return str(value)


def flatten_params(params: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}} -> {"a.b": 1}``; a list of ``(key, value)`` pairs (XGBoost's
    legacy form, e.g. two ``eval_metric`` entries) becomes one key with a list value."""
    if params is None:
        return {}
    if isinstance(params, (list, tuple)):
        grouped: dict[str, list[Any]] = {}
        for item in params:
            if isinstance(item, (list, tuple)) and len(item) == 2:
                grouped.setdefault(str(item[0]), []).append(item[1])
        params = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
    if not isinstance(params, Mapping):
        return {prefix.rstrip(".") or "params": param_value(params)}
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_params(value, name + "."))
        else:
            flat[name] = param_value(value)
    return flat


# -- feature importance -------------------------------------------------------------------


def log_importance(session: Any, importance: Mapping[str, Mapping[str, float]],
                   plot_type: str | None) -> None:
    """One ``feature_importance_<type>.json`` per type; a bar chart PNG of ``plot_type``."""
    for kind, values in importance.items():
        session.log_dict({str(k): float(v) for k, v in values.items()},
                         f"feature_importance_{kind}.json")
    if plot_type is None or not importance.get(plot_type):
        return
    ranked = sorted(importance[plot_type].items(), key=lambda kv: kv[1], reverse=True)
    png = bar_chart_png(f"Feature importance ({plot_type})",
                        [(str(k), float(v)) for k, v in ranked[:PLOT_TOP_FEATURES]])
    if png is None:
        return
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="autolog-importance-") as tmp:
        path = os.path.join(tmp, f"feature_importance_{plot_type}.png")
        with open(path, "wb") as handle:
            handle.write(png)
        session.log_artifact(path)


# -- per-iteration metrics and early stopping ---------------------------------------------

_NOT_IN_KEY = re.compile(r"[^A-Za-z0-9_\-./: ]")


def metric_keys(data: str, metric: str) -> tuple[str, str, str]:
    """``(data-metric, data-metric-mean, data-metric-std)``, made valid metric keys:
    ``ndcg@5`` -> ``ndcg_at_5`` (as MLflow does), other characters -> ``_``."""
    base = _NOT_IN_KEY.sub("_", f"{data}-{metric}".replace("@", "_at_"))
    return base, f"{base}-mean", f"{base}-std"


class MetricHistory:
    """The metrics one training logged per iteration, for the early-stopping summary."""

    __slots__ = ("steps", "values")

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.values: list[dict[str, float]] = []

    def add(self, step: int, metrics: dict[str, float]) -> None:
        self.steps.append(step)
        self.values.append(metrics)

    def at(self, step: int) -> dict[str, float] | None:
        for index in range(len(self.steps) - 1, -1, -1):
            if self.steps[index] == step:
                return self.values[index]
        return None


def log_early_stopping(recorder: Any, history: MetricHistory, best_iteration: int,
                       stopped_iteration: int, best_step: int) -> None:
    """``best_iteration``, ``stopped_iteration`` and the best step's metrics once more, at
    the step after the last one (MLflow's convention)."""
    recorder.log_metrics({"best_iteration": best_iteration,
                          "stopped_iteration": stopped_iteration})
    best = history.at(best_step)
    if best and history.steps:
        recorder.log_metrics(best, step=history.steps[-1] + 1)


def log_eval_history(recorder: Any, evals_result: Mapping[str, Mapping[str, Any]],
                     total_rounds: int, every: int | None) -> MetricHistory:
    """Log a finished training's ``{data: {metric: [value per iteration]}}`` (a wrapper's
    ``evals_result_``, ``xgboost.dask.train``'s ``history``) at step = iteration, counting
    the rounds of a model training continued from; thinned to every n-th step and the last.
    """
    series = [(metric_keys(data, metric)[0], values) for data, scores in evals_result.items()
              for metric, values in scores.items() if values is not None]
    history = MetricHistory()
    count = max((len(values) for _, values in series), default=0)
    offset = max(total_rounds - count, 0)
    for index in range(count):
        step = offset + index
        metrics = {key: float(values[index]) for key, values in series if index < len(values)}
        history.add(step, metrics)
        if not every or step % every == 0 or index == count - 1:
            recorder.log_metrics(metrics, step=step)
    return history


def outside_dask_worker(_instance: Any = None) -> bool:
    """False in a task a Dask worker runs (a worker thread or a worker process): that is
    one worker's share of a distributed fit, which the client process records as one run.
    The ``when`` gate of every boosting training patch."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return True
    try:
        distributed.get_worker()
    except Exception:  # noqa: BLE001 - ValueError: not in a worker task
        return True
    return False


def recorder_for_active_run() -> Any:
    """A recorder for the run active in this thread (started when none is, like the
    fluent API): what explicit callbacks log into."""
    from autolog.core.tracking.recorder import RunRecorder
    from autolog.core.tracking.runs import active_run, start_run

    run = active_run()
    if run is None:
        run = start_run()
    return RunRecorder(run.info.run_id, run.uri, run.params_logged)


def input_sample(data: Any, rows: int = 5) -> Any:
    """The first rows of a NumPy array or DataFrame (for signatures/examples), else None."""
    module = type(data).__module__ or ""
    if module.startswith("pandas") and hasattr(data, "iloc") and hasattr(data, "columns"):
        return data.iloc[:rows]
    if hasattr(data, "__array_interface__") and getattr(data, "ndim", 0) == 2:
        return data[:rows]
    return None
