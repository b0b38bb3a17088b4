"""System metrics: psutil (and NVML, when present) sampled on a daemon thread.

`SystemMetricsMonitor` samples every ``interval`` seconds and hands each sample to a
``log_metrics(values, step)`` callable (step = sample index, from 0). Whoever starts a
monitor stops it (the run that owns it, at its end); the thread is a daemon, so it never
keeps the interpreter alive.

Metric names follow MLflow's where MLflow has them. Megabytes are 10**6 bytes, as in
MLflow.

- ``system/cpu_utilization_percentage``: host CPU, 0-100 over all cores.
- ``system/system_memory_usage_megabytes`` / ``..._percentage``: host memory in use.
- ``system/process_cpu_utilization_percentage``: this process tree (the process and its
  children, recursively), in percent of one core as ``top`` shows it (may exceed 100).
- ``system/process_memory_rss_megabytes``: summed RSS of the same tree (shared pages are
  counted once per process).
- ``system/disk_read_megabytes`` / ``system/disk_write_megabytes``,
  ``system/network_transmit_megabytes`` / ``system/network_receive_megabytes``: host-wide
  counters, as the change since `start()`.
- ``system/gpu_{i}_utilization_percentage``, ``..._memory_usage_megabytes``,
  ``..._memory_usage_percentage``, ``..._power_usage_watts``: per GPU, when ``pynvml``
  (the ``nvidia-ml-py`` distribution) imports and NVML finds a GPU. ``i`` is NVML's
  index (as ``nvidia-smi`` numbers GPUs, not as ``CUDA_VISIBLE_DEVICES`` renumbers them).
  By default only GPUs on which this process tree holds a context are reported (a GPU
  stays reported once seen); ``all_gpus=True`` reports every GPU. Inside a container with
  its own PID namespace NVML reports host PIDs, which never match: use ``all_gpus=True``.

Every reading is taken in its own ``try``: one that fails is left out of that sample and
the rest are logged. Nothing raised while sampling or logging leaves the thread; it is
logged at debug level.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

_logger = logging.getLogger(__name__)

_MB = 1e6
PREFIX = "system/"


class SystemMetricsMonitor:
    """Samples system metrics every ``interval`` seconds on a daemon thread."""

    def __init__(
        self,
        log_metrics: Callable[[dict[str, float], int], None],
        interval: float = 10.0,
        pid: int | None = None,
        all_gpus: bool = False,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self._log_metrics = log_metrics
        self.interval = float(interval)
        self.pid = os.getpid() if pid is None else pid
        self.all_gpus = all_gpus
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._step = 0
        self._psutil: Any = None
        self._process: Any = None
        # (pid, create_time) -> psutil.Process, so cpu_percent() measures between samples
        self._tree: dict[tuple[int, float], Any] = {}
        self._disk0: Any = None
        self._net0: Any = None
        self._nvml: Any = None
        self._gpus: list[tuple[int, Any]] = []  # (NVML index, handle)
        self._gpus_seen: set[int] = set()

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        """Take the baselines and start the sampling thread (once; later calls no-op)."""
        with self._lock:
            if self._thread is not None:
                return
            import psutil  # lazily: `import autolog` stays cheap

            self._psutil = psutil
            self._process = psutil.Process(self.pid)
            self._guard("cpu baseline", lambda: psutil.cpu_percent(interval=None))
            self._guard("process tree baseline", self._tree_usage)
            self._disk0 = self._guard("disk baseline", psutil.disk_io_counters)
            self._net0 = self._guard("network baseline", psutil.net_io_counters)
            self._init_gpus()
            self._stop_event.clear()
            self._thread = threading.Thread(
                target=self._loop, name="autolog-system-metrics", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop sampling and join the thread. Idempotent; safe from the thread itself."""
        with self._lock:
            thread = self._thread
            self._stop_event.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            if self._thread is thread and (thread is None or not thread.is_alive()):
                self._shutdown_nvml()

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop_event.is_set()

    def _loop(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                values = self.sample()
                if values and not self._stop_event.is_set():
                    self._log_metrics(values, self._step)
                    self._step += 1
            except Exception:  # never out of the thread
                _logger.debug("autolog: logging system metrics failed", exc_info=True)

    # -- sampling ------------------------------------------------------------------
    def sample(self) -> dict[str, float]:
        """One reading of every metric that can be read now (after `start`)."""
        psutil = self._psutil
        if psutil is None:
            raise RuntimeError("SystemMetricsMonitor.sample() before start()")
        values: dict[str, float] = {}
        cpu = self._guard("cpu", lambda: psutil.cpu_percent(interval=None))
        if cpu is not None:
            values[PREFIX + "cpu_utilization_percentage"] = float(cpu)
        memory = self._guard("memory", psutil.virtual_memory)
        if memory is not None:
            values[PREFIX + "system_memory_usage_megabytes"] = memory.used / _MB
            values[PREFIX + "system_memory_usage_percentage"] = float(memory.percent)
        tree = self._guard("process tree", self._tree_usage)
        if tree is not None:
            values[PREFIX + "process_cpu_utilization_percentage"] = tree[0]
            values[PREFIX + "process_memory_rss_megabytes"] = tree[1] / _MB
        if self._disk0 is not None:
            disk = self._guard("disk", psutil.disk_io_counters)
            if disk is not None:
                values[PREFIX + "disk_read_megabytes"] = (
                    disk.read_bytes - self._disk0.read_bytes
                ) / _MB
                values[PREFIX + "disk_write_megabytes"] = (
                    disk.write_bytes - self._disk0.write_bytes
                ) / _MB
        if self._net0 is not None:
            net = self._guard("network", psutil.net_io_counters)
            if net is not None:
                values[PREFIX + "network_transmit_megabytes"] = (
                    net.bytes_sent - self._net0.bytes_sent
                ) / _MB
                values[PREFIX + "network_receive_megabytes"] = (
                    net.bytes_recv - self._net0.bytes_recv
                ) / _MB
        if self._gpus:
            self._sample_gpus(values)
        return values

    def _tree_processes(self) -> list[Any]:
        """This process and its live descendants, as cached psutil.Process objects."""
        psutil = self._psutil
        procs = [self._process]
        try:
            procs += self._process.children(recursive=True)
        except psutil.Error:
            pass
        tree: dict[tuple[int, float], Any] = {}
        for proc in procs:
            try:
                key = (proc.pid, proc.create_time())
            except psutil.Error:
                continue
            tree[key] = self._tree.get(key, proc)
        self._tree = tree
        return list(tree.values())

    def _tree_usage(self) -> tuple[float, float]:
        """(CPU percent of one core since the last call, RSS bytes) of the tree."""
        psutil = self._psutil
        cpu = 0.0
        rss = 0.0
        for proc in self._tree_processes():
            try:
                with proc.oneshot():
                    cpu += proc.cpu_percent(interval=None)
                    rss += proc.memory_info().rss
            except psutil.Error:  # exited between listing and reading
                continue
        return cpu, rss

    # -- GPUs ----------------------------------------------------------------------
    def _init_gpus(self) -> None:
        try:
            import pynvml
        except Exception:  # not installed, or broken: no GPU metrics
            return
        try:
            pynvml.nvmlInit()
        except Exception:
            _logger.debug("autolog: NVML did not initialise; no GPU metrics", exc_info=True)
            return
        self._nvml = pynvml
        try:
            count = pynvml.nvmlDeviceGetCount()
        except Exception:
            _logger.debug("autolog: NVML device count failed", exc_info=True)
            count = 0
        for index in range(count):
            handle = self._guard(
                f"gpu {index} handle", lambda i=index: pynvml.nvmlDeviceGetHandleByIndex(i)
            )
            if handle is not None:
                self._gpus.append((index, handle))
        if not self._gpus:
            self._shutdown_nvml()

    def _shutdown_nvml(self) -> None:
        nvml, self._nvml = self._nvml, None
        self._gpus = []
        if nvml is not None:
            self._guard("NVML shutdown", nvml.nvmlShutdown)

    def _gpus_in_use(self) -> list[tuple[int, Any]]:
        if self.all_gpus:
            return self._gpus
        nvml = self._nvml
        ours = {proc.pid for proc in self._tree_processes()}
        for index, handle in self._gpus:
            if index in self._gpus_seen:
                continue
            pids: set[int] = set()
            for query in (
                "nvmlDeviceGetComputeRunningProcesses",
                "nvmlDeviceGetGraphicsRunningProcesses",
            ):
                func = getattr(nvml, query, None)
                if func is not None:
                    found = self._guard(f"gpu {index} processes", lambda f=func, h=handle: f(h))
                    pids.update(p.pid for p in found or ())
            if pids & ours:
                self._gpus_seen.add(index)
        return [(i, h) for i, h in self._gpus if i in self._gpus_seen]

    def _sample_gpus(self, values: dict[str, float]) -> None:
        nvml = self._nvml
        for index, handle in self._gpus_in_use():
            name = f"{PREFIX}gpu_{index}_"
            util = self._guard(
                f"gpu {index} utilization", lambda h=handle: nvml.nvmlDeviceGetUtilizationRates(h)
            )
            if util is not None:
                values[name + "utilization_percentage"] = float(util.gpu)
            memory = self._guard(
                f"gpu {index} memory", lambda h=handle: nvml.nvmlDeviceGetMemoryInfo(h)
            )
            if memory is not None:
                values[name + "memory_usage_megabytes"] = memory.used / _MB
                if memory.total:
                    values[name + "memory_usage_percentage"] = 100.0 * memory.used / memory.total
            power = self._guard(
                f"gpu {index} power", lambda h=handle: nvml.nvmlDeviceGetPowerUsage(h)
            )
            if power is not None:
                values[name + "power_usage_watts"] = power / 1000.0  # NVML gives milliwatts

    # -- helpers -------------------------------------------------------------------
    @staticmethod
    def _guard(what: str, func: Callable[[], Any]) -> Any:
        """``func()``, or None (logged at debug) when it raises."""
        try:
            return func()
        except Exception:
            _logger.debug("autolog: system metrics: reading %s failed", what, exc_info=True)
            return None
