"""Exceptions and warnings autolog raises.

User-facing errors from the manual API are `AutologException` subclasses with a message
that names the bad value and what would be accepted. Internal failures inside
autologging become one `AutologWarning` per cause (or raise under ``AUTOLOG_STRICT=1``).
"""

from __future__ import annotations


class AutologException(Exception):
    """Base class of the errors autolog's API raises on bad input or state."""


class InvalidInputError(AutologException, ValueError):
    """A key, value, path or URI that autolog cannot accept."""


class ResourceNotFoundError(AutologException, LookupError):
    """A run, experiment, model or artifact that does not exist."""


class ResourceAlreadyExistsError(AutologException):
    """Creating something whose unique name is taken."""


class RunStateError(AutologException, RuntimeError):
    """An operation that the current run state forbids (e.g. a second active run)."""


class AutologWarning(UserWarning):
    """Autologging hit a problem of its own; the user's code carried on unaffected."""


class StoreUnavailableError(AutologException):
    """The tracking store cannot be opened or written: its directory is a file or
    read-only, its database file is not SQLite, another process holds its lock...

    The message names the store and the reason in one line, for the one warning that
    autologging gives per cause (`core.reporting.report_internal_error`).
    """

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"cannot use the tracking store at {store}: {reason}")
        self.store = store
        self.reason = reason

    def __reduce__(self):
        return (type(self), (self.store, self.reason))


class StoreNotFoundError(AutologException, LookupError):
    """A read found no store where the tracking URI points: reads never create one."""

    def __init__(self, store: str, looked_for: str) -> None:
        where = "" if looked_for == store else f" (autolog looked for {looked_for})"
        super().__init__(f"no store at {store}{where}")
        self.store = store
        self.looked_for = looked_for

    def __reduce__(self):
        return (type(self), (self.store, self.looked_for))
