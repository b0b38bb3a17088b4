"""A search's candidates as child runs: written through the session's asynchronous logger
(never by the training thread), with the same records as before (issue 16)."""

from __future__ import annotations

import threading

import pytest

import autolog

sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: E402


@pytest.fixture(autouse=True)
def sklearn_autolog(tracking_uri):
    autolog.sklearn.autolog(log_plots=False, log_models=False, max_tuning_runs=None)
    yield tracking_uri
    autolog.autolog(disable=True)


def _search_runs():
    found = autolog.search_runs(experiment_names=["Default"])
    [parent] = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in found if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    return parent, children


def test_every_candidate_is_a_finished_child_with_its_params_and_scores():
    X, y = load_iris(return_X_y=True)
    grid = {"C": [0.1, 1.0, 10.0], "fit_intercept": [True, False]}
    search = GridSearchCV(LogisticRegression(max_iter=300), grid, cv=2).fit(X, y)
    parent, children = _search_runs()
    assert len(children) == 6
    results = search.cv_results_
    by_name = {c.info.run_name: c for c in children}
    assert set(by_name) == {f"LogisticRegression-{i}" for i in range(6)}
    for i, candidate in enumerate(results["params"]):
        child = by_name[f"LogisticRegression-{i}"]
        assert child.info.status == "FINISHED"
        assert child.info.experiment_id == parent.info.experiment_id
        assert child.info.start_time <= child.info.end_time
        assert child.data.tags["estimator_name"] == "LogisticRegression"
        assert child.data.tags["mlflow.autologging"] == "sklearn"
        assert child.data.params == {k: str(v) for k, v in candidate.items()}
        for key in ("mean_test_score", "std_test_score", "rank_test_score",
                    "split0_test_score", "mean_fit_time"):
            assert child.data.metrics[key] == pytest.approx(float(results[key][i]))
        assert not any(k.startswith("param_") for k in child.data.metrics)


def test_max_tuning_runs_keeps_the_best_ranked():
    autolog.sklearn.autolog(log_plots=False, log_models=False, max_tuning_runs=2)
    X, y = load_iris(return_X_y=True)
    search = RandomizedSearchCV(LogisticRegression(max_iter=300),
                                {"C": [0.001, 0.01, 0.1, 1.0, 10.0]}, n_iter=5, cv=2,
                                random_state=0).fit(X, y)
    _parent, children = _search_runs()
    ranks = search.cv_results_["rank_test_score"]
    best = sorted(range(len(ranks)), key=lambda i: (int(ranks[i]), i))[:2]
    assert sorted(c.info.run_name for c in children) == \
        sorted(f"LogisticRegression-{i}" for i in best)


def test_children_are_written_by_the_logger_not_the_training_thread(tracking_uri):
    """A spy on the real store (not a mock): who creates the child runs."""
    from autolog.core.tracking import context

    backend = context.get_store(tracking_uri)
    creators: list[tuple[str, str | None]] = []
    original = backend.create_run

    def spy(*args, **kwargs):
        tags = args[3] if len(args) > 3 else kwargs.get("tags") or {}
        creators.append((threading.current_thread().name, tags.get("mlflow.parentRunId")))
        return original(*args, **kwargs)

    backend.create_run = spy
    try:
        X, y = load_iris(return_X_y=True)
        GridSearchCV(LogisticRegression(max_iter=300), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
        autolog.flush()
    finally:
        del backend.create_run
    children = [name for name, parent in creators if parent is not None]
    assert len(children) == 2
    main = threading.main_thread().name
    assert all(name != main for name in children), creators
