"""Tracking backends: where runs are stored. See `autolog.backends.base.TrackingBackend`.

`get_backend` turns a tracking URI into a backend:

======================================================  ===============================
URI                                                     backend
======================================================  ===============================
None or ""                                              SQLite store in ./autolog-runs
``path/to/dir``, ``file:path``, ``file:///abs/path``    SQLite store in that directory
``sqlite:///runs.db`` (relative), ``sqlite:////abs.db`` SQLite store on exactly that file
``memory:`` / ``memory:name``                           one in-process store per name
``mlflow+<mlflow uri>``                                 `autolog.backends.mlflow`
``<scheme>:...``                                        plugin from the ``autolog.backends``
                                                        entry-point group
======================================================  ===============================
"""

from __future__ import annotations

import os
import re
import threading
from typing import TYPE_CHECKING

from autolog.core.errors import InvalidInputError

if TYPE_CHECKING:
    from autolog.backends.base import TrackingBackend
    from autolog.backends.memory import MemoryBackend

__all__ = ["DEFAULT_STORE_DIR", "ENTRY_POINT_GROUP", "get_backend"]

DEFAULT_STORE_DIR = "autolog-runs"
ENTRY_POINT_GROUP = "autolog.backends"
_BUILTIN_SCHEMES = ("file", "sqlite", "memory", "mlflow+<uri>")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")

_memory_stores: dict[str, MemoryBackend] = {}
_memory_lock = threading.Lock()


def _memory_backend(uri: str) -> MemoryBackend:
    from autolog.backends.memory import MemoryBackend

    name = uri[len("memory:") :].lstrip("/")
    with _memory_lock:
        store = _memory_stores.get(name)
        if store is None:
            store = _memory_stores[name] = MemoryBackend(uri)
        return store


def _plugin_backend(scheme: str, uri: str) -> TrackingBackend:
    from importlib.metadata import entry_points

    plugins = {ep.name.lower(): ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    entry_point = plugins.get(scheme)
    if entry_point is None:
        registered = sorted(plugins)
        raise InvalidInputError(
            f"Unknown tracking URI scheme {scheme!r} in {uri!r}. Accepted: a directory path, "
            f"{', '.join(s + ':' for s in _BUILTIN_SCHEMES)}"
            + (f", and the plugins {', '.join(registered)}" if registered else "")
            + f" (plugins register under the {ENTRY_POINT_GROUP!r} entry-point group). "
            f"For a directory whose name contains ':', write it as ./{uri}."
        )
    try:
        backend_class = entry_point.load()
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(
            f"The {ENTRY_POINT_GROUP!r} plugin {scheme!r} ({entry_point.value}) for tracking "
            f"URI {uri!r} failed to load: {exc}"
        ) from exc
    return backend_class(uri)


def get_backend(uri: str | os.PathLike[str] | None = None) -> TrackingBackend:
    """The backend for a tracking URI (see the module docstring for the forms)."""
    from autolog.backends.sqlite import SQLiteBackend, resolve_local_uri

    if uri is None or not os.fspath(uri).strip():
        root = os.path.abspath(DEFAULT_STORE_DIR)
        return SQLiteBackend(root, uri=root)
    text = os.fspath(uri).strip()
    if text.startswith("mlflow+"):
        try:
            from autolog.backends.mlflow import MlflowBackend
        except ImportError as exc:
            raise InvalidInputError(
                f"Tracking URI {text!r} needs MLflow support: pip install autolog[mlflow] ({exc})."
            ) from exc
        return MlflowBackend(text)
    match = _SCHEME.match(text)
    if match is None:
        return SQLiteBackend(os.path.abspath(os.path.expanduser(text)), uri=text)
    scheme = match.group(1).lower()
    if scheme == "memory":
        return _memory_backend(text)
    if scheme in ("file", "sqlite"):
        root, db_path = resolve_local_uri(text)
        return SQLiteBackend(root, db_path, uri=text)
    return _plugin_backend(scheme, text)
