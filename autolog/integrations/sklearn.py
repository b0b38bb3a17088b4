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
  functions of `sklearn.metrics`. Their gate (`_linked`, `_has_predictions`) runs before
  anything else: a model autolog did not train, or a metric call on data no autologged
  model produced, costs one dict lookup more than the original.

The model -> run link is the core's weak-keyed map (`remember_model`); predictions are
remembered by identity, with a weak reference, so nothing is copied, scanned or kept
alive, and the user's objects get no attributes.
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
from autolog.integrations import _models
from autolog.integrations._datasets import dataset_tags, digest, is_sparse, log_dataset
from autolog.integrations._params import estimator_params, param_value

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


def _linked(instance: Any) -> bool:
    """Gate of the prediction/score observers: was this model trained under autolog?"""
    return recorder_for_model(instance) is not None


# id(prediction) -> (weak ref to it, the run of the model that made it, dataset name)
_predictions: dict[int, tuple[Any, RunRecorder, str]] = {}


def _has_predictions(instance: Any = None) -> bool:
    """Gate of the metric-function observers: is any prediction of a logged model alive?"""
    return bool(_predictions)


def _config() -> SklearnConfig:
    from autolog.core.patching.registry import get_integration

    return get_integration("sklearn").config  # type: ignore[return-value]


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
        _log_curves(session, _inner_estimator(estimator))
    if config.log_plots and y is not None and X is not None and _is_classifier(estimator) \
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


def _inner_estimator(estimator: Any) -> Any:
    """The estimator whose fitted curves matter: a search's best, a pipeline's last step."""
    for _ in range(4):
        best = getattr(estimator, "best_estimator_", None)
        if best is not None:
            estimator = best
            continue
        steps = getattr(estimator, "steps", None)
        if isinstance(steps, list) and steps and hasattr(estimator, "_final_estimator"):
            last = steps[-1][1]
            if last is not None and last != "passthrough":
                estimator = last
                continue
        break
    return estimator


# -- params and datasets ----------------------------------------------------------------------


# -- training metrics ---------------------------------------------------------------------


def _is_classifier(estimator: Any) -> bool:
    from sklearn.base import is_classifier

    return bool(is_classifier(estimator))


def _estimator_kind(estimator: Any) -> str:
    import sklearn.base as base

    if base.is_classifier(estimator):
        return "classifier"
    if base.is_regressor(estimator):
        return "regressor"
    is_clusterer = getattr(base, "is_clusterer", None)
    if is_clusterer is not None and is_clusterer(estimator) \
            or getattr(estimator, "_estimator_type", None) == "clusterer":
        return "clusterer"
    if hasattr(estimator, "transform"):
        return "transformer"
    return "other"


def _defining_class(estimator: Any, name: str) -> type | None:
    for cls in type(estimator).__mro__:
        if name in cls.__dict__:
            return cls
    return None


def training_metrics(estimator: Any, X: Any, y: Any, sample_weight: Any = None,
                     labels: Any = None, predictions: TrainingPredictions | None = None
                     ) -> dict[str, float]:
    """MLflow's ``training_*`` metrics on the training data (one prediction pass, shared
    with the plots through ``predictions``)."""
    metrics = _training_metrics(estimator, X, y, sample_weight, labels, predictions)
    return {k: v for k, v in metrics.items() if v is not None}


def _training_metrics(estimator, X, y, sample_weight, labels, predictions) -> dict[str, Any]:
    if X is None:
        return {}
    kind = _estimator_kind(estimator)
    if kind in ("classifier", "regressor") and not hasattr(estimator, "predict"):
        return {}  # e.g. a search with refit=False
    if kind == "classifier" and y is not None:
        if predictions is None:
            predictions = TrainingPredictions(estimator, X, y, sample_weight)
        return _classifier_metrics(predictions)
    if kind == "regressor" and y is not None:
        return _regressor_metrics(estimator, X, y, sample_weight)
    if kind == "clusterer":
        return _clusterer_metrics(estimator, X, labels)
    if kind == "transformer":
        ratio = getattr(_inner_estimator(estimator), "explained_variance_ratio_", None)
        if ratio is not None:
            return {"training_explained_variance_ratio": float(sum(ratio))}
    return {}


def _score(estimator, X, y, sample_weight, default_mixin: str, from_predictions):
    """``estimator.score``; computed from the predictions at hand when it is the default."""
    import sklearn.base as base

    owner = _defining_class(estimator, "score")
    if owner is getattr(base, default_mixin, None):
        return from_predictions()
    # An overridden score runs the user's code (a custom scorer, a search's scoring) on a
    # call the user did not make: whatever it raises means "no training_score", never an
    # error of autolog's or the user's.
    try:
        if sample_weight is not None and _declares(estimator.score, "sample_weight"):
            return estimator.score(X, y, sample_weight=sample_weight)
        return estimator.score(X, y)
    except Exception:  # noqa: BLE001 - see above
        import logging

        logging.getLogger("autolog").debug("sklearn: %s.score failed; no training_score",
                                           type(estimator).__name__, exc_info=True)
        return None


def _declares(function: Any, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _predict_and_proba(estimator, X):
    """Predictions, and probabilities when the estimator has them, in one pass if it can."""
    proba = None
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        owner = _defining_class(estimator, "predict")
        if owner is not None and owner.__name__ == "ForestClassifier" \
                and getattr(proba, "ndim", 0) == 2:  # predict is argmax(predict_proba)
            return estimator.classes_.take(proba.argmax(axis=1), axis=0), proba
    return estimator.predict(X), proba


class TrainingPredictions:
    """A classifier's predictions on its training data, made once: the training metrics
    and the plots both read them (a second ``predict`` pass cost as much as the rest).

    ``indexed()`` gives labels as class indices and the weighted confusion matrix,
    computed with NumPy only (sklearn's metric functions validate their input at ~0.3 ms
    a call, which would be most of the fixed overhead); None where that does not apply
    (multilabel targets, classes it cannot index): then sklearn's own functions are used.
    """

    def __init__(self, estimator: Any, X: Any, y: Any, sample_weight: Any) -> None:
        self.estimator = estimator
        self.X = X
        self.y = y
        self.sample_weight = sample_weight
        self._indexed: Any = ()
        self._error: Exception | None = None

    def indexed(self) -> IndexedPredictions | None:
        """The indexed predictions (made on the first call; a failure is raised again,
        not retried: the user's predict runs once)."""
        if self._error is not None:
            raise self._error
        if self._indexed == ():
            try:
                self._indexed = self._index()
            except Exception as exc:
                self._error = exc
                raise
        return self._indexed

    def _index(self) -> IndexedPredictions | None:
        import numpy as np

        estimator, y = self.estimator, self.y
        classes = getattr(estimator, "classes_", None)
        y_true = np.asarray(y) if hasattr(y, "__len__") else None
        if y_true is None or y_true.ndim != 1 or classes is None \
                or getattr(classes, "ndim", 0) != 1 or len(classes) < 2:
            return None
        k = len(classes)
        true_index = np.searchsorted(classes, y_true) if _sorted(classes) else None
        if true_index is None or np.any(true_index >= k) \
                or np.any(classes[np.minimum(true_index, k - 1)] != y_true):
            return None
        y_pred, proba = _predict_and_proba(estimator, self.X)
        pred_index = np.minimum(np.searchsorted(classes, np.asarray(y_pred)), k - 1)
        weight = np.ones(len(y_true)) if self.sample_weight is None \
            else np.array(self.sample_weight, dtype=float)  # a copy: plots read it later
        matrix = np.bincount(true_index * k + pred_index, weights=weight,
                             minlength=k * k).reshape(k, k)
        if proba is not None and (getattr(proba, "ndim", 0) != 2 or proba.shape[1] != k):
            proba = None
        if proba is not None:
            try:
                proba = np.asarray(proba, dtype=float)
            except (TypeError, ValueError):  # not numbers: no probability-based metrics
                proba = None
        return IndexedPredictions(classes, true_index, pred_index, proba, weight, matrix)


@dataclass
class IndexedPredictions:
    classes: Any
    true_index: Any  # the training labels as indices into classes
    pred_index: Any  # the predictions as indices into classes
    proba: Any  # predict_proba's (n, k) floats, or None
    weight: Any  # sample weights (ones when none were given)
    matrix: Any  # the weighted confusion matrix, true x predicted


def _classifier_metrics(predictions: TrainingPredictions) -> dict[str, float]:
    import numpy as np

    found = predictions.indexed()
    estimator, X, y = predictions.estimator, predictions.X, predictions.y
    sample_weight = predictions.sample_weight
    if found is None:
        return _classifier_metrics_general(estimator, X, y, sample_weight)
    k = len(found.classes)
    matrix, weight, proba, true_index = found.matrix, found.weight, found.proba, found.true_index
    total = weight.sum()
    tp = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        denominator = precision + recall
        f1 = np.where(denominator > 0, 2 * precision * recall / denominator, 0.0)
    accuracy = float(tp.sum() / total)
    share = support / support.sum()
    metrics = {
        "training_score": _score(estimator, X, y, sample_weight, "ClassifierMixin",
                                 lambda: accuracy),
        "training_accuracy_score": accuracy,
        "training_precision_score": float(share @ precision),
        "training_recall_score": float(share @ recall),
        "training_f1_score": float(share @ f1),
    }
    if proba is None:
        return metrics
    eps = np.finfo(proba.dtype).eps
    picked = np.clip(proba[np.arange(len(true_index)), true_index], eps, 1 - eps)
    row_sums = proba.sum(axis=1)
    picked = picked / np.where(row_sums > 0, row_sums, 1.0)  # as log_loss normalizes
    metrics["training_log_loss"] = float(-(weight * np.log(np.clip(picked, eps, 1)))
                                         .sum() / total)
    if np.all(support > 0):  # AUC needs every class present
        if k == 2:
            auc = _binary_auc(true_index == 1, proba[:, 1], weight)
        else:
            aucs = [_binary_auc(true_index == c, proba[:, c], weight) for c in range(k)]
            auc = float(np.dot(share, aucs))
        metrics["training_roc_auc"] = auc
    return metrics


def _sorted(classes) -> bool:
    try:
        return bool((classes[1:] > classes[:-1]).all())
    except TypeError:
        return False


def _binary_auc(positive, scores, weight) -> float:
    """ROC AUC as sklearn computes it: trapezoids over distinct thresholds, ties kept."""
    import numpy as np

    order = np.argsort(scores, kind="mergesort")[::-1]
    scores = scores[order]
    positive = positive[order]
    weight = weight[order]
    distinct = np.where(np.diff(scores))[0]
    ends = np.r_[distinct, len(scores) - 1]
    tps = np.cumsum(weight * positive)[ends]
    fps = np.cumsum(weight * ~positive)[ends]
    tpr = np.r_[0.0, tps] / tps[-1]
    fpr = np.r_[0.0, fps] / fps[-1]
    return float(np.trapezoid(tpr, fpr) if hasattr(np, "trapezoid") else np.trapz(tpr, fpr))


def _classifier_metrics_general(estimator, X, y, sample_weight) -> dict[str, float]:
    """Multilabel and other targets: sklearn's own metric functions."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support
    from sklearn.utils.multiclass import type_of_target

    if type_of_target(y) not in ("binary", "multiclass", "multilabel-indicator"):
        return {}
    y_pred = estimator.predict(X)
    accuracy = float(accuracy_score(y, y_pred, sample_weight=sample_weight))
    metrics = {"training_score": _score(estimator, X, y, sample_weight, "ClassifierMixin",
                                        lambda: accuracy),
               "training_accuracy_score": accuracy}
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, y_pred, average="weighted", sample_weight=sample_weight, zero_division=0)
    metrics.update(training_precision_score=precision, training_recall_score=recall,
                   training_f1_score=f1)
    return metrics


def _regressor_metrics(estimator, X, y, sample_weight) -> dict[str, float]:
    import numpy as np

    y_pred = np.asarray(estimator.predict(X), dtype=float)
    y_true = np.asarray(y, dtype=float)
    if y_true.ndim == 1 and y_pred.ndim == 2 and y_pred.shape[1] == 1:
        y_pred = y_pred[:, 0]
    if y_true.shape != y_pred.shape:
        return {}
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    error = y_true - y_pred
    mse = np.average(error ** 2, axis=0, weights=weight)
    mae = np.average(np.abs(error), axis=0, weights=weight)
    mean = np.average(y_true, axis=0, weights=weight)
    total = np.average((y_true - mean) ** 2, axis=0, weights=weight)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2_columns = np.where(total > 0, 1 - mse / total, np.where(mse == 0, 1.0, 0.0))
    r2 = float(np.mean(r2_columns))
    return {
        "training_score": _score(estimator, X, y, sample_weight, "RegressorMixin", lambda: r2),
        "training_mean_squared_error": float(np.mean(mse)),
        "training_root_mean_squared_error": float(np.mean(np.sqrt(mse))),
        "training_mean_absolute_error": float(np.mean(mae)),
        "training_r2_score": r2,
    }


def _clusterer_metrics(estimator, X, labels) -> dict[str, float]:
    import numpy as np

    metrics: dict[str, float] = {}
    inertia = getattr(estimator, "inertia_", None)
    if inertia is not None:
        metrics["training_inertia"] = float(inertia)
    if labels is None:
        labels = getattr(estimator, "labels_", None)
    if labels is None:
        return metrics
    labels = np.asarray(labels)
    clusters = np.unique(labels[labels >= 0]) if labels.dtype.kind in "iu" else np.unique(labels)
    metrics["training_n_clusters"] = len(clusters)
    n = labels.shape[0]
    if 2 <= len(np.unique(labels)) < n and getattr(X, "shape", (0,))[0] == n \
            and not is_sparse(X):
        from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

        metrics["training_calinski_harabasz_score"] = calinski_harabasz_score(X, labels)
        metrics["training_davies_bouldin_score"] = davies_bouldin_score(X, labels)
    return metrics


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

_matplotlib: list[bool] = []


def _has_matplotlib() -> bool:
    if not _matplotlib:
        import importlib.util

        _matplotlib.append(importlib.util.find_spec("matplotlib") is not None)
    return _matplotlib[0]


def _log_classifier_plots(session, predictions: TrainingPredictions) -> None:
    """Confusion matrix; ROC and precision-recall curves for binary problems (PNG).

    Only what reads the user's data runs here, from the predictions the training metrics
    made: the curves' points and the drawing (~50 ms) are computed after fit has returned,
    on autolog's worker, from arrays of autolog's own (never the user's, which may change).
    """
    if not _has_matplotlib():
        return
    found = predictions.indexed()
    if found is None:
        _log_classifier_plots_general(session, predictions)
        return
    classes = found.classes
    if len(classes) > 50:
        return
    recorder = RunRecorder(session.run_id, session.uri)
    _draw_later(recorder, "training_confusion_matrix.png", _matrix_figure, found.matrix,
                classes)
    if len(classes) != 2:
        return
    if found.proba is not None:
        scores = found.proba[:, 1].copy()
    elif hasattr(predictions.estimator, "decision_function"):
        import numpy as np

        scores = np.array(predictions.estimator.decision_function(predictions.X), dtype=float)
    else:
        return
    positive = (found.true_index == 1).astype(int)
    weight = None if predictions.sample_weight is None else found.weight
    _draw_later(recorder, "training_roc_curve.png", _roc_figure, positive, scores, weight)
    _draw_later(recorder, "training_precision_recall_curve.png", _precision_recall_figure,
                positive, scores, weight)


def _roc_figure(positive, scores, weight):
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(positive, scores, pos_label=1, sample_weight=weight)
    return _curve_figure(fpr, tpr, "False positive rate", "True positive rate", "ROC curve",
                         True)


def _precision_recall_figure(positive, scores, weight):
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(positive, scores, pos_label=1,
                                                  sample_weight=weight)
    return _curve_figure(recall, precision, "Recall", "Precision", "Precision-recall curve")


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
    recorder = RunRecorder(session.run_id, session.uri)
    _draw_later(recorder, "training_confusion_matrix.png", _matrix_figure, matrix, classes)
    if target != "binary" or len(classes) != 2:
        return
    if hasattr(estimator, "predict_proba"):
        scores = np.asarray(estimator.predict_proba(X))[:, 1]
    elif hasattr(estimator, "decision_function"):
        scores = np.asarray(estimator.decision_function(X))
    else:
        return
    positive = (np.asarray(y) == classes[1]).astype(int)
    weight = None if sample_weight is None else np.array(sample_weight, dtype=float)
    _draw_later(recorder, "training_roc_curve.png", _roc_figure, positive,
                np.array(scores, dtype=float), weight)
    _draw_later(recorder, "training_precision_recall_curve.png", _precision_recall_figure,
                positive, np.array(scores, dtype=float), weight)


def _draw_later(recorder: RunRecorder, artifact_file: str, draw, *args) -> None:
    """Render ``draw(*args)`` and store it as ``artifact_file`` on autolog's worker."""
    from autolog.core.tracking import deferred

    deferred.submit(f"sklearn: drawing {artifact_file}",
                    lambda: recorder.log_figure(draw(*args), artifact_file))


def _matrix_figure(matrix, classes):
    from matplotlib.figure import Figure

    n = len(classes)
    size = min(10.0, 2.5 + 0.5 * n)
    figure = Figure(figsize=(size, size), dpi=80)
    ax = figure.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    if n <= 20:
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in range(n):
            for j in range(n):
                value = matrix[i, j]
                text = f"{value:g}" if not float(value).is_integer() else str(int(value))
                ax.text(j, i, text, ha="center", va="center",
                        color="white" if value > threshold else "black")
    ax.set_xticks(range(n), [str(c) for c in classes], rotation=45 if n > 5 else 0)
    ax.set_yticks(range(n), [str(c) for c in classes])
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title("Confusion matrix (training data)")
    figure.tight_layout()
    return figure


def _curve_figure(x, y, xlabel, ylabel, title, diagonal=False):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 4), dpi=80)
    ax = figure.add_subplot()
    ax.plot(x, y)
    if diagonal:
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title} (training data)")
    # Fixed margins fit these fixed labels; tight_layout would draw the figure twice.
    figure.subplots_adjust(left=0.16, bottom=0.13, right=0.95, top=0.9)
    return figure


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
    """The best ``max_tuning_runs`` candidates as child runs: their params and scores."""
    from autolog.core import validation
    from autolog.core.entities import Metric, Param, now_ms
    from autolog.core.tracking.client import Client
    from autolog.core.tracking.runs import TAG_AUTOLOGGING, TAG_PARENT_RUN_ID

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
    client = Client(session.uri)
    parent = session.run
    base_name = type(getattr(search, "estimator", search)).__name__
    numeric = [k for k in results if k != "params" and not k.startswith("param_")]
    for i in order:
        child = client.create_run(parent.info.experiment_id, run_name=f"{base_name}-{i}",
                                  tags={TAG_PARENT_RUN_ID: parent.info.run_id,
                                        TAG_AUTOLOGGING: "sklearn",
                                        "estimator_name": base_name})
        run_id = child.info.run_id
        timestamp = now_ms()
        params = [Param(str(k), validation.param_value(str(k), str(param_value(v))))
                  for k, v in candidates[i].items()]
        metrics = []
        for key in numeric:
            try:
                value = float(results[key][i])
            except (TypeError, ValueError):  # masked or non-numeric entries
                continue
            metrics.append(Metric(key, value, timestamp, 0))
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id, "FINISHED")


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


# -- post-training metrics (observers) ------------------------------------------------------

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
    if recorder is None or not _config().log_post_training_metrics:
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
                              include_base=include, skip_class=skip, when=_linked),
            ]
        patches += [Patch(f"sklearn.metrics:{name}", on_metric, training=False,
                          when=_has_predictions) for name in METRIC_FUNCTIONS]
        from autolog.integrations import sklearn_cv

        patches += [Patch(f"sklearn.model_selection:{name}", sklearn_cv.on_cross_validation,
                          run_name=sklearn_cv.run_name)
                    for name in sklearn_cv.CROSS_VALIDATION_FUNCTIONS]
        return patches


autolog = integration_autolog("sklearn")
