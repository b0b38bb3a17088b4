"""Error isolation: strict versus lenient mode, misbehaving hooks, fault injection."""

from __future__ import annotations

import logging
import time
import warnings

import pytest
from _fakeml_support import fake, runs  # noqa: F401

from autolog.core import patching
from autolog.core.errors import AutologWarning
from autolog.core.patching import dispatch
from autolog.core.patching.registry import get_integration
from autolog.testing import FailingBackend, InjectedFault, inject_hook_faults, list_hooks

pytestmark = pytest.mark.usefixtures("fake")


def enable(name="fakeml", **options):
    integration = get_integration(name)
    integration.enable(integration.config_class.from_options(options))
    return integration


def behave(**modes):
    import fakeml_autolog

    fakeml_autolog.BEHAVIOUR.update(modes)


def train_calls():
    import fakeml

    return [c for c in fakeml.CALLS if c[0] == "train"]


MODES = ["raise_before", "raise_after", "no_proceed", "proceed_twice"]


@pytest.mark.parametrize("mode", MODES)
def test_strict_mode_raises_internal_errors(mode):
    import fakeml
    import fakeml_autolog

    enable()
    behave(train=mode)
    expected = fakeml_autolog.HookBug if mode.startswith("raise") else patching.HookError
    with pytest.raises(expected):
        fakeml.train({"lr": 1})
    assert len(train_calls()) == (0 if mode in ("raise_before", "no_proceed") else 1)
    assert not patching.in_training_call()
    assert all(r.info.status != "RUNNING" for r in runs())


@pytest.mark.usefixtures("lenient")
@pytest.mark.parametrize("mode", MODES + ["replace_result"])
def test_lenient_mode_result_identical_original_called_once(mode, caplog):
    import fakeml

    enable()
    behave(train=mode)
    params = {"lr": 1}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.DEBUG, logger="autolog"):
            first = fakeml.train(params)
            second = fakeml.train(params)
    assert first.params is params and second.params is params
    assert len(train_calls()) == 2
    ours = [w for w in caught if issubclass(w.category, AutologWarning)]
    if mode == "replace_result":
        assert ours == []
        return
    assert len(ours) == 1, [str(w.message) for w in ours]  # once per cause
    assert "fakeml_autolog.on_train" in str(ours[0].message)
    records = [r for r in caplog.records if r.name == "autolog" and "on_train" in r.message]
    assert len(records) == 2  # logged every time
    assert all(r.info.status == "FINISHED" for r in runs())


@pytest.mark.usefixtures("lenient")
def test_lenient_users_exception_is_never_an_internal_error():
    import fakeml

    enable()
    behave(train="raise_after")  # the hook would fail after proceed; proceed raises first
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(fakeml.TrainError):
            fakeml.train({"lr": 1}, fail=True)
    assert [w for w in caught if issubclass(w.category, AutologWarning)] == []
    (run,) = runs()
    assert run.info.status == "FAILED"


@pytest.mark.usefixtures("lenient")
def test_lenient_hook_swallowing_the_users_exception_does_not_hide_it():
    import fakeml

    enable()
    behave(train="swallow")
    with pytest.raises(fakeml.TrainError):
        fakeml.train({"lr": 1}, fail=True)
    assert len(train_calls()) == 1


@pytest.mark.usefixtures("lenient")
def test_lenient_failing_hook_keeps_the_users_exception_identity():
    import fakeml

    enable()
    behave(train="raise_before")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(fakeml.TrainError, match="training failed"):
            fakeml.train({"lr": 1}, fail=True)
    assert len(train_calls()) == 1


@pytest.mark.usefixtures("lenient")
def test_silent_config_suppresses_the_warning_but_logs_debug(caplog):
    import fakeml

    enable(silent=True)
    behave(train="raise_before")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.DEBUG, logger="autolog"):
            assert fakeml.train({"lr": 1}).params == {"lr": 1}
    assert [w for w in caught if issubclass(w.category, AutologWarning)] == []
    assert any(r.levelno == logging.DEBUG and "on_train" in r.message for r in caplog.records)


@pytest.mark.usefixtures("lenient")
def test_an_internal_error_is_one_warning_line_with_the_traceback_at_debug(caplog):
    """No WARNING record carrying the traceback: with no logging configured, logging's
    last-resort handler would print it on stderr beside the warning (seen in real scripts)."""
    import fakeml

    enable()
    behave(train="raise_before")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.DEBUG, logger="autolog"):
            fakeml.train({"lr": 1})
    assert len([w for w in caught if issubclass(w.category, AutologWarning)]) == 1
    ours = [r for r in caplog.records if r.name == "autolog" and "on_train" in r.message]
    assert [r.levelno for r in ours] == [logging.DEBUG] and ours[0].exc_info is not None


@pytest.mark.usefixtures("lenient")
def test_session_open_failure_still_runs_the_original(monkeypatch):
    import fakeml

    class Broken:
        @classmethod
        def open(cls, **kwargs):
            raise RuntimeError("store down")

    monkeypatch.setattr(dispatch, "_TrainingSession", Broken)
    enable()
    with pytest.warns(AutologWarning, match="TrainingSession.open"):
        model = fakeml.train({"lr": 1})
    assert model.params == {"lr": 1} and len(train_calls()) == 1
    import fakeml_autolog

    assert fakeml_autolog.EVENTS == []  # no session, no hook


@pytest.mark.usefixtures("lenient")
def test_session_close_failure_keeps_result_and_exception(monkeypatch):
    import fakeml

    class Session:
        config = None

        @classmethod
        def open(cls, **kwargs):
            session = cls()
            session.config = kwargs["config"]
            return session

        def log_params(self, params):
            pass

        def close(self, error=None):
            raise RuntimeError("cannot close")

    monkeypatch.setattr(dispatch, "_TrainingSession", Session)
    enable()
    with pytest.warns(AutologWarning, match="TrainingSession.close"):
        assert fakeml.train({"lr": 1}).params == {"lr": 1}
    with pytest.raises(fakeml.TrainError):
        fakeml.train({"lr": 1}, fail=True)


def test_each_hook_made_to_raise_in_turn_strict():
    import fakeml
    import fakeml.estimators as est
    import fakeml.metrics as metrics

    enable()
    hooks = list_hooks("fakeml")
    assert "fakeml_autolog.on_train" in hooks and "fakeml_autolog.on_score" in hooks
    with inject_hook_faults("on_train") as fired:
        with pytest.raises(InjectedFault):
            fakeml.train({"lr": 1})
        est.Estimator().fit(1)  # other hooks unaffected
        metrics.score([1], [1])
    assert fired == ["fakeml_autolog.on_train"]
    assert dispatch._hook_fault is None


@pytest.mark.usefixtures("lenient")
def test_each_hook_made_to_raise_in_turn_lenient():
    import fakeml
    import fakeml.estimators as est
    import fakeml.metrics as metrics

    enable()

    def exercise():
        assert fakeml.train({"lr": 1}).params == {"lr": 1}
        model = est.LinearModel()
        assert model.fit(1) is model
        assert type(est.Estimator.from_params(2.0)) is est.Estimator
        assert est.Estimator.default_alpha(3.0) == 3.0
        assert metrics.score([1, 2], [1, 2]) == 1.0
        assert metrics.f1([1, 2], [1, 0]) == 0.5
        assert metrics.recall([1, 2], [1, 0]) == 0.5

    for hook in list_hooks("fakeml"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with inject_hook_faults(hook) as fired:
                exercise()
        assert fired and set(fired) == {hook}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with inject_hook_faults():
            exercise()
    assert all(issubclass(w.category, AutologWarning) for w in caught)
    assert not patching.in_training_call()


def test_inject_hook_faults_by_predicate_and_function():
    import fakeml
    import fakeml_autolog

    enable()
    with inject_hook_faults(fakeml_autolog.on_train):
        with pytest.raises(InjectedFault):
            fakeml.train({})
    with inject_hook_faults(lambda hook_id: hook_id.endswith("on_fit")):
        fakeml.train({})


def test_failing_backend_raises_everywhere():
    backend = FailingBackend()
    with pytest.raises(InjectedFault):
        backend.create_experiment("x")
    with pytest.raises(InjectedFault):
        backend.log_batch("run")
    with pytest.raises(InjectedFault):
        backend.get_run("run")


def test_failing_store_routes_to_a_failing_backend_then_restores(memory_uri):
    import autolog
    from autolog.core.tracking import context
    from autolog.testing import FailingBackend, failing_store

    autolog.set_experiment("kept")
    experiment_id = context.current_experiment_id()
    with failing_store("failing:unit") as backend:
        assert isinstance(backend, FailingBackend)
        assert autolog.get_tracking_uri() == "failing:unit"
        assert context.get_store() is backend
        with pytest.raises(InjectedFault):
            backend.create_experiment("x")
    assert autolog.get_tracking_uri() == memory_uri
    assert context.current_experiment_id() == experiment_id
    assert "failing:unit" not in context._stores


def test_a_forgotten_store_leaves_no_writer_thread_behind(memory_uri):
    import threading

    from autolog.core.tracking import context
    from autolog.testing import failing_store

    def writers():
        return [t for t in threading.enumerate() if t.name == "autolog-writer" and t.is_alive()]

    before = len(writers())
    for _ in range(3):
        with failing_store("failing:threads"):
            # buffered for a store that will never take it
            context.get_logger().log_metric("run", "m", 1.0, 0, 0)
    deadline = time.monotonic() + 10
    while len(writers()) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(writers()) <= before
