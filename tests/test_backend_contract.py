"""One contract suite, run against every built-in backend (memory and SQLite)."""

from __future__ import annotations

import math
import os

import pytest

from autolog.backends.memory import MemoryBackend
from autolog.backends.sqlite import SQLiteBackend
from autolog.core.entities import Metric, Param, RunStatus, RunTag
from autolog.core.errors import (
    InvalidInputError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
)


@pytest.fixture(params=["memory", "sqlite"])
def backend(request, tmp_path):
    store = MemoryBackend() if request.param == "memory" else SQLiteBackend(str(tmp_path / "s"))
    yield store
    store.close()


def new_run(backend, experiment_id="0", start_time=1000, **kwargs):
    return backend.create_run(experiment_id, kwargs.pop("run_name", None), start_time, **kwargs)


# -- experiments -----------------------------------------------------------------------


def test_default_experiment_exists(backend):
    default = backend.get_experiment("0")
    assert (default.experiment_id, default.name) == ("0", "Default")
    assert backend.get_experiment_by_name("Default").experiment_id == "0"
    assert [e.experiment_id for e in backend.search_experiments()] == ["0"]


def test_create_and_get_experiments(backend):
    first = backend.create_experiment("first", tags={"team": "cv"})
    second = backend.create_experiment("second")
    assert first != second and "0" not in (first, second)
    assert int(second) > int(first)
    got = backend.get_experiment(first)
    assert (got.name, got.tags) == ("first", {"team": "cv"})
    assert backend.get_experiment_by_name("second").experiment_id == second
    assert backend.get_experiment_by_name("nope") is None
    assert [e.name for e in backend.search_experiments()] == ["Default", "first", "second"]
    with pytest.raises(ResourceAlreadyExistsError, match="first"):
        backend.create_experiment("first")
    with pytest.raises(ResourceNotFoundError, match="'42'"):
        backend.get_experiment("42")


# -- runs ------------------------------------------------------------------------------


def test_create_get_update_run(backend):
    info = new_run(backend, run_name="my-run", tags={"t": "1"}, run_id="a" * 32)
    assert info.run_id == "a" * 32
    assert (info.status, info.run_name, info.end_time) == (RunStatus.RUNNING, "my-run", None)
    run = backend.get_run(info.run_id)
    assert run.info == info
    assert run.data.tags == {"t": "1"}
    updated = backend.update_run_info(info.run_id, RunStatus.FINISHED, 2000)
    assert (updated.status, updated.end_time) == ("FINISHED", 2000)
    assert backend.get_run(info.run_id).info.status == "FINISHED"
    generated = new_run(backend)
    assert len(generated.run_id) == 32 and generated.run_name


def test_run_errors(backend):
    with pytest.raises(ResourceNotFoundError, match="missing-id"):
        backend.get_run("missing-id")
    with pytest.raises(ResourceNotFoundError, match="missing-id"):
        backend.log_batch("missing-id", [Metric("m", 1.0, 1, 0)])
    with pytest.raises(ResourceNotFoundError, match="'77'"):
        new_run(backend, experiment_id="77")
    info = new_run(backend)
    with pytest.raises(InvalidInputError, match="DONE"):
        backend.update_run_info(info.run_id, "DONE", 1)
    with pytest.raises(ResourceAlreadyExistsError):
        new_run(backend, run_id=info.run_id)


def test_log_batch_writes_everything(backend):
    run_id = new_run(backend).run_id
    backend.log_batch(
        run_id,
        metrics=[Metric("loss", 0.5, 10, 0), Metric("loss", 0.25, 11, 1)],
        params=[Param("C", "1.0"), Param("kernel", "rbf")],
        tags=[RunTag("stage", "a")],
    )
    backend.log_batch(run_id, tags=[RunTag("stage", "b")], params=[Param("C", "1.0")])
    data = backend.get_run(run_id).data
    assert data.params == {"C": "1.0", "kernel": "rbf"}
    assert data.tags == {"stage": "b"}
    assert data.metrics == {"loss": 0.25}
    backend.log_batch(run_id)  # an empty batch is fine


def test_param_immutability_rolls_back_the_batch(backend):
    run_id = new_run(backend).run_id
    backend.log_batch(run_id, params=[Param("C", "1.0")])
    with pytest.raises(InvalidInputError) as caught:
        backend.log_batch(
            run_id,
            metrics=[Metric("m", 1.0, 1, 0)],
            params=[Param("new", "x"), Param("C", "2.0")],
            tags=[RunTag("t", "v")],
        )
    message = str(caught.value)
    assert "'C'" in message and "'1.0'" in message and "'2.0'" in message and run_id in message
    run = backend.get_run(run_id)
    assert run.data.params == {"C": "1.0"}
    assert run.data.metrics == {} and run.data.tags == {}
    assert backend.get_metric_history(run_id, "m") == []
    # Two different values for one key inside a batch are refused too.
    with pytest.raises(InvalidInputError, match="'a'.*'b'"):
        backend.log_batch(run_id, params=[Param("k", "a"), Param("k", "b")])
    assert "k" not in backend.get_run(run_id).data.params


def test_latest_metric_is_highest_step_then_timestamp(backend):
    run_id = new_run(backend).run_id
    backend.log_batch(
        run_id,
        [Metric("m", 1.0, 100, 5), Metric("m", 2.0, 200, 3), Metric("m", 3.0, 50, 5)],
    )
    assert backend.get_run(run_id).data.metrics["m"] == 1.0  # step 5, later timestamp
    backend.log_batch(run_id, [Metric("m", 4.0, 999, 4)])  # older step: not latest
    assert backend.get_run(run_id).data.metrics["m"] == 1.0
    backend.log_batch(run_id, [Metric("m", 5.0, 101, 5)])  # same step, newer
    assert backend.get_run(run_id).data.metrics["m"] == 5.0
    backend.log_batch(run_id, [Metric("m", 6.0, 1, 6)])  # higher step wins over time
    assert backend.get_run(run_id).data.metrics["m"] == 6.0


def test_nan_and_infinities_round_trip(backend):
    run_id = new_run(backend).run_id
    values = [math.nan, math.inf, -math.inf, 0.0, -1.5]
    backend.log_batch(run_id, [Metric("v", v, 1, i) for i, v in enumerate(values)])
    backend.log_batch(
        run_id,
        [Metric("n", math.nan, 1, 0), Metric("p", math.inf, 1, 0), Metric("q", -math.inf, 1, 0)],
    )
    history = backend.get_metric_history(run_id, "v")
    assert history == [Metric("v", v, 1, i) for i, v in enumerate(values)]
    assert math.isnan(history[0].value)
    metrics = backend.get_run(run_id).data.metrics
    assert math.isnan(metrics["n"]) and metrics["p"] == math.inf and metrics["q"] == -math.inf
    assert metrics["v"] == -1.5


def test_metric_history_is_ordered_by_step_then_timestamp(backend):
    run_id = new_run(backend).run_id
    backend.log_batch(run_id, [Metric("m", 3.0, 30, 2), Metric("m", 1.0, 20, 1)])
    backend.log_batch(run_id, [Metric("m", 0.0, 5, 0), Metric("m", 2.0, 10, 1)])
    history = backend.get_metric_history(run_id, "m")
    assert [(m.step, m.timestamp, m.value) for m in history] == [
        (0, 5, 0.0),
        (1, 10, 2.0),
        (1, 20, 1.0),
        (2, 30, 3.0),
    ]
    assert backend.get_metric_history(run_id, "other") == []
    with pytest.raises(ResourceNotFoundError):
        backend.get_metric_history("missing", "m")


# -- search ----------------------------------------------------------------------------


@pytest.fixture
def populated(backend):
    exp = backend.create_experiment("search")
    other = backend.create_experiment("other")
    runs = {}
    for i in range(6):
        info = new_run(backend, exp, start_time=1000 + i, run_name=f"run{i}")
        backend.log_batch(
            info.run_id,
            metrics=[Metric("acc", i / 10, 1, 0)] if i != 5 else [],
            params=[Param("model", "rf" if i % 2 else "svm"), Param("C", str(i))],
            tags=[RunTag("team", "cv" if i < 3 else "nlp")],
        )
        runs[i] = info.run_id
    backend.update_run_info(runs[0], RunStatus.FAILED, 2000)
    new_run(backend, other, start_time=5000)
    return backend, exp, other, runs


def test_search_runs_filters(populated):
    backend, exp, other, runs = populated

    def found(filter_string, order_by=None, **kwargs):
        result = backend.search_runs([exp], filter_string, order_by, **kwargs)
        return [next(i for i, r in runs.items() if r == run.info.run_id) for run in result]

    assert found("") == [5, 4, 3, 2, 1, 0]  # start_time DESC by default
    assert found("metrics.acc >= 0.3") == [4, 3]
    assert found("params.model = 'rf' and tags.team = 'nlp'") == [5, 3]
    assert found("params.C IN ('1', '2')") == [2, 1]
    assert found("attributes.status = 'FAILED'") == [0]
    assert found("attributes.run_name LIKE 'RUN%'") == []
    assert found("attributes.run_name ILIKE 'RUN%'", max_results=2) == [5, 4]
    assert found("", ["metrics.acc DESC"]) == [4, 3, 2, 1, 0, 5]  # 5 has no acc: last
    assert found("", ["metrics.acc ASC"]) == [0, 1, 2, 3, 4, 5]
    assert found("", ["params.model", "start_time ASC"]) == [1, 3, 5, 0, 2, 4]
    assert found("", ["start_time ASC"], max_results=3) == [0, 1, 2]
    both = backend.search_runs([exp, other])
    assert len(both) == 7
    assert backend.search_runs([]) == []
    full = backend.search_runs([exp], "metrics.acc = 0.4")[0]
    assert full.data.params == {"model": "svm", "C": "4"}
    assert full.data.tags == {"team": "nlp"} and full.data.metrics == {"acc": 0.4}
    with pytest.raises(InvalidInputError, match="OR"):
        backend.search_runs([exp], "metrics.acc > 1 or metrics.acc < 0")
    with pytest.raises(InvalidInputError, match="max_results"):
        backend.search_runs([exp], "", max_results=0)


def test_search_runs_returns_complete_runs_when_ordered(populated):
    backend, exp, _other, runs = populated
    result = backend.search_runs([exp], "params.model = 'rf'", ["metrics.acc DESC"])
    assert [r.info.run_id for r in result] == [runs[3], runs[1], runs[5]]
    assert result[0].data.params == {"model": "rf", "C": "3"}
    assert result[0].data.tags == {"team": "nlp"}


def test_deleted_runs_are_not_searched(populated):
    backend, exp, _other, runs = populated
    backend.delete_run(runs[2])
    assert runs[2] not in [r.info.run_id for r in backend.search_runs([exp])]
    assert backend.get_run(runs[2]).info.lifecycle_stage == "deleted"


# -- artifacts -------------------------------------------------------------------------


def test_artifacts_round_trip(backend, tmp_path):
    run_id = new_run(backend).run_id
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "sub" / "b.txt").write_text("BB")
    single = tmp_path / "model.pkl"
    single.write_bytes(b"\x00\x01")

    backend.log_artifact(run_id, str(single))
    backend.log_artifact(run_id, str(single), "models/v1")
    backend.log_artifact(run_id, str(src), "data")  # a directory: its contents

    top = backend.list_artifacts(run_id)
    assert [(f.path, f.is_dir, f.file_size) for f in top] == [
        ("data", True, None),
        ("model.pkl", False, 2),
        ("models", True, None),
    ]
    assert [f.path for f in backend.list_artifacts(run_id, "data")] == ["data/a.txt", "data/sub"]
    assert [f.path for f in backend.list_artifacts(run_id, "data/sub")] == ["data/sub/b.txt"]
    assert backend.list_artifacts(run_id, "nothing/here") == []

    local = backend.artifact_local_path(run_id, "data/sub/b.txt")
    assert open(local).read() == "BB"

    out = tmp_path / "out"
    path = backend.download_artifacts(run_id, "data", str(out))
    assert open(os.path.join(path, "sub", "b.txt")).read() == "BB"
    path = backend.download_artifacts(run_id, "model.pkl", str(out))
    assert open(path, "rb").read() == b"\x00\x01"
    everything = backend.download_artifacts(run_id, "", str(tmp_path / "all"))
    assert os.path.isfile(os.path.join(everything, "models", "v1", "model.pkl"))
    with pytest.raises(ResourceNotFoundError, match="missing.txt"):
        backend.download_artifacts(run_id, "missing.txt", str(out))
    with pytest.raises(InvalidInputError, match="no-such-file"):
        backend.log_artifact(run_id, str(tmp_path / "no-such-file"))


def test_artifacts_cannot_escape_the_run(backend, tmp_path):
    run_id = new_run(backend).run_id
    assert backend.list_artifacts(run_id) == []
    with pytest.raises(InvalidInputError, match="outside"):
        backend.list_artifacts(run_id, "../..")  # refused even before the first artifact
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    f = tmp_path / "f.txt"
    f.write_text("x")
    with pytest.raises(InvalidInputError, match="outside"):
        backend.log_artifact(run_id, str(f), "../../escape")
    with pytest.raises(InvalidInputError, match="outside"):
        backend.list_artifacts(run_id, "../..")
    with pytest.raises(InvalidInputError, match="outside"):
        backend.download_artifacts(run_id, "../../..", str(tmp_path / "dl"))
    with pytest.raises(InvalidInputError, match="outside"):
        backend.artifact_local_path(run_id, "../x")

    # A symlink planted inside the artifact directory, pointing outside.
    backend.log_artifact(run_id, str(f))
    root = os.path.dirname(backend.artifact_local_path(run_id, "f.txt"))
    os.symlink(str(outside), os.path.join(root, "link"))
    with pytest.raises(InvalidInputError, match="outside"):
        backend.log_artifact(run_id, str(f), "link")
    with pytest.raises(InvalidInputError, match="outside"):
        backend.log_artifact(run_id, str(f), "link/deeper")
    with pytest.raises(InvalidInputError, match="outside"):
        backend.download_artifacts(run_id, "link/secret.txt", str(tmp_path / "dl"))
    with pytest.raises(InvalidInputError, match="outside"):
        backend.list_artifacts(run_id, "link")
    # A directory copy whose subdirectory name matches the planted link is refused too.
    tree = tmp_path / "tree"
    (tree / "link").mkdir(parents=True)
    (tree / "link" / "evil.txt").write_text("evil")
    with pytest.raises(InvalidInputError, match="outside"):
        backend.log_artifact(run_id, str(tree))
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert [i.path for i in backend.list_artifacts(run_id)] == ["f.txt"]  # the link is hidden


# -- model registry --------------------------------------------------------------------


def test_registry_versions(backend):
    run_id = new_run(backend).run_id
    model = backend.create_registered_model("clf", description="d", tags={"k": "v"})
    assert (model.name, model.description, model.tags, model.latest_versions) == (
        "clf",
        "d",
        {"k": "v"},
        [],
    )
    with pytest.raises(ResourceAlreadyExistsError, match="clf"):
        backend.create_registered_model("clf")
    v1 = backend.create_model_version("clf", "runs:/x/model", run_id)
    v2 = backend.create_model_version("clf", "runs:/y/model", None, description="second")
    assert (v1.version, v2.version) == ("1", "2")
    assert (v1.current_stage, v1.status, v1.run_id) == ("None", "READY", run_id)
    got = backend.get_model_version("clf", "2")
    assert (got.source, got.description) == ("runs:/y/model", "second")
    # Registering a new name creates the model.
    assert backend.create_model_version("other", "s", None).version == "1"
    assert backend.get_registered_model("other").name == "other"


def test_registry_stages_and_archiving(backend):
    for _ in range(3):
        backend.create_model_version("m", "src", None)
    backend.update_model_version("m", "1", stage="Production")
    backend.update_model_version("m", "2", stage="staging")  # case-insensitive
    v3 = backend.update_model_version(
        "m", "3", stage="Production", archive_existing_versions=True, description="best"
    )
    assert (v3.current_stage, v3.description) == ("Production", "best")
    stages = {v.version: v.current_stage for v in backend.search_model_versions("name = 'm'")}
    assert stages == {"1": "Archived", "2": "Staging", "3": "Production"}
    latest = backend.get_registered_model("m").latest_versions
    assert [(v.version, v.current_stage) for v in latest] == [
        ("1", "Archived"),
        ("2", "Staging"),
        ("3", "Production"),
    ]
    backend.update_model_version("m", "2", stage="Production")  # no archiving asked
    stages = {v.version: v.current_stage for v in backend.search_model_versions("name = 'm'")}
    assert stages["3"] == "Production" and stages["2"] == "Production"
    with pytest.raises(InvalidInputError, match="Deployed.*None, Staging, Production, Archived"):
        backend.update_model_version("m", "1", stage="Deployed")


def test_registry_aliases(backend):
    backend.create_model_version("m", "s1", None)
    backend.create_model_version("m", "s2", None)
    backend.set_registered_model_alias("m", "champion", "1")
    backend.set_registered_model_alias("m", "champion", "2")  # moves
    backend.set_registered_model_alias("m", "backup", "1")
    assert backend.get_model_version_by_alias("m", "champion").version == "2"
    assert backend.get_model_version("m", "2").aliases == ["champion"]
    assert backend.get_registered_model("m").aliases == {"backup": "1", "champion": "2"}
    backend.delete_registered_model_alias("m", "backup")
    with pytest.raises(ResourceNotFoundError, match="backup"):
        backend.get_model_version_by_alias("m", "backup")
    with pytest.raises(ResourceNotFoundError, match="backup"):
        backend.delete_registered_model_alias("m", "backup")
    with pytest.raises(ResourceNotFoundError, match="version 9"):
        backend.set_registered_model_alias("m", "x", "9")
    backend.delete_model_version("m", "2")
    with pytest.raises(ResourceNotFoundError, match="champion"):
        backend.get_model_version_by_alias("m", "champion")
    with pytest.raises(ResourceNotFoundError, match="version 2"):
        backend.get_model_version("m", "2")


def test_registry_search(backend):
    run_a = new_run(backend).run_id
    backend.create_model_version("alpha", "s", run_a)
    backend.create_model_version("alpha", "s", None)
    backend.create_model_version("Beta", "s", run_a)
    backend.create_registered_model("gamma")
    names = [m.name for m in backend.search_registered_models()]
    assert names == sorted(["alpha", "Beta", "gamma"])
    assert [m.name for m in backend.search_registered_models("name LIKE 'a%'")] == ["alpha"]
    assert [m.name for m in backend.search_registered_models("name ILIKE 'b%'")] == ["Beta"]
    assert [m.name for m in backend.search_registered_models("name = 'gamma'")] == ["gamma"]
    found = backend.search_model_versions("name='alpha'")
    assert [(v.name, v.version) for v in found] == [("alpha", "2"), ("alpha", "1")]
    found = backend.search_model_versions(f"run_id = '{run_a}'")
    assert sorted((v.name, v.version) for v in found) == [("Beta", "1"), ("alpha", "1")]
    assert len(backend.search_model_versions()) == 3
    with pytest.raises(InvalidInputError, match="unknown field"):
        backend.search_model_versions("stage = 'x'")


def test_registry_errors_name_what_is_missing(backend):
    with pytest.raises(ResourceNotFoundError, match="'ghost'"):
        backend.get_registered_model("ghost")
    with pytest.raises(ResourceNotFoundError, match="'ghost'"):
        backend.get_model_version("ghost", "1")
    backend.create_model_version("real", "s", None)
    with pytest.raises(ResourceNotFoundError, match="version 5 of registered model 'real'"):
        backend.get_model_version("real", "5")
    with pytest.raises(ResourceNotFoundError, match="version 5"):
        backend.update_model_version("real", "5", stage="Staging")
    with pytest.raises(ResourceNotFoundError, match="version 5"):
        backend.delete_model_version("real", "5")
    with pytest.raises(ResourceNotFoundError, match="'nick'"):
        backend.get_model_version_by_alias("real", "nick")
    with pytest.raises(InvalidInputError, match="'abc'"):
        backend.get_model_version("real", "abc")


def test_a_given_run_id_cannot_lead_out_of_the_store(backend):
    """Ids that sync and the spool pass on come from another store or a server: they name
    a directory, so only letters, digits, '_' and '-' are taken."""
    experiment_id = backend.create_experiment("given-ids")
    for bad in ("../../escaped", "a/b", "..", "", "x" * 65, "a b"):
        if not bad:
            continue  # an empty id means "make one"
        with pytest.raises(InvalidInputError, match="Invalid run id"):
            backend.create_run(experiment_id, None, 0, run_id=bad)
    good = "0123abcdEF_-"
    assert backend.create_run(experiment_id, None, 0, run_id=good).run_id == good
