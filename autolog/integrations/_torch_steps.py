"""Training losses per window of optimizer steps, kept on their device until read in batches.

The torch integration's per-step curve: every ``every`` optimizer steps one point, the mean
of the losses ``backward()`` saw in those steps, at the index of the window's last step that
had a loss. Nothing here synchronises a device per step, nor launches a kernel per step or
per window: the losses are kept as they come (detached 0-d tensors), stacked on their device
into one 1-D chunk every `COMPACT_EVERY` of them (bounded Python objects: memory is one
float per loss until taken), and all of them are turned into Python numbers together, by
one transfer, when the caller takes the closed windows; the windows are summed then, in
Python.

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

    __slots__ = ("torch", "every", "flush_windows", "values", "chunks", "open_entries",
                 "open_carry", "window_count", "window_step", "closed")

    def __init__(self, torch: Any, every: int, flush_steps: int) -> None:
        self.torch = torch
        self.every = max(1, int(every))
        #: Closed windows converted together: about `flush_steps` steps per synchronisation.
        self.flush_windows = max(1, flush_steps // self.every)
        self.values: list[Any] = []  # losses (0-d tensors) since the last stack, in order
        self.chunks: list[Any] = []  # earlier losses, stacked (1-D tensors), in order
        self.open_entries = 0  # tensors of the open window among values/chunks
        self.open_carry = 0.0  # the open window's losses already turned into numbers
        self.window_count = 0  # losses in the open window
        self.window_step = 0  # index of its last step with a loss
        self.closed: list[tuple[int, int, int, float]] = []  # (step, count, entries, carry)

    def add(self, step: int, losses: list[Any], count: int) -> None:
        """The losses of optimizer step ``step`` (``count`` of them: an entry of ``losses``
        may already be the sum of several)."""
        values = self.values
        values += losses
        self.open_entries += len(losses)
        self.window_count += count
        self.window_step = step
        if len(values) >= COMPACT_EVERY:
            try:
                self.chunks.append(self.torch.stack(values))
            except RuntimeError:  # on several devices: kept as they are
                self.chunks += values
            self.values = []

    def close(self) -> None:
        """End the open window (if it holds losses)."""
        if not self.window_count:
            return
        self.closed.append((self.window_step, self.window_count, self.open_entries,
                            self.open_carry))
        self.open_entries, self.open_carry, self.window_count = 0, 0.0, 0

    def __len__(self) -> int:
        """Closed windows not yet taken."""
        return len(self.closed)

    def take(self) -> list[tuple[int, float]]:
        """The closed windows as (step, mean loss), all losses converted together (the open
        window's so far are kept as a number); the closed windows are forgotten."""
        if not self.closed:
            return []
        tensors = self.chunks + self.values
        flat = to_floats(self.torch, tensors) if tensors else []
        self.chunks, self.values = [], []
        points = []
        at = 0
        for step, count, entries, carry in self.closed:
            points.append((step, (carry + sum(flat[at:at + entries])) / count))
            at += entries
        self.closed = []
        self.open_carry += sum(flat[at:])
        self.open_entries = 0
        return points
