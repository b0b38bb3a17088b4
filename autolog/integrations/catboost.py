"""CatBoost autologging: ``CatBoost.fit`` and so every model class and ``catboost.train``.

``CatBoost``, ``CatBoostClassifier``, ``CatBoostRegressor`` and ``CatBoostRanker`` each
define ``fit`` and none calls another's (they all call the private ``_fit``), so one
user ``fit`` is one run; ``catboost.train`` calls ``CatBoost.fit``. What one outermost
fit records (the core adds duration, resources and tags):

* params: the model's ``get_params()`` (what the user set) and the fit's
  ``early_stopping_rounds``, ``use_best_model``, ``metric_period`` when given, before
  training; after it, every other param CatBoost trained with (``get_all_params()``,
  nested values flattened: ``depth``, ``l2_leaf_reg``, ``border_count``, ...);
* per-iteration metrics ``{data}-{metric}`` (``learn-Logloss``, ``validation-AUC``,
  ``validation_1-RMSE``) at step = iteration, read from ``get_evals_result()`` after
  training -- a ``metric_period`` > 1 puts each value at the iteration CatBoost computed
  it on;
* ``best_iteration`` (CatBoost's, 0-based) and ``best.{data}-{metric}`` (``get_best_score``);
  when the overfitting detector stopped training, ``stopped_iteration`` (iterations run)
  and the best iteration's metrics once more at the step after the last;
* feature importance ``PredictionValuesChange`` as JSON and a bar chart PNG; datasets:
  shape, type and digest tags (``train``, ``validation``/``validation_<i>``); the model in
  CatBoost's ``.cbm`` format (`autolog.models.flavors.catboost`).

No callback is added to the user's fit: CatBoost refuses Python callbacks on GPU
(``task_type="GPU"``), and it builds each callback's ``info.metrics`` from the whole
history every iteration (a no-op callback costs 35% of a 1,000-iteration CPU fit). The
user's ``callbacks`` list is passed on as given.

``AutologCallback`` is the explicit, patch-free way (CPU only, as CatBoost's callbacks)::

    with autolog.start_run():
        model.fit(X, y, eval_set=(Xv, yv), callbacks=[autolog.catboost.AutologCallback()])

It logs the per-iteration metrics as they come; CatBoost's callback API has no
end-of-training event, so the summary (best iteration, importance, model) comes with
autologging.

Importing this module imports neither CatBoost nor NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autolog.core.config import AutologConfig
from autolog.core.patching import SubclassPatch, guard
from autolog.core.patching.integration import Integration
from autolog.core.patching.registry import integration_autolog
from autolog.integrations import _models

# + the flavor's log_model/save_model/load_model, on autolog.catboost (autolog._frameworks)
__all__ = ["AutologCallback", "CatBoostConfig", "CatBoostIntegration", "autolog"]

IMPORTANCE_TYPE = "PredictionValuesChange"
#: Arguments of ``fit`` logged as params when given (the rest are data or logging).
FIT_PARAMS = ("early_stopping_rounds", "use_best_model", "metric_period")


@dataclass
class CatBoostConfig(AutologConfig):
    #: A bar chart PNG of the PredictionValuesChange importance (drawn with Pillow).
    log_feature_importance_plot: bool = True


# -- the explicit callback ------------------------------------------------------------------


class AutologCallback:
    """A CatBoost callback (``fit(callbacks=[...])``) logging each iteration's metrics.

    Without ``recorder`` it logs into the run active when training starts (one is started
    when none is). Each value is logged once, at the iteration CatBoost computed it on
    (``metric_period``). It never stops training. CatBoost runs Python callbacks on CPU
    only.
    """

    def __init__(self, recorder: Any = None) -> None:
        self._given = recorder
        self._recorder: Any = None
        self._last = -1
        self._seen: dict[tuple[str, str], int] = {}
        self._keys: dict[tuple[str, str], str] = {}

    def after_iteration(self, info: Any) -> bool:
        step = info.iteration - 1  # CatBoost counts the iterations done, from 1
        if step <= self._last or self._last < 0:  # a new training
            self._recorder = None
            self._seen = {}
            with guard("catboost: AutologCallback (start)"):
                from autolog.integrations._boosting import recorder_for_active_run

                self._recorder = self._given or recorder_for_active_run()
        self._last = step
        recorder = self._recorder
        if recorder is None:
            return True
        with guard("catboost: AutologCallback.after_iteration"):
            metrics = _new_values(info.metrics, self._seen, self._keys)
            if metrics:
                recorder.log_metrics(metrics, step=step)
        return True


def _new_values(evals: Any, seen: dict[tuple[str, str], int],
                keys: dict[tuple[str, str], str]) -> dict[str, float]:
    """The last value of each series that grew since ``seen`` (updated)."""
    from autolog.integrations._boosting import metric_keys

    metrics: dict[str, float] = {}
    for data, scores in evals.items():
        for metric, values in scores.items():
            count = len(values)
            if count > seen.get((data, metric), 0):
                seen[(data, metric)] = count
                key = keys.get((data, metric))
                if key is None:
                    key = keys[(data, metric)] = metric_keys(data, metric)[0]
                metrics[key] = float(values[-1])
    return metrics


# -- per-iteration metrics after training ---------------------------------------------------


def series_steps(count: int, longest: int, uneven: bool, period: int,
                 iterations: int) -> range | list[int]:
    """The iterations of a ``get_evals_result()`` series of ``count`` values.

    CatBoost computes metrics on iteration 0, every ``period``-th one and the last planned
    one (``iterations - 1``), except the overfitting detector's metric, computed on every
    iteration: a series longer than others (``uneven``, ``count == longest``) is that one.
    """
    if period <= 1 or (uneven and count == longest):
        return range(count)
    steps = list(range(0, iterations, period))
    if iterations - 1 not in steps:
        steps.append(iterations - 1)
    if count > len(steps):  # not CatBoost's rule after all: one value per iteration
        return range(count)
    return steps[:count]


def log_evals(recorder: Any, evals: Any, period: int, iterations: int,
              every: int | None) -> tuple[Any, int]:
    """Log ``{data: {metric: [values]}}`` at the iterations CatBoost computed them on,
    thinned to every n-th step and the last; return the history and iterations run."""
    from autolog.integrations._boosting import MetricHistory, metric_keys

    series = [(metric_keys(data, metric)[0], values) for data, scores in evals.items()
              for metric, values in scores.items() if values is not None and len(values)]
    lengths = {len(values) for _, values in series}
    longest = max(lengths, default=0)
    by_step: dict[int, dict[str, float]] = {}
    for key, values in series:
        steps = series_steps(len(values), longest, len(lengths) > 1, period, iterations)
        for step, value in zip(steps, values):
            by_step.setdefault(step, {})[key] = float(value)
    history = MetricHistory()
    ordered = sorted(by_step)
    for index, step in enumerate(ordered):
        history.add(step, by_step[step])
        if not every or step % every == 0 or index == len(ordered) - 1:
            recorder.log_metrics(by_step[step], step=step)
    ran = ordered[-1] + 1 if ordered else 0
    return history, ran


# -- the hook -------------------------------------------------------------------------------


def on_fit(session: Any, call: Any) -> Any:
    """``CatBoost*.fit``: params, datasets; after training the eval history, the summary,
    all params, importance and the model."""
    from autolog.integrations._boosting import input_sample
    from autolog.integrations._datasets import log_datasets

    config = session.config
    model = call.instance
    given: dict[str, Any] = {}

    def params_given() -> dict[str, Any]:
        from autolog.integrations._boosting import flatten_params

        given.update(flatten_params(model.get_params()))
        for key in FIT_PARAMS:
            value = call.argument(key)
            if value is not None:
                given.setdefault(key, value)
        return given

    session.log_params(params_given)
    X = call.argument("X")
    if config.log_datasets:
        log_datasets(session, [("train", X), *_named_eval_sets(call)])
    explicit = any(isinstance(cb, AutologCallback) for cb in _as_list(call.argument("callbacks")))
    result = call.proceed()
    session.log_params(lambda: _trained_params(model, given))
    with guard("catboost: logging get_evals_result"):
        _log_summary(session, model, call, not explicit, config.log_every_n_steps)
    _after_training(session, model, input_sample(X))
    return result


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _trained_params(model: Any, given: dict[str, Any]) -> dict[str, Any]:
    """``get_all_params()`` flattened, less the keys logged before training (a float32
    rounding of the user's 0.8 must not conflict with it)."""
    from autolog.integrations._boosting import flatten_params

    return {k: v for k, v in flatten_params(model.get_all_params()).items() if k not in given}


def _metric_period(model: Any, call: Any) -> int:
    period = call.argument("metric_period")
    if period is None:
        period = model.get_params().get("metric_period")
    try:
        return max(int(period or 1), 1)
    except (TypeError, ValueError):
        return 1


def _log_summary(session: Any, model: Any, call: Any, per_iteration: bool,
                 every: int | None) -> None:
    from autolog.integrations._boosting import log_early_stopping, metric_keys

    all_params = model.get_all_params()
    iterations = int(all_params.get("iterations") or 0)
    evals = model.get_evals_result() or {}
    if per_iteration:
        history, ran = log_evals(session, evals, _metric_period(model, call), iterations,
                                 every)
    else:  # the user's AutologCallback logged them: only the summary from here
        history, ran = log_evals(_Discard(), evals, _metric_period(model, call),
                                 iterations, None)
    best = model.get_best_iteration()
    if best is None:
        return
    scores = model.get_best_score() or {}
    summary = {f"best.{metric_keys(data, metric)[0]}": float(value)
               for data, values in scores.items() for metric, value in values.items()}
    stopped = "od_type" in all_params and 0 < ran < iterations
    if stopped:
        session.log_metrics(summary)
        log_early_stopping(session, history, int(best), ran, int(best))
    else:
        summary["best_iteration"] = int(best)
        session.log_metrics(summary)


class _Discard:
    """A recorder that records nothing (the history is still built)."""

    def log_metrics(self, metrics: Any, step: int | None = None) -> None:
        pass


def _named_eval_sets(call: Any) -> list[tuple[str, Any]]:
    """``(name, X)`` of the evaluation sets, named as CatBoost names them: ``validation``
    for one, ``validation_<i>`` for several. A ``(X, y)`` pair gives X; a Pool itself."""
    eval_set = call.argument("eval_set")
    if eval_set is None:
        return []
    sets = eval_set if isinstance(eval_set, list) else [eval_set]
    named = []
    for index, item in enumerate(sets):
        name = "validation" if len(sets) == 1 else f"validation_{index}"
        data = item[0] if isinstance(item, tuple) and item else item
        if data is not None and not isinstance(data, (str, bytes)):
            named.append((name, data))
    return named


def _importance(model: Any) -> dict[str, dict[str, float]]:
    """``{PredictionValuesChange: {feature: value}}``: the values ``fit`` computed (it
    keeps them for ``feature_importances_``), else computed from the model's leaf weights
    (ranking losses) without leaving them on the user's model."""
    values = getattr(model, "_prediction_values_change", None)
    if values is None:
        state = model.__dict__
        missing = object()
        before = state.get("_prediction_values_change", missing)
        try:
            values = model.get_feature_importance(type=IMPORTANCE_TYPE)
        finally:
            if before is missing:
                state.pop("_prediction_values_change", None)
            else:
                state["_prediction_values_change"] = before
    names = [str(name) for name in model.feature_names_]
    return {IMPORTANCE_TYPE: {name: float(v) for name, v in zip(names, list(values))}}


def _after_training(session: Any, model: Any, sample: Any) -> None:
    from autolog.integrations._boosting import log_importance
    from autolog.models import infer_model_signature

    # No remember_model: CatBoost models define __eq__ without __hash__ (no weak key).
    config = session.config
    with guard("catboost: feature importance"):
        plot = IMPORTANCE_TYPE if config.log_feature_importance_plot else None
        log_importance(session, _importance(model), plot)
    if config.log_models:
        with guard("catboost: logging the model"):
            signature = None
            if config.log_model_signatures and sample is not None:
                signature = infer_model_signature(model, sample, "catboost")
            _models.log_model(session, model, "catboost", name="model", signature=signature,
                              input_example=sample if config.log_input_examples else None,
                              registered_model_name=config.registered_model_name)


# -- the integration ------------------------------------------------------------------------


class CatBoostIntegration(Integration):
    name = "catboost"
    module = "catboost"
    distributions = ("catboost",)
    supported = ">=1.2,<2"
    config_class = CatBoostConfig

    def patches(self) -> list[SubclassPatch]:
        return [SubclassPatch("catboost.core:CatBoost", "fit", on_fit)]


autolog = integration_autolog("catboost")
