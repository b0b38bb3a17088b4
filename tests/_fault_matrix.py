"""The fault matrix shared by the integrations whose training returns arrays (xgboost,
lightgbm): each capture hook made to raise in turn, and a store failing on every call,
must leave the results identical to a run without autolog (lenient mode)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from autolog.core import reporting
from autolog.core.errors import AutologWarning
from autolog.testing import failing_store, inject_hook_faults, list_hooks


def autolog_warnings(caught) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, AutologWarning)]


def assert_same_arrays(got, expected) -> None:
    for left, right in zip(got, expected):
        np.testing.assert_array_equal(left, right)


def each_hook_fails_in_turn(integration: str, train: Callable[[], tuple], baseline: tuple,
                            hooks_expected: int, exclude: str | None = None) -> None:
    """Every hook fails once, alone: same results, exactly one warning for it. Hooks whose
    id contains ``exclude`` are left out (``train`` does not reach them)."""
    hooks = [h for h in list_hooks(integration) if exclude is None or exclude not in h]
    assert len(hooks) == hooks_expected
    for hook in hooks:
        reporting._warned_causes.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with inject_hook_faults(hook) as fired:
                assert_same_arrays(train(), baseline)
        assert set(fired) == {hook}
        ours = autolog_warnings(caught)
        assert len(ours) == 1, [str(w.message) for w in ours]


def failing_store_changes_nothing(train: Callable[[], tuple], baseline: tuple) -> None:
    """Two trainings into a store that fails on every call: same results, one warning
    per cause, each naming the injected fault."""
    with failing_store(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert_same_arrays(train(), baseline)
        assert_same_arrays(train(), baseline)
    messages = [str(w.message) for w in autolog_warnings(caught)]
    assert len(messages) == len(set(messages)) >= 1  # once per cause
    assert all("InjectedFault" in m for m in messages)


#: Records a hook makes before the training proper: each made to fail in turn.
EARLY_RECORDS = ("log_params", "set_tags")


def an_early_record_failing_costs_only_itself(
        train: Callable[[], object], records: tuple[str, ...] = EARLY_RECORDS, *,
        metrics: set[str], model: bool = True) -> None:
    """Each early record (params, tags and dataset description) made to fail in turn,
    alone (lenient mode): exactly one warning, naming it; the run still gets the metrics
    its callbacks log and, when ``model``, the model."""
    import autolog
    from autolog.core.tracking import context
    from autolog.testing import inject_record_faults

    for record in records:
        reporting._warned_causes.clear()
        before = {r.info.run_id for r in autolog.search_runs(experiment_names=["Default"])}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with inject_record_faults(record) as fired:
                train()
        assert record in fired, record
        messages = [str(w.message) for w in autolog_warnings(caught)]
        assert len(messages) == 1 and record in messages[0], (record, messages)
        new = [r for r in autolog.search_runs(experiment_names=["Default"])
               if r.info.run_id not in before and "mlflow.parentRunId" not in r.data.tags]
        assert len(new) == 1, (record, len(new))
        run = new[0]
        assert metrics <= set(run.data.metrics), (record, sorted(run.data.metrics))
        files = {f.path for f in context.get_store().list_artifacts(run.info.run_id)}
        assert ("model" in files) is model, (record, files)
