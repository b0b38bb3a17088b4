"""The safe patch engine on plain Python targets (the fake framework in fake_frameworks/).

Everything here runs with AUTOLOG_STRICT=1 (lenient mode: test_patching_faults.py).
"""

from __future__ import annotations

import copy
import inspect
import pickle
import threading
import traceback

import pytest
from _fakeml_support import fake, runs  # noqa: F401

from autolog.core import patching
from autolog.core.patching.registry import get_integration
from autolog.core.tracking import scope

pytestmark = pytest.mark.usefixtures("fake")


def enable(name="fakeml", **options):
    integration = get_integration(name)
    integration.enable(integration.config_class.from_options(options))
    return integration


def events(kind=None):
    import fakeml_autolog

    return [e for e in fakeml_autolog.EVENTS if kind is None or e[0] == kind]


def original_calls(kind):
    import fakeml

    return [c for c in fakeml.CALLS if c[0] == kind]


# -- return value, exception, arguments ------------------------------------------------------


def test_return_value_is_the_originals_object_and_called_once():
    import fakeml

    enable()
    params = {"lr": 0.1}
    model = fakeml.train(params, "data")
    assert isinstance(model, fakeml.Model) and model.params is params
    assert len(original_calls("train")) == 1
    assert len(events("train")) == 1
    (run,) = runs()
    assert run.info.status == "FINISHED"
    assert run.data.params["lr"] == "0.1"
    assert run.info.run_name == "fake-train"
    assert "training_duration_seconds" in run.data.metrics


def test_exception_is_the_same_object_with_the_users_frames():
    import fakeml

    enable()
    with pytest.raises(fakeml.TrainError) as info:
        fakeml.train({"lr": 1}, fail=True)
    assert len(original_calls("train")) == 1
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert frames[0] == "test_exception_is_the_same_object_with_the_users_frames"
    assert frames[-1] == "train"  # the line in the user's (framework's) code that raised
    assert info.value.__cause__ is None and info.value.__context__ is None
    (run,) = runs()
    assert run.info.status == "FAILED"

    # the same object, not a copy: catch it by identity
    caught = []
    try:
        fakeml.train({}, fail=True)
    except fakeml.TrainError as exc:
        caught.append(exc)
    assert fakeml.CALLS[-1][0] == "train"
    assert isinstance(caught[0], fakeml.TrainError)


def test_exception_identity_through_the_wrapper():
    import fakeml.estimators as est

    enable()
    model = est.Estimator()
    error = ValueError("mine")

    class Failing(est.Estimator):
        def fit(self, X, y=None):
            raise error

    with pytest.raises(ValueError) as info:
        Failing().fit(1)
    assert info.value is error
    assert model.fit(2) is model


def test_callback_list_is_copied_never_mutated():
    import fakeml
    import fakeml_autolog

    enable()
    user_callbacks = [print]
    snapshot = list(user_callbacks)
    fakeml.train({"lr": 1}, callbacks=user_callbacks)
    assert user_callbacks == snapshot
    passed = fakeml.CALLS[-1][3]
    assert passed is not user_callbacks
    assert passed[0] is print and isinstance(passed[1], fakeml_autolog.AutologCallback)
    # None -> a new list with ours; a tuple stays a tuple
    fakeml.train({"lr": 2})
    assert isinstance(fakeml.CALLS[-1][3], list) and len(fakeml.CALLS[-1][3]) == 1
    fakeml.train({"lr": 3}, callbacks=(print,))
    assert isinstance(fakeml.CALLS[-1][3], tuple) and len(fakeml.CALLS[-1][3]) == 2


def test_callback_of_ours_already_present_is_not_added_twice():
    import fakeml
    import fakeml_autolog

    enable()
    mine = fakeml_autolog.AutologCallback()
    fakeml.train({"lr": 1}, callbacks=[mine])
    assert fakeml.CALLS[-1][3] == [mine]
    assert mine.seen == [{"lr": 1}]


def test_positional_and_keyword_arguments_are_captured_identically():
    import fakeml
    import fakeml.estimators as est

    enable()
    fakeml.train({"lr": 1}, "D", extra=5)
    fakeml.train(params={"lr": 1}, data="D", extra=5)
    first, second = events("train")
    for key in ("params", "data", "extra"):
        assert first[1][key] == second[1][key]
    est.Estimator().fit(1, 2, 3)
    est.Estimator().fit(X=1, y=2, sample_weight=3)
    a, b = events("fit")
    assert a[2] == b[2] == {"X": 1, "y": 2, "sample_weight": 3}  # self excluded


def test_call_object_binding_and_set_argument():
    import fakeml

    seen = {}

    def hook(session, call):
        seen["arguments"] = dict(call.arguments)
        seen["default"] = call.argument("fail")
        seen["missing"] = call.argument("nope", "dflt")
        call.set_argument("data", "replaced")  # passed positionally: replaced in place
        call.set_argument("fail", False)  # not passed: added as keyword
        call.set_argument("new_kw", 7)  # train takes **extra: added as keyword
        seen["args"], seen["kwargs"] = call.args, call.kwargs
        seen["bound_after"] = dict(call.arguments)
        return call.proceed()

    from autolog.core.config import AutologConfig

    class Owner:
        name = "test"
        config = AutologConfig()
        framework_version = None

    applied = patching.apply_patch(patching.Patch("fakeml:train", hook), Owner(), fakeml)
    try:
        user_args = ({"lr": 1}, "D")
        fakeml.train(*user_args)
    finally:
        applied.revert()
    assert seen["arguments"] == {"params": {"lr": 1}, "data": "D"}
    assert seen["default"] is False and seen["missing"] == "dflt"
    assert seen["args"] == user_args and seen["kwargs"] == {}
    assert fakeml.CALLS[-1][2] == "replaced"
    assert fakeml.CALLS[-1][4] == {"new_kw": 7}
    assert seen["bound_after"]["data"] == "replaced" and seen["bound_after"]["new_kw"] == 7


def test_set_argument_unknown_parameter_is_an_internal_error():
    import fakeml.metrics as metrics

    from autolog.core.config import AutologConfig

    def hook(call):
        call.set_argument("no_such", 1)
        return call.proceed()

    class Owner:
        name = "test"
        config = AutologConfig()
        framework_version = None

    applied = patching.apply_patch(patching.Patch("fakeml.metrics:score", hook, training=False),
                                   Owner(), metrics)
    try:
        with pytest.raises(TypeError, match="no parameter 'no_such'"):
            metrics.score([1], [1])
    finally:
        applied.revert()


# -- revert ----------------------------------------------------------------------------------


def test_revert_restores_identity_for_functions_methods_and_descriptors():
    import fakeml
    import fakeml.estimators as est
    import fakeml.metrics as metrics
    from _fakeml_support import originals

    before = originals()
    integration = enable()
    assert fakeml.__dict__["train"] is not before["train"]
    assert isinstance(est.Estimator.__dict__["fit"], patching.PatchWrapper)
    assert isinstance(est.LinearModel.__dict__["fit"], patching.PatchWrapper)
    assert "fit" not in est.Inherits.__dict__  # inherited: wrapped once, where defined
    assert "__init_subclass__" in est.Estimator.__dict__
    integration.disable()
    after = originals()
    for key, value in before.items():
        assert after[key] is value, key
    assert "__init_subclass__" not in est.Estimator.__dict__
    assert metrics.score is before["score"]


def test_inherited_attribute_wrapped_on_a_subclass_leaves_no_residue():
    import fakeml.estimators as est

    from autolog.core.config import AutologConfig

    class Owner:
        name = "test"
        config = AutologConfig()
        framework_version = None

    def hook(session, call):
        return call.proceed()

    applied = patching.apply_patch(patching.Patch("fakeml.estimators:Inherits.fit", hook),
                                   Owner(), est)
    assert "fit" in est.Inherits.__dict__
    applied.revert()
    assert "fit" not in est.Inherits.__dict__
    assert est.Inherits.fit is est.LinearModel.__dict__["fit"]


def test_reference_taken_while_patched_calls_the_original_after_revert():
    import fakeml

    integration = enable()
    train = fakeml.train
    train({"lr": 1})
    assert len(events("train")) == 1
    integration.disable()
    model = train({"lr": 2})
    assert model.params == {"lr": 2}
    assert len(events("train")) == 1  # nothing logged
    assert len(runs()) == 1


def test_double_enable_patches_once_and_newer_config_wins():
    import fakeml

    integration = enable(log_fake_extras=True)
    wrapper = fakeml.__dict__["train"]
    enable(log_fake_extras=False, extra_tags={"team": "a"})
    assert fakeml.__dict__["train"] is wrapper
    assert wrapper.__wrapped__ is not None and not isinstance(wrapper.__wrapped__,
                                                              patching.PatchWrapper)
    fakeml.train({"lr": 1})
    (event,) = events("train")
    assert event[3].log_fake_extras is False
    assert integration.config.extra_tags == {"team": "a"}
    (run,) = runs()
    assert run.data.tags["team"] == "a"


def test_stacking_two_integrations_and_disabling_each():
    import fakeml
    import fakeml.metrics as metrics
    from _fakeml_support import originals

    before = originals()
    first = enable("fakeml")
    second = enable("fakeml_extra")
    fakeml.train({"lr": 1})
    # outermost wrapper runs; the inner one sees a nested training call: one run
    assert len(events("extra-train")) == 1 and len(events("train")) == 0
    assert len(original_calls("train")) == 1
    assert len(runs()) == 1
    metrics.score([1], [1])  # observers stacked on one attribute both run
    assert len(events("extra-score")) == 1 and len(events("score")) == 1

    first.disable()  # spliced out from under the other
    assert fakeml.__dict__["train"] is not before["train"]
    fakeml.train({"lr": 2})
    assert len(events("extra-train")) == 2 and len(events("train")) == 0
    first.enable()
    second.disable()
    fakeml.train({"lr": 3})
    assert len(events("train")) == 1
    first.disable()
    assert fakeml.__dict__["train"] is before["train"]


def test_third_party_replacing_the_attribute_makes_ours_a_pass_through():
    import fakeml

    from autolog.core.errors import AutologWarning

    integration = enable()
    ours = fakeml.train
    replacement = lambda *a, **k: "third party"  # noqa: E731
    fakeml.train = replacement
    try:
        with pytest.warns(AutologWarning, match="could not remove its wrapper"):
            integration.disable()
        assert fakeml.train is replacement
        assert ours({"lr": 1}).params == {"lr": 1}
        assert events("train") == []
    finally:
        fakeml.train = ours.__wrapped__


# -- no double logging -----------------------------------------------------------------------


def test_subclass_calling_super_fit_is_one_session():
    import fakeml.estimators as est

    enable()
    model = est.LinearModel().fit([1], [2])
    assert model.coef_ == [1.0]
    assert [e[1] for e in events("fit")] == ["LinearModel"]
    assert [c[0] for c in original_calls("LinearModel.fit") + original_calls("Estimator.fit")] \
        == ["LinearModel.fit", "Estimator.fit"]
    (run,) = runs()
    assert run.info.run_name == "fit-LinearModel"
    est.Inherits().fit(1)
    assert [e[1] for e in events("fit")] == ["LinearModel", "Inherits"]


def test_meta_estimator_fitting_members_is_one_session():
    import fakeml.estimators as est

    enable()
    est.Ensemble([est.Estimator(), est.LinearModel()]).fit(1)
    assert [e[1] for e in events("fit")] == ["Ensemble"]
    assert len(runs()) == 1


def test_nested_framework_calls_open_no_session():
    import fakeml

    enable()
    fakeml.train_twice({"lr": 1})  # unpatched helper calling train twice: two outermost
    assert len(events("train")) == 2

    def nested(session, call):
        assert patching.in_training_call() and patching.training_depth() == 1
        fakeml.train({"inner": 1})  # inside a training call: original directly
        return call.proceed()

    import fakeml.estimators as est

    class Outer(est.Estimator):
        def fit(self, X, y=None):
            fakeml.train({"inner": X})
            return self

    Outer().fit(1)
    assert len(events("train")) == 2  # no hook for the nested train
    assert original_calls("train")[-1][1] == {"inner": 1}
    assert not patching.in_training_call()


def test_future_subclass_is_patched_and_unpatched_on_disable():
    import fakeml.estimators as est

    integration = enable()

    class Later(est.LinearModel):
        def fit(self, X, y=None):
            return super().fit(X, y)

    assert isinstance(Later.__dict__["fit"], patching.PatchWrapper)
    Later().fit(1)
    assert [e[1] for e in events("fit")] == ["Later"]
    integration.disable()
    assert not isinstance(Later.__dict__["fit"], patching.PatchWrapper)

    class AfterDisable(est.Estimator):
        def fit(self, X, y=None):
            return self

    assert not isinstance(AfterDisable.__dict__["fit"], patching.PatchWrapper)


def test_init_subclass_of_the_base_still_runs_with_its_kwargs():
    import fakeml.estimators as est

    enable()
    seen = []

    class WithHook(est.Estimator):
        def __init_subclass__(cls, tag=None, **kwargs):
            super().__init_subclass__(**kwargs)
            seen.append((cls.__name__, tag))

    class Child(WithHook, tag="x"):
        def fit(self, X, y=None):
            return self

    assert seen == [("Child", "x")]
    assert isinstance(Child.__dict__["fit"], patching.PatchWrapper)


def test_classmethod_and_staticmethod():
    import fakeml.estimators as est

    enable()
    model = est.LinearModel.from_params(2.0, scale=3.0)
    assert type(model) is est.LinearModel and model.alpha == 6.0
    (event,) = events("from_params")
    assert event[1] == "LinearModel" and event[2] == {"alpha": 2.0, "scale": 3.0}
    assert est.Estimator.default_alpha(2.0) == 2.0
    assert est.Estimator().default_alpha(scale=3.0) == 3.0
    assert [e[1] for e in events("default_alpha")] == [{"scale": 2.0}, {"scale": 3.0}]
    assert inspect.signature(est.Estimator.from_params) == inspect.signature(
        lambda alpha, scale=1.0: None)


def test_observer_runs_outside_training_only_and_not_nested():
    import fakeml.estimators as est
    import fakeml.metrics as metrics

    enable()
    assert metrics.f1([1, 2], [1, 3]) == 0.5
    assert [e[1] for e in events("score")] == ["f1"]  # f1 -> score inside: not observed

    class Scoring(est.Estimator):
        def fit(self, X, y=None):
            self.s = metrics.score([1], [1])
            return self

    Scoring().fit(1)
    assert [e[1] for e in events("score")] == ["f1"]


def test_two_threads_training_at_once_get_independent_depth():
    import fakeml.estimators as est

    enable()
    barrier = threading.Barrier(2)
    depths = {}

    class Slow(est.Estimator):
        def fit(self, X, y=None):
            depths[X] = patching.training_depth()
            barrier.wait(timeout=10)
            return self

    errors = []

    def work(x):
        try:
            Slow().fit(x)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    assert depths == {0: 1, 1: 1}
    assert len(events("fit")) == 2
    assert sorted(r.info.status for r in runs()) == ["FINISHED", "FINISHED"]
    assert len({r.info.run_id for r in runs()}) == 2


# -- introspection, pickling -----------------------------------------------------------------


def test_signature_name_doc_unchanged():
    import fakeml
    import fakeml.estimators as est
    from _fakeml_support import originals

    before = originals()
    enable()
    assert inspect.signature(fakeml.train) == inspect.signature(before["train"])
    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        assert getattr(fakeml.train, attr) == getattr(before["train"], attr)
        assert getattr(est.Estimator.fit, attr) == getattr(before["Estimator.fit"], attr)
    assert inspect.signature(est.Estimator().fit) == inspect.signature(
        before["Estimator.fit"].__get__(est.Estimator()))
    assert inspect.signature(est.Estimator.fit) == inspect.signature(before["Estimator.fit"])
    assert callable(fakeml.train)


def test_pickling_patched_function_instances_and_bound_methods():
    import fakeml
    import fakeml.estimators as est

    enable()
    assert pickle.loads(pickle.dumps(fakeml.train)) is fakeml.train
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(fakeml.train, protocol)) is fakeml.train
    model = est.LinearModel(alpha=3).fit(1)
    clone = pickle.loads(pickle.dumps(model))
    assert type(clone) is est.LinearModel and clone.alpha == 3 and clone.coef_ == [1.0]
    bound = pickle.loads(pickle.dumps(model.fit))
    assert bound.__self__.alpha == 3
    assert pickle.loads(pickle.dumps(est.Estimator.from_params))(1.0).alpha == 1.0
    assert copy.deepcopy(fakeml.train) is fakeml.train
    assert copy.copy(model).alpha == 3
    copied = copy.deepcopy({"f": model.fit, "m": model})
    assert copied["f"].__self__ is copied["m"] and copied["m"] is not model


# -- return observers (Patch(on_return=True)) ------------------------------------------------


def test_return_observer_sees_result_and_arguments_after_the_call():
    import fakeml.metrics as metrics

    enable()
    y_true = [1, 2]
    result = metrics.recall(y_true, y_pred=[1, 0])
    assert result == 0.5
    [event] = events("recall")
    assert event[1] is result and event[2][0] is y_true and event[3] == {"y_pred": [1, 0]}
    assert event[4] is False
    # The original runs outside the hook: what it calls is observed as usual.
    assert [e[1] for e in events("score")] == ["score"]


def test_return_observer_not_called_when_the_original_raises():
    import fakeml.metrics as metrics

    enable()
    with pytest.raises(ValueError, match="recall of nothing") as raised:
        metrics.recall([], [])
    assert raised.traceback[-1].name == "recall"  # the user's frames, unchanged
    assert not events("recall")


def test_return_observer_skipped_inside_training_calls_and_reverted():
    import fakeml.estimators as est
    import fakeml.metrics as metrics

    original = metrics.recall
    enable()
    assert metrics.recall is not original

    class Recalling(est.Estimator):
        def fit(self, X, y=None):
            self.r = metrics.recall([1], [1])
            return self

    assert Recalling().fit(1).r == 1.0
    assert not events("recall")
    get_integration("fakeml").disable()
    assert metrics.recall is original


def test_return_observer_errors_are_reported_once_and_the_result_kept(monkeypatch):
    import warnings

    import fakeml.metrics as metrics
    import fakeml_autolog

    from autolog.core.errors import AutologWarning

    enable()
    monkeypatch.setitem(fakeml_autolog.BEHAVIOUR, "recall", "raise")
    with pytest.raises(fakeml_autolog.HookBug):  # AUTOLOG_STRICT=1: our error surfaces
        metrics.recall([1], [1])
    monkeypatch.setenv("AUTOLOG_STRICT", "0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert metrics.recall([1], [1]) == 1.0
        assert metrics.recall([1], [0]) == 0.0
    assert [w.category for w in caught] == [AutologWarning]
    assert "on_recall_returned" in str(caught[0].message)
    assert not patching.in_training_call() and not scope._state.observing


def test_on_return_is_for_observers_only():
    with pytest.raises(ValueError, match="on_return=True is for observers"):
        patching.Patch("fakeml:train", lambda *a: None, on_return=True)
