"""The asynchronous logger: bounded, flushes on demand, retries and reports failures."""

from __future__ import annotations

import threading
import time

import pytest

from autolog.backends.memory import MemoryBackend
from autolog.core.tracking.logger import RunLogger, WriteFailedError


class SlowBackend(MemoryBackend):
    """A real in-memory store whose writes take a while (a slow disk or network)."""

    def __init__(self, delay: float):
        super().__init__("memory:slow")
        self.delay = delay
        self.batches = 0

    def log_batch(self, run_id, metrics=(), params=(), tags=()):
        time.sleep(self.delay)
        self.batches += 1
        super().log_batch(run_id, metrics=metrics, params=params, tags=tags)


class FlakyBackend(MemoryBackend):
    def __init__(self, failures: int):
        super().__init__("memory:flaky")
        self.failures = failures

    def log_batch(self, run_id, metrics=(), params=(), tags=()):
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("store unavailable")
        super().log_batch(run_id, metrics=metrics, params=params, tags=tags)


def _new_run(backend) -> str:
    return backend.create_run("0", "r", 0, {}, run_id="r1").run_id


def test_caller_does_not_wait_and_flush_writes_everything():
    backend = SlowBackend(delay=1.0)
    run_id = _new_run(backend)
    run_logger = RunLogger(backend, flush_interval=0.05)
    started = time.perf_counter()
    for i in range(1000):
        run_logger.log_metric(run_id, "m", float(i), 1, i)
    assert time.perf_counter() - started < 0.5  # never waited on the 1 s write
    run_logger.flush()
    assert len(backend.get_metric_history(run_id, "m")) == 1000


def test_bounded_buffer_blocks_and_drops_nothing():
    backend = SlowBackend(delay=0.01)
    run_id = _new_run(backend)
    run_logger = RunLogger(backend, max_buffer=50, batch_size=20, flush_interval=0.01)
    threads_before = set(threading.enumerate())

    def produce(offset):
        for i in range(500):
            run_logger.log_metric(run_id, "m", 1.0, 1, offset + i)

    threads = [threading.Thread(target=produce, args=(k * 1000,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert run_logger.pending() <= 50
    # A full buffer waits for the one writer; it never starts more of them.
    new_writers = [t for t in threading.enumerate()
                   if t.name == "autolog-writer" and t not in threads_before]
    assert new_writers == [run_logger._writer]
    run_logger.flush()
    assert len(backend.get_metric_history(run_id, "m")) == 1500


def test_transient_failure_is_retried():
    backend = FlakyBackend(failures=2)
    run_id = _new_run(backend)
    run_logger = RunLogger(backend, flush_interval=0.01)
    run_logger.log_metric(run_id, "m", 1.0, 1, 0)
    run_logger.flush()
    assert len(backend.get_metric_history(run_id, "m")) == 1


def test_permanent_failure_is_reported_at_flush():
    backend = FlakyBackend(failures=100)
    run_id = _new_run(backend)
    run_logger = RunLogger(backend, flush_interval=0.01)
    run_logger.log_metric(run_id, "m", 1.0, 1, 0)
    with pytest.raises(WriteFailedError, match="store unavailable"):
        run_logger.flush()
    run_logger.flush()  # reported once, then clear
