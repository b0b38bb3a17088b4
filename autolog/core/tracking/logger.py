"""Buffered, asynchronous writing: the caller appends, a background thread writes.

Why: training must not wait on disk or network. `RunLogger.log_metric` validates and
appends a tuple under a lock (a few microseconds); a daemon thread wakes every
``flush_interval`` seconds, or when a batch is full, groups what is pending by run and
sends one `TrackingBackend.log_batch` per run. `flush()` blocks until everything appended
before it is written. The buffer is bounded: when full, callers block until the writer
catches up; nothing is dropped. A write that fails is retried with backoff, then reported
at the next `flush()`, never silently discarded.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable

from autolog.core.entities import Metric, Param, RunTag
from autolog.core.errors import AutologException, InvalidInputError, StoreUnavailableError


def _log():
    import logging

    return logging.getLogger("autolog")

_METRIC, _PARAM, _TAG, _CALL = 0, 1, 2, 3
_RETRY_DELAYS = (0.05, 0.2, 1.0)
_live_loggers: weakref.WeakSet[RunLogger] = weakref.WeakSet()


class WriteFailedError(AutologException):
    """The background writer could not store a batch after retrying."""


class RunLogger:
    """One per backend: an in-memory buffer plus the thread that drains it."""

    def __init__(
        self,
        backend,
        *,
        max_buffer: int = 100_000,
        batch_size: int = 5_000,
        flush_interval: float = 1.0,
    ) -> None:
        self.backend = backend
        # A backend may ask for other defaults (a remote store wants a larger buffer).
        preferred = getattr(backend, "logger_options", None) or {}
        max_buffer = preferred.get("max_buffer", max_buffer)
        self.max_buffer = max_buffer
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self._reset_state()
        _live_loggers.add(self)

    def _reset_state(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        # A deque, taken from in batches of at most batch_size: no list the size of the
        # whole backlog is ever allocated, which kept glibc's heap from shrinking.
        self._pending: deque[tuple] = deque()
        self._appended = 0  # items ever appended
        self._done = 0  # items ever written or given up on
        self._errors: list[BaseException] = []
        self._writer: threading.Thread | None = None
        self._closed = False

    # -- caller side (hot path) -------------------------------------------------------
    def _append(self, item: tuple) -> None:
        cond = self._cond
        with cond:
            while len(self._pending) >= self.max_buffer:
                if self._writer is None or not self._writer.is_alive():
                    self._ensure_writer()
                cond.notify_all()
                cond.wait(0.1)
            self._pending.append(item)
            self._appended += 1
            if self._writer is None:
                self._ensure_writer()
            elif len(self._pending) == self.batch_size:
                cond.notify_all()

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        self._append((_METRIC, run_id, key, value, timestamp, step))

    def log_params(self, run_id: str, params: Iterable[tuple[str, str]]) -> None:
        for key, value in params:
            self._append((_PARAM, run_id, key, value))

    def set_tags(self, run_id: str, tags: Iterable[tuple[str, str]]) -> None:
        for key, value in tags:
            self._append((_TAG, run_id, key, value))

    def log_inputs(self, run_id: str, datasets: list) -> None:
        """Record the run's dataset inputs (`TrackingBackend.log_inputs`) on the writer,
        in order with what is logged around them."""
        self._append((_CALL, run_id, "log_inputs", {"datasets": list(datasets)}))

    def create_run(self, run_id: str, **create_kwargs) -> None:
        """Create the run ``run_id`` on the writer, before anything logged into it after
        this call (``create_kwargs``: those of `TrackingBackend.create_run`)."""
        self._append((_CALL, run_id, "create_run", create_kwargs))

    def end_run(self, run_id: str, status: str, end_time: int) -> None:
        """Set the run's status and end time on the writer, after everything logged into
        it before this call: ending a run does not wait for its data to be written."""
        self._append((_CALL, run_id, "update_run_info", {"status": status,
                                                          "end_time": end_time}))

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything appended so far is written; raise a write failure."""
        with self._cond:
            target = self._appended
            if self._writer is None or not self._writer.is_alive():
                self._writer = None
        if self._writer is None:
            # No writer thread (never started, after fork, or at interpreter shutdown):
            # write on this thread.
            self._drain_until(target)
        else:
            deadline = None if timeout is None else time.monotonic() + timeout
            with self._cond:
                self._cond.notify_all()
                while self._done < target:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise TimeoutError(f"autolog: flush did not finish in {timeout} s")
                    self._cond.wait(0.05)
                    if self._writer is None or not self._writer.is_alive():
                        break
            if self._done < target:
                self._drain_until(target)
        self._raise_errors()

    def pending(self) -> int:
        return len(self._pending)

    def _raise_errors(self) -> None:
        with self._cond:
            errors, self._errors = self._errors, []
        if errors:
            first = errors[0]
            if isinstance(first, (InvalidInputError, StoreUnavailableError)):
                raise first  # its message already says what and where
            raise WriteFailedError(
                f"autolog could not write {len(errors)} batch(es) to {self.backend.uri!r}: "
                f"{type(first).__name__}: {first}"
            ) from first

    # -- writer side --------------------------------------------------------------------
    def _ensure_writer(self) -> None:
        if self._closed:
            return
        thread = threading.Thread(target=self._run_writer, name="autolog-writer", daemon=True)
        self._writer = thread
        thread.start()

    def _take_batch(self) -> list[tuple]:
        """Up to batch_size pending items, oldest first (call with the lock held)."""
        pending = self._pending
        popleft = pending.popleft
        return [popleft() for _ in range(min(len(pending), self.batch_size))]

    def _run_writer(self) -> None:
        while True:
            with self._cond:
                if not self._pending:
                    self._cond.wait(self.flush_interval)
                if not self._pending:
                    if self._closed:
                        return
                    continue
                items = self._take_batch()
                self._cond.notify_all()  # wake producers blocked on a full buffer
            self._write(items)
            del items

    def _drain_until(self, target: int) -> None:
        while True:
            with self._cond:
                if self._done >= target or not self._pending:
                    return
                items = self._take_batch()
            self._write(items)

    def _write(self, items: list[tuple]) -> None:
        """Write ``items`` in order: data grouped per run into one batch each, between the
        run creations and ends queued among them."""
        by_run: dict[str, tuple[list, list, list]] = {}
        for item in items:
            kind = item[0]
            if kind == _CALL:
                self._write_batches(by_run)
                by_run = {}
                self._call_with_retry(item[1], item[2], item[3])
                continue
            lists = by_run.get(item[1])
            if lists is None:
                lists = by_run[item[1]] = ([], [], [])
            if kind == _METRIC:
                lists[0].append(Metric(item[2], item[3], item[4], item[5]))
            elif kind == _PARAM:
                lists[1].append(Param(item[2], item[3]))
            else:
                lists[2].append(RunTag(item[2], item[3]))
        self._write_batches(by_run)
        with self._cond:
            self._done += len(items)
            self._cond.notify_all()

    def _write_batches(self, by_run: dict[str, tuple[list, list, list]]) -> None:
        for run_id, (metrics, params, tags) in by_run.items():
            self._with_retry(self.backend.log_batch, run_id, metrics=metrics, params=params,
                             tags=tags)

    def _call_with_retry(self, run_id: str, method: str, kwargs: dict) -> None:
        if method == "create_run":
            self._with_retry(self.backend.create_run, run_id=run_id, **kwargs)
        else:
            self._with_retry(getattr(self.backend, method), run_id, **kwargs)

    def _with_retry(self, write, *args, **kwargs) -> None:
        for attempt, delay in enumerate((*_RETRY_DELAYS, None)):
            try:
                write(*args, **kwargs)
                return
            except (InvalidInputError, StoreUnavailableError) as exc:
                # Bad data, or a store that cannot be used (its lock was already waited
                # for): retrying cannot help.
                self._record_error(exc)
                return
            except Exception as exc:  # noqa: BLE001 - any backend failure is retried
                if delay is None:
                    self._record_error(exc)
                    return
                _log().debug("autolog: write attempt %d failed: %s", attempt + 1, exc)
                time.sleep(delay)

    def _record_error(self, exc: BaseException) -> None:
        # An unusable store is warned about once, by whoever flushes (report_internal_error).
        log = _log().debug if isinstance(exc, StoreUnavailableError) else _log().warning
        log("autolog: a batch could not be written: %s: %s", type(exc).__name__, exc)
        with self._cond:
            self._errors.append(exc)

    def close(self) -> None:
        """Flush and stop the writer thread."""
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def discard(self) -> None:
        """Stop the writer without writing what is still buffered: the store is being
        forgotten (`context.remove_store`), and nothing flushes it at exit either."""
        with self._cond:
            self._pending.clear()
            self._done = self._appended
            self._closed = True
            self._cond.notify_all()
        _live_loggers.discard(self)

    def _after_fork_in_child(self) -> None:
        # The parent's pending items are the parent's to write; the child starts empty.
        self._reset_state()


def _flush_all_at_exit() -> None:
    for run_logger in list(_live_loggers):
        try:
            run_logger.flush(timeout=30)
        except StoreUnavailableError as exc:  # one warning per store and reason, at most
            from autolog.core.reporting import report_internal_error

            report_internal_error(exc, "flushing at exit", strict=False)
        except Exception as exc:  # noqa: BLE001 - at exit, report and go on
            _log().warning("autolog: could not flush at exit: %s", exc)
        # After the last flush, a backend holding unsent data (a remote store that is
        # down) gets its chance to put it somewhere durable.
        at_exit = getattr(run_logger.backend, "at_exit", None)
        if at_exit is not None:
            try:
                at_exit()
            except Exception as exc:  # noqa: BLE001 - at exit, report and go on
                _log().warning("autolog: backend exit hook failed: %s", exc)


def _reset_all_after_fork() -> None:
    for run_logger in list(_live_loggers):
        run_logger._after_fork_in_child()


atexit.register(_flush_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_all_after_fork)
