"""`autolog sync`: embedded store -> MLflow server (and store -> store), idempotent."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

import autolog
from autolog.core.tracking import context
from autolog.sync import TAG_SOURCE_RUN_ID, sync


def _history(backend, run_id, key):
    return [(m.step, m.timestamp, m.value) for m in backend.get_metric_history(run_id, key)]


def _same(a, b):
    assert len(a) == len(b), (len(a), len(b))
    for x, y in zip(a, b):
        assert x[:2] == y[:2]
        assert x[2] == y[2] or (math.isnan(x[2]) and math.isnan(y[2]))


def _files(backend, run_id, path=""):
    out = {}
    for entry in backend.list_artifacts(run_id, path):
        if entry.is_dir:
            out.update(_files(backend, run_id, entry.path))
        else:
            out[entry.path] = entry.file_size
    return out


def _populate(tmp_path, experiment):
    autolog.set_experiment(experiment)
    (tmp_path / "tree" / "nested").mkdir(parents=True)
    (tmp_path / "tree" / "top.txt").write_text("top")
    (tmp_path / "tree" / "nested" / "deep.bin").write_bytes(b"\x00\x01" * 100)
    with autolog.start_run(run_name="parent", tags={"owner": "me"}) as parent:
        autolog.log_params({"C": 1.0, "kernel": "rbf"})
        for step in range(300):
            autolog.log_metric("loss", 1 / (step + 1), step=step, timestamp=10_000 + step)
        autolog.log_metric("loss", 0.123, step=5, timestamp=99_999)  # same step twice
        autolog.log_metric("odd", float("nan"), step=0, timestamp=1)
        autolog.log_artifacts(str(tmp_path / "tree"), "tree")
        with autolog.start_run(run_name="child", nested=True) as child:
            autolog.log_metric("c", 3.0, step=1, timestamp=2)
    with autolog.start_run(run_name="failed") as failed:
        autolog.log_param("x", "y")
    autolog.end_run()
    from autolog.core.tracking.client import Client

    Client().set_terminated(failed.info.run_id, "FAILED", failed.info.end_time)
    return parent, child, failed


def _compare(source, dest, source_id, dest_id):
    s, d = source.get_run(source_id), dest.get_run(dest_id)
    assert d.data.params == s.data.params
    for key, value in s.data.tags.items():
        if key != "mlflow.parentRunId":
            assert d.data.tags[key] == value, key
    assert d.data.tags[TAG_SOURCE_RUN_ID] == source_id
    assert (d.info.status, d.info.start_time, d.info.end_time, d.info.run_name) == (
        s.info.status, s.info.start_time, s.info.end_time, s.info.run_name)
    for key in s.data.metrics:
        _same(sorted(_history(dest, dest_id, key)), sorted(_history(source, source_id, key)))
    assert _files(dest, dest_id) == _files(source, source_id)


def test_sync_embedded_to_embedded_is_idempotent(tracking_uri, tmp_path):
    from autolog.backends import get_backend

    parent, child, failed = _populate(tmp_path, "local")
    autolog.flush()
    dest_uri = str(tmp_path / "copy")
    report = sync(tracking_uri, dest_uri, progress=False)
    assert (report.runs_created, report.experiments_created) == (3, 1)
    source, dest = get_backend(tracking_uri), get_backend(dest_uri)
    for run in (parent, child, failed):
        assert report.run_ids[run.info.run_id] == run.info.run_id  # ids kept when possible
        _compare(source, dest, run.info.run_id, run.info.run_id)
    assert dest.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    again = sync(tracking_uri, dest_uri, progress=False)
    assert not again.copied_anything and again.runs_unchanged == 3
    only = sync(tracking_uri, str(tmp_path / "other"), experiment="Default", progress=False)
    assert only.runs_created == 0
    with pytest.raises(autolog.AutologException if hasattr(autolog, "AutologException")
                       else Exception, match="nope"):
        sync(tracking_uri, dest_uri, experiment="nope", progress=False)


def test_sync_registered_model_whose_name_holds_quotes(tracking_uri, tmp_path):
    """Model names are free text: one with quotes in it syncs like any other."""
    from autolog.backends import get_backend

    with autolog.start_run() as run:
        autolog.log_text("weights", "model/file.txt")
    name = """o'brien "v2" model"""
    autolog.register_model(f"runs:/{run.info.run_id}/model", name)
    autolog.flush()
    dest_uri = str(tmp_path / "copy")
    report = sync(tracking_uri, dest_uri, progress=False)
    assert report.registered_models_created == 1
    (version,) = get_backend(dest_uri).search_model_versions()
    assert (version.name, version.version) == (name, "1")
    assert version.source == f"runs:/{report.run_ids[run.info.run_id]}/model"
    again = sync(tracking_uri, dest_uri, progress=False)
    assert len(get_backend(dest_uri).search_model_versions()) == 1 and again.runs_unchanged


def test_cli_sync_command(tracking_uri, tmp_path):
    from click.testing import CliRunner

    from autolog.cli_sync import sync_command

    with autolog.start_run():
        autolog.log_metric("m", 1.0)
    autolog.flush()
    runner = CliRunner()
    dest = str(tmp_path / "cli-dest")
    first = runner.invoke(sync_command, ["--from", tracking_uri, "--to", dest])
    assert first.exit_code == 0, first.output
    assert "runs created: 1" in first.output
    second = runner.invoke(sync_command, ["--from", tracking_uri, "--to", dest, "--no-progress"])
    assert second.exit_code == 0 and "Nothing new to copy" in second.output
    bad = runner.invoke(sync_command, ["--from", tracking_uri, "--to", dest,
                                       "--experiment", "missing"])
    assert bad.exit_code != 0 and "missing" in bad.output


# -- to a real MLflow server -------------------------------------------------------------


def test_sync_to_mlflow_server_twice(tracking_uri, tmp_path, mlflow_server):
    from autolog.backends import get_backend

    experiment = f"synced-{uuid.uuid4().hex[:8]}"
    parent, child, failed = _populate(tmp_path, experiment)
    name = f"synced-model-{uuid.uuid4().hex[:6]}"
    version = autolog.register_model(f"runs:/{parent.info.run_id}/tree", name)
    autolog.Client().transition_model_version_stage(name, version.version, "Staging")
    autolog.Client().set_registered_model_alias(name, "best", version.version)
    autolog.flush()
    report = sync(tracking_uri, mlflow_server.uri, experiment=experiment, progress=True)
    assert report.runs_created == 3 and report.model_versions_created == 1
    source, dest = get_backend(tracking_uri), get_backend(mlflow_server.uri)
    for run in (parent, child, failed):
        _compare(source, dest, run.info.run_id, report.run_ids[run.info.run_id])
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    dest_parent = report.run_ids[parent.info.run_id]
    assert client.get_run(report.run_ids[child.info.run_id]).data.tags[
        "mlflow.parentRunId"] == dest_parent
    assert len(client.get_metric_history(dest_parent, "loss")) == 301
    assert client.get_run(report.run_ids[failed.info.run_id]).info.status == "FAILED"
    synced_version = client.get_model_version_by_alias(name, "best")
    assert synced_version.source == f"runs:/{dest_parent}/tree"
    assert synced_version.current_stage == "Staging"
    again = sync(tracking_uri, mlflow_server.uri, experiment=experiment, progress=False)
    assert not again.copied_anything, again.summary()
    assert len(client.get_metric_history(dest_parent, "loss")) == 301


def test_running_run_is_completed_by_a_later_sync(tracking_uri, mlflow_server):
    experiment = f"running-{uuid.uuid4().hex[:8]}"
    autolog.set_experiment(experiment)
    run = autolog.start_run()
    for step in range(10):
        autolog.log_metric("m", float(step), step=step, timestamp=step)
    autolog.flush()
    first = sync(tracking_uri, mlflow_server.uri, progress=False)
    dest_id = first.run_ids[run.info.run_id]
    from autolog.backends import get_backend

    dest = get_backend(mlflow_server.uri)
    assert dest.get_run(dest_id).info.status == "RUNNING"
    for step in range(10, 20):
        autolog.log_metric("m", float(step), step=step, timestamp=step)
    autolog.log_param("late", 1)
    autolog.end_run()
    second = sync(tracking_uri, mlflow_server.uri, progress=False)
    assert second.runs_updated == 1 and second.runs_created == 0
    assert second.metric_values_copied == 10
    synced = dest.get_run(dest_id)
    assert synced.info.status == "FINISHED" and synced.data.params == {"late": "1"}
    assert _history(dest, dest_id, "m") == [(s, s, float(s)) for s in range(20)]
    assert not sync(tracking_uri, mlflow_server.uri, progress=False).copied_anything


def test_sklearn_model_synced_loads_with_mlflow(tracking_uri, mlflow_server):
    pytest.importorskip("sklearn")
    sk_flavor = autolog.sklearn
    import mlflow
    import numpy as np
    from sklearn.tree import DecisionTreeRegressor

    X = np.random.default_rng(1).normal(size=(30, 4))
    y = X @ np.arange(4.0)
    model = DecisionTreeRegressor(max_depth=3).fit(X, y)
    autolog.set_experiment(f"sk-{uuid.uuid4().hex[:8]}")
    with autolog.start_run() as run:
        sk_flavor.log_model(model, name="model")
    autolog.flush()
    report = sync(tracking_uri, mlflow_server.uri, progress=False)
    dest_id = report.run_ids[run.info.run_id]
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server.url)
    try:
        by_pyfunc = mlflow.pyfunc.load_model(f"runs:/{dest_id}/model")
        by_sklearn = mlflow.sklearn.load_model(f"runs:/{dest_id}/model")
    finally:
        mlflow.set_tracking_uri(previous)
    expected = model.predict(X)
    assert np.array_equal(np.asarray(by_pyfunc.predict(X)), expected)
    assert np.array_equal(by_sklearn.predict(X), expected)


_SPOOL_SCRIPT = """
import os, sys, time
import autolog
autolog.set_tracking_uri(sys.argv[1])
autolog.set_experiment(sys.argv[2])
marker = sys.argv[3]
with autolog.start_run(run_name="interrupted") as run:
    autolog.log_param("a", 1)
    for step in range(50):
        autolog.log_metric("m", float(step), step=step, timestamp=step)
    autolog.flush()
    open(marker + ".ready", "w").write(run.info.run_id)
    deadline = time.time() + 120
    while not os.path.exists(marker + ".go") and time.time() < deadline:
        time.sleep(0.05)
    started = time.perf_counter()
    for step in range(50, 200):
        autolog.log_metric("m", float(step), step=step, timestamp=step)
    autolog.log_param("b", 2)
    autolog.set_tag("during", "outage")
with autolog.start_run(run_name="offline") as offline:
    autolog.log_metric("o", 7.0, step=1, timestamp=3)
    autolog.log_param("p", "q")
    autolog.log_text("kept", "notes/offline.txt")
open(marker + ".offline", "w").write(offline.info.run_id)
print("caller seconds", time.perf_counter() - started)
"""


@pytest.mark.slow
def test_server_down_until_exit_spools_then_sync_sends(tmp_path, mlflow_server):
    experiment = f"spool-{uuid.uuid4().hex[:8]}"
    spool_root = tmp_path / "spool"
    marker = str(tmp_path / "marker")
    env = dict(os.environ, AUTOLOG_SPOOL_DIR=str(spool_root), AUTOLOG_STRICT="1")
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_SPOOL_SCRIPT), mlflow_server.uri, experiment,
         marker], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(marker + ".ready") and time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.05)
        run_id = open(marker + ".ready").read()
        mlflow_server.stop()
        open(marker + ".go", "w").close()
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        if mlflow_server.process is None:
            mlflow_server.start()
    assert process.returncode == 0, output
    assert "autolog sync --from" in output and output.count("AutologWarning") == 1, output
    caller = float(output.split("caller seconds")[1].split()[0])
    assert caller < 5, output
    offline_id = open(marker + ".offline").read()
    spools = os.listdir(spool_root)
    assert spools == [f"127.0.0.1_{mlflow_server.port}"]
    spool_dir = str(spool_root / spools[0])
    report = sync(spool_dir, mlflow_server.uri, progress=False)
    assert report.runs_updated == 1 and report.runs_created == 1, report.summary()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.end_time
    assert run.data.params == {"a": "1", "b": "2"} and run.data.tags["during"] == "outage"
    values = sorted((m.step, m.value) for m in client.get_metric_history(run_id, "m"))
    assert values == [(s, float(s)) for s in range(200)]
    offline = client.get_run(report.run_ids[offline_id])
    assert offline.data.tags[TAG_SOURCE_RUN_ID] == offline_id
    assert offline.data.params == {"p": "q"} and offline.info.status == "FINISHED"
    assert offline.info.experiment_id == run.info.experiment_id
    assert [f.path for f in client.list_artifacts(offline.info.run_id, "notes")] == [
        "notes/offline.txt"]
    assert not sync(spool_dir, mlflow_server.uri, progress=False).copied_anything


@pytest.fixture(autouse=True)
def _forget_experiment():
    yield
    context._experiment_id = None
