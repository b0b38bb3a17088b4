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
  its records are dropped); the run stays its parent's to end.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from autolog.core.config import ENV_RUN_NAME, AutologConfig
from autolog.core.reporting import report_internal_error
from autolog.core.tracking import ranks, runs
from autolog.core.tracking.sessions import TrainingSession

__all__ = ["LongLivedSession"]

_pid = os.getpid()  # this process; a forked child updates it (no system call per record)


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
    ) -> LongLivedSession | None:
        """Open the session (None on a rank that does not record). ``rank_source``: the
        framework's own rank, when it knows it; ``tags``: the integration's, set with the
        placement's in one record."""
        where = ranks.placement(rank_source)
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
        if all_tags:
            session.set_tags(all_tags)
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


def _after_fork_in_child() -> None:
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
