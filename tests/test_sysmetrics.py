"""System metrics: real psutil sampling; GPU paths through a stand-in `pynvml` module."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from autolog.core.tracking.sysmetrics import SystemMetricsMonitor

HOST_NAMES = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/process_cpu_utilization_percentage",
    "system/process_memory_rss_megabytes",
}


class Collector:
    def __init__(self) -> None:
        self.samples: list[tuple[dict[str, float], int]] = []
        self.lock = threading.Lock()

    def __call__(self, values: dict[str, float], step: int) -> None:
        with self.lock:
            self.samples.append((dict(values), step))

    def wait_for(self, n: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.samples) >= n:
                    return
            time.sleep(0.01)
        raise AssertionError(f"only {len(self.samples)} samples after {timeout}s")


def test_samples_psutil_names_and_sane_values():
    out = Collector()
    monitor = SystemMetricsMonitor(out, interval=0.05)
    monitor.start()
    try:
        sum(i * i for i in range(200_000))  # some CPU for the process reading
        out.wait_for(3)
    finally:
        monitor.stop()
    assert not monitor.running
    steps = [step for _, step in out.samples]
    assert steps == list(range(len(steps)))
    values = out.samples[-1][0]
    assert HOST_NAMES <= set(values)
    assert all(name.startswith("system/") for name in values)
    assert all(isinstance(v, float) for v in values.values())
    assert 0.0 <= values["system/cpu_utilization_percentage"] <= 100.0
    assert 0.0 < values["system/system_memory_usage_percentage"] <= 100.0
    assert values["system/system_memory_usage_megabytes"] > 1.0
    assert values["system/process_cpu_utilization_percentage"] >= 0.0
    assert 1.0 < values["system/process_memory_rss_megabytes"] < 1e6
    for name in (
        "system/disk_read_megabytes",
        "system/disk_write_megabytes",
        "system/network_transmit_megabytes",
        "system/network_receive_megabytes",
    ):
        if name in values:  # counters may be unavailable in a sandbox
            assert values[name] >= 0.0
    assert not any("gpu" in name for name in values)  # no pynvml here


def test_stop_joins_is_idempotent_and_no_more_samples():
    out = Collector()
    monitor = SystemMetricsMonitor(out, interval=0.05)
    monitor.start()
    monitor.start()  # second start is a no-op
    out.wait_for(1)
    monitor.stop()
    thread = monitor._thread
    assert thread is not None and not thread.is_alive()
    assert thread.daemon
    count = len(out.samples)
    time.sleep(0.15)
    assert len(out.samples) == count
    monitor.stop()  # idempotent
    SystemMetricsMonitor(out, interval=0.05).stop()  # never started


def test_stop_from_inside_the_callback_does_not_deadlock():
    holder: dict[str, SystemMetricsMonitor] = {}

    def log(values, step):
        holder["m"].stop()

    monitor = holder["m"] = SystemMetricsMonitor(log, interval=0.02)
    monitor.start()
    deadline = time.monotonic() + 5
    while monitor._thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not monitor._thread.is_alive()


def test_failing_callback_never_kills_the_thread():
    calls = []

    def log(values, step):
        calls.append(step)
        raise RuntimeError("backend down")

    monitor = SystemMetricsMonitor(log, interval=0.02)
    monitor.start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert monitor.running
    monitor.stop()
    assert len(calls) >= 3
    assert calls[:3] == [0, 0, 0]  # a step only advances once logged


def test_process_tree_includes_children():
    child = subprocess.Popen(
        [sys.executable, "-c", "x = bytearray(60_000_000); import time; time.sleep(30)"]
    )
    try:
        monitor = SystemMetricsMonitor(lambda v, s: None, interval=60)
        monitor.start()
        try:
            own = monitor._process.memory_info().rss / 1e6
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                rss = monitor.sample()["system/process_memory_rss_megabytes"]
                if rss > own + 50:
                    break
                time.sleep(0.05)
            assert rss > own + 50
        finally:
            monitor.stop()
    finally:
        child.kill()
        child.wait()


def test_invalid_interval():
    with pytest.raises(ValueError):
        SystemMetricsMonitor(lambda v, s: None, interval=0)


# -- GPUs, through a stand-in pynvml module on sys.path -------------------------------

FAKE_PYNVML = textwrap.dedent(
    """
    from types import SimpleNamespace as _NS

    class NVMLError(Exception):
        pass

    # set by the test: one dict per GPU
    DEVICES = []
    CALLS = []

    def nvmlInit():
        CALLS.append("init")

    def nvmlShutdown():
        CALLS.append("shutdown")

    def nvmlDeviceGetCount():
        return len(DEVICES)

    def nvmlDeviceGetHandleByIndex(i):
        return DEVICES[i]

    def _read(handle, key):
        value = handle[key]
        if isinstance(value, Exception):
            raise value
        return value

    def nvmlDeviceGetComputeRunningProcesses(handle):
        return [_NS(pid=p, usedGpuMemory=1) for p in _read(handle, "pids")]

    def nvmlDeviceGetGraphicsRunningProcesses(handle):
        return []

    def nvmlDeviceGetUtilizationRates(handle):
        return _NS(gpu=_read(handle, "util"), memory=0)

    def nvmlDeviceGetMemoryInfo(handle):
        used, total = _read(handle, "mem")
        return _NS(used=used, total=total, free=total - used)

    def nvmlDeviceGetPowerUsage(handle):
        return _read(handle, "power")
    """
)


@pytest.fixture
def fake_nvml(tmp_path, monkeypatch):
    (tmp_path / "pynvml.py").write_text(FAKE_PYNVML)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "pynvml", raising=False)
    import pynvml

    yield pynvml
    sys.modules.pop("pynvml", None)


def _gpu(pids, util=50, mem=(2_000_000_000, 8_000_000_000), power=150_000):
    return {"pids": pids, "util": util, "mem": mem, "power": power}


def test_gpu_only_ours_by_default_and_a_failing_reading_drops_only_itself(fake_nvml):
    fake_nvml.DEVICES[:] = [
        _gpu([os.getpid()], power=fake_nvml.NVMLError("power not supported")),
        _gpu([1]),  # another process's GPU
        _gpu([os.getpid()], util=fake_nvml.NVMLError("util failed")),
    ]
    monitor = SystemMetricsMonitor(lambda v, s: None, interval=60)
    monitor.start()
    try:
        values = monitor.sample()
    finally:
        monitor.stop()
    gpu = {k: v for k, v in values.items() if "gpu" in k}
    assert gpu == {
        "system/gpu_0_utilization_percentage": 50.0,
        "system/gpu_0_memory_usage_megabytes": 2000.0,
        "system/gpu_0_memory_usage_percentage": 25.0,
        "system/gpu_2_memory_usage_megabytes": 2000.0,
        "system/gpu_2_memory_usage_percentage": 25.0,
        "system/gpu_2_power_usage_watts": 150.0,
    }
    assert HOST_NAMES <= set(values)
    assert fake_nvml.CALLS == ["init", "shutdown"]


def test_gpu_all_gpus_and_in_the_thread(fake_nvml):
    fake_nvml.DEVICES[:] = [_gpu([1]), _gpu([], util=7)]
    out = Collector()
    monitor = SystemMetricsMonitor(out, interval=0.05, all_gpus=True)
    monitor.start()
    try:
        out.wait_for(2)
    finally:
        monitor.stop()
    values = out.samples[-1][0]
    assert values["system/gpu_0_utilization_percentage"] == 50.0
    assert values["system/gpu_1_utilization_percentage"] == 7.0
    assert values["system/gpu_1_power_usage_watts"] == 150.0


def test_gpu_used_by_a_child_process_counts_and_stays(fake_nvml):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        fake_nvml.DEVICES[:] = [_gpu([1]), _gpu([child.pid])]
        monitor = SystemMetricsMonitor(lambda v, s: None, interval=60)
        monitor.start()
        try:
            first = monitor.sample()
            fake_nvml.DEVICES[1]["pids"] = fake_nvml.NVMLError("query failed")
            second = monitor.sample()
        finally:
            monitor.stop()
    finally:
        child.kill()
        child.wait()
    for values in (first, second):
        assert "system/gpu_1_utilization_percentage" in values
        assert not any(k.startswith("system/gpu_0_") for k in values)


def test_nvml_init_failure_means_no_gpu_metrics(fake_nvml, monkeypatch):
    def broken():
        raise fake_nvml.NVMLError("driver not loaded")

    monkeypatch.setattr(fake_nvml, "nvmlInit", broken)
    fake_nvml.DEVICES[:] = [_gpu([os.getpid()])]
    monitor = SystemMetricsMonitor(lambda v, s: None, interval=60)
    monitor.start()
    try:
        values = monitor.sample()
    finally:
        monitor.stop()
    assert HOST_NAMES <= set(values)
    assert not any("gpu" in k for k in values)
