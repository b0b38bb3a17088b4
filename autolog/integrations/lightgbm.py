"""LightGBM autologging: ``lightgbm.train``, ``lightgbm.cv`` and the scikit-learn wrappers.

What one outermost training call records (the core adds duration, resources and tags):

* params: the params as passed (nested values flattened) plus ``num_boost_round``
  (``train``/``cv``), or the wrapper's ``get_params()``;
* per-iteration metrics ``{eval_name}-{metric}`` (``valid_0-binary_logloss``,
  ``training-l2``) at step = iteration (``cv``: ``-mean`` and ``-std``), through
  `callback()` added to a copy of the user's callback list;
* early stopping: ``best_iteration`` (LightGBM's own, 1-based), ``stopped_iteration``
  (iterations run) and the best iteration's metrics once more at the step after the last;
* feature importance (``importance_types``: split, gain) as JSON, a bar chart of ``gain``
  as PNG; datasets: shape, type and digest tags; the model in LightGBM's text format
  (`autolog.models.flavors.lightgbm`).

``callback()`` is also the explicit, patch-free way::

    with autolog.start_run():
        lightgbm.train(params, train_set, valid_sets=[valid],
                       callbacks=[autolog.lightgbm.callback()])

LightGBM's callback API has no end-of-training event, so the explicit callback logs
per-iteration metrics only; the early-stopping summary comes with autologging.

Importing this module imports neither LightGBM nor NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autolog.core.config import AutologConfig
from autolog.core.patching import Patch, SubclassPatch, guard
from autolog.core.patching.integration import Integration
from autolog.core.patching.registry import integration_autolog
from autolog.integrations import _models
from autolog.integrations._boosting import MetricHistory, metric_keys, recorder_for_active_run

__all__ = ["AutologCallback", "LightGBMConfig", "LightGBMIntegration", "autolog", "callback"]

IMPORTANCE_TYPES = ("split", "gain")
#: lightgbm.dask's estimators (their fit trains on the workers; the client records it).
DASK_ESTIMATORS = ("DaskLGBMClassifier", "DaskLGBMRegressor", "DaskLGBMRanker")
PLOT_IMPORTANCE = "gain"
#: After the user's callbacks (no ``order``: negative), record_evaluation (20) and before
#: early_stopping (30), which ends training by raising: the last iteration is logged too.
CALLBACK_ORDER = 25


@dataclass
class LightGBMConfig(AutologConfig):
    #: Booster.feature_importance types written as feature_importance_<type>.json.
    importance_types: tuple[str, ...] | list[str] = IMPORTANCE_TYPES
    #: A bar chart PNG of the gain importance (drawn with Pillow, which matplotlib installs).
    log_feature_importance_plot: bool = True


class AutologCallback:
    """A LightGBM callback logging each iteration's eval metrics to a run.

    Without ``recorder`` it logs into the run active when training starts (one is started
    when none is). Use `callback()` to make one.
    """

    before_iteration = False

    def __init__(self, recorder: Any = None, log_every_n_steps: int | None = None) -> None:
        self.order = CALLBACK_ORDER  # an instance attribute: LightGBM setdefaults __dict__
        self._given = recorder
        self._every = log_every_n_steps or 0
        self._recorder: Any = None
        self._history = MetricHistory()
        self._keys: dict[tuple[str, str], tuple[str, str, str]] = {}

    def __deepcopy__(self, memo: dict) -> AutologCallback:
        return type(self)(self._given, self._every)

    def __getstate__(self) -> dict[str, Any]:
        return {"_every": self._every}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(None, state.get("_every"))

    def __call__(self, env: Any) -> None:
        if env.iteration == env.begin_iteration:  # a new training
            self._recorder = None
            self._history = MetricHistory()
            with guard("lightgbm: callback (start)"):
                self._recorder = self._given or recorder_for_active_run()
        recorder = self._recorder
        results = env.evaluation_result_list
        if recorder is None or not results:
            return
        with guard("lightgbm: callback"):
            keys = self._keys
            metrics: dict[str, float] = {}
            for item in results:
                key = keys.get((item[0], item[1]))
                if key is None:
                    key = keys[(item[0], item[1])] = metric_keys(item[0], item[1])
                if len(item) == 5:  # cv: (data, metric, mean, higher_better, std)
                    metrics[key[1]] = item[2]
                    metrics[key[2]] = item[4]
                else:
                    metrics[key[0]] = item[2]
            step = env.iteration
            self._history.add(step, metrics)
            if not self._every or step % self._every == 0:
                recorder.log_metrics(metrics, step=step)

    def finish(self, best_iteration: int, best_step: int) -> None:
        """After training: the last step when thinned, and the early-stopping summary
        (``best_iteration`` > 0, in LightGBM's 1-based numbering, logged as given;
        ``best_step`` is its step, counting rounds of an ``init_model`` as steps do)."""
        from autolog.integrations._boosting import log_early_stopping

        recorder = self._recorder
        history = self._history
        if recorder is None or not history.steps:
            return
        last = history.steps[-1]
        if self._every and last % self._every:
            recorder.log_metrics(history.values[-1], step=last)
        if best_iteration > 0:
            log_early_stopping(recorder, history, best_iteration, last + 1, best_step)


def callback(log_every_n_steps: int | None = None) -> AutologCallback:
    """The callback autologging adds, for explicit use inside ``autolog.start_run()``."""
    return AutologCallback(None, log_every_n_steps)


# -- hooks ----------------------------------------------------------------------------------


def on_train(session: Any, call: Any) -> Any:
    """``lightgbm.train``: params, datasets, the callback, then importance and the model."""
    from autolog.integrations._boosting import flatten_params, param_value
    from autolog.integrations._datasets import log_datasets

    config = session.config
    logged = flatten_params(call.argument("params"))
    logged.setdefault("num_boost_round", call.argument("num_boost_round"))
    feval = call.argument("feval")
    if feval is not None:
        logged.setdefault("feval", param_value(feval))
    session.log_params(logged)
    if config.log_datasets:
        log_datasets(session, [("train", call.argument("train_set")), *_named_valid(call)])
    cb = call.add_callback(AutologCallback(session, config.log_every_n_steps))
    booster = call.proceed()
    with guard("lightgbm: early stopping"):
        best = int(booster.best_iteration or 0)
        cb.finish(best, best - 1)
    _after_training(session, booster, booster, None)
    return booster


def on_cv(session: Any, call: Any) -> Any:
    """``lightgbm.cv``: params, the dataset, per-iteration mean and std of every metric."""
    from autolog.integrations._boosting import flatten_params, param_value
    from autolog.integrations._datasets import log_datasets

    config = session.config
    logged = flatten_params(call.argument("params"))
    for key in ("num_boost_round", "nfold", "stratified", "shuffle", "seed"):
        logged.setdefault(key, call.argument(key))
    metrics = call.argument("metrics")
    if metrics is not None:
        logged.setdefault("metrics", param_value(metrics))
    session.log_params(logged)
    if config.log_datasets:
        log_datasets(session, [("train", call.argument("train_set"))])
    cb = call.add_callback(AutologCallback(session, config.log_every_n_steps))
    result = call.proceed()
    with guard("lightgbm: early stopping"):
        series = [v for k, v in result.items() if k.endswith("-mean")] if isinstance(
            result, dict) else []
        # cv stops early by truncating its results to the best iteration.
        ran = len(cb._history.steps)
        if series and ran and len(series[0]) < ran:
            cb.finish(len(series[0]), cb._history.steps[0] + len(series[0]) - 1)
        else:
            cb.finish(0, 0)
    return result


def on_fit(session: Any, call: Any) -> Any:
    """``LGBMModel.fit`` (every wrapper): ``get_params()``, datasets, the callback,
    importance and the wrapper itself as the model."""
    from autolog.integrations._boosting import flatten_params, input_sample
    from autolog.integrations._datasets import log_datasets

    config = session.config
    model = call.instance
    session.log_params(flatten_params(model.get_params(deep=False)))
    X = call.argument("X")
    if config.log_datasets:
        log_datasets(session, [("train", X), *_named_eval_sets(call)])
    cb = call.add_callback(AutologCallback(session, config.log_every_n_steps))
    result = call.proceed()
    booster = model.booster_
    with guard("lightgbm: early stopping"):
        best = int(booster.best_iteration or 0)
        cb.finish(best, best - 1)
    _after_training(session, booster, model, input_sample(X))
    return result


def on_dask_fit(session: Any, call: Any) -> Any:
    """``DaskLGBMClassifier/Regressor/Ranker.fit``: ``get_params()``, datasets, the eval
    history from ``evals_result_``, the early-stopping summary, importance and the local
    model (``to_local()``) -- in the client process. The workers' own ``LGBMModel.fit``
    calls record nothing (`outside_dask_worker`)."""
    from autolog.core.tracking.sessions import remember_model
    from autolog.integrations._boosting import (
        flatten_params,
        log_early_stopping,
        log_eval_history,
    )
    from autolog.integrations._datasets import log_datasets

    config = session.config
    model = call.instance
    params = model.get_params(deep=False)
    params.pop("client", None)
    session.log_params(flatten_params(params))
    if config.log_datasets:
        log_datasets(session, [("train", call.argument("X")), *_named_eval_sets(call)])
    result = call.proceed()
    local = model.to_local()
    booster = local.booster_
    with guard("lightgbm: logging evals_result"):
        history = log_eval_history(session, getattr(model, "evals_result_", None) or {},
                                   booster.current_iteration(), config.log_every_n_steps)
        best = int(getattr(model, "best_iteration_", 0) or 0)
        if best > 0 and history.steps:
            # best_iteration counts the rounds of an init_model, as steps do.
            log_early_stopping(session, history, best, history.steps[-1] + 1, best - 1)
    remember_model(model, session)
    _after_training(session, booster, local, None)
    return result


def _named_valid(call: Any) -> list[tuple[str, Any]]:
    """``(name, Dataset)`` of ``lightgbm.train``'s validation sets, named as LightGBM's
    engine names them: a single Dataset or any iterable of them, ``valid_names`` a list,
    a tuple, one string or None; the training set among them is ``training`` (or its
    given name) and is left out here (it is the ``train`` dataset already)."""
    from lightgbm import Dataset

    valid_sets = call.argument("valid_sets")
    if valid_sets is None:
        return []
    if isinstance(valid_sets, Dataset):
        valid_sets = [valid_sets]
    elif not isinstance(valid_sets, (list, tuple)):
        # A generator: LightGBM iterates it once, so the call gets the same items as a
        # tuple (a tuple, not a list: train type-checks list items, not tuple items).
        valid_sets = tuple(valid_sets)
        call.set_argument("valid_sets", valid_sets)
    names = call.argument("valid_names")
    if isinstance(names, str):
        names = [names]
    train_set = call.argument("train_set")
    return [(str(names[i]) if names is not None and len(names) > i else f"valid_{i}", data)
            for i, data in enumerate(valid_sets) if data is not train_set]


def _named_eval_sets(call: Any) -> list[tuple[str, Any]]:
    """``(name, X)`` of a wrapper's evaluation sets, as ``LGBMModel.fit`` builds them
    (``eval_set`` a list or one pair; ``eval_X`` one input or a tuple; a set that is the
    training data itself is LightGBM's ``training`` and is left out)."""
    eval_set = call.argument("eval_set")
    if eval_set is None and call.argument("eval_X") is not None:
        eval_x, eval_y = call.argument("eval_X"), call.argument("eval_y")
        if isinstance(eval_x, tuple) and isinstance(eval_y, tuple):
            eval_set = list(zip(eval_x, eval_y))
        else:
            eval_set = [(eval_x, eval_y)]
    if isinstance(eval_set, tuple):
        eval_set = [eval_set]
    names = call.argument("eval_names")
    if isinstance(names, str):
        names = [names]
    X, y = call.argument("X"), call.argument("y")
    named = []
    for i, pair in enumerate(eval_set or ()):
        if not isinstance(pair, (list, tuple)) or not pair:
            continue
        if pair[0] is X and len(pair) > 1 and pair[1] is y:
            continue
        named.append((str(names[i]) if names is not None and len(names) > i else f"valid_{i}",
                      pair[0]))
    return named


def _after_training(session: Any, booster: Any, model: Any, sample: Any) -> None:
    from autolog.core.tracking.sessions import remember_model
    from autolog.integrations._boosting import log_importance
    from autolog.models import infer_model_signature

    config = session.config
    remember_model(model, session)
    kinds = [k for k in config.importance_types if k in IMPORTANCE_TYPES]
    if kinds:
        with guard("lightgbm: feature importance"):
            names = booster.feature_name()
            importance = {kind: dict(zip(names, booster.feature_importance(kind).tolist()))
                          for kind in kinds}
            plot = PLOT_IMPORTANCE if config.log_feature_importance_plot else None
            log_importance(session, importance, plot if plot in importance else None)
    if config.log_models:
        with guard("lightgbm: logging the model"):
            signature = None
            if config.log_model_signatures and sample is not None:
                signature = infer_model_signature(model, sample, "lightgbm")
            _models.log_model(session, model, "lightgbm", name="model", signature=signature,
                              input_example=sample if config.log_input_examples else None,
                              registered_model_name=config.registered_model_name)


# -- the integration ------------------------------------------------------------------------


def _not_ours(cls: type) -> bool:
    """Dask estimators (and subclasses of them) have their own training path: `on_dask_fit`."""
    return any((base.__module__ or "").startswith("lightgbm.dask") for base in cls.__mro__)


class LightGBMIntegration(Integration):
    name = "lightgbm"
    module = "lightgbm"
    distributions = ("lightgbm",)
    supported = ">=4.0,<5"
    config_class = LightGBMConfig

    def patches(self) -> list[Patch | SubclassPatch]:
        from autolog.integrations._boosting import outside_dask_worker as local

        return [
            Patch("lightgbm:train", on_train, when=local),
            Patch("lightgbm:cv", on_cv, when=local),
            SubclassPatch("lightgbm.sklearn:LGBMModel", "fit", on_fit, skip_class=_not_ours,
                          when=local),
        ] + [SubclassPatch(f"lightgbm.dask:{name}", "fit", on_dask_fit, when=local)
             for name in DASK_ESTIMATORS]


autolog = integration_autolog("lightgbm")
