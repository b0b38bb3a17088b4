"""Where records go: the tracking URI, the current experiment, and their store.

Process-wide, like MLflow's `set_tracking_uri` / `set_experiment`: these describe the
destination, not a run, so threads share them. Which run is active is per thread
(`core.tracking.runs`). One backend and one `RunLogger` exist per URI.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from autolog.core.config import ENV_EXPERIMENT_NAME, ENV_TRACKING_URI
from autolog.core.tracking.logger import RunLogger

_lock = threading.RLock()
_tracking_uri: str | None = None
_experiment_id: str | None = None
_stores: dict[str, tuple[object, RunLogger]] = {}


def set_tracking_uri(uri: str | os.PathLike | None) -> None:
    """Send everything logged from now on to ``uri`` (see DESIGN.md, Tracking URIs)."""
    global _tracking_uri, _experiment_id
    with _lock:
        _tracking_uri = None if uri is None else os.fspath(uri)
        _experiment_id = None
    if uri is not None:
        get_store()  # resolve now so a bad URI is reported at the call that gave it


def get_tracking_uri() -> str:
    uri = _tracking_uri or os.environ.get(ENV_TRACKING_URI) or ""
    if uri:
        return uri
    return os.path.abspath("autolog-runs")


def _store_for(uri: str) -> tuple[object, RunLogger]:
    store = _stores.get(uri)  # every log_metric comes here: no lock once the store exists
    if store is not None:
        return store
    with _lock:
        store = _stores.get(uri)
        if store is None:
            from autolog.backends import get_backend

            backend = get_backend(uri)
            store = _stores[uri] = (backend, RunLogger(backend))
        return store


def install_store(uri: str, backend: object) -> None:
    """Serve ``uri`` with ``backend`` (an object, not one resolved from the URI): for tests
    and tools that bring a backend of their own (`autolog.testing.failing_store`)."""
    with _lock:
        replaced = _stores.get(uri)
        _stores[uri] = (backend, RunLogger(backend))
    if replaced is not None:
        replaced[1].discard()


def remove_store(uri: str) -> None:
    """Forget the backend serving ``uri``, and drop what its logger still buffers; a
    later use resolves the URI afresh."""
    with _lock:
        removed = _stores.pop(uri, None)
    if removed is not None:
        removed[1].discard()


def get_store(uri: str | None = None):
    """The backend for ``uri`` (default: the current tracking URI)."""
    return _store_for(uri or get_tracking_uri())[0]


def require_store(uri: str | None = None) -> None:
    """Raise `StoreNotFoundError` unless a store exists at ``uri`` (default: the current
    tracking URI), `StoreUnavailableError` if what is there is no store. Reads never
    create a store; a tool that only reads (the CLI, the UI, a sync source) calls this
    so that a mistyped path is an error rather than an empty listing. Stores without
    such a check (MLflow, memory, plugins) pass."""
    check = getattr(get_store(uri), "require_existing", None)
    if check is not None:
        check()


def get_logger(uri: str | None = None) -> RunLogger:
    return _store_for(uri or get_tracking_uri())[1]


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None):
    """Make an experiment current, creating it by name when missing; return it."""
    global _experiment_id
    backend = get_store()
    if experiment_id is not None:
        experiment = backend.get_experiment(str(experiment_id))
    elif experiment_name:
        experiment = backend.get_experiment_by_name(experiment_name)
        if experiment is None:
            from autolog.core.errors import ResourceAlreadyExistsError

            try:
                new_id = backend.create_experiment(experiment_name)
            except ResourceAlreadyExistsError:  # another process created it first
                experiment = backend.get_experiment_by_name(experiment_name)
            else:
                experiment = backend.get_experiment(new_id)
    else:
        from autolog.core.errors import InvalidInputError

        raise InvalidInputError("set_experiment needs an experiment_name or an experiment_id.")
    with _lock:
        _experiment_id = experiment.experiment_id
    return experiment


def current_experiment_id() -> str:
    """The experiment new runs go to: set_experiment, else AUTOLOG_EXPERIMENT_NAME, else 0."""
    if _experiment_id is not None:
        return _experiment_id
    name = os.environ.get(ENV_EXPERIMENT_NAME)
    if name:
        return set_experiment(name).experiment_id
    from autolog.backends.base import DEFAULT_EXPERIMENT_ID

    return DEFAULT_EXPERIMENT_ID


def settle(uri: str | None = None) -> None:
    """Wait for deferred autologging work (plots, provenance artifacts, what integrations
    hold back), then flush."""
    _wait_deferred()
    get_logger(uri).flush()


_pending_work: list[Callable[[], None]] = []


def register_pending_work(callback: Callable[[], None]) -> None:
    """``callback()`` logs what an integration captured but holds back (the torch
    integration's finished DataLoader passes); flushes and reads call it first."""
    if callback not in _pending_work:
        _pending_work.append(callback)


def _wait_deferred() -> None:
    import sys

    for callback in list(_pending_work):
        callback()
    # Only modules already loaded: nothing was deferred otherwise.
    for name in ("autolog.core.tracking.deferred", "autolog.core.tracking.provenance"):
        module = sys.modules.get(name)
        if module is not None:
            module.wait()


def flush_all() -> None:
    """Wait for deferred autologging work and flush every store's buffered writes."""
    _wait_deferred()
    with _lock:
        loggers = [run_logger for _, run_logger in _stores.values()]
    for run_logger in loggers:
        run_logger.flush()
