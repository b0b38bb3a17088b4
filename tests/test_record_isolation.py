"""A capture record that fails early costs only itself (issue 15, defect 4).

The training session isolates each record (`TrainingSession._record`): params or the
dataset description failing before the training proper must still leave the metrics the
callbacks log and the model in the run -- for every integration, because the isolation
is the core's. Real frameworks on small real data, lenient mode (AUTOLOG_STRICT unset).
"""

from __future__ import annotations

import warnings

import pytest
from _fault_matrix import an_early_record_failing_costs_only_itself, autolog_warnings

import autolog
from autolog.core import reporting

np = pytest.importorskip("numpy")


@pytest.fixture(autouse=True)
def lenient(monkeypatch, tracking_uri):
    monkeypatch.delenv("AUTOLOG_STRICT", raising=False)
    reporting._warned_causes.clear()
    yield
    autolog.autolog(disable=True)
    reporting._warned_causes.clear()


def _binary_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype("float32")
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype("float32")
    return X, y


def test_sklearn_early_records():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    autolog.autolog()
    an_early_record_failing_costs_only_itself(
        lambda: LogisticRegression(max_iter=200).fit(X, y),
        metrics={"training_accuracy_score", "training_duration_seconds"})


@pytest.mark.parametrize("failing", ["dataset_tags", "estimator_params"])
def test_sklearn_description_raising_costs_that_record_only(monkeypatch, failing):
    """Not an injected fault but the description itself raising: it is computed inside
    its record's isolation."""
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import autolog.integrations.sklearn as integration

    def broken(*args, **kwargs):
        raise RuntimeError(f"{failing} is broken")

    monkeypatch.setattr(integration, failing, broken)
    X, y = load_iris(return_X_y=True)
    autolog.autolog()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LogisticRegression(max_iter=200).fit(X, y)
    assert model.predict(X[:3]).shape == (3,)
    messages = [str(w.message) for w in autolog_warnings(caught)]
    assert len(messages) == 1 and f"{failing} is broken" in messages[0], messages
    [run] = autolog.search_runs(experiment_names=["Default"])
    assert "training_accuracy_score" in run.data.metrics
    assert ("C" in run.data.params) is (failing != "estimator_params")
    assert ("dataset.digest" in run.data.tags) is (failing != "dataset_tags")
    files = {f.path for f in autolog.Client().list_artifacts(run.info.run_id)}
    assert "model" in files


def test_xgboost_early_records():
    xgb = pytest.importorskip("xgboost")
    X, y = _binary_data()
    autolog.autolog()

    def train():
        dtrain, dvalid = xgb.DMatrix(X[:150], y[:150]), xgb.DMatrix(X[150:], y[150:])
        return xgb.train({"objective": "binary:logistic", "nthread": 1, "max_depth": 2},
                         dtrain, 5, evals=[(dvalid, "valid")], verbose_eval=False)

    an_early_record_failing_costs_only_itself(train, metrics={"valid-logloss"})


def test_lightgbm_early_records():
    lgb = pytest.importorskip("lightgbm")
    X, y = _binary_data()
    autolog.autolog()

    def train():
        params = {"objective": "binary", "verbose": -1, "num_threads": 1, "num_leaves": 4}
        dtrain = lgb.Dataset(X[:150], y[:150])
        dvalid = lgb.Dataset(X[150:], y[150:], reference=dtrain)
        return lgb.train(params, dtrain, 5, valid_sets=[dvalid], valid_names=["valid"])

    an_early_record_failing_costs_only_itself(train, metrics={"valid-binary_logloss"})


@pytest.mark.slow
def test_keras_early_records():
    keras = pytest.importorskip("keras")
    X, y = _binary_data(n=64)
    autolog.autolog()

    def train():
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model.fit(X, y, epochs=2, batch_size=16, verbose=0)

    an_early_record_failing_costs_only_itself(train, metrics={"loss"})
