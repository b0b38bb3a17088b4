"""Training losses per window of optimizer steps, kept on their device until read in batches.

The torch integration's per-step curve: every ``every`` optimizer steps one point, the mean
of the losses ``backward()`` saw in those steps, at the index of the window's last step that
had a loss. Nothing here synchronises a device per step: a window's losses are summed on
their device when the window closes (one small kernel), and the closed windows are turned
into Python numbers together, by one stacked transfer, when the caller takes them. Memory
is bounded: a window holds at most `COMPACT_EVERY` tensors, and closed windows are stacked
into 1-D chunks of `COMPACT_EVERY` values.

torch is not imported here: the caller passes the module in.
"""

from __future__ import annotations

from typing import Any

#: Tensors held before they are summed (or stacked) on their device into one.
COMPACT_EVERY = 256


def device_sum(torch: Any, losses: list[Any]) -> Any:
    """The float32 sum of 0-d tensors, on their device (no synchronisation)."""
    if len(losses) == 1:
        return losses[0].float()
    try:
        return torch.stack(losses).float().sum()
    except RuntimeError:  # on several devices: sum each device's, add on the first's
        total = None
        for device in {t.device for t in losses}:
            part = torch.stack([t for t in losses if t.device == device]).float().sum()
            total = part if total is None else total + part.to(total.device, non_blocking=True)
        return total


def to_floats(torch: Any, tensors: list[Any]) -> list[float]:
    """Python floats of 0-d or 1-D tensors, flattened in order: one stacked transfer when
    they share a device (the one synchronisation)."""
    flat = [t.float().reshape(-1) for t in tensors]
    try:
        return [float(v) for v in torch.cat(flat).tolist()]
    except RuntimeError:  # on several devices
        return [float(v) for t in flat for v in t.tolist()]


class StepLosses:
    """Losses grouped into windows of ``every`` optimizer steps (aligned on step indices:
    steps 0..every-1, every..2*every-1, ...)."""

    __slots__ = ("torch", "every", "flush_windows", "window", "window_count", "window_step",
                 "steps", "counts", "chunks", "tail")

    def __init__(self, torch: Any, every: int, flush_steps: int) -> None:
        self.torch = torch
        self.every = max(1, int(every))
        #: Closed windows converted together: about `flush_steps` steps per synchronisation.
        self.flush_windows = max(1, flush_steps // self.every)
        self.window: list[Any] = []  # this window's detached losses (or their partial sums)
        self.window_count = 0  # losses in this window
        self.window_step = 0  # index of its last step with a loss
        self.steps: list[int] = []  # per closed window: its step
        self.counts: list[int] = []  # per closed window: how many losses
        self.chunks: list[Any] = []  # closed windows' sums, stacked (1-D tensors)
        self.tail: list[Any] = []  # closed windows' sums not yet stacked (0-d tensors)

    def add(self, step: int, losses: list[Any], count: int) -> None:
        """The losses of optimizer step ``step`` (``count`` of them: an entry of ``losses``
        may already be the sum of several)."""
        window = self.window
        window += losses
        self.window_count += count
        self.window_step = step
        if len(window) >= COMPACT_EVERY:
            self.window = [device_sum(self.torch, window)]

    def close(self) -> None:
        """End the open window (if it holds losses): its sum joins the closed windows."""
        if not self.window_count:
            return
        self.tail.append(device_sum(self.torch, self.window))
        self.steps.append(self.window_step)
        self.counts.append(self.window_count)
        self.window, self.window_count = [], 0
        if len(self.tail) >= COMPACT_EVERY:
            try:
                self.chunks.append(self.torch.stack(self.tail))
            except RuntimeError:  # on several devices: kept as they are
                self.chunks += self.tail
            self.tail = []

    def __len__(self) -> int:
        """Closed windows not yet taken."""
        return len(self.steps)

    def take(self) -> list[tuple[int, float]]:
        """The closed windows as (step, mean loss), converted together; they are forgotten."""
        if not self.steps:
            return []
        tensors = self.chunks + self.tail
        steps, counts = self.steps, self.counts
        self.steps, self.counts, self.chunks, self.tail = [], [], [], []
        sums = to_floats(self.torch, tensors)
        return [(step, total / count) for step, total, count in zip(steps, sums, counts)]
