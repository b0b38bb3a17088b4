"""The model registry on the embedded store: versions, stages, aliases, CLI, concurrency."""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import autolog
from autolog import InvalidInputError, ResourceNotFoundError
from autolog.cli_models import models as models_cli
from autolog.core.entities import ModelVersion

sk_flavor = autolog.sklearn  # the face: log_model, save_model, load_model


@pytest.fixture(scope="module")
def fitted():
    X, y = load_iris(return_X_y=True)
    return X, LogisticRegression(max_iter=1000).fit(X, y)


def _log(model, n=1, name="churn"):
    infos = []
    for _ in range(n):
        with autolog.start_run():
            infos.append(sk_flavor.log_model(model, registered_model_name=name))
    return infos


def test_register_model_creates_versions(tracking_uri, fitted):
    _X, model = fitted
    with autolog.start_run() as run:
        info = sk_flavor.log_model(model)
    before = int(time.time() * 1000)
    version = autolog.register_model(info.model_uri, "churn")
    assert isinstance(version, ModelVersion)
    assert (version.name, version.version, version.current_stage) == ("churn", "1", "None")
    assert version.run_id == run.info.run_id
    assert version.source == f"runs:/{run.info.run_id}/model"
    assert version.creation_timestamp >= before - 1000
    assert version.description == ""
    assert autolog.register_model(info.model_uri, "churn").version == "2"
    # a local directory registers too, and keeps the run id from its MLmodel
    local = autolog.models.resolve_model_uri(info.model_uri)
    third = autolog.register_model(local, "churn")
    assert third.version == "3" and third.run_id == run.info.run_id
    client = autolog.Client()
    assert client.get_registered_model("churn").name == "churn"
    assert [m.name for m in client.search_registered_models()] == ["churn"]
    assert sorted(v.version for v in client.search_model_versions("name = 'churn'")) == [
        "1", "2", "3"
    ]
    updated = client.update_model_version("churn", 2, description="retrained")
    assert updated.description == "retrained"
    assert client.get_model_version("churn", "2").description == "retrained"
    client.delete_model_version("churn", 3)
    with pytest.raises(ResourceNotFoundError):
        client.get_model_version("churn", 3)
    with pytest.raises(ResourceNotFoundError, match="no-run"):
        autolog.register_model("runs:/no-run/model", "churn")
    with pytest.raises(InvalidInputError):
        autolog.register_model(info.model_uri, "")
    with pytest.raises(InvalidInputError):
        autolog.register_model("foo://x", "churn")


def test_stage_transitions_and_latest_versions(tracking_uri, fitted):
    X, model = fitted
    _log(model, 4)
    client = autolog.Client()
    client.transition_model_version_stage("churn", 1, "Production")
    client.transition_model_version_stage("churn", 2, "production")
    assert [v.current_stage for v in client.search_model_versions("name = 'churn'")
            if v.version in ("1", "2")] == ["Production", "Production"]
    client.transition_model_version_stage("churn", 3, "Production",
                                          archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in client.search_model_versions("name = 'churn'")}
    assert stages == {"1": "Archived", "2": "Archived", "3": "Production", "4": "None"}
    client.transition_model_version_stage("churn", 4, "Staging")
    latest = client.get_latest_versions("churn")
    assert [(v.version, v.current_stage) for v in latest] == [
        ("2", "Archived"), ("3", "Production"), ("4", "Staging")
    ]
    assert [v.version for v in client.get_latest_versions("churn", stages=["Production"])] == ["3"]
    assert client.get_latest_versions("churn", stages=["None"]) == []
    assert autolog.models.get_model_version_for_uri("models:/churn/Production").version == "3"
    assert autolog.models.get_model_version_for_uri("models:/churn/archived").version == "2"
    assert autolog.models.get_model_version_for_uri("models:/churn/latest").version == "4"
    np.testing.assert_array_equal(autolog.load_model("models:/churn/Production").predict(X),
                                  model.predict(X))
    with pytest.raises(InvalidInputError, match="Stagin"):
        client.transition_model_version_stage("churn", 4, "Stagin")
    with pytest.raises(ResourceNotFoundError):
        client.get_latest_versions("unknown")
    with pytest.raises(ResourceNotFoundError, match="None"):
        autolog.load_model("models:/churn/None")


def test_aliases(tracking_uri, fitted):
    X, model = fitted
    _log(model, 2)
    client = autolog.Client()
    client.set_registered_model_alias("churn", "champion", 1)
    client.set_registered_model_alias("churn", "challenger", 2)
    assert client.get_model_version_by_alias("churn", "champion").version == "1"
    assert client.get_registered_model("churn").aliases == {"challenger": "2", "champion": "1"}
    assert client.get_model_version("churn", 1).aliases == ["champion"]
    client.set_registered_model_alias("churn", "champion", 2)  # moves the alias
    assert client.get_model_version_by_alias("churn", "champion").version == "2"
    assert sorted(client.get_model_version("churn", 2).aliases) == ["challenger", "champion"]
    np.testing.assert_array_equal(autolog.load_model("models:/churn@champion").predict(X),
                                  model.predict(X))
    client.delete_registered_model_alias("churn", "champion")
    with pytest.raises(ResourceNotFoundError, match="champion"):
        client.get_model_version_by_alias("churn", "champion")
    with pytest.raises(ResourceNotFoundError, match="champion"):
        autolog.load_model("models:/churn@champion")
    with pytest.raises(ResourceNotFoundError):
        client.set_registered_model_alias("churn", "x", 9)


def _register_many(store: str, model_dir: str, count: int, queue) -> None:
    import autolog

    autolog.set_tracking_uri(store)
    queue.put([autolog.register_model(model_dir, "shared").version for _ in range(count)])


def test_two_processes_register_concurrently(tracking_uri, fitted, tmp_path):
    _X, model = fitted
    model_dir = str(tmp_path / "model")
    sk_flavor.save_model(model, model_dir)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    procs = [context.Process(target=_register_many, args=(tracking_uri, model_dir, 10, queue))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    numbers = sorted(int(v) for chunk in results for v in chunk)
    assert numbers == list(range(1, 21))
    versions = autolog.Client().search_model_versions("name = 'shared'")
    assert sorted(int(v.version) for v in versions) == list(range(1, 21))


def test_cli_list_and_show(tracking_uri, fitted):
    _X, model = fitted
    infos = _log(model, 2)
    client = autolog.Client()
    client.transition_model_version_stage("churn", 2, "Production")
    client.set_registered_model_alias("churn", "champion", 2)
    client.update_model_version("churn", 1, description="first try")
    runner = CliRunner()

    result = runner.invoke(models_cli, ["--tracking-uri", tracking_uri, "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["NAME", "LATEST", "VERSIONS"]
    assert "churn" in lines[2] and "None: v1" in lines[2] and "Production: v2" in lines[2]
    assert "@champion: v2" in lines[2]

    result = runner.invoke(models_cli, ["show", "churn"])  # AUTOLOG_TRACKING_URI is set
    assert result.exit_code == 0, result.output
    assert "Registered model: churn" in result.output
    rows = [line for line in result.output.splitlines() if line.startswith(("1 ", "2 "))]
    assert len(rows) == 2
    assert "first try" in rows[0] and infos[0].run_id in rows[0]
    assert "Production" in rows[1] and "@champion" in rows[1]
    assert f"runs:/{infos[1].run_id}/model" in rows[1]

    result = runner.invoke(models_cli, ["show", "missing"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "missing" in result.output
    assert "Traceback" not in result.output


def test_cli_list_empty(tracking_uri):
    with autolog.start_run():  # the store exists, with no registered model
        pass
    result = CliRunner().invoke(models_cli, ["list"])
    assert result.exit_code == 0 and "No registered models" in result.output


def test_cli_attached_to_main_group(tracking_uri, fitted, monkeypatch):
    from autolog.cli import cli

    _X, model = fitted
    _log(model, 1, name="attached")
    monkeypatch.delenv("AUTOLOG_TRACKING_URI")
    result = CliRunner().invoke(cli, ["--tracking-uri", tracking_uri, "models", "show",
                                      "attached"])
    assert result.exit_code == 0, result.output
    assert "Registered model: attached" in result.output
