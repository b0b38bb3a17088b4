"""Error isolation for autolog code that runs inside the user's training: `guard` for
callbacks, `HookError` for a hook that broke the protocol. What happens to the error is
`autolog.core.reporting`'s."""

from __future__ import annotations

from autolog.core.reporting import report_internal_error

__all__ = ["HookError", "guard"]


class HookError(RuntimeError):
    """An integration hook broke the hook protocol (e.g. never called ``proceed``)."""


class guard:  # noqa: N801 - used like a function: ``with guard("keras:on_epoch_end"):``
    """Context manager for autolog code running inside the user's training (callbacks).

    An ``Exception`` raised in the block goes to `report_internal_error` and is swallowed
    (strict mode: raised). ``KeyboardInterrupt`` and friends pass through.
    """

    __slots__ = ("cause", "silent")

    def __init__(self, cause: str, *, silent: bool = False) -> None:
        self.cause = cause
        self.silent = silent

    def __enter__(self) -> guard:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        report_internal_error(exc, self.cause, silent=self.silent)
        return True
