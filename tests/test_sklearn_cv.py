"""Cross-validation functions as one run each; the folds' fits open none."""

from __future__ import annotations

import numpy as np
import pytest

import autolog

pytest.importorskip("sklearn")

from sklearn import model_selection  # noqa: E402  (its functions read at call time: patched)
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.svm import SVC  # noqa: E402


@pytest.fixture(autouse=True)
def sklearn_autolog(tracking_uri):
    autolog.sklearn.autolog(log_models=False)
    yield tracking_uri
    autolog.autolog(disable=True)


def runs():
    return autolog.search_runs(experiment_names=["Default"])


def test_cross_val_score_is_one_run_with_each_folds_score():
    X, y = load_iris(return_X_y=True)
    scores = model_selection.cross_val_score(SVC(C=2.0), X, y, cv=3)
    [run] = runs()
    assert run.info.run_name == "cross_val_score-SVC"
    assert run.data.params["C"] == "2.0" and run.data.params["cv_splitter"] == "3"
    history = autolog.get_metric_history(run.info.run_id, "cv_test_score")
    assert [(m.step, m.value) for m in history] == list(enumerate(scores))
    assert run.data.metrics["cv_test_score_mean"] == pytest.approx(scores.mean())
    assert run.data.metrics["cv_test_score_std"] == pytest.approx(scores.std())
    assert run.data.tags["autolog.sklearn.function"] == "cross_val_score"


def test_cross_validate_logs_every_scorer_train_and_test():
    X, y = load_iris(return_X_y=True)
    splitter = model_selection.KFold(4, shuffle=True, random_state=0)
    result = model_selection.cross_validate(SVC(), X, y, cv=splitter,
                                            scoring=["accuracy", "f1_macro"],
                                            return_train_score=True, return_estimator=True)
    assert len(result["estimator"]) == 4  # the user's result is untouched
    [run] = runs()
    assert run.data.params["cv_scoring"] == "accuracy,f1_macro"
    assert run.data.params["cv_splitter"].startswith("KFold(")
    for key in ("test_accuracy", "test_f1_macro", "train_accuracy", "fit_time"):
        history = autolog.get_metric_history(run.info.run_id, f"cv_{key}")
        assert [m.value for m in history] == pytest.approx(list(result[key])), key
        assert run.data.metrics[f"cv_{key}_mean"] == pytest.approx(np.mean(result[key]))


def test_a_search_cross_validated_opens_no_run_per_fold():
    """scikit-learn's nested cross-validation example opened a search run per fold, each
    with children: 900 runs for its 30 trials."""
    X, y = load_iris(return_X_y=True)
    search = model_selection.GridSearchCV(SVC(), {"C": [1, 10]}, cv=2)
    model_selection.cross_val_score(search, X, y, cv=3)
    [run] = runs()
    assert run.info.run_name == "cross_val_score-GridSearchCV"
    assert run.data.params["cv"] == "2" and run.data.params["cv_splitter"] == "3"
    assert len(autolog.get_metric_history(run.info.run_id, "cv_test_score")) == 3


def test_cross_val_predict_is_one_run_and_its_predictions_are_unchanged():
    X, y = load_iris(return_X_y=True)
    predicted = model_selection.cross_val_predict(SVC(), X, y, cv=3)
    autolog.autolog(disable=True)
    assert (predicted == model_selection.cross_val_predict(SVC(), X, y, cv=3)).all()
    [run] = runs()
    assert run.info.run_name == "cross_val_predict-SVC" and run.info.status == "FINISHED"


def test_inside_a_users_run_the_scores_go_into_it():
    X, y = load_iris(return_X_y=True)
    with autolog.start_run() as mine:
        model_selection.cross_val_score(SVC(), X, y, cv=3)
    [run] = runs()
    assert run.info.run_id == mine.info.run_id
    assert "cv_test_score_mean" in run.data.metrics
