"""Which autologging scope this thread is in: inside a patched training call, or inside
autolog's own use of a framework (`quiet`).

Kept in tracking, below the patching core that updates it, because tracking (the deferred
worker) and the model files (saving a model runs `quiet`) read it too.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["in_training_call", "outermost", "quiet", "training_depth"]


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


class outermost:  # noqa: N801 - used like a function: ``with outermost():``
    """A unit of work inside a training call that has a run of its own (a study's trial,
    whose run is active in this thread): the patched calls made in it are outermost again
    -- a ``fit`` records into the run active then -- and observers run. The thread's scope
    is restored on exit. One instance per use (it holds the scope it replaced)."""

    __slots__ = ("_saved",)

    def __enter__(self) -> None:
        state = _state
        self._saved = (state.depth, state.observing, state.proceeding)
        state.depth = state.observing = 0
        state.proceeding = None

    def __exit__(self, exc_type, exc, tb) -> bool:
        state = _state
        state.depth, state.observing, state.proceeding = self._saved
        return False


def in_training_call() -> bool:
    """True while this thread is inside a patched training call (of any integration)."""
    return _state.depth > 0


def training_depth() -> int:
    """How many patched training calls this thread is inside (0 outside training)."""
    return _state.depth
