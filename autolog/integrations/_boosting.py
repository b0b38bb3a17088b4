"""What the XGBoost, LightGBM and CatBoost integrations share: params, datasets, importance,
stopping.

Nothing here imports a framework or NumPy at module level; the helpers receive the
framework's objects and look at them by duck typing.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

#: Rows hashed for a dataset digest (plus the shape): bounded cost, no copy of the data.
DIGEST_ROWS = 10_000
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


# -- datasets -----------------------------------------------------------------------------


def _hash_update_array(digest: Any, array: Any) -> None:
    """Hash a NumPy array's bytes (a view when contiguous; only the first rows otherwise)."""
    import numpy as np

    part = array[:DIGEST_ROWS] if getattr(array, "ndim", 0) else array
    if part.size == 0:
        return  # an empty input: its shape is recorded apart; memoryview cannot cast it
    if not (part.flags.c_contiguous or part.flags.f_contiguous):
        part = np.ascontiguousarray(part)  # bounded: at most DIGEST_ROWS rows
    if part.dtype == object:
        digest.update(repr(part.tolist()).encode())
    else:
        digest.update(memoryview(part).cast("B") if part.flags.c_contiguous
                      else memoryview(part.T).cast("B"))


def _cell_text(value: Any) -> Any:
    """A hashable stand-in for a cell pandas cannot hash (an array, a list, a dict)."""
    if hasattr(value, "tolist"):
        return repr(value.tolist())
    return repr(value) if isinstance(value, (list, dict, set)) else value


def _hash_update_pandas(digest: Any, head: Any) -> None:
    """Hash the first rows of a DataFrame or Series; object cells that pandas cannot hash
    (arrays or lists: CatBoost's embedding features) are hashed by their text."""
    import pandas as pd

    try:
        hashed = pd.util.hash_pandas_object(head, index=False)
    except TypeError:  # unhashable cells
        if hasattr(head, "columns"):
            head = head.apply(lambda col: col.map(_cell_text) if col.dtype == object else col)
        else:
            head = head.map(_cell_text)
        hashed = pd.util.hash_pandas_object(head, index=False)
    _hash_update_array(digest, hashed.to_numpy())


def describe_data(data: Any) -> dict[str, Any] | None:
    """Type, shape and digest of a training input, without copying it (None: unknown)."""
    module = type(data).__module__ or ""
    name = type(data).__name__
    digest = hashlib.blake2b(digest_size=8)
    shape: tuple[int, ...] | None = None
    kind = f"{module.split('.')[0]}.{name}"
    if module.startswith("xgboost") and hasattr(data, "num_row"):
        shape = (int(data.num_row()), int(data.num_col()))
        digest.update(repr((data.feature_names, data.feature_types)).encode())
        _hash_update_array(digest, data.get_label())
    elif module.startswith("catboost") and hasattr(data, "num_row"):
        # A Pool keeps its features in CatBoost's own form (reading them back copies the
        # whole matrix): names, feature kinds and labels, as for a DMatrix.
        shape = (int(data.num_row()), int(data.num_col()))
        digest.update(repr((data.get_feature_names(), data.get_cat_feature_indices(),
                            data.get_text_feature_indices())).encode())
        label = data.get_label()
        if label is not None:
            import numpy as np

            _hash_update_array(digest, np.asarray(label))
    elif module.startswith("lightgbm") and hasattr(data, "construct"):
        raw = getattr(data, "data", None)
        if raw is not None and not isinstance(raw, (str, bytes)) and hasattr(raw, "shape"):
            inner = describe_data(raw)
            if inner is not None:
                inner["type"] = f"lightgbm.Dataset({inner['type']})"
                return inner
        if raw is not None and isinstance(raw, (str, bytes)):
            return {"type": "lightgbm.Dataset(file)", "shape": None,
                    "digest": hashlib.blake2b(str(raw).encode(), digest_size=8).hexdigest()}
        handle = getattr(data, "_handle", None)
        if handle is None:
            return None
        shape = (int(data.num_data()), int(data.num_feature()))
    elif module.startswith("dask") and hasattr(data, "__dask_tokenize__"):
        # A Dask collection: its token is a hash of the graph that makes it, computed
        # already; reading the data would compute it. Shape: when every size is known.
        shape = tuple(int(s) for s in getattr(data, "shape", ()) if _is_known(s))
        if len(shape) != len(getattr(data, "shape", ())):
            shape = None
        digest.update(repr(data.__dask_tokenize__()).encode())
        kind = f"dask.{name}"
    elif module.startswith("pandas") and hasattr(data, "columns"):
        shape = tuple(int(s) for s in data.shape)
        digest.update(repr([str(c) for c in data.columns]).encode())
        digest.update(repr([str(t) for t in data.dtypes]).encode())
        _hash_update_pandas(digest, data.iloc[:DIGEST_ROWS])
    elif module.startswith("pandas") and hasattr(data, "dtype"):  # a Series
        shape = (int(len(data)),)
        _hash_update_pandas(digest, data.iloc[:DIGEST_ROWS])
    elif module.startswith("scipy.sparse") and hasattr(data, "tocsr"):
        shape = tuple(int(s) for s in data.shape)
        for part in ("data", "indices", "indptr", "row", "col"):
            array = getattr(data, part, None)
            if array is not None and hasattr(array, "dtype"):
                _hash_update_array(digest, array[: DIGEST_ROWS * 50])
        kind = f"scipy.sparse.{name}"
    elif hasattr(data, "__array_interface__") and hasattr(data, "shape"):
        shape = tuple(int(s) for s in data.shape)
        digest.update(str(data.dtype).encode())
        _hash_update_array(digest, data)
    else:
        return None
    digest.update(repr(shape).encode())
    return {"type": kind, "shape": list(shape) if shape is not None else None,
            "digest": digest.hexdigest()}


def _is_known(size: Any) -> bool:
    """A dimension a Dask collection knows without computing (not NaN, not a Delayed)."""
    return isinstance(size, int) or (hasattr(size, "__index__") and not hasattr(size, "dask"))


def log_datasets(session: Any, datasets: Iterable[tuple[str, Any]]) -> None:
    """Tags ``dataset.<name>.shape|digest|type`` for each ``(name, data)``, and the same
    datasets as the run's dataset inputs (MLflow's Datasets tab: the first "training",
    the others "validation"), each computed inside a session record of its own: data
    that cannot be described costs that record only. Each input is described once."""
    datasets = list(datasets)
    described: list[tuple[str, Any, dict[str, Any]]] = []

    def tags() -> dict[str, str]:
        described[:] = _describe(datasets)
        return _tags(described)

    session.set_tags(tags)
    session.log_inputs(lambda: dataset_inputs(described))


def _describe(datasets: list[tuple[str, Any]]) -> list[tuple[str, Any, dict[str, Any]]]:
    found = []
    for name, data in datasets:
        if data is None:
            continue
        info = describe_data(data)
        if info is not None:
            found.append((name, data, info))
    return found


def _tags(described: list[tuple[str, Any, dict[str, Any]]]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for name, _data, info in described:
        if info["shape"] is not None:
            tags[f"dataset.{name}.shape"] = "x".join(str(s) for s in info["shape"])
        tags[f"dataset.{name}.digest"] = info["digest"]
        tags[f"dataset.{name}.type"] = info["type"]
    return tags


def dataset_tags(datasets: list[tuple[str, Any]]) -> dict[str, str]:
    return _tags(_describe(datasets))


def dataset_inputs(described: list[tuple[str, Any, dict[str, Any]]]) -> list[Any]:
    """`DatasetInput` s for described datasets: arrays and DataFrames with their schema
    and profile; framework containers (DMatrix, lightgbm.Dataset) by digest and shape.
    An evaluation set that is the training data itself (same name and digest) is kept once.
    """
    import json

    from autolog.core.entities import DatasetContext
    from autolog.core.tracking.datasets import dataset_input

    inputs = []
    seen: set[tuple[str, str]] = set()
    for position, (name, data, info) in enumerate(described):
        if (name, info["digest"]) in seen:
            continue
        seen.add((name, info["digest"]))
        context = DatasetContext.TRAINING if position == 0 else DatasetContext.VALIDATION
        plain = hasattr(data, "__array_interface__") or (
            (type(data).__module__ or "").startswith("pandas"))
        described_input = dataset_input(data if plain else None, name, context=context,
                                        digest=info["digest"])
        if not plain and info["shape"] is not None:
            rows = info["shape"][0]
            described_input.profile = json.dumps({"num_rows": rows, "shape": info["shape"],
                                                  "type": info["type"]})
        inputs.append(described_input)
    return inputs


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


def bar_chart_png(title: str, bars: list[tuple[str, float]]) -> bytes | None:
    """A horizontal bar chart as PNG bytes, drawn with Pillow (which matplotlib installs).

    Pillow draws it in a few milliseconds; a matplotlib figure costs ~100 ms per fit,
    which alone would exceed the overhead budget of a typical boosting run. None when
    Pillow is not installed.
    """
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        return None
    import io

    try:
        font = ImageFont.load_default(size=12)
        title_font = ImageFont.load_default(size=14)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        font = title_font = ImageFont.load_default()
    row, top, width = 20, 34, 640
    label_width = max((font.getlength(name) for name, _ in bars), default=0)
    left = int(min(max(label_width + 16, 60), width // 2))
    right = width - 70
    height = top + row * len(bars) + 12
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 8), title, fill="black", font=title_font)
    largest = max((abs(v) for _, v in bars), default=0.0) or 1.0
    for index, (name, value) in enumerate(bars):
        y = top + index * row
        length = int((right - left) * abs(value) / largest)
        draw.rectangle((left, y + 3, left + max(length, 1), y + row - 3), fill="#4c72b0")
        draw.text((left - 8, y + row // 2), name, fill="black", font=font, anchor="rm")
        draw.text((left + length + 4, y + row // 2), f"{value:.4g}", fill="#333333",
                  font=font, anchor="lm")
    draw.line((left, top - 2, left, height - 10), fill="#888888")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


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
