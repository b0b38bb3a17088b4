"""Which autologging scope this thread is in: inside a patched training call, or inside
autolog's own use of a framework (`quiet`).

Kept in tracking, below the patching core that updates it, because tracking (the deferred
worker) and the model files (saving a model runs `quiet`) read it too.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["in_training_call", "quiet", "training_depth"]


class _ThreadState(threading.local):
    depth = 0  # training calls this thread is inside
    observing = 0  # observer hooks this thread is inside
    proceeding: Any = None  # the callable a hook's Call.proceed() is calling right now


_state = _ThreadState()


class quiet:  # noqa: N801 - used like a function: ``with quiet():``
    """autolog's own use of a framework (saving a model, inferring its signature): the
    calls it makes are not observed -- the flavor's ``torch.save`` is no checkpoint, its
    ``predict`` no prediction to score. Counted as an observer hook, which it is."""

    __slots__ = ()

    def __enter__(self) -> None:
        _state.observing += 1

    def __exit__(self, exc_type, exc, tb) -> bool:
        _state.observing -= 1
        return False


def in_training_call() -> bool:
    """True while this thread is inside a patched training call (of any integration)."""
    return _state.depth > 0


def training_depth() -> int:
    """How many patched training calls this thread is inside (0 outside training)."""
    return _state.depth
