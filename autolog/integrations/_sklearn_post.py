"""scikit-learn's post-training metrics: what a user computes with an autologged model
after ``fit`` is logged into the run the model was trained in.

``model.score(X_test, y_test)`` is logged as ``<Class>_score_X_test``; a
`sklearn.metrics` function given predictions of an autologged model
(``accuracy_score(y_test, model.predict(X_test))``) as ``accuracy_score_X_test``; the
name is the user's variable for the data (else ``dataset_<n>``), the same name again
in one run gets ``-2``, ``-3``, ... (MLflow's rule).

Predictions are remembered by identity, with a weak reference: nothing is copied,
scanned or kept alive, and the user's objects get no attributes. The observers' gates
(`linked`, `has_predictions`) run before anything else: a model autolog did not train,
or a metric call on data no autologged model produced, costs one dict lookup.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any

from autolog.core.patching import guard
from autolog.core.tracking.recorder import RunRecorder
from autolog.core.tracking.sessions import recorder_for_model
from autolog.integrations._datasets import digest

__all__ = ["has_predictions", "linked", "on_metric", "on_predict"]


def linked(instance: Any) -> bool:
    """Gate of the prediction/score observers: was this model trained under autolog?"""
    return recorder_for_model(instance) is not None


# id(prediction) -> (weak ref to it, the run of the model that made it, dataset name)
_predictions: dict[int, tuple[Any, RunRecorder, str]] = {}


def has_predictions(instance: Any = None) -> bool:
    """Gate of the metric-function observers: is any prediction of a logged model alive?"""
    return bool(_predictions)


def _config() -> Any:
    from autolog.core.patching.registry import get_integration

    return get_integration("sklearn").config


def _logging_enabled() -> bool:
    return _config().log_post_training_metrics


#: run id -> names of the evaluation datasets logged as its inputs (at most this many)
_evaluation_inputs: dict[str, set[str]] = {}
_MAX_EVALUATION_INPUTS = 20


def _log_evaluation_input(recorder: RunRecorder, name: str, data: Any) -> None:
    """``data`` as the run's "evaluation" dataset input ``name``, the first time a
    post-training metric of the run uses that name (MLflow's autologging does the same)."""
    if not _config().log_datasets or data is None:
        return
    names = _evaluation_inputs.setdefault(recorder.run_id, set())
    if name in names or len(names) >= _MAX_EVALUATION_INPUTS:
        return
    names.add(name)
    with guard("sklearn: evaluation dataset input"):
        from autolog.core.tracking.datasets import dataset_input

        try:
            data_digest = digest(data)
        except TypeError:  # cells pandas cannot hash: no input
            return
        recorder.log_inputs([dataset_input(data, name, context="evaluation",
                                           digest=data_digest)])


_LIBRARY_PREFIXES = ("autolog.", "wrapt", "sklearn.", "functools", "joblib.")

# run id -> {metric key: times logged}; run id -> datasets without a name found
_post_keys: dict[str, dict[str, int]] = {}
_unnamed: dict[str, dict[int, tuple[Any, str]]] = {}


def _dataset_name(run_id: str, data: Any) -> str:
    """The user's variable name for ``data`` (``X_test``), else ``dataset_<n>`` per run."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if not name.startswith(_LIBRARY_PREFIXES) and name != "autolog":
            break
        frame = frame.f_back
    if frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for var, value in scope.items():
                if value is data and not var.startswith("_"):
                    return var
    seen = _unnamed.setdefault(run_id, {})
    entry = seen.get(id(data))
    if entry is not None and entry[0]() is data:
        return entry[1]
    name = f"dataset_{len(seen) + 1}"
    try:
        seen[id(data)] = (weakref.ref(data), name)
    except TypeError:  # not weak-referenceable (a list): a new number each time
        seen[id(data) ^ len(seen)] = (lambda: None, name)
    return name


def _metric_key(run_id: str, key: str) -> str:
    """MLflow's rule: the same name logged again in a run gets ``-2``, ``-3``, ..."""
    counts = _post_keys.setdefault(run_id, {})
    count = counts.get(key, 0) + 1
    counts[key] = count
    return key if count == 1 else f"{key}-{count}"


def _forget(key: int, ref: Any) -> None:
    entry = _predictions.get(key)
    if entry is not None and entry[0] is ref:
        del _predictions[key]


def on_predict(call) -> None:
    """Observer of predict/transform/score on an autologged model.

    Predictions are remembered (by identity, weakly) for the metric functions; ``score``
    is logged at once as ``<Class>_score_<data>``.
    """
    recorder = recorder_for_model(call.instance)
    result = call.proceed()
    if recorder is None or not _logging_enabled():
        return
    if call.function.__name__ == "score":
        _log_score(call, recorder, result)
        return
    data = call.args[0] if call.args else next(iter(call.kwargs.values()), None)
    name = _dataset_name(recorder.run_id, data)
    _log_evaluation_input(recorder, name, data)
    key = id(result)
    try:
        ref = weakref.ref(result, lambda r, key=key: _forget(key, r))
    except TypeError:  # lists and tuples cannot be weakly referenced: not tracked
        return
    _predictions[key] = (ref, recorder, name)


def _log_score(call, recorder: RunRecorder, result: Any) -> None:
    value = _scalar(result)
    if value is None:
        return
    data = call.args[0] if call.args else call.kwargs.get("X")
    name = _dataset_name(recorder.run_id, data)
    _log_evaluation_input(recorder, name, data)
    key = _metric_key(recorder.run_id, f"{type(call.instance).__name__}_score_{name}")
    recorder.log_metric(key, value)


def on_metric(call) -> None:
    """Observer of a `sklearn.metrics` function given predictions of an autologged model."""
    result = call.proceed()
    found = None
    for value in (*call.args, *call.kwargs.values()):
        entry = _predictions.get(id(value))
        if entry is not None and entry[0]() is value:
            found = entry
            break
    if found is None:
        return
    number = _scalar(result)
    if number is None:
        return
    _ref, recorder, name = found
    key = _metric_key(recorder.run_id, f"{call.function.__name__}_{name}")
    recorder.log_metric(key, number)


def _scalar(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if getattr(value, "ndim", None) == 0 and getattr(value, "dtype", None) is not None \
            and value.dtype.kind in "iuf":
        return float(value)
    return None
