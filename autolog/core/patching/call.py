"""`Call`: one intercepted call as a hook sees it -- the user's arguments bound to names,
and `proceed`, which calls the original exactly once."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

from autolog.core.patching.isolation import HookError
from autolog.core.tracking.scope import _state

__all__ = ["Call"]


_PENDING, _RUNNING, _RETURNED, _RAISED = 0, 1, 2, 3
_EMPTY = inspect.Parameter.empty
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)

_signatures: dict[Any, inspect.Signature | None] = {}


def _signature_of(function: Any) -> inspect.Signature | None:
    """The signature the caller's arguments bind to (``self``/``cls`` excluded), cached."""
    wrapt = sys.modules.get("wrapt")
    if wrapt is not None and isinstance(function, wrapt.PartialCallableObjectProxy):
        # Class.method(instance, ...) through a patched method
        target, skip = function.__wrapped__, True
    elif inspect.ismethod(function):
        target, skip = function.__func__, True
    else:
        target, skip = function, False
    key = (target, skip)
    try:
        return _signatures[key]
    except KeyError:
        pass
    except TypeError:  # unhashable callable: compute each time
        key = None
    try:
        signature: inspect.Signature | None = inspect.signature(target)
        if skip:
            params = list(signature.parameters.values())[1:]
            signature = signature.replace(parameters=params)
    except (TypeError, ValueError):
        signature = None
    if key is not None and len(_signatures) < 4096:
        _signatures[key] = signature
    return signature


class Call:
    """One intercepted call, as the hook sees it.

    ``args``/``kwargs`` are what the user passed (never mutated); ``arguments`` binds the
    arguments the original will be called with (the user's, unless the hook replaced some)
    to parameter names, positional and keyword alike (``self`` excluded; a ``**kwargs``
    parameter's entries appear as top-level names).
    """

    __slots__ = ("function", "instance", "args", "kwargs", "integration", "hook_id",
                 "result", "exception", "_args", "_kwargs", "_arguments", "_status")

    def __init__(
        self,
        function: Callable,
        instance: Any,
        args: tuple,
        kwargs: dict,
        integration: str,
        hook_id: str = "",
    ) -> None:
        self.function = function
        self.instance = instance
        self.args = args
        self.kwargs = kwargs
        self.integration = integration
        self.hook_id = hook_id
        self.result: Any = None
        self.exception: BaseException | None = None
        self._args = args
        self._kwargs = kwargs
        self._arguments: dict[str, Any] | None = None
        self._status = _PENDING

    # -- reading ------------------------------------------------------------------------
    @property
    def signature(self) -> inspect.Signature | None:
        return _signature_of(self.function)

    @property
    def arguments(self) -> dict[str, Any]:
        if self._arguments is None:
            self._arguments = self._bind()
        return self._arguments

    def _bind(self) -> dict[str, Any]:
        signature = self.signature
        if signature is None:
            return dict(self._kwargs)
        try:
            bound = signature.bind(*self._args, **self._kwargs).arguments
        except TypeError:  # the user's call is wrong; the original will say so
            bound = dict(zip(
                (n for n, p in signature.parameters.items() if p.kind in _POSITIONAL),
                self._args,
            ))
            bound.update(self._kwargs)
            return bound
        result: dict[str, Any] = {}
        for name, value in bound.items():
            if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                result.update(value)
            else:
                result[name] = value
        return result

    def argument(self, name: str, default: Any = None) -> Any:
        """The bound value of ``name``, else the signature's default, else ``default``."""
        arguments = self.arguments
        if name in arguments:
            return arguments[name]
        signature = self.signature
        if signature is not None:
            param = signature.parameters.get(name)
            if param is not None and param.default is not _EMPTY:
                return param.default
        return default

    @property
    def proceeded(self) -> bool:
        return self._status != _PENDING

    # -- changing the call ----------------------------------------------------------------
    def set_argument(self, name: str, value: Any) -> None:
        """Call the original with ``name=value``: where the user put it, else as keyword."""
        if self._status != _PENDING:
            raise HookError("set_argument() after proceed() has no effect")
        signature = self.signature
        param = signature.parameters.get(name) if signature is not None else None
        if param is not None:
            if param.kind in _POSITIONAL:
                index = list(signature.parameters).index(name)
                if index < len(self._args):
                    args = list(self._args)
                    args[index] = value
                    self._args = tuple(args)
                    self._arguments = None
                    return
                if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                    raise TypeError(f"cannot set positional-only argument {name!r} not passed")
            elif param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise TypeError(f"cannot set the variadic parameter {name!r}")
        elif signature is not None and not any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()
        ):
            qualname = getattr(self.function, "__qualname__", repr(self.function))
            raise TypeError(f"{qualname}() has no parameter {name!r}")
        kwargs = dict(self._kwargs)
        kwargs[name] = value
        self._kwargs = kwargs
        self._arguments = None

    def add_callback(self, callback: Any, argument: str = "callbacks") -> Any:
        """Pass a copy of the user's callback list with ``callback`` appended.

        The user's list is never mutated. When the list already holds a callback of the
        same type (the user added ours explicitly), nothing is added and that one is
        returned; otherwise ``callback`` is returned.
        """
        current = self.argument(argument)
        if current is None:
            items: list[Any] = []
        elif isinstance(current, (list, tuple)):
            items = list(current)
        else:  # a single callback object where the API accepts one
            items = [current]
        for existing in items:
            if type(existing) is type(callback):
                return existing
        items.append(callback)
        self.set_argument(argument, tuple(items) if isinstance(current, tuple) else items)
        return callback

    # -- running the original -------------------------------------------------------------
    def proceed(self) -> Any:
        """Call the original once; return its result or re-raise its exception as is."""
        if self._status != _PENDING:
            raise HookError(f"{self.hook_id}: call.proceed() called more than once")
        self._status = _RUNNING
        state = _state
        previous = state.proceeding
        state.proceeding = self.function
        try:
            result = self.function(*self._args, **self._kwargs)
        except BaseException as exc:
            self.exception = exc
            self._status = _RAISED
            raise
        finally:
            state.proceeding = previous
        self.result = result
        self._status = _RETURNED
        return result

    def _proceed_quietly(self) -> None:
        try:
            self.proceed()
        except BaseException:  # noqa: BLE001 - recorded on self.exception, raised by caller
            pass

    def __repr__(self) -> str:
        name = getattr(self.function, "__qualname__", repr(self.function))
        return f"<Call {self.integration}:{name}>"
