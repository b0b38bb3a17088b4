"""Which run is active, per thread, and the managed runs autologging opens.

Why per thread: two threads training at once must get two runs (MLflow's process-global
stack put both into one). A run started in one thread is not active in another; pass
``run_id`` to `start_run` to log into it from elsewhere.

`TrainingSession` is what the patching core opens around the outermost training call:
it logs into the user's active run, or into a nested child run when that run already
holds an autologged training, or opens and closes a managed run of its own.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from autolog.core import validation
from autolog.core.config import ENV_RUN_NAME, ENV_SYSTEM_METRICS, AutologConfig, env_flag
from autolog.core.entities import Run, RunData, RunStatus
from autolog.core.errors import InvalidInputError, RunStateError
from autolog.core.tracking import context

TAG_RUN_NAME = "mlflow.runName"
TAG_PARENT_RUN_ID = "mlflow.parentRunId"
TAG_USER = "mlflow.user"
TAG_AUTOLOGGING = "mlflow.autologging"


def now_ms() -> int:
    return int(time.time() * 1000)


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
    _managed: bool = False,
    _independent: bool = False,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it active in this thread.

    Use as a context manager: the run ends FINISHED, or FAILED when the block raises.
    """
    _install_exit_handling()
    parent = active_run()
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
        all_tags = {str(k): validation.tag_value(str(k), v) for k, v in (tags or {}).items()}
        for key in all_tags:
            validation.validate_key(key, "tag")
        name = run_name or all_tags.get(TAG_RUN_NAME) or os.environ.get(ENV_RUN_NAME)
        name = name or _random_run_name()
        all_tags[TAG_RUN_NAME] = name
        if parent is not None and nested and not _independent:
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
        _record_provenance(run, _managed)
    if log_system_metrics or (log_system_metrics is None and env_flag(ENV_SYSTEM_METRICS)):
        _start_system_metrics(run)
    return run


def _record_provenance(run: ActiveRun, managed: bool) -> None:
    """What produced the run (`core.provenance`); a failure never breaks start_run."""
    try:
        from autolog.core.tracking import provenance

        provenance.record(run, managed=managed)
    except Exception as exc:  # noqa: BLE001 - reported (raised under AUTOLOG_STRICT)
        from autolog.core.patching import report_internal_error

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


def _call_end_callbacks(run_id: str, status: str) -> None:
    callbacks = _end_callbacks.pop(run_id, None)
    if not callbacks:
        return
    from autolog.core.patching import report_internal_error

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


def _start_system_metrics(run: ActiveRun) -> None:
    from autolog.core.tracking.sysmetrics import SystemMetricsMonitor

    interval = float(os.environ.get("AUTOLOG_SYSTEM_METRICS_SAMPLING_INTERVAL", "10") or 10)
    run_logger = context.get_logger(run.uri)
    run_id = run.info.run_id

    def log_sample(values: dict[str, float], step: int) -> None:
        timestamp = now_ms()
        for key, value in values.items():
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


# -- what integrations log through ------------------------------------------------------


class RunRecorder:
    """Logging into one run by id, as autologging does it: never an error for the user.

    A bad key, an over-long param or a param already logged with another value becomes
    one warning and a skip. Works on finished runs too (post-training metrics,
    ``evaluate`` after ``fit``).
    """

    def __init__(self, run_id: str, uri: str, params_logged: dict[str, str] | None = None):
        self.run_id = run_id
        self.uri = uri
        self._params = params_logged if params_logged is not None else {}
        self._logger = context.get_logger(uri)

    def log_params(self, params: Mapping[str, Any]) -> None:
        accepted = []
        seen = self._params
        for key, value in params.items():
            key = str(key)
            text = str(value)
            if len(text) > validation.MAX_PARAM_VALUE_LENGTH:
                text = text[: validation.MAX_PARAM_VALUE_LENGTH - 3] + "..."
                warn_once(f"param-truncated:{key}", f"autolog: param {key!r} truncated to "
                           f"{validation.MAX_PARAM_VALUE_LENGTH} characters.")
            if not _valid_key(key, "param"):
                continue
            previous = seen.get(key)
            if previous is not None:
                if previous != text:
                    warn_once(
                        f"param-conflict:{key}",
                        f"autolog: param {key!r} already logged as {previous!r} in run "
                        f"{self.run_id}; skipped the new value {text!r}.",
                    )
                continue
            seen[key] = text
            accepted.append((key, text))
        if accepted:
            self._logger.log_params(self.run_id, accepted)

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        if _valid_key(key, "metric"):
            self._logger.log_metric(
                self.run_id, key, validation.metric_value(key, value), now_ms(), int(step or 0)
            )

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        timestamp = now_ms()
        step = int(step or 0)
        for key, value in metrics.items():
            if _valid_key(key, "metric"):
                self._logger.log_metric(
                    self.run_id, key, validation.metric_value(key, value), timestamp, step
                )

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._logger.set_tags(
            self.run_id,
            [(k, validation.tag_value(k, v)) for k, v in tags.items() if _valid_key(k, "tag")],
        )

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> None:
        context.get_store(self.uri).log_artifact(
            self.run_id, local_path, validation.artifact_path(artifact_path)
        )

    def log_text(self, text: str, artifact_file: str) -> None:
        from autolog.core.tracking.fluent import write_artifact_text

        write_artifact_text(self.uri, self.run_id, text, artifact_file)

    def log_dict(self, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        from autolog.core.tracking.fluent import serialize_dict

        self.log_text(serialize_dict(dictionary, artifact_file), artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        from autolog.core.tracking.fluent import write_artifact_figure

        write_artifact_figure(self.uri, self.run_id, figure, artifact_file)

    def log_model(
        self,
        model: Any,
        flavor: str,
        name: str = "model",
        input_example: Any = None,
        signature: Any = None,
        registered_model_name: str | None = None,
        **flavor_kwargs: Any,
    ):
        """Save ``model`` with ``flavor`` as the artifact directory ``name`` of this run."""
        from autolog import models

        return models.log_model(
            model,
            flavor,
            name=name,
            input_example=input_example,
            signature=signature,
            registered_model_name=registered_model_name,
            run_id=self.run_id,
            tracking_uri=self.uri,
            **flavor_kwargs,
        )


# Fitted models -> the run they were trained in, without touching the user's objects.
_model_runs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def remember_model(model: Any, recorder: RunRecorder) -> None:
    """Link ``model`` to ``recorder``'s run (for post-training metrics, evaluate, ...)."""
    try:
        _model_runs[model] = RunRecorder(recorder.run_id, recorder.uri, recorder._params)
    except TypeError:  # not weak-referenceable or unhashable: no link, nothing breaks
        pass


def recorder_for_model(model: Any) -> RunRecorder | None:
    """The run ``model`` was trained in, or None. Costs one dict lookup."""
    try:
        return _model_runs.get(model)
    except TypeError:
        return None


# -- the session that autologging opens around one outermost training call ------------


#: Set by `autolog.testing.inject_record_faults`: called with a record's name ("log_params",
#: "set_tags", ...) as a session record starts, inside its isolation; raises to simulate
#: a failing record. None (the default) costs one check per record.
_record_fault: Callable[[str], None] | None = None

Recordable = Any  # a value to record, or a function computing it (run inside the isolation)


class TrainingSession(RunRecorder):
    """The run one outermost training call logs into, plus its timing and resources.

    Integrations receive it from the core; they never start or end runs themselves.

    Each record (``log_params``, ``log_metrics``, ``set_tags``, ``log_model``, ...) is
    isolated: one that fails costs itself only -- an `AutologWarning` once per cause
    (raised under ``AUTOLOG_STRICT``) -- never the hook's later records, the user's
    training or the model. Where computing the value may fail (describing a dataset,
    walking an estimator's params), pass a function that computes it instead: it runs
    inside the record's isolation.
    """

    def __init__(self, run: ActiveRun, config: AutologConfig, owns_run: bool,
                 integration: str = "autolog") -> None:
        super().__init__(run.info.run_id, run.uri, run.params_logged)
        self.run = run
        self.config = config
        self.owns_run = owns_run
        self.integration = integration
        self._started = time.perf_counter()
        self._cpu_started = time.process_time()
        self._peak_rss_started = _peak_rss_bytes()

    def _record(self, what: str, record: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``record(*args, **kwargs)``, callable arguments first called for their value;
        an error is reported as this record's, and None returned."""
        try:
            if _record_fault is not None:
                _record_fault(what)
            args = tuple(arg() if callable(arg) else arg for arg in args)
            return record(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported (raised under AUTOLOG_STRICT)
            from autolog.core.patching import report_internal_error

            report_internal_error(exc, f"{self.integration}: {what}",
                                  silent=bool(getattr(self.config, "silent", False)))
            return None

    def log_params(self, params: Recordable) -> None:
        self._record("log_params", super().log_params, params)

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        self._record("log_metric", super().log_metric, key, value, step)

    def log_metrics(self, metrics: Recordable, step: int | None = None) -> None:
        self._record("log_metrics", super().log_metrics, metrics, step)

    def set_tags(self, tags: Recordable) -> None:
        self._record("set_tags", super().set_tags, tags)

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> None:
        self._record("log_artifact", super().log_artifact, local_path, artifact_path)

    def log_text(self, text: Recordable, artifact_file: str) -> None:
        """The text is taken now; the file is written into the store by the deferred
        worker (after the fit has returned; `flush`, reads and exit wait for it)."""
        self._record("log_text", self._write_later, text, artifact_file)

    def log_dict(self, dictionary: Recordable, artifact_file: str) -> None:
        """Serialized now (the dict may change after); written as `log_text` is."""
        from autolog.core.tracking.fluent import serialize_dict

        self._record("log_dict", lambda d: self._write_later(serialize_dict(d, artifact_file),
                                                             artifact_file), dictionary)

    def _write_later(self, text: str, artifact_file: str) -> None:
        from autolog.core.tracking import deferred

        validation.artifact_path(artifact_file)  # a bad name is this record's error, now
        recorder = RunRecorder(self.run_id, self.uri)
        deferred.submit(f"{self.integration}: writing {artifact_file}",
                        lambda: recorder.log_text(text, artifact_file))

    def log_figure(self, figure: Recordable, artifact_file: str) -> None:
        self._record("log_figure", super().log_figure, figure, artifact_file)

    def log_model(self, model: Any, flavor: str, name: str = "model", *args: Any,
                  **kwargs: Any):
        """As `RunRecorder.log_model` (None when it fails); a signature is inferred from
        the input example only when the autologging option ``log_model_signatures`` is
        on. A model that cannot be pickled is the user's design, not an autolog failure:
        one warning per model class says so."""
        kwargs.setdefault("infer_signature", self.config.log_model_signatures)

        def log() -> Any:
            try:
                return RunRecorder.log_model(self, model, flavor, name, *args, **kwargs)
            except Exception as exc:
                import pickle

                if not isinstance(exc, (pickle.PicklingError, AttributeError, TypeError)) \
                        or "pickle" not in str(exc).lower():
                    raise
                warn_once(f"unpicklable:{type(model).__qualname__}",
                          f"autolog: the {type(model).__name__} model was not logged: it "
                          f"cannot be pickled ({exc}).")
                return None

        return self._record("log_model", log)

    @classmethod
    def open(
        cls,
        integration: str,
        config: AutologConfig,
        framework_version: str | None = None,
        run_name: str | None = None,
        resume_run_id: str | None = None,
    ) -> TrainingSession:
        """Pick the run: the user's active one, a child of it, a resumed or a new one.

        ``resume_run_id`` continues an earlier managed run (``partial_fit`` calls on one
        estimator) when no user run is active.
        """
        user_run = active_run()
        if user_run is not None and user_run.owner_pid != os.getpid():
            _thread.stack.clear()  # inherited through fork: not ours to log into
            user_run = None
        if user_run is not None and resume_run_id == user_run.info.run_id:
            run, owns_run = user_run, False
        elif user_run is None and resume_run_id is not None:
            run, owns_run = start_run(run_id=resume_run_id, _managed=True), True
        elif user_run is None:
            run, owns_run = start_run(run_name=run_name, _managed=True), True
        elif config.exclusive:
            run = start_run(run_name=run_name, _managed=True, _independent=True)
            owns_run = True
        elif user_run.holds_training and resume_run_id is None:
            run, owns_run = start_run(run_name=run_name, nested=True, _managed=True), True
        else:
            run, owns_run = user_run, False
        run.holds_training = True
        session = cls(run, config, owns_run, integration)
        session.set_tags(_session_tags(integration, framework_version, config))
        if owns_run and config.log_system_metrics and run.monitor is None:
            _start_system_metrics(run)
        return session

    def record_resources(self) -> None:
        """Log training duration, CPU seconds and peak RSS growth since the session opened
        (`close` does it; a session whose run ends by `end_run` calls it itself)."""
        self.log_metrics(
            {
                "training_duration_seconds": time.perf_counter() - self._started,
                "training_cpu_seconds": time.process_time() - self._cpu_started,
                "training_peak_rss_growth_mb": max(
                    0, _peak_rss_bytes() - self._peak_rss_started
                )
                / 2**20,
            }
        )

    def close(self, error: BaseException | None = None) -> None:
        """Record duration and resources; end the run if this session opened it; then
        let the deferred worker start on what the training left it (`deferred.submit`)."""
        try:
            self.record_resources()
        finally:
            try:
                if self.owns_run:
                    end_run(status_after(error), run_id=self.run_id)
            finally:
                deferred = sys.modules.get("autolog.core.tracking.deferred")
                if deferred is not None:
                    deferred.release()


def _session_tags(integration: str, framework_version: str | None, config: AutologConfig):
    tags = {TAG_AUTOLOGGING: integration, "autolog.integration": integration}
    if config.log_environment:  # the same (cached) tags provenance gives the runs it records
        from autolog.core.tracking import provenance

        tags.update(provenance._environment_tags())
    if framework_version:
        tags[f"autolog.{integration}_version"] = framework_version
    if config.extra_tags:
        tags.update({str(k): str(v) for k, v in config.extra_tags.items()})
    return tags


def _peak_rss_bytes() -> int:
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    except Exception:  # noqa: BLE001 - not on Windows
        return 0


_warned: set[str] = set()


def _log():
    import logging

    return logging.getLogger("autolog")


def warn_once(cause: str, message: str) -> None:
    """A caveat of autologging for the user (not an autolog bug): one warning per cause
    (a log record every time: WARNING the first time, DEBUG after)."""
    if cause in _warned:
        _log().debug(message)
        return
    _warned.add(cause)
    _log().warning(message)
    import warnings

    from autolog.core.errors import AutologWarning

    warnings.warn(message, AutologWarning, stacklevel=3)


def _valid_key(key: str, kind: str) -> bool:
    """Inside autologging a bad key is a warning and a skip, never an error for the user."""
    try:
        validation.validate_key(key, kind)
        return True
    except InvalidInputError as exc:
        warn_once(f"bad-key:{key}", f"autolog: skipped {kind} {key!r}: {exc}")
        return False


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
