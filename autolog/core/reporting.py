"""How autolog tells the user about its own failures: one warning per cause, never an
error for the user's code (raised instead under ``AUTOLOG_STRICT=1``, so tests see bugs).

The ground floor (DESIGN.md): every layer reports through here -- the patching core around
hooks, the background writer, provenance, the deferred worker -- so the same cause warns
once whichever path met it.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from autolog.core.config import is_strict
from autolog.core.errors import AutologWarning, StoreUnavailableError

__all__ = ["report_internal_error", "warn_once"]


def _log() -> Any:
    """The ``autolog`` logger; logging is imported when there is something to log."""
    import logging

    return logging.getLogger("autolog")


_warned_causes: set[tuple[str, str, str]] = set()


def report_internal_error(
    exc: BaseException, cause: str, *, silent: bool = False, strict: bool | None = None
) -> None:
    """An error in autolog's own code: raise it (strict) or warn once per cause and go on.

    Under ``AUTOLOG_STRICT=1`` the exception is re-raised (as the same object). Otherwise
    an `AutologWarning` (one line naming the cause) is emitted the first time a cause
    (``cause`` + exception type + message) is seen, none when ``silent``. The traceback goes
    to the ``autolog`` logger at DEBUG, every time: a WARNING record with it would be
    printed on stderr by logging's last-resort handler beside the warning.
    """
    if strict if strict is not None else is_strict():
        raise exc
    if isinstance(exc, StoreUnavailableError):
        _report_unusable_store(exc, silent=silent)
        return
    detail = f"{type(exc).__qualname__}: {exc}"
    key = (cause, type(exc).__qualname__, str(exc))
    first = key not in _warned_causes
    _warned_causes.add(key)
    message = f"autolog: {cause} failed ({detail}); the user's code carried on unaffected."
    _log().debug(message, exc_info=exc)
    if first and not silent:
        warnings.warn(message, AutologWarning, stacklevel=2)


def _is_ours(module: str) -> bool:
    return module.partition(".")[0] in ("autolog", "click")


def _report_unusable_store(exc: StoreUnavailableError, *, silent: bool) -> None:
    """One warning per store and reason, whichever path reached it (an autologged fit,
    the launcher's run, provenance, a deferred plot, the exit flush): the message says
    where and why, so the traceback goes to DEBUG only."""
    message = f"autolog: {exc}; training goes on without logging."
    key = ("tracking store", type(exc).__qualname__, str(exc))
    first = key not in _warned_causes
    _warned_causes.add(key)
    _log().debug(message, exc_info=exc)
    if not first or silent:
        return
    # Point the warning at the first frame outside autolog (and click, under `autolog
    # run`): the user's line that got here.
    level, frame = 1, sys._getframe()
    while frame is not None and _is_ours(frame.f_globals.get("__name__") or ""):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, AutologWarning, stacklevel=level if frame is not None else 1)


_warned: set[str] = set()


def warn_once(cause: str, message: str) -> None:
    """A caveat of autologging for the user (not an autolog bug): one warning per cause
    (a log record every time: WARNING the first time, DEBUG after)."""
    if cause in _warned:
        _log().debug(message)
        return
    _warned.add(cause)
    _log().warning(message)
    warnings.warn(message, AutologWarning, stacklevel=3)
