"""Cross-validation as one run: ``cross_validate``, ``cross_val_score``, ``cross_val_predict``.

Without this, every fold's ``fit`` was an outermost training call and opened a run of
its own (a search cross-validated inside ``cross_val_score`` opened one search run per
fold, each with its candidates as children: 900 runs for scikit-learn's nested
cross-validation example). Declared as training patches of the functions, the folds'
fits run inside the call and open no run; the call's run records what a user reads off
the result: the estimator's params, the splitter, the scorers, each fold's score as a
stepped metric, and their mean and standard deviation.

Only the names in ``sklearn.model_selection`` are patched (what user code calls). Folds
fitted in other processes (``n_jobs`` with joblib's process pools) are not instrumented
there, so they open no run either.
"""

from __future__ import annotations

import math
from typing import Any

from autolog.core.patching import guard
from autolog.integrations._datasets import dataset_tags, log_dataset
from autolog.integrations._params import estimator_params

#: The functions patched, as ``sklearn.model_selection`` exports them.
CROSS_VALIDATION_FUNCTIONS = ("cross_validate", "cross_val_score", "cross_val_predict")


def run_name(call) -> str:
    estimator = call.arguments.get("estimator")
    return f"{call.function.__name__}-{type(estimator).__name__}"


def on_cross_validation(session, call) -> None:
    """Hook of the three functions: params and tags before, fold scores after."""
    arguments = call.arguments
    estimator = arguments.get("estimator")
    function = call.function.__name__
    cls = type(estimator)
    session.set_tags({"estimator_name": cls.__name__,
                      "estimator_class": f"{cls.__module__}.{cls.__qualname__}",
                      "autolog.sklearn.function": function})
    session.log_params(lambda: estimator_params(estimator))
    session.log_params(lambda: _cv_params(arguments))
    if session.config.log_datasets:
        log_dataset(session, arguments.get("X"), arguments.get("y"), dataset_tags)
    result = call.proceed()
    if function == "cross_val_predict":  # predictions: nothing to score
        return
    with guard("sklearn: cross-validation scores"):
        scores = {"test_score": result} if function == "cross_val_score" else result
        for step, metrics in enumerate(_fold_metrics(scores)):
            session.log_metrics(metrics, step=step)


def _cv_params(arguments: dict[str, Any]) -> dict[str, Any]:
    """The splitter and scorers as a user passed them (``cv=5``, ``KFold(...)``)."""
    cv = arguments.get("cv")
    scoring = arguments.get("scoring")
    if scoring is not None and not isinstance(scoring, str):
        if isinstance(scoring, dict):
            scoring = ",".join(str(name) for name in scoring)
        elif isinstance(scoring, (list, tuple, set)):
            scoring = ",".join(str(name) for name in scoring)
        else:
            scoring = getattr(scoring, "__qualname__", None) or type(scoring).__name__
    # prefixed: a cross-validated search has params named cv and scoring of its own
    return {"cv_splitter": "5 (default)" if cv is None else str(cv),
            "cv_scoring": "default" if scoring is None else scoring,
            "cv_n_jobs": arguments.get("n_jobs")}


def _fold_metrics(result: Any) -> list[dict[str, float]]:
    """Metrics per step: ``cv_<key>`` at the fold's index, ``cv_<key>_mean``/``_std`` at 0.

    Arrays of scores and times only: estimators and indices a user asked back are skipped.
    """
    steps: list[dict[str, float]] = []
    for key, values in dict(result).items():
        if not (key.startswith(("test_", "train_")) or key in ("fit_time", "score_time")):
            continue
        try:
            folds = [float(v) for v in values]
        except (TypeError, ValueError):
            continue
        while len(steps) < max(len(folds), 1):
            steps.append({})
        for step, value in enumerate(folds):
            steps[step][f"cv_{key}"] = value
        finite = [v for v in folds if not math.isnan(v)]
        if finite:
            mean = sum(finite) / len(finite)
            steps[0][f"cv_{key}_mean"] = mean
            steps[0][f"cv_{key}_std"] = math.sqrt(sum((v - mean) ** 2 for v in finite)
                                                 / len(finite))
    return steps
