"""Call back when a module is imported — or at once, when it already is.

Why our own and not wrapt's post-import hooks: importing wrapt costs ~50 ms here (it
imports asyncio and importlib.metadata), and `autolog.autolog()` must cost next to
nothing until a framework is actually imported. Frameworks import both anyway, so wrapt
is imported when the first patch is applied, at no noticeable cost.

How: a finder at the front of ``sys.meta_path`` answers only for watched names. It asks
the other finders for the real spec and gives the loader's ``exec_module`` a wrapper, set
on that loader instance for the duration of the import, that runs the callbacks once
the module has executed. The loader keeps its type, so ``isinstance`` checks on
``module.__loader__`` still hold.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import ModuleType

Callback = Callable[[ModuleType], None]

_lock = threading.RLock()
_pending: dict[str, list[Callback]] = {}
_searching = threading.local()
_finder: _PostImportFinder | None = None


def when_imported(module_name: str, callback: Callback) -> None:
    """Run ``callback(module)`` after ``module_name`` is imported, or now if it is."""
    with _lock:
        module = sys.modules.get(module_name)
        if module is None:
            _pending.setdefault(module_name, []).append(callback)
            _install_finder()
            return
    callback(module)


def _install_finder() -> None:
    global _finder
    if _finder is None:
        _finder = _PostImportFinder()
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def _run_callbacks(module_name: str) -> None:
    with _lock:
        callbacks = _pending.pop(module_name, [])
    module = sys.modules.get(module_name)
    if module is None:
        return
    for callback in callbacks:
        callback(module)  # callbacks guard themselves; an import never fails because of us


class _PostImportFinder:
    """A meta path finder that only decorates the loaders of watched modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _pending:
            return None
        names = getattr(_searching, "names", None)
        if names is None:
            names = _searching.names = set()
        if fullname in names:
            return None
        names.add(fullname)
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self:
                    continue
                find_spec = getattr(finder, "find_spec", None)
                if find_spec is None:
                    continue
                spec = find_spec(fullname, path, target)
                if spec is not None:
                    break
        finally:
            names.discard(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        if isinstance(loader, type) or not hasattr(loader, "exec_module"):
            return spec  # a shared class-level loader (builtins, frozen): leave it alone
        original = loader.exec_module
        shadowed = "exec_module" in getattr(loader, "__dict__", {})

        def exec_module(module):
            if getattr(module, "__name__", None) != fullname:
                return original(module)  # a loader shared by several modules (zipimport)
            try:
                original(module)
            finally:
                try:
                    if shadowed:
                        loader.exec_module = original
                    else:
                        del loader.exec_module
                except AttributeError:
                    pass
            _run_callbacks(fullname)

        try:
            loader.exec_module = exec_module
        except (AttributeError, TypeError):
            return spec  # a loader we cannot decorate: the import proceeds unwatched
        return spec
