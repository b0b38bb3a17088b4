"""Activation in fresh interpreters: every ordering of import / enable / disable (the idea
of ddtrace's patch test case), entry-point discovery, autolog() cost, fork."""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from _fakeml_support import run_python

CHECK = """
import sys, types, warnings
warnings.simplefilter("error")          # no warning expected anywhere below
import autolog
from autolog.core.patching import PatchWrapper

OPS = {ops!r}
enabled = False
original = None
for position, op in enumerate(OPS):
    if op == "import":
        import fakeml
        import fakeml.estimators
        original = fakeml.__dict__["train"]
        original = getattr(original, "__wrapped__", original)
        original_fit = fakeml.estimators.Estimator.__dict__["fit"]
        original_fit = getattr(original_fit, "__wrapped__", original_fit)
    elif op == "enable":
        autolog.autolog()
        enabled = True
    elif op == "disable":
        autolog.autolog(disable=True)
        enabled = False
    if "import" not in OPS[:position + 1]:
        assert "fakeml" not in sys.modules, op   # autolog() imported the framework
import fakeml
import fakeml.estimators as est
import fakeml_autolog

train = fakeml.__dict__["train"]
fit = est.Estimator.__dict__["fit"]
state = {{s.name: s.state for s in autolog.status()}}["fakeml"]
if enabled:
    assert state == "enabled", state
    for wrapper in (train, fit, est.LinearModel.__dict__["fit"]):
        assert type(wrapper) is PatchWrapper, type(wrapper)
        assert not hasattr(wrapper.__wrapped__, "__wrapped__")  # exactly one layer
    assert train.__wrapped__ is original and fit.__wrapped__ is original_fit
    fakeml.train({{"lr": 1}})
    est.LinearModel().fit(1)
    assert [e[0] for e in fakeml_autolog.EVENTS] == ["train", "fit"], fakeml_autolog.EVENTS
    assert len(autolog.search_runs()) == 2
else:
    assert state == "disabled", state
    assert train is original and type(train) is types.FunctionType
    assert fit is original_fit
    assert "__init_subclass__" not in est.Estimator.__dict__
    fakeml.train({{"lr": 1}})
    est.LinearModel().fit(1)
    assert fakeml_autolog.EVENTS == []
print("OK")
"""


def _orderings():
    result = []
    for length in range(4):
        for switches in itertools.product(("enable", "disable"), repeat=length):
            for position in range(length + 1):
                ops = list(switches)
                ops.insert(position, "import")
                result.append(tuple(ops))
    return result


ORDERINGS = _orderings()


@pytest.mark.slow
def test_every_ordering_of_import_enable_disable_in_fresh_processes():
    assert len(ORDERINGS) == 49

    def check(ops):
        result = run_python(CHECK.format(ops=list(ops)), plugins=True)
        assert result.stdout.strip().endswith("OK"), (ops, result.stdout, result.stderr)
        return ops

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(check, ORDERINGS))
    assert len(done) == len(ORDERINGS)


def test_entry_point_plugins_are_discovered_and_status_reports():
    result = run_python(
        """
        import autolog
        before = {s.name: s for s in autolog.status()}
        assert before["fakeml"].state == "disabled", before["fakeml"]
        assert before["sklearn"].state == "disabled", before["sklearn"]
        autolog.autolog()
        after = {s.name: s for s in autolog.status()}
        assert after["fakeml"].state == "waiting", after["fakeml"]
        assert after["oldml"].state == "waiting"
        import fakeml
        after = {s.name: s for s in autolog.status()}
        assert after["fakeml"].state == "enabled" and after["fakeml"].framework_version == "1.2.0"
        print("OK")
        """,
        plugins=True,
    )
    assert result.stdout.strip() == "OK"


def test_autolog_imports_no_framework():
    run_python(
        """
        import sys, time
        import autolog
        function = autolog.autolog
        start = time.perf_counter()
        function()
        elapsed = (time.perf_counter() - start) * 1e3
        heavy = [m for m in ("numpy", "sklearn", "torch", "fakeml", "oldml") if m in sys.modules]
        assert not heavy, heavy
        print(elapsed)
        """,
        plugins=True,
    )
    # Its cost (budget 5 ms) is measured in benchmarks/bench_patching.py, not asserted here.


def test_autolog_disable_env_does_nothing():
    result = run_python(
        """
        import autolog, fakeml
        autolog.autolog()
        assert not hasattr(fakeml.train, "__wrapped__")
        assert {s.name: s.state for s in autolog.status()}["fakeml"] == "disabled"
        print("OK")
        """,
        plugins=True,
        env={"AUTOLOG_DISABLE": "1"},
    )
    assert result.stdout.strip() == "OK"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_inside_training_counts_as_nested_in_the_child():
    result = run_python(
        """
        import os
        import autolog
        autolog.autolog()
        import fakeml, fakeml_autolog
        import fakeml.estimators as est
        from autolog.core.patching import training_depth

        class Forking(est.Estimator):
            def fit(self, X, y=None):
                pid = os.fork()
                if pid == 0:
                    try:
                        fakeml.train({"child": 1})
                        ok = training_depth() == 1 and len(fakeml_autolog.EVENTS) == 1
                    except BaseException:
                        ok = False
                    os._exit(0 if ok else 1)
                self.child = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
                return self

        assert Forking().fit(1).child == 0
        # outside training, a forked child logs its own training call
        pid = os.fork()
        if pid == 0:
            fakeml.train({"child": 2})
            os._exit(0 if [e[0] for e in fakeml_autolog.EVENTS] == ["fit", "train"] else 1)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        print("OK")
        """,
        plugins=True,
    )
    assert result.stdout.strip() == "OK"
