"""The fluent tracking API on the embedded store: the scenario of issue 2 and bad input."""

from __future__ import annotations

import json
import math
import os
import threading

import pytest

import autolog
from autolog import InvalidInputError, ResourceNotFoundError, RunStateError


def test_quickstart_scenario(tracking_uri, tmp_path):
    plot = tmp_path / "plot.png"
    plot.write_bytes(b"png")
    outputs = tmp_path / "outputs"
    (outputs / "sub").mkdir(parents=True)
    (outputs / "a.txt").write_text("a")
    (outputs / "sub" / "b.txt").write_text("b")

    experiment = autolog.set_experiment("customer_churn")
    with autolog.start_run(run_name="lr-v1", tags={"team": "ds"}) as run:
        assert autolog.active_run() is run
        autolog.log_param("max_iter", 200)
        autolog.log_params({"C": 1.0, "penalty": "l2"})
        for epoch in range(100):
            autolog.log_metric("loss", 1 / (epoch + 1), step=epoch)
        autolog.log_metrics({"precision": 0.92, "recall": 0.88})
        autolog.set_tags({"author": "alice"})
        autolog.log_artifact(str(plot), artifact_path="visualizations")
        autolog.log_artifacts(str(outputs))
        autolog.log_dict({"lr": 0.1}, "config.json")
        autolog.log_dict({"lr": 0.1}, "config.yaml")
        autolog.log_text("notes", "notes.txt")
    assert autolog.active_run() is None

    stored = autolog.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.info.run_name == "lr-v1"
    assert stored.info.experiment_id == experiment.experiment_id != "0"
    assert stored.info.end_time >= stored.info.start_time
    assert stored.data.params == {"max_iter": "200", "C": "1.0", "penalty": "l2"}
    assert stored.data.metrics["loss"] == pytest.approx(1 / 100)
    assert stored.data.metrics["precision"] == 0.92
    assert stored.data.tags["team"] == "ds" and stored.data.tags["author"] == "alice"
    history = autolog.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(100))
    assert all(m.timestamp > 0 for m in history)

    client = autolog.Client()
    paths = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"visualizations", "a.txt", "sub", "config.json", "config.yaml", "notes.txt"} <= paths
    local = client.download_artifacts(run.info.run_id, "config.json", str(tmp_path / "dl"))
    assert json.loads(open(local).read()) == {"lr": 0.1}
    assert autolog.last_active_run().info.run_id == run.info.run_id


def test_default_experiment_and_search(tracking_uri):
    for c in (0.1, 1.0, 10.0):
        with autolog.start_run(run_name=f"C={c}"):
            autolog.log_param("C", c)
            autolog.log_metric("acc", c / 10)
    runs = autolog.search_runs(experiment_names=["Default"], filter_string="metrics.acc > 0.05")
    assert sorted(r.data.params["C"] for r in runs) == ["1.0", "10.0"]
    runs = autolog.search_runs(
        filter_string="params.C = '0.1' and attributes.status = 'FINISHED'"
    )
    assert [r.info.run_name for r in runs] == ["C=0.1"]
    ordered = autolog.search_runs(order_by=["metrics.acc DESC"], max_results=2)
    assert [r.data.params["C"] for r in ordered] == ["10.0", "1.0"]
    assert autolog.get_experiment_by_name("Default").experiment_id == "0"


def test_exception_in_run_marks_failed_and_propagates(tracking_uri):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with autolog.start_run() as run:
            raise Boom()
    assert autolog.get_run(run.info.run_id).info.status == "FAILED"


def test_nested_runs_and_active_run_error(tracking_uri):
    with autolog.start_run() as parent:
        with pytest.raises(RunStateError, match="nested=True"):
            autolog.start_run()
        with autolog.start_run(nested=True) as child:
            autolog.log_metric("x", 1)
        assert autolog.active_run() is parent
    stored = autolog.get_run(child.info.run_id)
    assert stored.data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_params_are_immutable(tracking_uri):
    with autolog.start_run():
        autolog.log_param("C", 1.0)
        autolog.log_param("C", 1.0)  # same value: fine
        with pytest.raises(InvalidInputError, match=r"'1.0'.*'2.0'"):
            autolog.log_param("C", 2.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: autolog.log_metric("bad key!", 1.0),
        lambda: autolog.log_metric("x" * 251, 1.0),
        lambda: autolog.log_metric("loss", "high"),
        lambda: autolog.log_param("p", "v" * 6001),
        lambda: autolog.set_tag("", "v"),
        lambda: autolog.log_text("t", "../escape.txt"),
        lambda: autolog.log_text("t", "/etc/passwd"),
        lambda: autolog.log_dict({}, "a/../../b.json"),
    ],
    ids=["bad-char", "too-long", "non-numeric", "long-param", "empty-tag", "dotdot", "abs",
         "nested-dotdot"],
)
def test_bad_input_is_a_clear_error(tracking_uri, call):
    with autolog.start_run():
        with pytest.raises(InvalidInputError) as info:
            call()
    assert "'" in str(info.value)  # the message names the offending value


def test_unknown_run_and_uri(tracking_uri):
    with pytest.raises(ResourceNotFoundError, match="nope"):
        autolog.get_run("nope")
    with pytest.raises(InvalidInputError, match="bogus"):
        autolog.set_tracking_uri("bogus://x")


def test_nan_and_infinities_round_trip(tracking_uri):
    with autolog.start_run() as run:
        autolog.log_metric("nan", float("nan"))
        autolog.log_metric("inf", float("inf"), step=1)
        autolog.log_metric("ninf", float("-inf"))
    data = autolog.get_run(run.info.run_id).data.metrics
    assert math.isnan(data["nan"])
    assert data["inf"] == float("inf") and data["ninf"] == float("-inf")
    assert math.isnan(autolog.get_metric_history(run.info.run_id, "nan")[0].value)


def test_numpy_scalars_are_metrics(tracking_uri):
    np = pytest.importorskip("numpy")
    with autolog.start_run() as run:
        autolog.log_metric("a", np.float32(0.5))
        autolog.log_metric("b", np.int64(3), step=np.int64(2))
    assert autolog.get_run(run.info.run_id).data.metrics == {"a": 0.5, "b": 3.0}


def test_threads_have_their_own_active_run(tracking_uri):
    seen = {}

    def work(name):
        with autolog.start_run(run_name=name) as run:
            for i in range(200):
                autolog.log_metric("i", i, step=i)
            seen[name] = run.info.run_id

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen.values())) == 2
    for run_id in seen.values():
        assert len(autolog.get_metric_history(run_id, "i")) == 200


def test_experiment_env_var(tmp_path, monkeypatch):
    from autolog.core.tracking import context

    monkeypatch.setenv("AUTOLOG_EXPERIMENT_NAME", "from-env")
    autolog.set_tracking_uri(str(tmp_path / "store"))
    try:
        with autolog.start_run() as run:
            pass
        experiment = autolog.Client().get_experiment(run.info.experiment_id)
        assert experiment.name == "from-env"
    finally:
        autolog.set_tracking_uri(None)
        context._experiment_id = None


def test_log_figure(tracking_uri):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    with autolog.start_run() as run:
        autolog.log_figure(figure, "plots/line.png")
    plt.close(figure)
    files = autolog.Client().list_artifacts(run.info.run_id, "plots")
    assert [f.path for f in files] == ["plots/line.png"]
    assert files[0].file_size > 100


def test_default_store_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOLOG_TRACKING_URI", raising=False)
    assert autolog.get_tracking_uri() == os.path.join(str(tmp_path), "autolog-runs")


def test_parent_run_id_starts_a_child_from_another_thread(tracking_uri):
    """MLflow's ``parent_run_id``: a worker thread's run becomes a child of a run active in
    another thread; in a thread where another run is active it is refused."""
    with autolog.start_run(run_name="study") as parent:
        children = []

        def trial() -> None:
            with autolog.start_run(run_name="trial", parent_run_id=parent.info.run_id) as run:
                autolog.log_metric("value", 1.0)
                children.append(run.info.run_id)

        worker = threading.Thread(target=trial)
        worker.start()
        worker.join()
        with autolog.start_run(run_name="other-parent", nested=True):
            with pytest.raises(RunStateError, match="parent_run_id"):
                autolog.start_run(parent_run_id=parent.info.run_id)
    child = autolog.get_run(children[0])
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.data.metrics["value"] == 1.0 and child.info.status == "FINISHED"
