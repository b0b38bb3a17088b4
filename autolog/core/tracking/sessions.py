"""The sessions autologging logs through: `TrainingSession`, opened by the patching core
around one outermost training call, and the link from a fitted model to its run.

A session picks its run (the user's active one, a child of it, a resumed or a new managed
run), isolates each record (a failing record costs itself only), measures the training's
duration and resources, and ends the run it opened.
"""

from __future__ import annotations

import os
import sys
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from autolog.core import validation
from autolog.core.config import AutologConfig
from autolog.core.entities import now_ms
from autolog.core.reporting import report_internal_error
from autolog.core.tracking import runs
from autolog.core.tracking.artifacts import serialize_dict
from autolog.core.tracking.recorder import RunRecorder, check_tags
from autolog.core.tracking.runs import (
    TAG_AUTOLOGGING,
    ActiveRun,
    active_run,
    end_run,
    start_run,
    status_after,
)

__all__ = ["ChildRun", "TrainingSession", "recorder_for_model", "remember_model"]


class ChildRun(RunRecorder):
    """A child run that `TrainingSession.child_run` created: log into it, then `end` it."""

    __slots__ = ()

    def end(self, status: str = "FINISHED") -> None:
        """End the child (queued after what was logged into it)."""
        self._logger.end_run(self.run_id, status, now_ms())


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

    def record(self, what: str, record: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``record(*args, **kwargs)`` isolated as the record ``what``: callable arguments
        are first called for their value; an error is reported as this record's (a warning
        once per cause, raised under ``AUTOLOG_STRICT``) and None returned. Integrations
        use it for records of their own (a model, a plot)."""
        try:
            if _record_fault is not None:
                _record_fault(what)
            args = tuple(arg() if callable(arg) else arg for arg in args)
            return record(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported (raised under AUTOLOG_STRICT)
            report_internal_error(exc, f"{self.integration}: {what}",
                                  silent=bool(getattr(self.config, "silent", False)))
            return None

    def log_params(self, params: Recordable) -> None:
        self.record("log_params", super().log_params, params)

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        self.record("log_metric", super().log_metric, key, value, step)

    def log_metrics(self, metrics: Recordable, step: int | None = None) -> None:
        self.record("log_metrics", super().log_metrics, metrics, step)

    def set_tags(self, tags: Recordable) -> None:
        self.record("set_tags", super().set_tags, tags)

    def log_inputs(self, datasets: Recordable) -> None:
        """As `RunRecorder.log_inputs`; pass a function computing the inputs where
        describing the data may fail (it runs inside the record's isolation)."""
        self.record("log_inputs", super().log_inputs, datasets)

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> None:
        self.record("log_artifact", super().log_artifact, local_path, artifact_path)

    def log_text(self, text: Recordable, artifact_file: str) -> None:
        """The text is taken now; the file is written into the store by the deferred
        worker (after the fit has returned; `flush`, reads and exit wait for it)."""
        self.record("log_text", self._write_later, text, artifact_file)

    def log_dict(self, dictionary: Recordable, artifact_file: str) -> None:
        """Serialized now (the dict may change after); written as `log_text` is."""
        self.record("log_dict", lambda d: self._write_later(serialize_dict(d, artifact_file),
                                                             artifact_file), dictionary)

    def _write_later(self, text: str, artifact_file: str) -> None:
        from autolog.core.tracking import deferred

        validation.artifact_path(artifact_file)  # a bad name is this record's error, now
        recorder = RunRecorder(self.run_id, self.uri)
        deferred.submit(f"{self.integration}: writing {artifact_file}",
                        lambda: recorder.log_text(text, artifact_file))

    def log_figure(self, figure: Recordable, artifact_file: str) -> None:
        self.record("log_figure", super().log_figure, figure, artifact_file)

    def child_run(self, run_name: str, tags: Mapping[str, Any] | None = None) -> ChildRun:
        """A child of this session's run (a search's candidate, a study's trial) for
        values known at once: created on the asynchronous logger, so the training thread
        waits for no store; log into the `ChildRun` returned, then `ChildRun.end` it."""
        run_id = runs._new_run_id()
        all_tags = dict(check_tags({str(k): v for k, v in (tags or {}).items()}, strict=False))
        all_tags.update({runs.TAG_RUN_NAME: run_name, runs.TAG_PARENT_RUN_ID: self.run_id,
                         TAG_AUTOLOGGING: self.integration})
        all_tags.setdefault(runs.TAG_USER, runs._user_name())
        self._logger.create_run(run_id, experiment_id=self.run.info.experiment_id,
                                run_name=run_name, start_time=now_ms(), tags=all_tags)
        return ChildRun(run_id, self.uri)

    @classmethod
    def open(
        cls,
        integration: str,
        config: AutologConfig,
        framework_version: str | None = None,
        run_name: str | None = None,
        resume_run_id: str | None = None,
        own_run: bool = False,
    ) -> TrainingSession:
        """Pick the run: the user's active one, a child of it, a resumed or a new one.

        ``resume_run_id`` continues an earlier managed run (``partial_fit`` calls on one
        estimator) when no user run is active. ``own_run``: never the user's run itself,
        a child of it (a study, whose trials are children of its run).
        """
        user_run = active_run()
        if user_run is not None and user_run.owner_pid != os.getpid():
            runs._thread.stack.clear()  # inherited through fork: not ours to log into
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
        elif (own_run or user_run.holds_training) and resume_run_id is None:
            run, owns_run = start_run(run_name=run_name, nested=True, _managed=True), True
        else:
            run, owns_run = user_run, False
        run.holds_training = True
        session = cls(run, config, owns_run, integration)
        session.set_tags(_session_tags(integration, framework_version, config))
        if owns_run and config.log_system_metrics and run.monitor is None:
            runs._start_system_metrics(run)
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
