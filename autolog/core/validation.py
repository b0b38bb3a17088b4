"""Checks applied on the caller's thread before anything is buffered.

The rules are MLflow's, so that anything autolog accepts an MLflow server accepts too.
Each check is cheap on the hot path: a key seen once is remembered.
"""

from __future__ import annotations

import numbers
import posixpath
import re

from autolog.core.errors import InvalidInputError

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
_KEY_PATTERN = re.compile(r"^[\w\-./: ]+$")  # \w is letters, digits and _
#: names already validated (bounded): a check of a known key is one set lookup
KNOWN_KEYS: set[str] = set()


def validate_key(key: object, kind: str = "key") -> str:
    """Return ``key`` if it is a valid metric, param or tag name, else raise."""
    if key in KNOWN_KEYS:
        return key  # type: ignore[return-value]
    if not isinstance(key, str):
        raise InvalidInputError(
            f"Invalid {kind} {key!r}: expected a string, got {type(key).__name__}."
        )
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY_PATTERN.match(key) or ".." in key.split(
        "/"
    ) or key.startswith("/"):
        raise InvalidInputError(
            f"Invalid {kind} {key!r}: names must be 1 to {MAX_KEY_LENGTH} characters of "
            "letters, digits, '_', '-', '.', '/', ':' and space, and must not be an absolute "
            "or '..' path."
        )
    if len(KNOWN_KEYS) < 100_000:
        KNOWN_KEYS.add(key)
    return key


def metric_value(key: str, value: object) -> float:
    """Convert a metric value to float (NaN and infinities allowed), or raise."""
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # NumPy and torch scalars are not always numbers.Real; accept what float() takes
        # from a 0-d object, but never strings.
        if isinstance(value, (str, bytes, bool)) or not hasattr(value, "__float__"):
            raise InvalidInputError(
                f"Invalid value {value!r} for metric {key!r}: expected a number "
                "(int, float, or a NumPy/torch scalar)."
            )
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"Invalid value {value!r} for metric {key!r}: expected a number."
        ) from exc


def metric_step(key: str, step: object) -> int:
    if type(step) is int:  # the common case, without the ABC check below
        return step
    if step is None:
        return 0
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        if isinstance(step, float) and step.is_integer():
            return int(step)
        raise InvalidInputError(f"Invalid step {step!r} for metric {key!r}: expected an integer.")
    return int(step)


def param_value(key: str, value: object) -> str:
    text = str(value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidInputError(
            f"Param {key!r} has a value of {len(text)} characters; at most "
            f"{MAX_PARAM_VALUE_LENGTH} are accepted (value starts {text[:60]!r})."
        )
    return text


def tag_value(key: str, value: object) -> str:
    text = str(value)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidInputError(
            f"Tag {key!r} has a value of {len(text)} characters; at most "
            f"{MAX_TAG_VALUE_LENGTH} are accepted."
        )
    return text


def artifact_path(path: str | None) -> str:
    """Normalise a relative artifact path; refuse anything that could leave the run."""
    if path is None or path in ("", "."):
        return ""
    if not isinstance(path, str):
        raise InvalidInputError(f"Invalid artifact path {path!r}: expected a string.")
    cleaned = path.replace("\\", "/")
    if cleaned.startswith("/") or re.match(r"^[A-Za-z]:", cleaned) or "\x00" in cleaned:
        raise InvalidInputError(
            f"Invalid artifact path {path!r}: it must be relative to the run's artifact root."
        )
    normal = posixpath.normpath(cleaned)
    if normal == ".." or normal.startswith("../") or ".." in cleaned.split("/"):
        raise InvalidInputError(
            f"Invalid artifact path {path!r}: '..' would leave the run's artifact directory."
        )
    return "" if normal == "." else normal


