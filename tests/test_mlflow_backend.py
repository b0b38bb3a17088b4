"""The MLflow backend against a real `mlflow server` and against mlflow+sqlite (no server).

Never mocked: every value is read back with MLflow's own `MlflowClient`.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

pytest.importorskip("mlflow")

import autolog  # noqa: E402
from autolog.backends.mlflow import MlflowBackend  # noqa: E402
from autolog.core.entities import Metric, Param, RunTag  # noqa: E402
from autolog.core.errors import (  # noqa: E402
    InvalidInputError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
)
from autolog.core.tracking import context  # noqa: E402


def _reset():
    while autolog.active_run() is not None:
        autolog.end_run()
    autolog.flush()
    autolog.set_tracking_uri(None)
    context._experiment_id = None


@pytest.fixture
def server_uri(mlflow_server):
    """The server is the current tracking URI, in a fresh experiment."""
    autolog.set_tracking_uri(mlflow_server.uri)
    autolog.set_experiment(f"exp-{uuid.uuid4().hex[:8]}")
    yield mlflow_server.uri
    _reset()


@pytest.fixture
def sqlite_uri(tmp_path):
    uri = f"mlflow+sqlite:///{tmp_path}/mlflow.db"
    autolog.set_tracking_uri(uri)
    yield uri
    _reset()


def mlflow_client(url):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=url, registry_uri=url)


def history(client, run_id, key):
    return sorted(
        ((m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key)),
        key=lambda x: (x[0], x[1]),
    )


def same_values(a, b):
    assert len(a) == len(b)
    for (s1, t1, v1), (s2, t2, v2) in zip(a, b):
        assert (s1, t1) == (s2, t2)
        assert v1 == v2 or (math.isnan(v1) and math.isnan(v2))


def log_everything(tmp_path):
    """One parent run with a child; returns what was logged."""
    params = {f"param_{i}": str(i * 3) for i in range(230)}  # > 100: several requests
    tags = {f"tag_{i}": f"value {i}" for i in range(130)}
    expected: dict[str, list] = {"loss": [], "acc": []}
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("alpha")
    (tmp_path / "data" / "sub").mkdir()
    (tmp_path / "data" / "sub" / "b.json").write_text('{"b": 1}')
    (tmp_path / "single.txt").write_text("single")
    with autolog.start_run(run_name="parent", tags={"team": "vision"}) as parent:
        autolog.log_params(params)
        autolog.set_tags(tags)
        for step in range(1500):  # > 1000: several requests
            timestamp = 1_700_000_000_000 + step
            autolog.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=timestamp)
            expected["loss"].append((step, timestamp, 1.0 / (step + 1)))
        for step in range(5):
            autolog.log_metric("acc", 0.5 + step / 10, step=step, timestamp=1000 + step)
            expected["acc"].append((step, 1000 + step, 0.5 + step / 10))
        autolog.log_metric("nan_metric", float("nan"), step=1, timestamp=5)
        autolog.log_artifacts(str(tmp_path / "data"), "data")
        autolog.log_artifact(str(tmp_path / "single.txt"))
        autolog.log_dict({"x": 1}, "config/settings.json")
        with autolog.start_run(run_name="child", nested=True) as child:
            autolog.log_param("lr", 0.1)
            autolog.log_metric("child_loss", 0.25, step=3, timestamp=77)
    return parent, child, params, tags, expected


def test_fluent_round_trip_read_back_by_mlflow(server_uri, mlflow_server, tmp_path):
    parent, child, params, tags, expected = log_everything(tmp_path)
    client = mlflow_client(mlflow_server.url)
    run = client.get_run(parent.info.run_id)
    assert run.data.params == params
    for key, value in {**tags, "team": "vision", "mlflow.runName": "parent"}.items():
        assert run.data.tags[key] == value
    for key, values in expected.items():
        same_values(history(client, parent.info.run_id, key), values)
    same_values(history(client, parent.info.run_id, "nan_metric"), [(1, 5, float("nan"))])
    assert run.info.status == "FINISHED"
    ours = autolog.get_run(parent.info.run_id)
    assert ours.info.start_time == run.info.start_time and ours.info.end_time == run.info.end_time
    assert run.info.end_time >= run.info.start_time
    assert ours.data.params == run.data.params and ours.data.tags == run.data.tags
    assert autolog.get_metric_history(parent.info.run_id, "loss") == [
        Metric("loss", v, t, s) for s, t, v in expected["loss"]
    ]
    # artifacts, read back with MLflow
    listed = {f.path: f.is_dir for f in client.list_artifacts(parent.info.run_id)}
    assert listed == {"config": True, "data": True, "single.txt": False}
    assert {f.path for f in client.list_artifacts(parent.info.run_id, "data/sub")} == {
        "data/sub/b.json"
    }
    local = client.download_artifacts(parent.info.run_id, "data", str(tmp_path / "dl"))
    assert open(os.path.join(local, "sub", "b.json")).read() == '{"b": 1}'
    assert open(os.path.join(local, "a.txt")).read() == "alpha"
    # the nested run keeps its parent
    child_run = client.get_run(child.info.run_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child_run.data.params == {"lr": "0.1"}
    same_values(history(client, child.info.run_id, "child_loss"), [(3, 77, 0.25)])
    # search through autolog: filter passed through, order_by mapped
    found = autolog.search_runs(filter_string="params.lr = '0.1'")
    assert [r.info.run_id for r in found] == [child.info.run_id]
    ordered = autolog.search_runs(order_by=["attributes.start_time DESC"])
    assert [r.info.run_id for r in ordered] == [child.info.run_id, parent.info.run_id]
    # autolog's own artifact API reads the server too
    files = autolog.Client().list_artifacts(parent.info.run_id, "data")
    assert [(f.path, f.is_dir) for f in files] == [("data/a.txt", False), ("data/sub", True)]
    got = autolog.Client().download_artifacts(parent.info.run_id, "data/sub/b.json",
                                              str(tmp_path / "dl2"))
    assert got == str(tmp_path / "dl2" / "b.json") and open(got).read() == '{"b": 1}'


def test_experiments_and_errors_with_sqlite_no_server(sqlite_uri, tmp_path):
    backend = context.get_store()
    assert isinstance(backend, MlflowBackend)
    experiment = autolog.set_experiment("local-exp")
    assert backend.get_experiment_by_name("local-exp").experiment_id == experiment.experiment_id
    assert backend.get_experiment_by_name("missing") is None
    assert [e.name for e in backend.search_experiments()][0] == "Default"
    with pytest.raises(ResourceAlreadyExistsError):
        backend.create_experiment("local-exp")
    with pytest.raises(ResourceNotFoundError):
        backend.get_run("f" * 32)
    with autolog.start_run() as run:
        autolog.log_param("p", 1)
        autolog.log_metric("m", 2.0, step=4)
    with pytest.raises(InvalidInputError, match="p"):
        autolog.Client().log_param(run.info.run_id, "p", 2)
    client = mlflow_client(sqlite_uri[len("mlflow+"):])
    assert client.get_run(run.info.run_id).data.params == {"p": "1"}
    assert history(client, run.info.run_id, "m")[0][::2] == (4, 2.0)
    # log_batch within MLflow's limits: 2500 metrics, 250 params, 250 tags in one call
    run_id = run.info.run_id
    backend.log_batch(
        run_id,
        metrics=[Metric("big", float(i), 10 + i, i) for i in range(2500)],
        params=[Param(f"bp{i}", str(i)) for i in range(250)],
        tags=[RunTag(f"bt{i}", str(i)) for i in range(250)],
    )
    stored = client.get_run(run_id)
    assert len(history(client, run_id, "big")) == 2500
    assert all(stored.data.params[f"bp{i}"] == str(i) for i in range(250))
    assert all(stored.data.tags[f"bt{i}"] == str(i) for i in range(250))
    backend.delete_run(run_id)
    assert autolog.search_runs() == []


def test_file_store_scheme_leaves_the_environment_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    backend = MlflowBackend(f"mlflow+file:{tmp_path}/mlruns")
    info = backend.create_run("0", "r", 123, {"k": "v"})
    backend.log_batch(info.run_id, metrics=[Metric("m", 1.5, 9, 2)])
    assert backend.get_metric_history(info.run_id, "m") == [Metric("m", 1.5, 9, 2)]
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ


def test_bad_uris():
    with pytest.raises(InvalidInputError, match="unknown scheme"):
        MlflowBackend("mlflow+ftp://x")
    with pytest.raises(InvalidInputError):
        MlflowBackend("http://x")


def test_importing_autolog_does_not_import_mlflow(tmp_path):
    code = textwrap.dedent(f"""
        import sys, autolog
        autolog.set_tracking_uri({str(tmp_path / 's')!r})
        with autolog.start_run():
            autolog.log_metric("m", 1)
        assert "mlflow" not in sys.modules, "mlflow was imported"
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_registry_against_the_server(server_uri, mlflow_server, tmp_path):
    name = f"model-{uuid.uuid4().hex[:8]}"
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.txt").write_text("w")
    runs = []
    for _ in range(3):
        with autolog.start_run() as run:
            autolog.log_artifacts(str(tmp_path / "m"), "model")
        runs.append(run.info.run_id)
    versions = [autolog.register_model(f"runs:/{r}/model", name) for r in runs]
    assert [v.version for v in versions] == ["1", "2", "3"]
    assert versions[0].source == f"runs:/{runs[0]}/model" and versions[0].run_id == runs[0]
    client = autolog.Client()
    client.transition_model_version_stage(name, 1, "Production")
    moved = client.transition_model_version_stage(name, 2, "production",
                                                  archive_existing_versions=True)
    assert moved.current_stage == "Production"
    assert client.get_model_version(name, 1).current_stage == "Archived"
    client.set_registered_model_alias(name, "champion", 3)
    assert client.get_model_version_by_alias(name, "champion").version == "3"
    assert client.get_model_version(name, 3).aliases == ["champion"]
    client.update_model_version(name, 3, description="the best")
    mlflow_side = mlflow_client(mlflow_server.url)
    assert mlflow_side.get_model_version(name, "3").description == "the best"
    assert mlflow_side.get_model_version(name, "2").current_stage == "Production"
    assert mlflow_side.get_registered_model(name).aliases == {"champion": "3"}
    assert {v.version for v in client.search_model_versions(f"name = '{name}'")} == {"1", "2",
                                                                                      "3"}
    assert [v.version for v in client.get_latest_versions(name, ["Production"])] == ["2"]
    registered = client.get_registered_model(name)
    assert registered.aliases == {"champion": "3"}
    assert name in [m.name for m in client.search_registered_models(f"name = '{name}'")]
    # models:/ URIs resolve through the backend
    from autolog.models import get_model_version_for_uri, resolve_model_uri

    assert get_model_version_for_uri(f"models:/{name}@champion").version == "3"
    assert get_model_version_for_uri(f"models:/{name}/Production").version == "2"
    path = resolve_model_uri(f"models:/{name}/1")
    assert open(os.path.join(path, "weights.txt")).read() == "w"
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(ResourceNotFoundError):
        client.get_model_version_by_alias(name, "champion")
    client.delete_model_version(name, 1)
    with pytest.raises(ResourceNotFoundError):
        client.get_model_version(name, 1)


def test_sklearn_model_logged_directly_loads_with_mlflow(server_uri, mlflow_server):
    pytest.importorskip("sklearn")
    sk_flavor = autolog.sklearn
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    with autolog.start_run():
        info = sk_flavor.log_model(model, name="model", input_example=X[:2])
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    with _use_tracking_uri(mlflow_server.url):  # MLflow's global URI restored (unset)
        try:
            by_pyfunc = mlflow.pyfunc.load_model(info.model_uri)
            by_sklearn = mlflow.sklearn.load_model(info.model_uri)
        finally:
            mlflow.clear_active_model()  # set by pyfunc from MLmodel's model_id
    expected = model.predict(X)
    assert (np.asarray(by_pyfunc.predict(X)) == expected).all()
    assert (by_sklearn.predict(X) == expected).all()
    assert (sk_flavor.load_model(info.model_uri).predict(X) == expected).all()


@pytest.mark.slow
def test_server_stopped_mid_run_loses_nothing(server_uri, mlflow_server, recwarn):
    backend = context.get_store()
    backend.retry_max_s = 1.0
    with autolog.start_run() as run:
        autolog.log_param("before", 1)
        for step in range(100):
            autolog.log_metric("m", float(step), step=step, timestamp=1000 + step)
        autolog.flush()
        mlflow_server.stop()
        started = time.perf_counter()
        for step in range(100, 3000):
            autolog.log_metric("m", float(step), step=step, timestamp=1000 + step)
        autolog.log_param("during", 2)
        autolog.set_tag("phase", "outage")
        autolog.flush()  # returns: the values wait in the backend's backlog
        caller_seconds = time.perf_counter() - started
    end_seconds = time.perf_counter() - started
    assert caller_seconds < 5 and end_seconds < 6, (caller_seconds, end_seconds)
    assert backend.pending_values() > 0
    warned = [w for w in recwarn if "unreachable" in str(w.message)]
    assert len(warned) == 1
    mlflow_server.start()
    deadline = time.monotonic() + 30
    while backend.pending_values() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert backend.pending_values() == 0
    client = mlflow_client(mlflow_server.url)
    stored = client.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED" and stored.info.end_time
    assert stored.data.params == {"before": "1", "during": "2"}
    assert stored.data.tags["phase"] == "outage"
    same_values(history(client, run.info.run_id, "m"),
                [(s, 1000 + s, float(s)) for s in range(3000)])
