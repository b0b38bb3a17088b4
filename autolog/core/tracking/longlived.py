"""Long-lived sessions: the run of a step-hook framework, which no single call brackets.

A hand-written torch loop has no outermost call to open a run around: the integration
observes steps. Its `LongLivedSession` is opened at the first observed step and lasts
until its run ends, whichever way that happens:

* the user's ``autolog.end_run()`` (or the end of the user's own run it logs into),
* interpreter exit (FINISHED, or FAILED after an uncaught exception),
* SIGTERM (KILLED),
* the integration's `LongLivedSession.end` (a Lightning callback's teardown).

Before the run's status is set, the integration's `on_end` callbacks log what they still
hold (the last epoch, the model), then the training's resources are recorded. Everything
else is decided here, once:

* the run: the user's active run, a child of it, or a managed run (as
  `TrainingSession.open` decides); a managed one is *ambient* -- a ``start_run()`` of the
  script's while it is open starts a child of it instead of failing;
* the rank (`autolog.core.tracking.ranks`): other ranks than 0 get no session (`start`
  returns None) unless ``log_all_ranks``, which gives each rank a run of its own named
  ``<name>-rank<k>``; rank, world size and job id become tags;
* fork: a forked child never writes into the session's run (`alive` is False there and
  its records are dropped); the run stays its parent's to end;
* one run per distributed job, where the framework can share a run id between its ranks
  (a `JobShare`: torch.distributed's store): rank 0 opens the run and publishes its id;
  the other ranks join it (`RankSession`) when they have something to add -- system
  metrics (``log_system_metrics``) under ``system/rank<k>/``, their own metrics
  (``log_all_ranks``) as ``rank<k>/<key>`` -- and never params, tags or models, which are
  rank 0's. A rank's host is tag ``autolog.rank<k>.node``.
"""

from __future__ import annotations

import atexit
import os
import sys
import weakref
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Protocol

from autolog.core.config import ENV_RUN_NAME, AutologConfig
from autolog.core.entities import RunStatus
from autolog.core.reporting import report_internal_error
from autolog.core.tracking import context, ranks, runs
from autolog.core.tracking.recorder import RunRecorder
from autolog.core.tracking.sessions import TrainingSession

__all__ = ["JobShare", "LongLivedSession", "RankSession"]

_pid = os.getpid()  # this process; a forked child updates it (no system call per record)


class JobShare(Protocol):
    """How the ranks of one distributed job pass rank 0's run id (the framework's own
    channel: torch.distributed's key-value store)."""

    def publish(self, key: str, run_id: str) -> None:
        """Rank 0: make ``run_id`` readable under ``key`` by every rank."""

    def receive(self, key: str) -> str | None:
        """Another rank: the run id under ``key`` once rank 0 published it; None when it
        did not within a bounded wait."""


_job_runs = 0  # runs this process opened or joined in its job: the n-th shares key n


class LongLivedSession(TrainingSession):
    """The run of a training loop that spans many calls; see the module's docstring.

    Integrations open it with `start` at the first step they observe, register their
    last flush with `on_end`, and log through it like any `TrainingSession`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.placement = ranks.Placement()
        self.ended = False
        self._pid = _pid
        self._end_callbacks: list[Callable[[str], None]] = []

    @classmethod
    def start(
        cls,
        integration: str,
        config: AutologConfig,
        framework_version: str | None = None,
        *,
        rank_source: Callable[[], int | None] | None = None,
        tags: Mapping[str, str] | None = None,
        job: JobShare | None = None,
    ) -> LongLivedSession | None:
        """Open the session (None on a rank that does not record). ``rank_source``: the
        framework's own rank, when it knows it; ``tags``: the integration's, set with the
        placement's in one record; ``job``: the channel of a distributed job's ranks, for
        one run per job (a `RankSession` on ranks other than 0)."""
        global _job_runs
        where = ranks.placement(rank_source)
        key = None
        if job is not None and where.rank is not None:
            key = f"autolog/run/{_job_runs}"
            _job_runs += 1
            if where.rank != 0:
                return RankSession.join(integration, config, job, key, where)
        run_name = None
        if not where.is_zero:
            if not getattr(config, "log_all_ranks", False):
                return None
            rank = where.rank if where.rank is not None else \
                f"{where.node_rank}.{where.local_rank}"
            run_name = f"{os.environ.get(ENV_RUN_NAME) or integration}-rank{rank}"
        session = cls.open(integration, config, framework_version, run_name=run_name)
        session.placement = where
        runs.on_run_end(session.run_id, session._run_ended)
        if session.owns_run:
            session.run.ambient = True
            runs.install_signal_handlers()
        all_tags = dict(tags or {})
        all_tags.update(where.tags())
        if key is not None:
            all_tags["autolog.rank0.node"] = _node()
        if all_tags:
            session.set_tags(all_tags)
        if key is not None:
            session.record("sharing the run with the job's ranks", job.publish, key,
                           session.run_id)
        return session

    @property
    def alive(self) -> bool:
        """Not ended, and in the process that opened it (not a forked child)."""
        return not self.ended and self._pid == _pid

    def on_end(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(status)`` once as the session ends, before the run's status is
        set: the integration logs what it still holds. An error in one callback is
        reported (raised under ``AUTOLOG_STRICT`` once the others ran); the others, the
        resources and the run's end still happen."""
        self._end_callbacks.append(callback)

    def record(self, what: str, record: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._pid != _pid:
            return None  # a forked child: the run is its parent's
        return super().record(what, record, *args, **kwargs)

    def end(self, error: BaseException | None = None) -> None:
        """End the session now (the integration saw its training end): the `on_end`
        callbacks, the resources, and the run when the session opened it."""
        if not self.alive:
            return
        try:
            if self.owns_run and any(r is self.run for r in runs._thread.stack):
                runs.end_run(runs.status_after(error), run_id=self.run_id)  # -> _run_ended
            else:
                runs.cancel_run_end(self.run_id, self._run_ended)
                self._run_ended(runs.status_after(error))
        finally:
            deferred = sys.modules.get("autolog.core.tracking.deferred")
            if deferred is not None:
                deferred.release()

    def close(self, error: BaseException | None = None) -> None:
        self.end(error)

    def _run_ended(self, status: str) -> None:
        """The run ends (end_run, exit, SIGTERM, `end`): the last records, once."""
        if self.ended:
            return
        self.ended = True
        error: Exception | None = None
        for callback in self._end_callbacks:
            try:
                callback(status)
            except Exception as exc:  # noqa: BLE001 - the others and the run must go on
                try:
                    report_internal_error(exc, f"{self.integration}: the run's last records",
                                          silent=bool(getattr(self.config, "silent", False)))
                except Exception as strict_exc:  # noqa: BLE001 - strict: raised below
                    error = error or strict_exc
        self._end_callbacks = []
        self.record_resources()
        if error is not None:
            raise error


class RankSession(LongLivedSession):
    """A rank's share of the run rank 0 opened for the whole job: its metrics, renamed
    ``rank<k>/<key>`` (``log_all_ranks``), and its system metrics (``log_system_metrics``);
    every other record (params, tags, models, files) is rank 0's and dropped here. It
    never ends the run: at the end of its training (exit, SIGTERM, `end`) it logs its last
    records and stops sampling."""

    per_rank = False  # log_all_ranks: this rank's own metrics are logged

    @classmethod
    def join(cls, integration: str, config: AutologConfig, job: JobShare, key: str,
             where: ranks.Placement) -> RankSession | None:
        per_rank = bool(getattr(config, "log_all_ranks", False))
        if not per_rank and not config.log_system_metrics:
            return None  # nothing of this rank's to add
        run_id = job.receive(key)
        if run_id is None:
            return None
        uri = context.get_tracking_uri()
        run = runs.ActiveRun(context.get_store(uri).get_run(run_id), uri)
        session = cls(run, config, False, integration)
        session.placement = where
        session.per_rank = per_rank
        session.prefix = f"rank{where.rank}/"
        TrainingSession.record(session, "set_tags", partial(RunRecorder.set_tags, session),
                               {f"autolog.rank{where.rank}.node": _node()})
        if config.log_system_metrics:
            runs._start_system_metrics(run, node=session.prefix)
        _joined.add(session)
        _exit_handling()
        return session

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        if self.per_rank:
            super().log_metric(self.prefix + key, value, step)

    def log_metrics(self, metrics: Any, step: int | None = None) -> None:
        if self.per_rank:
            prefix = self.prefix
            super().log_metrics(lambda: {prefix + str(k): v for k, v in (
                metrics() if callable(metrics) else metrics).items()}, step)

    def record(self, what: str, record: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if what not in ("log_metric", "log_metrics"):
            return None  # rank 0's
        return super().record(what, record, *args, **kwargs)

    def _run_ended(self, status: str) -> None:
        try:
            super()._run_ended(status)
        finally:
            _joined.discard(self)
            monitor, self.run.monitor = self.run.monitor, None
            if monitor is not None:
                monitor.stop()


def _node() -> str:
    import socket

    return socket.gethostname()


_joined: weakref.WeakSet = weakref.WeakSet()  # rank sessions of this process, for exit
_exit_registered = False


def _exit_handling() -> None:
    global _exit_registered
    if not _exit_registered:
        _exit_registered = True
        atexit.register(_end_joined_at_exit)  # before the logger's own flush at exit
        runs.on_terminate(lambda: _end_joined_at_exit(RunStatus.KILLED))
        runs.install_signal_handlers()  # (from the main thread; else at exit only)


def _end_joined_at_exit(status: str = RunStatus.FINISHED) -> None:
    for session in list(_joined):
        if session.alive:
            uri = session.uri
            try:
                session._run_ended(status)
            except Exception as exc:  # noqa: BLE001 - at exit, report and go on
                report_internal_error(exc, f"{session.integration}: a rank's last records")
            finally:
                context.get_logger(uri).flush()


def _after_fork_in_child() -> None:
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
