"""Which run an autologged training call logs into, and what the core records there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from _fakeml_support import FAKE_FRAMEWORKS, REPO, fake  # noqa: F401

import autolog
from autolog.core import reporting
from autolog.core.tracking.recorder import RunRecorder
from autolog.core.tracking.sessions import recorder_for_model, remember_model

pytestmark = pytest.mark.usefixtures("fake")


class Estimatorish:
    """A plain fitted-model stand-in: hashable by identity, weak-referenceable."""


def _enable(**options):
    from autolog.core.patching.registry import get_integration

    integration = get_integration("fakeml")
    integration.enable(integration.config_class.from_options(options))
    return integration


def _all_runs():
    return autolog.search_runs(max_results=100)


def test_managed_run_per_training_call_with_core_metrics_and_tags():
    import fakeml as fw

    _enable(extra_tags={"team": "ds"})
    model = fw.train({"lr": 0.1})
    assert model == fw.Model({"lr": 0.1})
    fw.train({"lr": 0.2})
    runs = _all_runs()
    assert len(runs) == 2
    for run in runs:
        assert run.info.status == "FINISHED"
        assert {"training_duration_seconds", "training_cpu_seconds",
                "training_peak_rss_growth_mb"} <= set(run.data.metrics)
        assert run.data.tags["autolog.integration"] == "fakeml"
        assert run.data.tags["autolog.fakeml_version"] == "1.2.0"
        assert run.data.tags["team"] == "ds"
        assert run.data.tags["autolog.python_version"].startswith("3.")
    assert {r.data.params["lr"] for r in runs} == {"0.1", "0.2"}


def test_log_environment_off_leaves_host_and_python_out():
    import fakeml as fw

    from autolog.core.patching.registry import integration_autolog
    from autolog.core.tracking import provenance

    integration_autolog("fakeml")(log_environment=False)
    try:
        fw.train({"lr": 0.1})
    finally:
        provenance.configure({"log_environment": True}, user_runs=None)
    (run,) = _all_runs()
    assert run.data.tags["autolog.integration"] == "fakeml"
    assert not {"autolog.host", "autolog.python_version", "autolog.platform"} & set(
        run.data.tags)


def test_warn_once_warns_once_and_logs_the_repeats_quietly(caplog):
    import logging
    import warnings


    reporting._warned.discard("test-cause")
    with caplog.at_level(logging.DEBUG, logger="autolog"), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            reporting.warn_once("test-cause", "a caveat")
    assert len(caught) == 1
    levels = [r.levelno for r in caplog.records if r.getMessage() == "a caveat"]
    assert levels == [logging.WARNING, logging.DEBUG, logging.DEBUG]


def test_failed_training_ends_the_managed_run_failed():
    import fakeml as fw

    _enable()
    with pytest.raises(fw.TrainError):
        fw.train({"lr": 1}, fail=True)
    (run,) = _all_runs()
    assert run.info.status == "FAILED"


def test_user_run_then_a_second_training_goes_to_a_child_run():
    import fakeml as fw

    _enable()
    with autolog.start_run(run_name="mine") as parent:
        fw.train({"lr": 0.1})
        fw.train({"lr": 0.2})  # would conflict on 'lr' in the parent: gets a child
        assert autolog.active_run() is parent
    runs = {r.info.run_id: r for r in _all_runs()}
    assert runs[parent.info.run_id].data.params == {"lr": "0.1"}
    children = [r for r in runs.values() if r.data.tags.get("mlflow.parentRunId")]
    assert len(children) == 1 and children[0].data.params == {"lr": "0.2"}
    assert children[0].data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_exclusive_keeps_the_users_run_clean():
    import fakeml as fw

    _enable(exclusive=True)
    with autolog.start_run() as parent:
        fw.train({"lr": 0.1})
    runs = _all_runs()
    assert len(runs) == 2
    own = [r for r in runs if r.info.run_id != parent.info.run_id][0]
    assert own.data.params == {"lr": "0.1"}
    assert "mlflow.parentRunId" not in own.data.tags
    assert autolog.get_run(parent.info.run_id).data.params == {}


def test_two_threads_training_without_runs_get_two_runs():
    import fakeml as fw

    _enable()
    barrier = threading.Barrier(2)

    def work(lr):
        barrier.wait()
        fw.train({"lr": lr})

    threads = [threading.Thread(target=work, args=(lr,)) for lr in (0.1, 0.2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.data.params["lr"] for r in _all_runs()) == ["0.1", "0.2"]


def test_resume_run_continues_an_earlier_run():
    from autolog.core.patching import Patch
    from autolog.core.patching.registry import get_integration

    integration = get_integration("fakeml")
    steps = {}

    def on_step(session, call):
        model = call.argument("model")
        steps[id(model)] = steps.get(id(model), 0) + 1
        session.log_metric("calls", steps[id(model)], step=steps[id(model)])
        call.proceed()
        remember_model(model, session)

    def resume(call):
        recorder = recorder_for_model(call.argument("model"))
        return recorder.run_id if recorder else None

    import types

    module = types.ModuleType("fakeml_stepper")

    def partial_train(model):
        return model

    module.partial_train = partial_train
    sys.modules["fakeml_stepper"] = module
    try:
        patches = [Patch("fakeml_stepper:partial_train", on_step, resume_run=resume)]
        integration.patches = lambda: patches  # this test's own declaration
        integration.disable()
        _enable()
        model = Estimatorish()
        for _ in range(3):
            module.partial_train(model)
        (run,) = _all_runs()
        assert run.info.status == "FINISHED"
        history = autolog.get_metric_history(run.info.run_id, "calls")
        assert [m.step for m in history] == [1, 2, 3]
    finally:
        integration.disable()
        del integration.patches
        sys.modules.pop("fakeml_stepper", None)


def test_skip_class_leaves_that_class_unpatched():
    from autolog.core.patching import SubclassPatch
    from autolog.core.patching.registry import get_integration

    integration = get_integration("fakeml")
    seen = []

    def on_fit(session, call):
        seen.append(type(call.instance).__name__)
        call.proceed()

    patches = [SubclassPatch("fakeml.estimators:Estimator", ("fit",), on_fit,
                             skip_class=lambda cls: cls.__name__ == "Ensemble")]
    integration.patches = lambda: patches
    try:
        _enable()
        import fakeml.estimators as estimators

        assert "Wrapper" in type(vars(estimators.LinearModel)["fit"]).__name__
        assert "Wrapper" not in type(vars(estimators.Ensemble)["fit"]).__name__
    finally:
        integration.disable()
        del integration.patches


def test_model_link_is_weak_and_leaves_the_object_untouched():
    with autolog.start_run() as run:
        pass
    model = Estimatorish()
    model.a = 1
    before = dict(vars(model))
    remember_model(model, RunRecorder(run.info.run_id, run.uri))
    assert vars(model) == before
    recorder = recorder_for_model(model)
    recorder.log_metric("after_fit", 1.0)
    assert autolog.get_run(run.info.run_id).data.metrics == {"after_fit": 1.0}
    assert recorder_for_model([1, 2]) is None  # unhashable: simply no link
    del model
    import gc

    gc.collect()
    from autolog.core.tracking import sessions

    assert len(sessions._model_runs) == 0


def test_recorder_skips_bad_keys_and_conflicting_params_with_a_warning(monkeypatch):
    monkeypatch.delenv("AUTOLOG_STRICT", raising=False)
    with autolog.start_run() as run:
        recorder = RunRecorder(run.info.run_id, run.uri)
        with pytest.warns(autolog.AutologWarning):
            recorder.log_params({"ok": 1, "bad key!": 2})
        recorder.log_params({"ok": 1})
        with pytest.warns(autolog.AutologWarning, match="already logged"):
            recorder.log_params({"ok": 2})
    assert autolog.get_run(run.info.run_id).data.params == {"ok": "1"}


FORK_CODE = """
import os, sys, autolog
import fakeml
from autolog.core.patching.registry import get_integration, register_integration
import fakeml_autolog
register_integration(fakeml_autolog.FakeMLIntegration)
autolog.set_tracking_uri(sys.argv[1])
get_integration("fakeml").enable()
with autolog.start_run(run_name="parent") as run:
    pid = os.fork()
    if pid == 0:
        fakeml.train({"lr": 0.5})   # the child's training: a run of its own
        os._exit(0)
    os.waitpid(pid, 0)
    autolog.log_metric("parent_metric", 1)
print(run.info.run_id)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_does_not_write_into_the_parents_run(tmp_path):
    store = str(tmp_path / "store")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(FAKE_FRAMEWORKS), str(REPO)]))
    out = subprocess.run([sys.executable, "-c", FORK_CODE, store], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    parent_id = out.stdout.strip()
    client = autolog.Client(store)
    runs = {r.info.run_id: r for r in client.search_runs(["0"])}
    assert runs[parent_id].data.params == {}
    assert runs[parent_id].data.metrics == {"parent_metric": 1.0}
    assert runs[parent_id].info.status == "FINISHED"
    (child,) = [r for r in runs.values() if r.info.run_id != parent_id]
    assert child.data.params == {"lr": "0.5"} and child.info.status == "FINISHED"


SIGTERM_CODE = """
import sys, time, autolog
from autolog.core.tracking.runs import install_signal_handlers
autolog.set_tracking_uri(sys.argv[1])
run = autolog.start_run()
install_signal_handlers()
autolog.log_metric("m", 1)
print(run.info.run_id, flush=True)
time.sleep(60)
"""


def test_sigterm_ends_active_runs_killed(tmp_path):
    store = str(tmp_path / "store")
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SIGTERM_CODE), store],
                            stdout=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM
    run = autolog.Client(store).get_run(run_id)
    assert run.info.status == "KILLED" and run.data.metrics == {"m": 1.0}


FORK_EXIT_CODE = """
import os, sys, autolog
from autolog.core.tracking import provenance
autolog.set_tracking_uri("memory:fork")
autolog.autolog()
with autolog.start_run() as first:
    autolog.log_text("kept", "note.txt")
provenance.wait()
staged = [d for d in provenance._staging.values() if d]
pid = os.fork()
if pid == 0:
    sys.exit(0)   # a normal exit: atexit handlers and finalizers run in the child
os.waitpid(pid, 0)
assert staged and all(os.path.isdir(d) for d in staged), staged
files = [f.path for f in autolog.Client().list_artifacts(first.info.run_id)]
assert "note.txt" in files, files
with autolog.start_run() as second:
    pass
provenance.wait()
files = [f.path for f in autolog.Client().list_artifacts(second.info.run_id)]
assert "environment" in files, files
print("ok")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_exiting_leaves_the_parents_files():
    """The child inherits the parent's temporary directories (memory store artifacts,
    provenance staging) and must not remove them when it exits."""
    env = dict(os.environ, PYTHONPATH=str(REPO), AUTOLOG_STRICT="1")
    out = subprocess.run([sys.executable, "-c", FORK_EXIT_CODE], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
