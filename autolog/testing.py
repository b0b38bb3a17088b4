"""Fault injection for integration tests (and for users testing their own plugins).

* `inject_hook_faults(match=None)`: while active, every capture hook (or the ones that
  match) raises `InjectedFault` on entry. In lenient mode (``AUTOLOG_STRICT`` unset) the
  user's training must still return the same result; in strict mode the fault surfaces.
* `inject_record_faults(match=None)`: while active, the training session's records
  (``log_params``, ``set_tags``, ``log_model``, ...; or the ones that match) raise
  `InjectedFault` as they start: "a record failing early costs only itself".
* `list_hooks()`: the hook ids of the registered patches, for "each hook made to raise
  in turn" tests::

      for hook in autolog.testing.list_hooks("sklearn"):
          with autolog.testing.inject_hook_faults(hook):
              assert model.fit(X, y) is model

* `FailingBackend`: a tracking backend whose every method raises `InjectedFault`.
* `failing_store(uri)`: while active, the tracking URI is ``uri``, served by a
  `FailingBackend`: "a store that fails on every call leaves training identical"::

      with autolog.testing.failing_store():
          assert model.fit(X, y).predict(X).tolist() == baseline
"""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Callable, Iterator

from autolog.backends.base import TrackingBackend
from autolog.core.patching import dispatch
from autolog.core.patching.declarations import _hook_id

__all__ = ["RECORDS", "FailingBackend", "InjectedFault", "failing_store", "inject_hook_faults",
           "inject_record_faults", "list_hooks"]


class InjectedFault(Exception):
    """Raised on purpose by the fault-injection harness."""


def _matcher(match: str | Callable | None) -> Callable[[str], bool]:
    if match is None:
        return lambda hook_id: True
    if isinstance(match, str):
        def matches(hook_id: str) -> bool:
            short = hook_id.rsplit(".", 1)[-1]
            qualname = hook_id.split(".", 1)[-1] if "." in hook_id else hook_id
            return any(fnmatch.fnmatchcase(candidate, match)
                       for candidate in (hook_id, short, qualname))

        return matches
    if callable(match):
        # A hook function itself (matched by its id), else a predicate on hook ids.
        own_id = _hook_id(match)
        if own_id in list_hooks():
            return lambda candidate: candidate == own_id
        return lambda candidate: bool(match(candidate))
    raise TypeError(f"match must be a string, a callable or None, not {type(match).__name__}")


@contextlib.contextmanager
def inject_hook_faults(match: str | Callable | None = None) -> Iterator[list[str]]:
    """Make every capture hook (or those whose id matches) raise `InjectedFault` on entry.

    ``match``: None (all hooks), a hook id or glob (``"fakeml_autolog.on_train"``,
    ``"on_*"``; matched against the full id, its qualname and its last part), a hook
    function, or a predicate taking the hook id. Yields the list of hook ids that were
    made to fail, filled in as they fail.
    """
    matches = _matcher(match)
    fired: list[str] = []

    def fault(hook_id: str) -> None:
        if matches(hook_id):
            fired.append(hook_id)
            raise InjectedFault(f"injected fault in {hook_id}")

    previous = dispatch._hook_fault
    dispatch._hook_fault = fault
    try:
        yield fired
    finally:
        dispatch._hook_fault = previous


#: The records a training session makes, for `inject_record_faults`.
RECORDS = ("log_params", "log_metric", "log_metrics", "set_tags", "log_artifact", "log_text",
           "log_dict", "log_figure", "log_model")


@contextlib.contextmanager
def inject_record_faults(match: str | Callable[[str], bool] | None = None
                         ) -> Iterator[list[str]]:
    """Make the training session's records (or those matching: a name of `RECORDS`, a
    glob such as ``"log_param*"``, or a predicate) raise `InjectedFault` as they start.

    A record that fails must cost only itself: in lenient mode the hook's later records
    (metrics callbacks, the model) are still logged and training is unchanged. Yields
    the names of the records made to fail, as they fail.
    """
    from autolog.core.tracking import sessions

    matches = _matcher(match)
    fired: list[str] = []

    def fault(name: str) -> None:
        if matches(name):
            fired.append(name)
            raise InjectedFault(f"injected fault in the session's {name}")

    previous = sessions._record_fault
    sessions._record_fault = fault
    try:
        yield fired
    finally:
        sessions._record_fault = previous


def list_hooks(integration: str | None = None) -> list[str]:
    """The ids (``module.qualname``) of the hooks of the registered integrations' patches."""
    from autolog.core.patching import registry

    names = [integration] if integration is not None else registry.integration_names()
    hooks: list[str] = []
    for name in names:
        instance = registry._load(name)
        if instance is None:
            if integration is not None:
                raise LookupError(f"integration {name!r} is not available")
            continue
        for patch in instance._patches():
            if patch.hook_id not in hooks:
                hooks.append(patch.hook_id)
        for hook in instance.framework_hooks():
            hook_id = _hook_id(hook)
            if hook_id not in hooks:
                hooks.append(hook_id)
    return hooks


def _raiser(name: str) -> Callable:
    def method(self, *args, **kwargs):
        raise InjectedFault(f"FailingBackend.{name}")

    method.__name__ = name
    method.__qualname__ = f"FailingBackend.{name}"
    return method


class FailingBackend(TrackingBackend):
    """A backend whose every method raises `InjectedFault` (construction succeeds)."""

    def __init__(self, uri: str = "failing:") -> None:
        self.uri = uri


for _name in dir(TrackingBackend):
    if _name.startswith("_") or not callable(getattr(TrackingBackend, _name)):
        continue
    setattr(FailingBackend, _name, _raiser(_name))
FailingBackend.__abstractmethods__ = frozenset()
del _name


@contextlib.contextmanager
def failing_store(uri: str = "failing:") -> Iterator[FailingBackend]:
    """Make ``uri``, served by a `FailingBackend`, the tracking URI while the block runs;
    the previous tracking URI (and experiment) come back after, and the store is forgotten.
    Yields the backend."""
    from autolog.core.tracking import context

    backend = FailingBackend(uri)
    previous_uri, previous_experiment = context._tracking_uri, context._experiment_id
    context.install_store(uri, backend)
    context.set_tracking_uri(uri)
    try:
        yield backend
    finally:
        context.set_tracking_uri(previous_uri)
        context._experiment_id = previous_experiment
        context.remove_store(uri)
