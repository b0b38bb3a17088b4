"""scikit-learn's training metrics: MLflow's ``training_*`` values of a fitted estimator
on its training data, by kind (classifier, regressor, clusterer, transformer).

A classifier's training data is predicted once (`TrainingPredictions`): the metrics and
the plots both read that pass. Where the labels can be indexed by the classes, the
metrics are computed with NumPy from the weighted confusion matrix (sklearn's metric
functions validate their input at ~0.3 ms a call, which would be most of the fixed
overhead of a small fit); other targets use sklearn's own functions. sklearn and NumPy
are imported inside the functions, not with this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autolog.integrations._datasets import is_sparse

__all__ = ["IndexedPredictions", "TrainingPredictions", "inner_estimator", "is_classifier",
           "training_metrics"]


def inner_estimator(estimator: Any) -> Any:
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


def is_classifier(estimator: Any) -> bool:
    import sklearn.base

    return bool(sklearn.base.is_classifier(estimator))


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
        ratio = getattr(inner_estimator(estimator), "explained_variance_ratio_", None)
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
