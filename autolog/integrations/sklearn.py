"""scikit-learn autologging: every outermost ``fit`` is a run.

``autolog.autolog()`` (or ``autolog.sklearn.autolog()``), then::

    LogisticRegression().fit(X, y)          # a run: params, training metrics, plots, model
    y_pred = model.predict(X_test)
    accuracy_score(y_test, y_pred)          # logged into that run as accuracy_score_X_test

What is patched, and when (each as its sklearn module is imported; nothing is imported
here, and nothing beyond what the user imported when patches are applied):

* ``fit``, ``fit_transform``, ``fit_predict`` (training) and ``partial_fit`` (training,
  resuming the estimator's earlier run) on every `sklearn.base.BaseEstimator` subclass
  that defines them -- sklearn's own and the user's, but not classes of frameworks that
  have their own integration (xgboost, lightgbm, keras, ...) -- and the mixins'
  ``TransformerMixin.fit_transform`` / ``ClusterMixin.fit_predict`` /
  ``OutlierMixin.fit_predict``.
* ``predict``, ``predict_proba``, ``predict_log_proba``, ``decision_function``,
  ``transform`` and ``score`` (observers, for post-training metrics) and the scoring
  functions of `sklearn.metrics` (`_sklearn_post`: their gates run before anything
  else, so a model autolog did not train costs one dict lookup more than the original).
* ``cross_validate``, ``cross_val_score``, ``cross_val_predict``: one run (`sklearn_cv`).

This module says what a fit records: params, dataset tags, training metrics
(`_sklearn_metrics`), curves, plots (drawn by `_plots` off the training thread), a
search's results and its best candidates as child runs of the session, the model. The
model -> run link is the core's weak-keyed map (`remember_model`).
"""

from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass
from typing import Any

from autolog.core.config import AutologConfig
from autolog.core.patching import Patch, SubclassPatch, guard
from autolog.core.patching.integration import Integration
from autolog.core.patching.registry import integration_autolog
from autolog.core.tracking.recorder import RunRecorder
from autolog.core.tracking.sessions import recorder_for_model, remember_model
from autolog.integrations import _models, _plots
from autolog.integrations._datasets import dataset_tags, is_sparse, log_dataset
from autolog.integrations._params import estimator_params, param_value
from autolog.integrations._sklearn_metrics import (
    TrainingPredictions,
    inner_estimator,
    is_classifier,
    training_metrics,
)
from autolog.integrations._sklearn_post import has_predictions, linked, on_metric, on_predict

__all__ = ["SklearnConfig", "SklearnIntegration", "autolog"]

FLAVOR = "sklearn"

#: Top-level packages whose estimators derive from BaseEstimator but are logged by their
#: own integration (or are wrappers around one): their classes are left unpatched.
FOREIGN_PACKAGES = frozenset({
    "xgboost", "lightgbm", "keras", "tensorflow", "tf_keras", "torch", "lightning",
    "pytorch_lightning", "skorch", "scikeras", "catboost",
})

TRAINING_METHODS = ("fit", "fit_transform", "fit_predict")
PREDICTION_METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function",
                      "transform")
OBSERVED_METHODS = (*PREDICTION_METHODS, "score")

#: Where the patched methods are defined: estimators, and the mixins of `sklearn.base`
#: (``LinearClassifierMixin.predict`` derives from ClassifierMixin, not BaseEstimator).
#: A class is patched by the first of these it derives from, so never twice.
PATCHED_BASES = ("BaseEstimator", "ClassifierMixin", "RegressorMixin", "TransformerMixin",
                 "ClusterMixin", "OutlierMixin", "DensityMixin")

#: `sklearn.metrics` functions logged as post-training metrics (all exist since 1.4).
METRIC_FUNCTIONS = (
    "accuracy_score", "adjusted_mutual_info_score", "adjusted_rand_score",
    "average_precision_score", "balanced_accuracy_score", "brier_score_loss",
    "calinski_harabasz_score", "cohen_kappa_score", "completeness_score", "coverage_error",
    "d2_absolute_error_score", "d2_pinball_score", "d2_tweedie_score",
    "davies_bouldin_score", "dcg_score", "explained_variance_score", "f1_score",
    "fbeta_score", "fowlkes_mallows_score", "hamming_loss", "hinge_loss",
    "homogeneity_score", "jaccard_score", "label_ranking_average_precision_score",
    "label_ranking_loss", "log_loss", "max_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_pinball_loss", "mean_squared_error",
    "mean_squared_log_error", "median_absolute_error", "mutual_info_score", "ndcg_score",
    "normalized_mutual_info_score", "precision_score", "r2_score", "rand_score",
    "recall_score", "roc_auc_score", "root_mean_squared_error",
    "root_mean_squared_log_error", "silhouette_score", "top_k_accuracy_score",
    "v_measure_score", "zero_one_loss",
)

#: Fitted attributes of iterative estimators logged as metrics with steps.
CURVES = (("loss_curve_", "loss_curve"), ("validation_scores_", "validation_scores"),
          ("train_score_", "train_score"), ("oob_improvement_", "oob_improvement"))

INPUT_EXAMPLE_ROWS = 5


@dataclass
class SklearnConfig(AutologConfig):
    """scikit-learn options on top of the common ones (MLflow's names where it has them)."""

    log_training_metrics: bool = True
    log_post_training_metrics: bool = True
    log_plots: bool = True
    max_tuning_runs: int | None = 5


# -- which classes and calls ---------------------------------------------------------------


#: sklearn modules whose estimators sklearn fits internally, outside any estimator's fit
#: (``LabelEncoder`` inside ``f1_score``, ``LabelBinarizer`` inside ``log_loss``): a run
#: each would be noise.
INTERNAL_MODULES = frozenset({"sklearn.preprocessing._label"})


def _foreign(cls: type) -> bool:
    module = getattr(cls, "__module__", None) or ""
    return module.partition(".")[0] in FOREIGN_PACKAGES or module in INTERNAL_MODULES


def _skip_class(earlier: tuple[str, ...]):
    """Leave alone foreign classes and classes an earlier base's patch already covers."""

    def skip(cls: type) -> bool:
        if _foreign(cls):
            return True
        if not earlier:
            return False
        base = sys.modules.get("sklearn.base")
        return any(issubclass(cls, getattr(base, name)) for name in earlier)

    return skip


# partial_fit: model -> how many partial_fit calls were logged (the step of the next)
_partial_steps: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _resume_partial_fit(call) -> str | None:
    try:
        if call.instance not in _partial_steps:
            return None
    except TypeError:
        return None
    recorder = recorder_for_model(call.instance)
    return recorder.run_id if recorder is not None else None


# -- training hooks ------------------------------------------------------------------------


def _fit_data(call) -> tuple[Any, Any, Any]:
    args = call.arguments
    names = list(args)
    X = args.get("X", args[names[0]] if names else None)
    y = args.get("y", args.get("Y"))
    if y is None and "y" not in args and len(names) > 1 and names[1] not in (
            "sample_weight", "groups"):
        y = args[names[1]]
    return X, y, args.get("sample_weight")


def on_fit(session, call) -> None:
    """Hook of ``fit``/``fit_transform``/``fit_predict``: one run for the outermost call."""
    estimator = call.instance
    config: SklearnConfig = session.config
    X, y, sample_weight = _fit_data(call)
    cls = type(estimator)
    session.set_tags({"estimator_name": cls.__name__,
                      "estimator_class": f"{cls.__module__}.{cls.__qualname__}"})
    # Functions, not values: computing them runs inside each record's own isolation.
    session.log_params(lambda: estimator_params(estimator))
    if config.log_datasets:
        log_dataset(session, X, y, dataset_tags)
    result = call.proceed()
    remember_model(estimator, session)
    _after_training(session, config, estimator, call.function.__name__, result, X, y,
                    sample_weight)


def on_partial_fit(session, call) -> None:
    """Hook of ``partial_fit``: one run per estimator, metrics per call at step 0, 1, ..."""
    estimator = call.instance
    config: SklearnConfig = session.config
    X, y, sample_weight = _fit_data(call)
    step = _partial_steps.get(estimator, 0)
    if step == 0:
        cls = type(estimator)
        session.set_tags({"estimator_name": cls.__name__,
                          "estimator_class": f"{cls.__module__}.{cls.__qualname__}"})
        session.log_params(lambda: estimator_params(estimator))
        if config.log_datasets:
            log_dataset(session, X, y, dataset_tags)
    call.proceed()
    _partial_steps[estimator] = step + 1
    remember_model(estimator, session)
    if config.log_training_metrics and y is not None:
        session.log_metrics(training_metrics(estimator, X, y, sample_weight), step=step)


def _after_training(session, config, estimator, method, result, X, y, sample_weight) -> None:
    search = _search_class()
    is_search = search is not None and isinstance(estimator, search)
    # Each record on its own: one that fails (a user's predict_proba returning strings)
    # costs that record only, never the model.
    predictions = TrainingPredictions(estimator, X, y, sample_weight)
    if config.log_training_metrics:
        labels = result if method == "fit_predict" else None
        if not is_search or hasattr(estimator, "best_estimator_"):
            with guard("sklearn: training metrics"):
                session.log_metrics(training_metrics(estimator, X, y, sample_weight, labels,
                                                     predictions))
    with guard("sklearn: curves"):
        _log_curves(session, inner_estimator(estimator))
    if config.log_plots and y is not None and X is not None and is_classifier(estimator) \
            and hasattr(estimator, "predict") \
            and (not is_search or hasattr(estimator, "best_estimator_")):
        with guard("sklearn: plots"):
            _log_classifier_plots(session, predictions)
    model = estimator
    if is_search:
        with guard("sklearn: search results"):
            _log_search(session, config, estimator)
        model = getattr(estimator, "best_estimator_", None)
    if config.log_models and model is not None:
        with guard("sklearn: logging the model"):
            _log_model(session, config, model, X)


def _search_class() -> type | None:
    module = sys.modules.get("sklearn.model_selection._search")
    return getattr(module, "BaseSearchCV", None)


def _log_curves(session, estimator: Any) -> None:
    for attribute, key in CURVES:
        values = getattr(estimator, attribute, None)
        if values is None or not hasattr(values, "__len__") or isinstance(values, str):
            continue
        for step, value in enumerate(values):
            session.log_metric(key, float(value), step=step)
    n_iter = getattr(estimator, "n_iter_", None)
    if n_iter is not None:
        try:
            value = max(n_iter) if hasattr(n_iter, "__len__") else n_iter
            session.log_metric("n_iter", float(value))
        except (TypeError, ValueError):  # an n_iter_ that is no number: nothing to log
            pass


# -- plots --------------------------------------------------------------------------------


def _log_classifier_plots(session, predictions: TrainingPredictions) -> None:
    """Confusion matrix; ROC and precision-recall curves for binary problems (PNG).

    Only what reads the user's data runs here, from the predictions the training metrics
    made: the curves' points and the drawing (~50 ms) are computed after fit has returned,
    on autolog's worker, from arrays of autolog's own (never the user's, which may change).
    """
    if not _plots.has_matplotlib():
        return
    found = predictions.indexed()
    if found is None:
        _log_classifier_plots_general(session, predictions)
        return
    if len(found.classes) > 50:
        return
    binary = None
    if len(found.classes) == 2:
        scores = None
        if found.proba is not None:
            scores = found.proba[:, 1].copy()
        elif hasattr(predictions.estimator, "decision_function"):
            import numpy as np

            scores = np.array(predictions.estimator.decision_function(predictions.X),
                              dtype=float)
        if scores is not None:
            weight = None if predictions.sample_weight is None else found.weight
            binary = ((found.true_index == 1).astype(int), scores, weight)
    _draw_plots(session, found.matrix, found.classes, binary)


def _log_classifier_plots_general(session, predictions: TrainingPredictions) -> None:
    """Targets the indexed path does not take (classes it cannot sort): sklearn's own
    functions, on this thread."""
    import numpy as np
    from sklearn.metrics import confusion_matrix
    from sklearn.utils.multiclass import type_of_target

    estimator, X, y = predictions.estimator, predictions.X, predictions.y
    sample_weight = predictions.sample_weight
    target = type_of_target(y)
    classes = getattr(estimator, "classes_", None)
    if target not in ("binary", "multiclass") or classes is None or len(classes) > 50:
        return
    y_pred = estimator.predict(X)
    matrix = confusion_matrix(y, y_pred, labels=classes, sample_weight=sample_weight)
    binary = None
    if target == "binary" and len(classes) == 2:
        scores = None
        if hasattr(estimator, "predict_proba"):
            scores = np.asarray(estimator.predict_proba(X))[:, 1]
        elif hasattr(estimator, "decision_function"):
            scores = np.asarray(estimator.decision_function(X))
        if scores is not None:
            weight = None if sample_weight is None else np.array(sample_weight, dtype=float)
            binary = ((np.asarray(y) == classes[1]).astype(int),
                      np.array(scores, dtype=float), weight)
    _draw_plots(session, matrix, classes, binary)


def _draw_plots(session, matrix, classes, binary) -> None:
    """Queue the confusion matrix and, for ``binary = (positive, scores, weight)``, the
    ROC and precision-recall curves, drawn on autolog's worker."""
    recorder = RunRecorder(session.run_id, session.uri)
    _plots.draw_later(recorder, "sklearn", "training_confusion_matrix.png",
                      _plots.matrix_figure, matrix, classes)
    if binary is not None:
        _plots.draw_later(recorder, "sklearn", "training_roc_curve.png", _plots.roc_figure,
                          *binary)
        _plots.draw_later(recorder, "sklearn", "training_precision_recall_curve.png",
                          _plots.precision_recall_figure, *binary)


# -- hyperparameter search ------------------------------------------------------------------


def _log_search(session, config: SklearnConfig, search: Any) -> None:
    best_params = getattr(search, "best_params_", None)
    if isinstance(best_params, dict):
        session.log_params({f"best_{k}": param_value(v) for k, v in best_params.items()})
    best_score = None if callable(getattr(search, "refit", None)) \
        else getattr(search, "best_score_", None)  # a callable refit defines no best score
    if best_score is not None:
        try:
            session.log_metric("best_score", float(best_score))
        except (TypeError, ValueError):  # a callable refit gives no comparable score
            pass
    results = getattr(search, "cv_results_", None)
    if not isinstance(results, dict):
        return
    session.log_text(_cv_results_csv(results), "cv_results.csv")
    _log_child_runs(session, config, search, results)


def _cv_results_csv(results: dict[str, Any]) -> str:
    import csv
    import io

    keys = list(results)
    n = len(results[keys[0]]) if keys else 0
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(keys)
    columns = [list(results[k]) for k in keys]
    for i in range(n):
        writer.writerow([_csv_cell(column[i]) for column in columns])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, dict):
        return str({k: param_value(v) for k, v in value.items()})
    item = getattr(value, "item", None)  # numpy scalars
    if item is not None and getattr(value, "ndim", 1) == 0:
        return item()
    return str(param_value(value))


def _rank_key(search: Any, results: dict[str, Any]) -> str | None:
    refit = getattr(search, "refit", True)
    if isinstance(refit, str) and f"rank_test_{refit}" in results:
        return f"rank_test_{refit}"
    if "rank_test_score" in results:
        return "rank_test_score"
    ranks = [k for k in results if k.startswith("rank_test_")]
    return ranks[0] if ranks else None


def _log_child_runs(session, config: SklearnConfig, search: Any,
                    results: dict[str, Any]) -> None:
    """The best ``max_tuning_runs`` candidates as child runs: their params and scores,
    created and written by the session's asynchronous logger (no store call here)."""
    candidates = results.get("params")
    if candidates is None or len(candidates) == 0 or config.max_tuning_runs == 0:
        return
    rank_key = _rank_key(search, results)
    order = list(range(len(candidates)))
    if rank_key is not None:
        ranks = results[rank_key]
        order.sort(key=lambda i: (int(ranks[i]), i))
    if config.max_tuning_runs is not None:
        order = order[: max(0, int(config.max_tuning_runs))]
    base_name = type(getattr(search, "estimator", search)).__name__
    numeric = [k for k in results if k != "params" and not k.startswith("param_")]
    for i in order:
        child = session.child_run(f"{base_name}-{i}", tags={"estimator_name": base_name})
        child.log_params({str(k): str(param_value(v)) for k, v in candidates[i].items()})
        metrics = {}
        for key in numeric:
            try:
                metrics[key] = float(results[key][i])
            except (TypeError, ValueError):  # masked or non-numeric entries
                continue
        child.log_metrics(metrics, step=0)
        child.end("FINISHED")


# -- the model --------------------------------------------------------------------------------


def _input_example(X: Any) -> Any:
    if is_sparse(X):
        return None
    if hasattr(X, "iloc"):
        return X.iloc[:INPUT_EXAMPLE_ROWS]
    if hasattr(X, "dtype") and getattr(X, "ndim", 0) >= 1:
        return X[:INPUT_EXAMPLE_ROWS]
    return None  # sparse matrices, lists, generators: no example


def _log_model(session, config: SklearnConfig, model: Any, X: Any) -> None:
    example = _input_example(X) if (config.log_input_examples
                                    or config.log_model_signatures) else None
    signature = None
    if example is not None and config.log_model_signatures and hasattr(model, "predict"):
        from autolog.models import infer_model_signature

        signature = infer_model_signature(model, example, FLAVOR)
    _models.log_model(session,  # a model that cannot be pickled: the session warns once
        model, FLAVOR, name="model",
        input_example=example if config.log_input_examples else None,
        signature=signature,
        registered_model_name=config.registered_model_name,
    )


# -- the integration ----------------------------------------------------------------------------


class SklearnIntegration(Integration):
    name = "sklearn"
    module = "sklearn"
    distributions = ("scikit-learn",)
    supported = ">=1.4,<1.10"
    config_class = SklearnConfig

    def patches(self):
        patches: list[Patch | SubclassPatch] = []
        for index, base in enumerate(PATCHED_BASES):
            target = f"sklearn.base:{base}"
            skip = _skip_class(PATCHED_BASES[:index])
            include = index > 0  # the mixins' own methods; BaseEstimator defines none
            patches += [
                SubclassPatch(target, TRAINING_METHODS, on_fit, include_base=include,
                              skip_class=skip),
                SubclassPatch(target, ("partial_fit",), on_partial_fit, include_base=include,
                              skip_class=skip, resume_run=_resume_partial_fit),
                SubclassPatch(target, OBSERVED_METHODS, on_predict, training=False,
                              include_base=include, skip_class=skip, when=linked),
            ]
        patches += [Patch(f"sklearn.metrics:{name}", on_metric, training=False,
                          when=has_predictions) for name in METRIC_FUNCTIONS]
        from autolog.integrations import sklearn_cv

        patches += [Patch(f"sklearn.model_selection:{name}", sklearn_cv.on_cross_validation,
                          run_name=sklearn_cv.run_name)
                    for name in sklearn_cv.CROSS_VALIDATION_FUNCTIONS]
        return patches


autolog = integration_autolog("sklearn")
