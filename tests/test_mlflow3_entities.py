"""MLflow 3's entities: dataset inputs and logged models, in every store and through sync.

Against a REAL `mlflow server` (the session fixture of conftest.py) and the embedded and
memory stores; what MLflow holds is read back with MLflow's own `MlflowClient`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

import autolog
from autolog.backends.base import TrackingBackend
from autolog.backends.memory import MemoryBackend
from autolog.backends.sqlite import _MIGRATIONS, SQLiteBackend
from autolog.core.entities import DatasetInput, Metric
from autolog.core.tracking import context

sklearn = pytest.importorskip("sklearn")


def _iris():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True, as_frame=True)


def _fit_logistic():
    from sklearn.linear_model import LogisticRegression

    X, y = _iris()
    autolog.autolog(log_model_signatures=False)
    model = LogisticRegression(max_iter=300).fit(X, y)
    autolog.flush()
    return model, autolog.last_active_run()


def _reset():
    while autolog.active_run() is not None:
        autolog.end_run()
    autolog.flush()
    autolog.set_tracking_uri(None)
    context._experiment_id = None


@pytest.fixture(autouse=True)
def _no_autolog_left():
    yield
    autolog.autolog(disable=True)


# -- the embedded and memory stores ------------------------------------------------------


@pytest.mark.parametrize("store", ["embedded", "memory"])
def test_sklearn_fit_logs_its_dataset_and_a_logged_model(store, tracking_uri, tmp_path):
    if store == "memory":
        autolog.set_tracking_uri(f"memory:{tmp_path.name}")
    model, run = _fit_logistic()
    [dataset] = run.inputs.dataset_inputs
    assert (dataset.name, dataset.context) == ("train", "training")
    assert dataset.digest == run.data.tags["dataset.digest"]  # the tags are kept too
    assert json.loads(dataset.schema)["mlflow_colspec"][0]["name"] == "sepal length (cm)"
    assert json.loads(dataset.profile) == {"num_rows": 150, "num_elements": 600}

    backend = context.get_store()
    [logged] = backend.search_logged_models(source_run_id=run.info.run_id)
    assert (logged.status, logged.name, logged.artifact_path, logged.flavor) == (
        "READY", "model", "model", "sklearn")
    assert logged.params["max_iter"] == "300"
    linked = {m.key: m for m in logged.metrics}
    accuracy = linked["training_accuracy_score"]
    assert accuracy.value == pytest.approx(run.data.metrics["training_accuracy_score"])
    assert (accuracy.dataset_name, accuracy.dataset_digest) == ("train", dataset.digest)
    assert linked["training_duration_seconds"].dataset_name is None  # the process's
    # The MLmodel names the logged model; both URIs load the same model.
    from autolog.models import read_model_metadata, resolve_model_uri

    meta = read_model_metadata(resolve_model_uri(f"runs:/{run.info.run_id}/model"))
    assert meta.model_id == logged.model_id
    loaded = autolog.load_model(f"models:/{logged.model_id}")
    X, _ = _iris()
    assert (loaded.predict(X) == model.predict(X)).all()
    assert backend.get_logged_model(logged.model_id).model_uri == f"models:/{logged.model_id}"
    # A registered version made from the logged model points at the run's files.
    version = autolog.register_model(f"models:/{logged.model_id}", "iris-clf")
    assert version.source == f"runs:/{run.info.run_id}/model"


def test_log_input_fluent_api_dedupes_and_keeps_context(tracking_uri):
    import numpy as np

    X = np.arange(40.0).reshape(10, 4)
    with autolog.start_run() as run:
        autolog.log_input(X, context="training", name="features", targets=np.arange(10))
        autolog.log_input(X, context="training", name="features", targets=np.arange(10))
        autolog.log_input(X[:5], context="evaluation", name="holdout", tags={"split": "a"})
        made = autolog.dataset_input(digest="abc123", name="warehouse",
                                     source="s3://bucket/table.parquet")
        autolog.log_input(made, context="validation")
    inputs = autolog.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(d.name, d.context) for d in inputs] == [
        ("features", "training"), ("holdout", "evaluation"), ("warehouse", "validation")]
    assert inputs[1].tags == {"split": "a"}
    assert json.loads(inputs[0].profile)["targets_shape"] == [10]
    assert json.loads(inputs[0].schema)["mlflow_tensorspec"]["targets"] is not None
    assert (inputs[2].source_type, json.loads(inputs[2].source)) == (
        "local", {"uri": "s3://bucket/table.parquet"})
    with pytest.raises(autolog.InvalidInputError):
        autolog.dataset_input(name="no-data")


def test_a_backend_without_inputs_keeps_them_in_tags():
    """The base class's default, for third-party backends: one JSON tag per input."""

    class TagsOnly(MemoryBackend):
        log_inputs = TrackingBackend.log_inputs
        get_inputs = TrackingBackend.get_inputs

    backend = TagsOnly()
    run = backend.create_run("0", "r", int(time.time() * 1000))
    dataset = DatasetInput("train", "d1", schema="x" * 20_000, context="training")
    backend.log_inputs(run.run_id, [dataset, DatasetInput("val", "d2", context="validation")])
    found = backend.get_inputs(run.run_id)
    assert [(d.name, d.digest, d.context) for d in found] == [
        ("train", "d1", "training"), ("val", "d2", "validation")]
    assert found[0].schema is None  # too long for a tag: dropped, the rest kept


def test_a_store_written_before_these_entities_opens_and_upgrades(tmp_path):
    """A store of schema version 2 (written by autolog before this change) is read as
    it is, then upgraded in place by the first write."""
    root = tmp_path / "old-store"
    (root / "artifacts").mkdir(parents=True)
    conn = sqlite3.connect(root / "runs.db")
    for statements in _MIGRATIONS[:2]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (2)")
    conn.execute("INSERT INTO experiments VALUES ('0', 'Default', 'artifacts/0', 'active', 1)")
    conn.execute("INSERT INTO runs VALUES ('a' || hex(randomblob(15)), '0', 'old', 'FINISHED',"
                 " 1, 2, 'artifacts/0/x', 'active')")
    conn.commit()
    conn.close()
    backend = SQLiteBackend(str(root))
    [old] = backend.search_runs(["0"])
    assert backend.get_run(old.info.run_id).inputs.dataset_inputs == []
    assert backend.search_logged_models() == []
    backend.log_inputs(old.info.run_id, [DatasetInput("train", "d", context="training")])
    assert backend.schema_version() == len(_MIGRATIONS) == 3
    backend.log_batch(old.info.run_id, metrics=[Metric("train-auc", 0.9, 5, 0)])
    model = backend.create_logged_model(old.info.run_id, "model", "model")
    ready = backend.finalize_logged_model(model.model_id, "READY")
    [auc] = ready.metrics
    assert (auc.key, auc.dataset_name, auc.dataset_digest) == ("train-auc", "train", "d")
    backend.close()


def test_xgboost_eval_sets_are_validation_inputs_and_metrics_name_them(tracking_uri):
    xgboost = pytest.importorskip("xgboost")
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0])
    autolog.autolog(log_model_signatures=False)
    xgboost.XGBRegressor(n_estimators=5).fit(X[:80], y[:80], eval_set=[(X[80:], y[80:])],
                                             verbose=False)
    autolog.flush()
    run = autolog.last_active_run()
    by_name = {d.name: d for d in run.inputs.dataset_inputs}
    assert by_name["train"].context == "training"
    assert by_name["validation_0"].context == "validation"
    [logged] = context.get_store().search_logged_models(source_run_id=run.info.run_id)
    rmse = [m for m in logged.metrics if m.key == "validation_0-rmse"]
    assert rmse and rmse[0].dataset_name == "validation_0"
    assert rmse[0].dataset_digest == by_name["validation_0"].digest


# -- a real MLflow server --------------------------------------------------------------


def _mlflow_client(server):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=server.url, registry_uri=server.url)


@pytest.fixture
def server_uri(mlflow_server):
    autolog.set_tracking_uri(mlflow_server.uri)
    autolog.set_experiment(f"exp-{uuid.uuid4().hex[:8]}")
    yield mlflow_server.uri
    _reset()


def test_mlflow_server_shows_datasets_and_logged_models(mlflow_server, server_uri):
    import mlflow

    model, run = _fit_logistic()
    client = _mlflow_client(mlflow_server)
    mlflow_run = client.get_run(run.info.run_id)
    [item] = mlflow_run.inputs.dataset_inputs
    assert item.dataset.name == "train"
    assert item.dataset.digest == mlflow_run.data.tags["dataset.digest"]
    assert {t.key: t.value for t in item.tags} == {"mlflow.data.context": "training"}
    assert json.loads(item.dataset.schema)["mlflow_colspec"]
    # The run's output is a LoggedModel that MLflow's search finds, READY, its metrics
    # carrying model_id and the dataset they were measured on.
    [output] = mlflow_run.outputs.model_outputs
    found = client.search_logged_models(
        [run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'")
    [logged] = list(found)
    assert logged.model_id == output.model_id
    assert str(logged.status) == "READY"
    assert logged.params["max_iter"] == "300"
    accuracy = [m for m in logged.metrics if m.key == "training_accuracy_score"]
    assert accuracy and accuracy[0].dataset_name == "train"
    assert accuracy[0].dataset_digest == item.dataset.digest
    assert accuracy[0].model_id == logged.model_id
    # MLflow loads the model by its id (its own files), autolog by id and by run.
    X, _ = _iris()
    expected = model.predict(X)
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    with _use_tracking_uri(mlflow_server.url):  # MLflow's global URI left as it was (unset)
        mlflow_model = mlflow.sklearn.load_model(f"models:/{logged.model_id}")
    assert (mlflow_model.predict(X) == expected).all()
    assert (autolog.load_model(f"models:/{logged.model_id}").predict(X) == expected).all()
    assert (autolog.load_model(f"runs:/{run.info.run_id}/model").predict(X) == expected).all()


def test_sync_carries_inputs_and_logged_models_both_ways(mlflow_server, tracking_uri,
                                                         tmp_path):
    from autolog.sync import TAG_SOURCE_MODEL_ID, sync

    experiment = f"sync-{uuid.uuid4().hex[:8]}"
    autolog.set_experiment(experiment)
    _model, run = _fit_logistic()
    autolog.autolog(disable=True)

    report = sync(tracking_uri, mlflow_server.uri, experiment=experiment, progress=False)
    assert (report.dataset_inputs_copied, report.logged_models_created) == (1, 1)
    client = _mlflow_client(mlflow_server)
    dest_id = report.run_ids[run.info.run_id]
    dest = client.get_run(dest_id)
    assert [d.dataset.name for d in dest.inputs.dataset_inputs] == ["train"]
    [logged] = client.search_logged_models([dest.info.experiment_id])
    assert logged.source_run_id == dest_id
    [source_model] = context.get_store().search_logged_models(source_run_id=run.info.run_id)
    assert logged.tags[TAG_SOURCE_MODEL_ID] == source_model.model_id
    assert {m.key for m in logged.metrics} >= {"training_accuracy_score"}
    assert str(logged.status) == "READY"
    again = sync(tracking_uri, mlflow_server.uri, experiment=experiment, progress=False)
    assert not again.copied_anything, again.summary()
    assert len(client.search_logged_models([dest.info.experiment_id])) == 1

    # A model MLflow 3 logged by itself (files only in the model's own location) comes
    # back into an embedded store with its files under the run. MLflow's fluent API keeps
    # process-wide state (active experiment, active model): it runs in a process of its own.
    script = textwrap.dedent(f"""
        import mlflow
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LinearRegression
        X, y = load_iris(return_X_y=True, as_frame=True)
        mlflow.set_tracking_uri({mlflow_server.url!r})
        mlflow.set_experiment({experiment!r})
        with mlflow.start_run() as native:
            mlflow.log_input(mlflow.data.from_pandas(X, name="iris"), context="training")
            fitted = LinearRegression().fit(X, y)
            mlflow.log_metric("r2", fitted.score(X, y))
            mlflow.sklearn.log_model(fitted, name="native", serialization_format="cloudpickle")
        print(native.info.run_id)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true"))
    assert done.returncode == 0, done.stderr[-3000:]
    native_id = done.stdout.split()[-1]
    X, _y = _iris()
    back = str(tmp_path / "back")
    report = sync(f"mlflow+{mlflow_server.url}", back, experiment=experiment, progress=False)
    assert report.logged_models_created == 2, report.summary()
    store = SQLiteBackend(back)
    native_copy = report.run_ids[native_id]
    assert [d.name for d in store.get_inputs(native_copy)] == ["iris"]
    [copied] = store.search_logged_models(source_run_id=native_copy)
    assert (copied.name, copied.artifact_path, copied.status) == ("native", "native", "READY")
    assert copied.tags[TAG_SOURCE_MODEL_ID].startswith("m-")
    loaded = autolog.load_model(copied.artifact_location)
    assert loaded.predict(X[:3]).shape == (3,)
    assert os.path.isfile(os.path.join(copied.artifact_location, "MLmodel"))
    store.close()


def test_ui_run_page_lists_the_datasets(tracking_uri):
    import threading
    import urllib.request

    from autolog.ui.server import make_server

    _model, run = _fit_logistic()
    digest = run.inputs.dataset_inputs[0].digest
    server = make_server(tracking_uri, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"{server.url}/runs/{run.info.run_id}", timeout=30) as r:
            body = r.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert '<h2 id="datasets">Datasets</h2>' in body
    assert digest in body and "<td>training</td>" in body and '<td class="num">150</td>' in body
