"""The wrapt objects autolog installs on patched attributes.

Kept apart from `core.patching` so that wrapt (about 50 ms to import) loads only when the
first patch is applied — by then the framework being patched has imported what wrapt
needs (asyncio, importlib.metadata), so it costs little.
"""

from __future__ import annotations

import importlib
import operator
import sys

import wrapt

__all__ = ["PatchWrapper"]


class _ModuleByName:
    """Pickles as ``importlib.import_module(name)``; never itself unpickled."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self):
        return (importlib.import_module, (self.name,))


class _BoundPatchWrapper(wrapt.BoundFunctionWrapper):
    """A patched method bound to an instance or class: pickles and copies like one."""

    def __reduce_ex__(self, protocol):
        target = self._self_instance
        if target is None:
            target = getattr(self.__wrapped__, "__self__", None) or self._self_owner
        return (getattr, (target, self.__name__))

    def __reduce__(self):
        return self.__reduce_ex__(2)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):  # like a bound method: bound to a copy of its instance
        target = self._self_instance
        if target is None or isinstance(target, type):
            return self
        import copy

        return getattr(copy.deepcopy(target, memo), self.__name__)


class PatchWrapper(wrapt.FunctionWrapper):
    """autolog's wrapper object (one per installed attribute)."""

    __bound_function_wrapper__ = _BoundPatchWrapper

    def __reduce_ex__(self, protocol):
        # Pickle saves the patched function as the global it is (module + qualname) when
        # that global is this wrapper. A function patched where it is re-exported
        # (``sklearn.metrics.accuracy_score``, defined in ``sklearn.metrics._classification``)
        # is not what its own module holds, so it pickles as "attribute qualname of the
        # module, imported on load": plain standard-library callables, no autolog needed.
        qualname = self.__qualname__
        module_name = self.__module__
        target = sys.modules.get(module_name)
        for part in qualname.split("."):
            target = getattr(target, part, None)
        if target is self or "<locals>" in qualname or not module_name:
            return qualname
        return (operator.attrgetter(qualname), (_ModuleByName(module_name),))

    def __reduce__(self):
        return self.__reduce_ex__(2)

    def __copy__(self):  # functions are atomic for copy/deepcopy
        return self

    def __deepcopy__(self, memo):
        return self
