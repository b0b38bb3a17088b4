"""XGBoost autologging: ``xgboost.train``, ``xgboost.cv`` and the scikit-learn wrappers.

What one outermost training call records (the core adds duration, resources and tags):

* params: the booster params as passed (nested values flattened) plus ``num_boost_round``
  and ``early_stopping_rounds`` (``train``/``cv``), or the wrapper's ``get_params()``;
* per-iteration metrics ``{eval_name}-{metric}`` at step = iteration (``cv``: ``-mean`` and
  ``-std``), through `AutologCallback` added to a copy of the user's callback list;
  through a wrapper (whose ``fit`` takes no callbacks) from ``evals_result()`` after fit;
* early stopping: ``best_iteration``, ``stopped_iteration`` and the best iteration's
  metrics once more at the step after the last;
* feature importance (``importance_types``) as JSON, a bar chart of ``gain`` as PNG;
* datasets: shape, type and digest tags; the model in UBJSON (`autolog.models.flavors.xgboost`).

``AutologCallback`` is also the explicit, patch-free way::

    with autolog.start_run():
        xgboost.train(params, dtrain, evals=[(dvalid, "valid")],
                      callbacks=[autolog.xgboost.AutologCallback()])

Importing this module imports neither XGBoost nor NumPy; ``AutologCallback`` (a
``xgboost.callback.TrainingCallback``) is created on first access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autolog.core.config import AutologConfig
from autolog.core.patching import Patch, SubclassPatch, guard
from autolog.core.patching.integration import Integration
from autolog.core.patching.registry import integration_autolog
from autolog.integrations import _models

# ``AutologCallback`` is also public: created on first access (it subclasses XGBoost's).
__all__ = ["XGBoostConfig", "XGBoostIntegration", "autolog"]

IMPORTANCE_TYPES = ("weight", "gain", "cover", "total_gain", "total_cover")
PLOT_IMPORTANCE = "gain"


@dataclass
class XGBoostConfig(AutologConfig):
    #: Booster.get_score importance types written as feature_importance_<type>.json.
    importance_types: tuple[str, ...] | list[str] = IMPORTANCE_TYPES
    #: A bar chart PNG of the gain importance (drawn with Pillow, which matplotlib installs).
    log_feature_importance_plot: bool = True


# -- the callback ---------------------------------------------------------------------------

_callback_class: type | None = None


def _make_callback_class() -> type:
    from xgboost.callback import TrainingCallback

    from autolog.integrations._boosting import (
        MetricHistory,
        log_early_stopping,
        metric_keys,
        recorder_for_active_run,
    )

    class AutologCallback(TrainingCallback):
        """Logs each iteration's eval metrics (and the early-stopping summary) to a run.

        Without ``recorder`` it logs into the run active when training starts (one is
        started when none is). ``log_every_n_steps`` thins the per-iteration metrics.
        """

        def __init__(self, recorder: Any = None, log_every_n_steps: int | None = None):
            super().__init__()
            self._given = recorder
            self._every = log_every_n_steps or 0
            self._recorder: Any = None
            self._evals_log: Any = None
            self._history = MetricHistory()
            self._keys: dict[tuple[str, str], tuple[str, str, str]] = {}
            self._start = 0  # rounds the model had before (training continued from xgb_model)

        def __deepcopy__(self, memo: dict) -> AutologCallback:  # sklearn clone, GridSearchCV
            return type(self)(self._given, self._every)

        def __getstate__(self) -> dict[str, Any]:
            return {"_every": self._every}

        def __setstate__(self, state: dict[str, Any]) -> None:
            self.__init__(None, state.get("_every"))

        def before_training(self, model: Any) -> Any:
            self._recorder = None
            self._evals_log = None
            self._history = MetricHistory()
            self._start = 0
            with guard("xgboost: AutologCallback.before_training"):
                rounds = getattr(model, "num_boosted_rounds", None)  # not on cv's folds
                # XGBoost numbers this call's iterations from 0; best_iteration and the
                # model's rounds count the earlier ones too: steps do as well.
                self._start = int(rounds()) if rounds is not None else 0
                self._recorder = self._given or recorder_for_active_run()
            return model

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            recorder = self._recorder
            if recorder is None or not evals_log:
                return False
            self._evals_log = evals_log
            with guard("xgboost: AutologCallback.after_iteration"):
                self._log(recorder, epoch, evals_log, False)
            return False

        def _log(self, recorder: Any, epoch: int, evals_log: Any, force: bool) -> None:
            epoch += self._start
            keys = self._keys
            metrics: dict[str, float] = {}
            for data, scores in evals_log.items():
                for metric, values in scores.items():
                    key = keys.get((data, metric))
                    if key is None:
                        key = keys[(data, metric)] = metric_keys(data, metric)
                    value = values[-1]
                    if isinstance(value, tuple):  # cv: (mean, std)
                        metrics[key[1]] = value[0]
                        metrics[key[2]] = value[1]
                    else:
                        metrics[key[0]] = value
            self._history.add(epoch, metrics)
            if force or not self._every or epoch % self._every == 0:
                recorder.log_metrics(metrics, step=epoch)

        def after_training(self, model: Any) -> Any:
            recorder = self._recorder
            history = self._history
            if recorder is None or not history.steps:
                return model
            with guard("xgboost: AutologCallback.after_training"):
                last = history.steps[-1]
                rounds = getattr(model, "num_boosted_rounds", None)
                final = rounds() - 1 if rounds is not None else last
                if final > last and self._evals_log:
                    # A callback before ours ended training: XGBoost skipped the rest.
                    self._log(recorder, final - self._start, self._evals_log, True)
                    last = final
                elif self._every and last % self._every:
                    recorder.log_metrics(history.values[-1], step=last)
                attr = getattr(model, "attr", None)
                best = attr("best_iteration") if attr is not None else None
                if best is not None:
                    log_early_stopping(recorder, history, int(best), last, int(best))
            return model

    AutologCallback.__module__ = __name__
    AutologCallback.__qualname__ = "AutologCallback"
    return AutologCallback


def _callback() -> type:
    global _callback_class
    if _callback_class is None:
        _callback_class = _make_callback_class()
    return _callback_class


def __getattr__(name: str) -> Any:
    if name == "AutologCallback":
        return _callback()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- hooks ----------------------------------------------------------------------------------


def _name(value: Any) -> Any:
    from autolog.integrations._boosting import param_value

    return param_value(value)


def _train_params(call: Any, values: tuple[str, ...], functions: tuple[str, ...]
                  ) -> dict[str, Any]:
    """``params`` flattened, plus the call's own arguments: ``values`` as given, and the
    ``functions`` passed (custom objective, metric) by name."""
    from autolog.integrations._boosting import flatten_params

    logged = flatten_params(call.argument("params"))
    for key in values:
        logged.setdefault(key, call.argument(key))
    for key in functions:
        value = call.argument(key)
        if value is not None:
            logged.setdefault(key, _name(value))
    return logged


def on_train(session: Any, call: Any) -> Any:
    """``xgboost.train``: params, datasets, the callback, then importance and the model."""
    from autolog.integrations._datasets import log_datasets

    config = session.config
    logged = _train_params(call, ("num_boost_round", "early_stopping_rounds", "maximize"),
                           ("obj", "custom_metric", "feval"))
    session.log_params(logged)
    if config.log_datasets:
        log_datasets(session, [("train", call.argument("dtrain")), *_named_evals(call)])
    call.add_callback(_callback()(session, config.log_every_n_steps))
    booster = call.proceed()
    booster_type = str(logged.get("booster", "gbtree"))
    _after_training(session, booster, booster, booster_type, None)
    return booster


def on_cv(session: Any, call: Any) -> Any:
    """``xgboost.cv``: params, the dataset, per-iteration mean and std of every metric."""
    from autolog.integrations._boosting import flatten_params
    from autolog.integrations._datasets import log_datasets

    config = session.config
    logged = flatten_params(call.argument("params"))
    for key in ("num_boost_round", "nfold", "stratified", "early_stopping_rounds", "seed",
                "shuffle", "maximize"):
        logged.setdefault(key, call.argument(key))
    metrics = call.argument("metrics")
    if metrics:
        logged.setdefault("metrics", _name(list(metrics) if not isinstance(metrics, str)
                                           else metrics))
    session.log_params(logged)
    if config.log_datasets:
        log_datasets(session, [("train", call.argument("dtrain"))])
    call.add_callback(_callback()(session, config.log_every_n_steps))
    return call.proceed()


def on_fit(session: Any, call: Any) -> Any:
    """``XGBModel.fit`` (every wrapper): ``get_params()``, datasets, the eval history
    from ``evals_result()``, importance and the wrapper itself as the model."""
    from autolog.integrations._boosting import flatten_params, input_sample
    from autolog.integrations._datasets import log_datasets

    config = session.config
    model = call.instance
    session.log_params(flatten_params(model.get_params(deep=False)))
    X = call.argument("X")
    if config.log_datasets:
        eval_set = call.argument("eval_set") or ()
        log_datasets(session, [("train", X)] + [
            (f"validation_{i}", pair[0]) for i, pair in enumerate(eval_set)
            if isinstance(pair, (list, tuple)) and pair
        ])
    result = call.proceed()
    booster = model.get_booster()
    explicit = _callback_class is not None and any(
        isinstance(cb, _callback_class) for cb in (model.callbacks or ()))
    if not explicit:
        with guard("xgboost: logging evals_result"):
            _log_evals_result(session, getattr(model, "evals_result_", None), booster,
                              config.log_every_n_steps)
    _after_training(session, booster, model, str(getattr(model, "booster", None) or "gbtree"),
                    input_sample(X))
    return result


def on_dask_train(session: Any, call: Any) -> Any:
    """``xgboost.dask.train``: params, then in this (the client) process the returned
    ``history`` per iteration, the early-stopping summary, importance and the booster. The
    workers' own ``xgboost.train`` calls record nothing (`outside_dask_worker`)."""
    from autolog.integrations._datasets import log_datasets

    config = session.config
    logged = _train_params(call, ("num_boost_round", "early_stopping_rounds"),
                           ("obj", "custom_metric"))
    session.log_params(logged)
    if config.log_datasets:
        log_datasets(session, [("train", call.argument("dtrain")), *_named_evals(call)])
    result = call.proceed()
    if not isinstance(result, dict) or result.get("booster") is None:
        return result  # an asynchronous client returns an awaitable: nothing to read yet
    booster = result["booster"]
    with guard("xgboost: logging the dask history"):
        _log_evals_result(session, result.get("history"), booster, config.log_every_n_steps)
    _after_training(session, booster, booster, str(logged.get("booster", "gbtree")), None)
    return result


def on_dask_fit(session: Any, call: Any) -> Any:
    """``DaskXGBClassifier/Regressor/Ranker/RF*.fit``: ``get_params()``, datasets, the eval
    history from ``evals_result()``, importance and the booster (``get_booster()``, the
    local model) -- in the client process; the workers record nothing."""
    from autolog.core.tracking.sessions import remember_model
    from autolog.integrations._boosting import flatten_params
    from autolog.integrations._datasets import log_datasets

    config = session.config
    model = call.instance
    session.log_params(flatten_params(model.get_params(deep=False)))
    if config.log_datasets:
        eval_set = call.argument("eval_set") or ()
        log_datasets(session, [("train", call.argument("X"))] + [
            (f"validation_{i}", pair[0]) for i, pair in enumerate(eval_set)
            if isinstance(pair, (list, tuple)) and pair
        ])
    result = call.proceed()
    if result is not model:
        return result  # an asynchronous client's awaitable: the fit has not run yet
    booster = model.get_booster()
    with guard("xgboost: logging evals_result"):
        _log_evals_result(session, getattr(model, "evals_result_", None), booster,
                          config.log_every_n_steps)
    remember_model(model, session)
    _after_training(session, booster, booster, str(getattr(model, "booster", None) or "gbtree"),
                    None)
    return result


def _named_evals(call: Any) -> list[tuple[str, Any]]:
    """``(name, DMatrix)`` of ``xgboost.train``'s ``evals``, which XGBoost takes as any
    iterable of ``(DMatrix, name)`` pairs (it calls ``list(evals)``); the training
    DMatrix among them is the ``train`` dataset already and is left out."""
    evals = call.argument("evals")
    if not evals:
        return []
    if not isinstance(evals, (list, tuple)):
        # A generator: read once here, so the call gets the same items as a list (what
        # XGBoost makes of it anyway).
        evals = list(evals)
        call.set_argument("evals", evals)
    dtrain = call.argument("dtrain")
    return [(str(item[1]), item[0]) for item in evals
            if isinstance(item, (list, tuple)) and len(item) == 2 and item[0] is not dtrain]


def _log_evals_result(session: Any, evals: Any, booster: Any, every: int | None) -> None:
    """A finished training's eval history (``evals_result_``, ``history``), per iteration,
    and the early-stopping summary."""
    from autolog.integrations._boosting import log_early_stopping, log_eval_history

    if not evals:
        return
    history = log_eval_history(session, evals, booster.num_boosted_rounds(), every)
    best = booster.attr("best_iteration")
    if best is not None and history.steps:
        log_early_stopping(session, history, int(best), history.steps[-1], int(best))


def _after_training(session: Any, booster: Any, model: Any, booster_type: str,
                    sample: Any) -> None:
    from autolog.core.tracking.sessions import remember_model
    from autolog.integrations._boosting import log_importance
    from autolog.models import infer_model_signature

    config = session.config
    remember_model(model, session)
    if booster_type != "gblinear" and config.importance_types:
        with guard("xgboost: feature importance"):
            importance = {kind: booster.get_score(importance_type=kind)
                          for kind in config.importance_types}
            plot = PLOT_IMPORTANCE if config.log_feature_importance_plot else None
            log_importance(session, importance, plot if plot in importance else None)
    if config.log_models:
        with guard("xgboost: logging the model"):
            signature = None
            if config.log_model_signatures and sample is not None:
                signature = infer_model_signature(model, sample, "xgboost")
            _models.log_model(session, model, "xgboost", name="model", signature=signature,
                              input_example=sample if config.log_input_examples else None,
                              registered_model_name=config.registered_model_name)


# -- the integration ------------------------------------------------------------------------


def _not_ours(cls: type) -> bool:
    """Dask and Spark estimators (and subclasses of them) have their own training paths:
    the Dask ones get `on_dask_fit`, the Spark ones are left alone."""
    return any((base.__module__ or "").startswith(("xgboost.dask", "xgboost.spark"))
               for base in cls.__mro__)


class XGBoostIntegration(Integration):
    name = "xgboost"
    module = "xgboost"
    distributions = ("xgboost",)
    supported = ">=2.1,<4"
    config_class = XGBoostConfig

    def patches(self) -> list[Patch | SubclassPatch]:
        from autolog.integrations._boosting import outside_dask_worker as local

        return [
            Patch("xgboost:train", on_train, when=local),
            Patch("xgboost:cv", on_cv, when=local),
            SubclassPatch("xgboost.sklearn:XGBModel", "fit", on_fit, skip_class=_not_ours,
                          when=local),
            Patch("xgboost.dask:train", on_dask_train, when=local),
            SubclassPatch("xgboost.dask:DaskScikitLearnBase", "fit", on_dask_fit, when=local),
        ]


autolog = integration_autolog("xgboost")
