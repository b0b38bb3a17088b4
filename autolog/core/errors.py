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
