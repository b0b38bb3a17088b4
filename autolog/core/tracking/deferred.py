"""Work that autologging does after the training call has returned.

Why: some records are slow to produce and not needed by the caller — rendering a
classifier's plots costs ~50 ms, more than the whole rest of a small fit's logging. They
run on one background thread instead; `autolog.flush()`, the reads of the fluent API and
`Client`, and interpreter exit wait for them, so nothing is lost or read half-written.
An error in a job is reported like any internal error, at the next wait.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_jobs: list[tuple[str, Callable[[], Any]]] = []
_idle = threading.Condition(_lock)
_running = 0
_errors: list[tuple[str, BaseException]] = []
_worker: threading.Thread | None = None
_atexit_registered = False


def submit(cause: str, job: Callable[[], Any]) -> None:
    """Run ``job()`` on the background worker; ``cause`` names it in error reports.

    Inside a training call the worker is woken only by `release`, which the training
    session calls as it closes: started at once, the worker would hold the GIL while the
    fit's remaining records (the model's file writes, each giving the GIL up) wait up to
    the 5 ms switch interval for it back, every time.
    """
    global _atexit_registered
    if _in_forked_child():
        # multiprocessing ends a forked child with os._exit: no exit handler would run
        # what is queued, so a child does it now.
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - reported (raised under AUTOLOG_STRICT)
            from autolog.core.reporting import report_internal_error

            report_internal_error(exc, cause)
        return
    with _lock:
        _jobs.append((cause, job))
        if not _atexit_registered:
            _atexit_registered = True
            atexit.register(wait)
        if not _in_training_call():
            _wake_locked()


#: After a training session closes, the worker starts on its jobs this much later: time
#: for the user's fit to return before the worker takes the GIL (woken at once, it took
#: it from the session's last lines, up to the 5 ms switch interval each time). A `wait`
#: (flush, reads, exit) starts it at once.
GRACE_S = 0.02
_not_before = 0.0


def release() -> None:
    """Wake the worker for the jobs submitted so far (the training session's close)."""
    global _not_before
    with _lock:
        if _jobs:
            _not_before = time.monotonic() + GRACE_S
            _wake_locked()


def _wake_locked() -> None:
    global _worker
    if _worker is None or not _worker.is_alive():
        _worker = threading.Thread(target=_work, name="autolog-deferred", daemon=True)
        _worker.start()
    _idle.notify_all()


def _in_training_call() -> bool:
    from autolog.core.tracking.scope import in_training_call

    return in_training_call()


def _work() -> None:
    global _running
    while True:
        with _lock:
            while not _jobs:
                if not _idle.wait(timeout=30) and not _jobs:
                    return  # idle for a while: the thread ends; submit starts another
            delay = _not_before - time.monotonic()
            if delay > 0:  # a fit has just closed: let it return first (see GRACE_S)
                _idle.wait(timeout=delay)
                continue
            cause, job = _jobs.pop(0)
            _running += 1
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - reported at the next wait()
            with _lock:
                _errors.append((cause, exc))
        finally:
            with _lock:
                _running -= 1
                _idle.notify_all()


def pending() -> int:
    with _lock:
        return len(_jobs) + _running


def wait() -> None:
    """Block until every submitted job has run; report their errors (raise when strict)."""
    if threading.current_thread() is _worker:
        return  # a job that reads the store must not wait for itself
    global _not_before
    with _lock:
        _not_before = 0.0  # someone waits: no grace
        if _jobs and _worker is not None and _worker.is_alive():
            _idle.notify_all()  # jobs held back during a training call
        while _jobs or _running:
            if _worker is None or not _worker.is_alive():
                break
            _idle.wait(timeout=0.1)
        leftover = list(_jobs)
        _jobs.clear()
        errors = list(_errors)
        _errors.clear()
    for cause, job in leftover:  # no worker (after fork or at shutdown): run them here
        try:
            job()
        except Exception as exc:  # noqa: BLE001
            errors.append((cause, exc))
    if errors:
        from autolog.core.reporting import report_internal_error

        for cause, exc in errors:
            report_internal_error(exc, cause)


_forked = False  # this process is a fork: jobs run at once (see submit)


def _in_forked_child() -> bool:
    """A fork of a process that imported autolog (`runs` is imported with autolog and
    knows; this module may have been imported only after the fork)."""
    runs = sys.modules.get("autolog.core.tracking.runs")
    return _forked or bool(getattr(runs, "_forked", False))


def _after_fork_in_child() -> None:
    global _lock, _idle, _worker, _running, _forked
    _forked = True
    _lock = threading.Lock()
    _idle = threading.Condition(_lock)
    _jobs.clear()  # the parent's jobs are the parent's
    _errors.clear()
    _worker = None
    _running = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
