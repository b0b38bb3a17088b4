"""Autologged training into a real `mlflow server`, read back with MLflow's own client.

The same seeded training runs twice: once into an embedded store and once into the server
(``mlflow+http://...``). Every param, every metric's full history (steps and values) and
the artifact tree must match; the models must load with MLflow's loaders (``pyfunc`` and
the flavor's own) and predict like the original -- logged directly and synced with
`autolog sync` from the embedded store.
"""

from __future__ import annotations

import math
import uuid

import pytest

pytest.importorskip("mlflow")
np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")

import autolog  # noqa: E402
from autolog.core.tracking import context  # noqa: E402
from autolog.sync import TAG_SOURCE_RUN_ID, sync  # noqa: E402

# Tags that name the run, the host or the moment it was made: they differ between the
# two trainings by construction (every other tag must be equal).
_RUN_SPECIFIC_TAGS = {"mlflow.log-model.history", "mlflow.source.name", "mlflow.user",
                      "mlflow.source.git.commit", "mlflow.runName"}
# Metrics that measure the machine (time, memory), not the model: their steps must match,
# their values cannot.
_MEASURED_METRICS = {"training_duration_seconds", "training_cpu_seconds",
                     "training_peak_rss_growth_mb"}


def _reset():
    while autolog.active_run() is not None:
        autolog.end_run()
    autolog.flush()
    autolog.set_tracking_uri(None)
    context._experiment_id = None


def _train(kind):
    """Seeded training of ``kind``; returns {name: (model, run_id, X to predict on)}."""
    if kind == "sklearn":
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        X, y = load_iris(return_X_y=True)
        out = {}
        logreg = LogisticRegression(max_iter=1000, C=0.7).fit(X, y)
        out["logreg"] = (logreg, autolog.last_active_run().info.run_id, X)
        pipe = Pipeline([("scale", StandardScaler()),
                         ("clf", LogisticRegression(max_iter=500))]).fit(X, y)
        out["pipeline"] = (pipe, autolog.last_active_run().info.run_id, X)
        return out
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X, y, Xv, yv = X[:400], y[:400], X[400:], y[400:]
    if kind == "xgboost":
        import xgboost as xgb

        out = {}
        with xgb.config_context(nthread=1):
            dtrain, dvalid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
            booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3,
                                 "eval_metric": ["logloss", "auc"], "seed": 0}, dtrain, 8,
                                evals=[(dtrain, "train"), (dvalid, "valid")],
                                verbose_eval=False)
            out["train"] = (booster, autolog.last_active_run().info.run_id, Xv)
            clf = xgb.XGBClassifier(n_estimators=6, max_depth=3, n_jobs=1, random_state=0)
            clf.fit(X, y, eval_set=[(Xv, yv)], verbose=False)
            out["classifier"] = (clf, autolog.last_active_run().info.run_id, Xv)
        return out
    if kind == "catboost":
        import catboost

        clf = catboost.CatBoostClassifier(iterations=6, depth=3, random_seed=0, thread_count=1,
                                          verbose=False, allow_writing_files=False)
        clf.fit(X, y, eval_set=(Xv, yv))
        return {"classifier": (clf, autolog.last_active_run().info.run_id, Xv)}
    assert kind == "lightgbm"
    import lightgbm as lgb

    train_set = lgb.Dataset(X, y)
    valid = lgb.Dataset(Xv, yv, reference=train_set)
    booster = lgb.train({"objective": "binary", "metric": ["binary_logloss", "auc"],
                         "verbose": -1, "num_threads": 1, "seed": 0, "deterministic": True},
                        train_set, 6, valid_sets=[train_set, valid],
                        valid_names=["train", "valid"])
    return {"train": (booster, autolog.last_active_run().info.run_id, Xv)}


def _train_into(uri, kind):
    """Autologged training into ``uri`` in a fresh experiment; returns (name, models)."""
    experiment = f"{kind}-{uuid.uuid4().hex[:8]}"
    autolog.set_tracking_uri(uri)
    autolog.set_experiment(experiment)
    autolog.autolog()
    try:
        models = _train(kind)
        autolog.flush()
    finally:
        autolog.autolog(disable=True)
        _reset()
    return experiment, models


@pytest.fixture(scope="module", params=[
    # sklearn's two autologged fits draw plots: ~5 s for both stores and the sync
    pytest.param("sklearn", marks=pytest.mark.slow), "xgboost", "lightgbm", "catboost"])
def trained(request, mlflow_server, tmp_path_factory):
    """The same training logged to an embedded store, to the server, and synced."""
    kind = request.param
    pytest.importorskip(kind)
    embedded_uri = str(tmp_path_factory.mktemp(f"embedded-{kind}") / "autolog-runs")
    try:
        embedded_experiment, embedded = _train_into(embedded_uri, kind)
        _, direct = _train_into(mlflow_server.uri, kind)
        report = sync(embedded_uri, mlflow_server.uri, experiment=embedded_experiment,
                      progress=False)
    finally:
        autolog.autolog(disable=True)
        _reset()
    assert report.runs_created == len(embedded), report.summary()
    return {"kind": kind, "embedded_uri": embedded_uri, "embedded": embedded,
            "direct": direct, "synced": {name: report.run_ids[run_id]
                                         for name, (_, run_id, _) in embedded.items()}}


def _mlflow_client(mlflow_server):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_server.url)


def _files(list_artifacts, path=None):
    out = set()
    for entry in list_artifacts(path):
        if entry.is_dir:
            out |= _files(list_artifacts, entry.path)
        else:
            out.add(entry.path)
    return out


def _snapshot(get_run, get_history, list_artifacts, run_id):
    """params, tags, {metric: [(step, timestamp, value)]} and artifact paths of one run."""
    run = get_run(run_id)
    metrics = {key: sorted((m.step, m.timestamp, m.value) for m in get_history(run_id, key))
               for key in run.data.metrics}
    files = _files(lambda path: list_artifacts(run_id, path))
    return run, metrics, files


def _embedded(uri, run_id):
    from autolog.backends import get_backend

    store = get_backend(uri)
    return _snapshot(store.get_run, store.get_metric_history, store.list_artifacts, run_id)


def _server(client, run_id):
    return _snapshot(client.get_run, client.get_metric_history, client.list_artifacts, run_id)


def _same_history(a, b, with_timestamps, with_values):
    assert len(a) == len(b), (len(a), len(b))
    for x, y in zip(a, b):
        assert x[0] == y[0], (x, y)
        if with_timestamps:
            assert x[1] == y[1], (x, y)
        if with_values:
            assert x[2] == y[2] or (math.isnan(x[2]) and math.isnan(y[2])), (x, y)


def _comparable_tags(run):
    return {k: v for k, v in run.data.tags.items()
            if k not in _RUN_SPECIFIC_TAGS and k != TAG_SOURCE_RUN_ID}


def _same_run(expected, got, with_timestamps):
    (run_a, metrics_a, files_a), (run_b, metrics_b, files_b) = expected, got
    assert run_b.data.params == run_a.data.params
    assert set(metrics_b) == set(metrics_a)
    for key in metrics_a:
        try:
            _same_history(metrics_a[key], metrics_b[key], with_timestamps,
                          with_values=with_timestamps or key not in _MEASURED_METRICS)
        except AssertionError as error:
            raise AssertionError(f"metric {key!r}: {error}") from error
    assert files_b == files_a
    assert _comparable_tags(run_b) == _comparable_tags(run_a)
    assert run_b.info.status == run_a.info.status == "FINISHED"


def test_autologged_runs_on_the_server_match_the_embedded_store(trained, mlflow_server):
    client = _mlflow_client(mlflow_server)
    for name, (_, embedded_id, _) in trained["embedded"].items():
        expected = _embedded(trained["embedded_uri"], embedded_id)
        direct = _server(client, trained["direct"][name][1])
        assert expected[0].data.params and expected[0].data.metrics and expected[2], name
        assert any(path.startswith("model/") for path in expected[2]), expected[2]
        _same_run(expected, direct, with_timestamps=False)
        synced = _server(client, trained["synced"][name])
        _same_run(expected, synced, with_timestamps=True)
        assert synced[0].data.tags[TAG_SOURCE_RUN_ID] == embedded_id
        assert (synced[0].info.start_time, synced[0].info.end_time) == (
            expected[0].info.start_time, expected[0].info.end_time)


def _predictions(model, data):
    if type(model).__name__ == "Booster" and type(model).__module__.startswith("xgboost"):
        import xgboost as xgb

        data = xgb.DMatrix(data)
    return np.asarray(model.predict(data))


def _load_with_mlflow(mlflow_server, kind, run_id):
    import mlflow
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    uri = f"runs:/{run_id}/model"
    # MLflow's process-wide tracking URI is restored (unset), and the active model its
    # pyfunc loader sets from MLmodel's model_id cleared: later tests see MLflow as it was.
    with _use_tracking_uri(mlflow_server.url):
        try:
            import mlflow.catboost

            flavor = {"sklearn": mlflow.sklearn, "xgboost": mlflow.xgboost,
                      "lightgbm": mlflow.lightgbm, "catboost": mlflow.catboost}[kind]
            return mlflow.pyfunc.load_model(uri), flavor.load_model(uri)
        finally:
            mlflow.clear_active_model()


@pytest.mark.parametrize("how", ["direct", "synced"])
def test_autologged_models_load_with_mlflow_loaders(trained, mlflow_server, how):
    kind = trained["kind"]
    for name, (model, _, data) in trained["embedded"].items():
        run_id = trained["direct"][name][1] if how == "direct" else trained["synced"][name]
        original = trained[how if how == "direct" else "embedded"][name][0]
        assert type(original) is type(model)
        by_pyfunc, by_flavor = _load_with_mlflow(mlflow_server, kind, run_id)
        assert type(by_flavor) is type(model), (name, type(by_flavor))
        expected = _predictions(original, data)
        np.testing.assert_allclose(_predictions(by_flavor, data), expected)
        got = np.asarray(by_pyfunc.predict(data))
        np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=1e-6)
