"""Which run is active, per thread, and the managed runs autologging opens.

Why per thread: two threads training at once must get two runs (MLflow's process-global
stack put both into one). A run started in one thread is not active in another; pass
``run_id`` to `start_run` to log into it from elsewhere.

What autologging logs through is `autolog.core.tracking.sessions`; every value goes through
`autolog.core.tracking.recorder.RunRecorder`. Code that must act when a run starts or ends
(provenance, a torch loop's last epoch) registers with `on_run_start` / `on_run_end`, so
this module imports none of it.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from autolog.core.config import ENV_RUN_NAME, ENV_SYSTEM_METRICS, env_flag
from autolog.core.entities import Run, RunData, RunStatus, now_ms
from autolog.core.errors import InvalidInputError, RunStateError
from autolog.core.reporting import _log, report_internal_error
from autolog.core.tracking import context
from autolog.core.tracking.recorder import RunRecorder, check_tags

TAG_RUN_NAME = "mlflow.runName"
TAG_PARENT_RUN_ID = "mlflow.parentRunId"
TAG_USER = "mlflow.user"
TAG_AUTOLOGGING = "mlflow.autologging"


class ActiveRun(Run):
    """A run in progress; a context manager that ends it (FAILED on an exception)."""

    def __init__(self, run: Run, uri: str, *, managed: bool = False) -> None:
        super().__init__(run.info, run.data)
        self.uri = uri
        self.managed = managed
        self.params_logged: dict[str, str] = dict(run.data.params)
        self.holds_training = False
        # An ambient run (the one `autolog run` opens around a script) accepts a plain
        # start_run() inside it as a child, so unchanged scripts that start runs work.
        self.ambient = False
        self.monitor = None
        self.owner_pid = os.getpid()
        #: the strict recorder of this run: the fluent API logs through it
        self.recorder = RunRecorder(self.info.run_id, uri, self.params_logged, strict=True)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        end_run(status_after(exc), run_id=self.info.run_id)
        return False

    def __repr__(self) -> str:
        return f"<ActiveRun run_id={self.info.run_id!r} name={self.info.run_name!r}>"


class _ThreadRuns(threading.local):
    def __init__(self) -> None:
        self.stack: list[ActiveRun] = []
        self.last_run_id: str | None = None


_thread = _ThreadRuns()
_active_lock = threading.Lock()
_all_active: dict[str, ActiveRun] = {}  # every thread's active runs, for exit handling
_uncaught: list[BaseException] = []

_ADJECTIVES = "bold brave bright calm clever cool eager fast gentle keen lucky merry noble quick sharp smart swift wise".split()  # noqa: E501
_NOUNS = "ant bat bee cat cod crow deer dove fox frog hare hawk lark lynx mole owl ram seal wolf yak".split()  # noqa: E501


def _random_run_name() -> str:
    import random

    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(100, 999)}"


def active_run() -> ActiveRun | None:
    """The innermost run active in this thread, or None."""
    stack = _thread.stack
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The run active now, else the last one this thread ended (fresh from the store)."""
    run = active_run()
    run_id = run.info.run_id if run is not None else _thread.last_run_id
    if run_id is None:
        return None
    context.get_logger().flush()
    return context.get_store().get_run(run_id)


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
    *,
    parent_run_id: str | None = None,
    _managed: bool = False,
    _independent: bool = False,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it active in this thread.

    Use as a context manager: the run ends FINISHED, or FAILED when the block raises.
    ``parent_run_id`` (MLflow's name) makes the new run a child of that run, also from a
    thread where the parent is not active (a worker thread's share of a study); where a
    run is active in this thread, it must be that parent.
    """
    _install_exit_handling()
    parent = active_run()
    if parent_run_id is not None:
        if parent is not None and parent.info.run_id != parent_run_id:
            raise RunStateError(
                f"Run {parent.info.run_id!r} is active in this thread, but parent_run_id "
                f"is {parent_run_id!r}: end it first, or start the child from its parent."
            )
        nested = True
    if parent is not None and not nested and not _independent and parent.ambient:
        nested = True
    if parent is not None and not nested and not _independent:
        raise RunStateError(
            f"Run {parent.info.run_id!r} ({parent.info.run_name}) is already active. End it "
            "with autolog.end_run() first, or pass nested=True to start a child run."
        )
    uri = context.get_tracking_uri()
    backend = context.get_store(uri)
    run_logger = context.get_logger(uri)
    if run_id is not None:
        run_logger.flush()
        existing = backend.get_run(run_id)
        info = backend.update_run_info(run_id, RunStatus.RUNNING, None)
        run = ActiveRun(Run(info, existing.data), uri, managed=_managed)
    else:
        all_tags = dict(check_tags({str(k): v for k, v in (tags or {}).items()}, strict=True))
        name = run_name or all_tags.get(TAG_RUN_NAME) or os.environ.get(ENV_RUN_NAME)
        name = name or _random_run_name()
        all_tags[TAG_RUN_NAME] = name
        if parent_run_id is not None:
            all_tags[TAG_PARENT_RUN_ID] = str(parent_run_id)
        elif parent is not None and nested and not _independent:
            all_tags[TAG_PARENT_RUN_ID] = parent.info.run_id
        if description:
            all_tags["mlflow.note.content"] = description
        all_tags.setdefault(TAG_USER, _user_name())
        info = backend.create_run(
            experiment_id=str(experiment_id) if experiment_id is not None
            else context.current_experiment_id(),
            run_name=name,
            start_time=now_ms(),
            tags=all_tags,
            run_id=_new_run_id(),
        )
        # A new run holds exactly the tags it was created with: no read back.
        run = ActiveRun(Run(info, RunData(tags=dict(all_tags))), uri, managed=_managed)
    _thread.stack.append(run)
    with _active_lock:
        _all_active[run.info.run_id] = run
    if run_id is None:
        _call_start_callbacks(run, _managed)
    if log_system_metrics or (log_system_metrics is None and env_flag(ENV_SYSTEM_METRICS)):
        _start_system_metrics(run)
    return run


#: callbacks(run, managed) called when a new run starts (provenance registers one)
_start_callbacks: list[Callable[[ActiveRun, bool], None]] = []


def on_run_start(callback: Callable[[ActiveRun, bool], None]) -> None:
    """Call ``callback(run, managed)`` whenever a new run starts in this process (not a
    resumed one). An error in it is reported like a hook's; the run starts regardless."""
    if callback not in _start_callbacks:
        _start_callbacks.append(callback)


def _call_start_callbacks(run: ActiveRun, managed: bool) -> None:
    for callback in list(_start_callbacks):
        try:
            callback(run, managed)
        except Exception as exc:  # noqa: BLE001 - reported (raised under AUTOLOG_STRICT)
            report_internal_error(exc, "recording the run's source and environment")


def status_after(error: BaseException | None) -> str:
    """How a run ends after its block: FINISHED, KILLED after Ctrl-C, else FAILED."""
    if error is None:
        return RunStatus.FINISHED
    return RunStatus.KILLED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED


def end_run(status: str = RunStatus.FINISHED, run_id: str | None = None) -> None:
    """End the active run (or ``run_id``, which must be active in this thread)."""
    if status not in RunStatus.TERMINAL:
        raise InvalidInputError(
            f"Invalid run status {status!r}: expected one of {', '.join(RunStatus.TERMINAL)}."
        )
    stack = _thread.stack
    if not stack:
        return
    if run_id is None:
        run = stack[-1]
    else:
        matches = [r for r in stack if r.info.run_id == run_id]
        if not matches:
            return
        run = matches[0]
    # Ending a run ends the children started inside it first.
    while stack:
        top = stack.pop()
        _finish(top, status if top is run else status)
        if top is run:
            break
    _thread.last_run_id = run.info.run_id


def _finish(run: ActiveRun, status: str, *, wait: bool = False) -> None:
    """End ``run``; ``wait``: also for a managed run, write its end before returning
    (at exit and on SIGTERM, when no writer may be left to do it)."""
    with _active_lock:
        _all_active.pop(run.info.run_id, None)
    if run.monitor is not None:
        run.monitor.stop()
        run.monitor = None
    if run.owner_pid != os.getpid():
        return  # a forked child never ends its parent's run
    try:
        _call_end_callbacks(run.info.run_id, status)
    finally:
        run_logger = context.get_logger(run.uri)
        if run.managed and not wait and not _forked:
            # A run autologging opened ends on the writer, after its data: the user's
            # fit does not wait for the store (`flush`, reads and exit do). Not in a
            # forked child: multiprocessing ends those with os._exit, skipping exit's
            # flush.
            run_logger.end_run(run.info.run_id, status, now_ms())
        else:
            try:
                run_logger.flush()
            finally:
                context.get_store(run.uri).update_run_info(run.info.run_id, status, now_ms())
        run.info.status = status


# run id -> callbacks(status) to call when the run ends (end_run, exit, SIGTERM)
_end_callbacks: dict[str, list[Callable[[str], None]]] = {}


def on_run_end(run_id: str, callback: Callable[[str], None]) -> None:
    """Call ``callback(status)`` once when the run ``run_id`` ends in this process.

    For capture that spans many calls (a hand-written torch loop): the callback logs what
    it still holds (the last epoch, the model) into the run before its status is set and
    its data flushed -- whether the run ends by `end_run`, at interpreter exit or on
    SIGTERM. An error in a callback is reported like a hook's and the run still ends.
    """
    _end_callbacks.setdefault(run_id, []).append(callback)


def cancel_run_end(run_id: str, callback: Callable[[str], None]) -> None:
    """Forget ``callback`` registered with `on_run_end` (a session that ended before its
    run: the user's run outlives the Lightning fit logged into it)."""
    callbacks = _end_callbacks.get(run_id)
    if callbacks and callback in callbacks:
        callbacks.remove(callback)
        if not callbacks:
            del _end_callbacks[run_id]


def _call_end_callbacks(run_id: str, status: str) -> None:
    callbacks = _end_callbacks.pop(run_id, None)
    if not callbacks:
        return
    error: Exception | None = None
    for callback in callbacks:
        try:
            callback(status)
        except Exception as exc:  # noqa: BLE001 - the run must still end
            try:
                report_internal_error(exc, "run-end callback")
            except Exception as strict_exc:  # noqa: BLE001 - strict: raise after the others
                error = error or strict_exc
    if error is not None:
        raise error


def _start_system_metrics(run: ActiveRun, node: str = "") -> None:
    """Sample system metrics into ``run`` until it ends; ``node`` (``rank1/``) goes after
    the ``system/`` prefix: one process's share of a run several processes write."""
    from autolog.core.tracking.sysmetrics import PREFIX, SystemMetricsMonitor

    interval = float(os.environ.get("AUTOLOG_SYSTEM_METRICS_SAMPLING_INTERVAL", "10") or 10)
    run_logger = context.get_logger(run.uri)
    run_id = run.info.run_id

    def log_sample(values: dict[str, float], step: int) -> None:
        timestamp = now_ms()
        for key, value in values.items():
            if node and key.startswith(PREFIX):
                key = f"{PREFIX}{node}{key[len(PREFIX):]}"
            run_logger.log_metric(run_id, key, float(value), timestamp, step)

    run.monitor = SystemMetricsMonitor(log_sample, interval=interval)
    run.monitor.start()


def _new_run_id() -> str:
    import uuid

    return uuid.uuid4().hex


_user: list[str] = []  # the login name, looked up once per process


def _user_name() -> str:
    if _user:
        return _user[0]
    try:
        import getpass

        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        name = "unknown"
    _user.append(name)
    return name


# -- process lifetime -----------------------------------------------------------------


_exit_handling_installed = False


def _install_exit_handling() -> None:
    """At the first run: remember uncaught exceptions so exit can mark runs FAILED."""
    global _exit_handling_installed
    if _exit_handling_installed:
        return
    _exit_handling_installed = True
    previous = sys.excepthook

    def record_uncaught(exc_type, exc, tb) -> None:
        _uncaught.append(exc)
        previous(exc_type, exc, tb)

    sys.excepthook = record_uncaught
    atexit.register(_end_runs_at_exit)
    import signal

    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        install_signal_handlers()  # a terminated process leaves its runs KILLED, not RUNNING


def _end_runs_at_exit() -> None:
    """Runs still active at exit end FINISHED, or FAILED after an uncaught exception."""
    status = RunStatus.FAILED if _uncaught else RunStatus.FINISHED
    with _active_lock:
        runs = list(_all_active.values())
    for run in reversed(runs):
        try:
            if run.owner_pid == os.getpid():
                _finish(run, status, wait=True)
        except Exception as exc:  # noqa: BLE001 - at exit, report and go on
            _log().warning("autolog: could not end run %s at exit: %s", run.info.run_id, exc)


_signal_handlers_installed = False
#: called first on SIGTERM, before this process's runs end (`on_terminate`)
_terminate_callbacks: list[Callable[[], None]] = []


def on_terminate(callback: Callable[[], None]) -> None:
    """Call ``callback()`` on SIGTERM (once `install_signal_handlers` ran), before the
    process's active runs end KILLED: for writers into runs this process does not own (a
    rank's share of its job's run)."""
    if callback not in _terminate_callbacks:
        _terminate_callbacks.append(callback)


def install_signal_handlers() -> None:
    """On SIGTERM, end this process's active runs KILLED, then terminate as before.

    For long-lived runs that span a whole script (the torch loop, the launcher). Only
    from the main thread; a no-op elsewhere or when already installed.
    """
    global _signal_handlers_installed
    import signal

    if _signal_handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        for callback in list(_terminate_callbacks):
            try:
                callback()
            except Exception as exc:  # noqa: BLE001 - terminating: report and go on
                _log().warning("autolog: on SIGTERM: %s", exc)
        with _active_lock:
            runs = list(_all_active.values())
        for run in reversed(runs):
            try:
                if run.owner_pid == os.getpid():
                    _finish(run, RunStatus.KILLED, wait=True)
            except Exception as exc:  # noqa: BLE001 - terminating: report and go on
                _log().warning("autolog: could not end run %s: %s", run.info.run_id, exc)
        try:  # runs ended earlier may still be queued for the writer
            context.flush_all()
        except Exception as exc:  # noqa: BLE001 - terminating: report and go on
            _log().warning("autolog: could not flush on SIGTERM: %s", exc)
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
    _signal_handlers_installed = True


_forked = False  # this process is a fork of one that imported autolog


def _forget_runs_after_fork() -> None:
    global _thread, _active_lock, _forked
    _forked = True
    _thread = _ThreadRuns()
    _active_lock = threading.Lock()  # another thread may have held it at fork time
    _all_active.clear()
    _end_callbacks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_runs_after_fork)
