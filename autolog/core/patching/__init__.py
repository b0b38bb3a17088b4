"""The safe patch engine: wrapt wrappers, reentrancy guard, error isolation, revert.

Integrations declare *what* to capture with `Patch` (one attribute, ``"module:Qual.name"``)
and `SubclassPatch` (named methods on every subclass of a base class, present and
future); the core installs one kind of wrapper for all of them and enforces the
contracts of DESIGN.md:

* **Never break user code.** The original is called exactly once with the user's own
  arguments (a hook may replace some with `Call.set_argument`, which never mutates the
  user's objects). Its return value reaches the caller as the same object, its exception
  as the same object (re-raised, never wrapped, so the traceback still holds the user's
  frames). Anything of autolog's that raises — opening the session, the hook before or
  after `Call.proceed`, closing the session — goes to `report_internal_error`: one
  `AutologWarning` per cause plus a log record, and the call goes on (if the original had
  not run yet it runs now). With ``AUTOLOG_STRICT=1`` the internal error raises instead.
* **No double logging.** A thread-local depth counts the training calls this thread is
  inside. Only the outermost training call (of any integration) opens a
  `TrainingSession` and runs its hook; a nested one (a Pipeline fitting its steps,
  ``super().fit()``, ``XGBClassifier.fit -> xgboost.train``) calls the original
  directly. Observer (non-training) hooks run only outside training calls and outside
  other observer hooks. Ask `in_training_call()` instead of keeping flags.
* **Revert** removes the wrapper with `wrapt.unwrap_object` using the handle installed,
  so the attribute is the original object again (``is``), a wrapper installed on a
  subclass over an inherited attribute leaves no shadowing copy, and when another
  wrapper (another integration's, or another patch's) is stacked on the same attribute
  ours is spliced out of the chain and the other keeps working. A wrapper that cannot be
  removed (third-party code replaced the attribute) turns into a pass-through and one
  warning says so.

References taken while patched: ``from fakeml import train`` binds the name to our
wrapper. After a revert that wrapper is inert: calling it calls the original directly,
with nothing logged — also after a later re-enable, which installs fresh wrappers that
only attribute lookups made after it see. Re-import the name to have it logged again.

Pickling: a patched module-level function pickles by reference to its qualified name
(``__reduce_ex__``), so it unpickles to whatever the module holds then; instances of
classes with patched methods pickle unchanged; bound patched methods pickle like bound
methods. ``inspect.signature``, ``__name__``, ``__qualname__``, ``__doc__`` and
``__module__`` are the original's (wrapt proxies them).

Fork: a child forked *inside* a training call keeps this thread's depth, so patched
calls in the child (joblib/multiprocessing workers with the fork start method) count as
nested and open no run of their own. Process-wide state here needs no reset in the child.

Fault injection (`autolog.testing.inject_hook_faults`) sets `_hook_fault`; the wrapper
checks it only on the path that is about to run a hook, so it costs nothing when off.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from autolog.core.config import AutologConfig, is_strict
from autolog.core.errors import AutologWarning, StoreUnavailableError

__all__ = [
    "AppliedPatch",
    "Call",
    "HookError",
    "Patch",
    "PatchOwner",
    "SubclassPatch",
    "apply_patch",
    "framework_hook",
    "guard",
    "in_training_call",
    "report_internal_error",
    "training_depth",
]

def _log() -> Any:
    """The ``autolog`` logger; logging is imported when there is something to log."""
    import logging

    return logging.getLogger("autolog")


class HookError(RuntimeError):
    """An integration hook broke the hook protocol (e.g. never called ``proceed``)."""


# -- per-thread state ---------------------------------------------------------------------


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


def in_training_call() -> bool:
    """True while this thread is inside a patched training call (of any integration)."""
    return _state.depth > 0


def training_depth() -> int:
    """How many patched training calls this thread is inside (0 outside training)."""
    return _state.depth


# -- internal errors ----------------------------------------------------------------------

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


# -- patch declarations -------------------------------------------------------------------


def _hook_id(hook: Callable) -> str:
    module = getattr(hook, "__module__", None) or "?"
    qualname = getattr(hook, "__qualname__", None) or getattr(hook, "__name__", repr(hook))
    return f"{module}.{qualname}"


class _Declaration:
    """What `Patch` and `SubclassPatch` share: where, which hook, and how it runs."""

    __slots__ = ("target", "module", "path", "hook", "training", "run_name", "resume_run",
                 "when")

    on_return = False

    def __init__(self, target: str, what: str, hook: Callable, training: bool,
                 run_name: Callable[[Call], str] | None,
                 resume_run: Callable[[Call], str | None] | None,
                 when: Callable[[Any], bool] | None) -> None:
        module, sep, path = target.partition(":")
        if not sep or not module or not path:
            raise ValueError(f"{what} must look like 'module.path:Qual.name', got {target!r}")
        self.target = target
        self.module = module
        self.path = path
        self.hook = hook
        self.training = training
        self.run_name = run_name
        self.resume_run = resume_run
        self.when = when

    @property
    def hook_id(self) -> str:
        return _hook_id(self.hook)

    @property
    def _kind(self) -> str:
        return "training" if self.training else "observer"


class Patch(_Declaration):
    """Wrap one attribute, ``target = "module.path:Qual.name"``, when its module is imported.

    ``hook(session, call)`` for a training patch (it must call ``call.proceed()`` once);
    ``hook(call)`` for an observer patch (``training=False``), which runs only outside
    training calls. ``run_name(call)`` names a managed run the call opens;
    ``resume_run(call)`` may return the id of an earlier run the call continues (e.g.
    ``partial_fit`` on the same estimator) instead of opening a new one.
    ``when(instance)``, for an observer, is a cheap gate asked before anything else (the
    bound instance, None for a function): false calls the original directly, with no
    `Call` built, so a hot function with nothing to log stays cheap. For a training patch
    it is asked for an outermost call: false runs the original with no run, and the
    training calls made inside it open none either (e.g. a Dask worker's share of a fit
    whose run the client process records).

    ``on_return=True`` makes an observer a *return observer*: the core calls the original
    itself and then ``hook(result, instance, args, kwargs)`` -- no `Call` is built, and the
    hook cannot change arguments or see exceptions. It is for functions called once per
    training step (``loss.backward()``), where building a `Call` costs more than the hook.
    Errors, fault injection and the observer rules are the core's, as for any hook.
    """

    __slots__ = ("on_return",)

    def __init__(
        self,
        target: str,
        hook: Callable,
        *,
        training: bool = True,
        run_name: Callable[[Call], str] | None = None,
        resume_run: Callable[[Call], str | None] | None = None,
        when: Callable[[Any], bool] | None = None,
        on_return: bool = False,
    ) -> None:
        super().__init__(target, "patch target", hook, training, run_name, resume_run, when)
        if on_return and training:
            raise ValueError(f"on_return=True is for observers (training=False); {target!r} "
                             "is declared as a training patch")
        self.on_return = on_return

    def __repr__(self) -> str:
        return f"Patch({self.target!r}, {self.hook_id}, {self._kind})"


class SubclassPatch(_Declaration):
    """Wrap ``methods`` on every class deriving from ``base`` that defines them itself.

    ``base = "module.path:Qual.Name"``. Existing subclasses are found by walking
    ``type.__subclasses__()`` from the base; future ones are caught by a wrapper on the
    base's ``__init_subclass__`` (removed again on revert). Only methods in a class's own
    ``__dict__`` are wrapped, so an inherited method is wrapped once, where it is defined.
    ``skip_class(cls)`` returning true leaves a class (and only that class) unpatched, e.g.
    classes that another integration owns. ``when`` is `Patch`'s gate; return
    observers are `Patch` only.
    """

    __slots__ = ("methods", "include_base", "skip_class")

    def __init__(
        self,
        base: str,
        methods: Iterable[str] | str,
        hook: Callable,
        training: bool = True,
        run_name: Callable[[Call], str] | None = None,
        include_base: bool = True,
        resume_run: Callable[[Call], str | None] | None = None,
        skip_class: Callable[[type], bool] | None = None,
        when: Callable[[Any], bool] | None = None,
    ) -> None:
        super().__init__(base, "base", hook, training, run_name, resume_run, when)
        self.methods = (methods,) if isinstance(methods, str) else tuple(methods)
        self.include_base = include_base
        self.skip_class = skip_class

    def __repr__(self) -> str:
        return f"SubclassPatch({self.target!r}, {self.methods}, {self.hook_id}, {self._kind})"


class PatchOwner(Protocol):
    """What the wrapper reads at call time (an `Integration` satisfies it)."""

    name: str

    @property
    def config(self) -> AutologConfig: ...

    @property
    def framework_version(self) -> str | None: ...


# -- the call a hook sees -----------------------------------------------------------------

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


# -- the wrapper --------------------------------------------------------------------------

#: Set by `autolog.testing.inject_hook_faults`: called with the hook id right before a
#: hook runs; raises to simulate a failing hook. None (the default) costs one check on
#: the hook path only.
_hook_fault: Callable[[str], None] | None = None

_TrainingSession: Any = None  # autolog.core.tracking.runs.TrainingSession, imported on first use


def _open_session(
    owner: PatchOwner, config: AutologConfig, run_name: str | None, resume_run_id: str | None
) -> Any:
    global _TrainingSession
    session_class = _TrainingSession
    if session_class is None:
        from autolog.core.tracking.runs import TrainingSession as session_class

        _TrainingSession = session_class
    return session_class.open(
        integration=owner.name,
        config=config,
        framework_version=owner.framework_version,
        run_name=run_name,
        resume_run_id=resume_run_id,
    )


def _dispatch(applied: AppliedPatch, wrapped, instance, args, kwargs):
    """The one wrapper function behind every patch (bound per patch with partial)."""
    if applied.active:
        state = _state
        if applied.training:
            if not state.depth:
                when = applied.when
                if when is not None and not when(instance):
                    return _run_unrecorded(wrapped, args, kwargs)
                return _run_training(applied, wrapped, instance, args, kwargs)
        elif not state.depth:
            when = applied.when
            if when is not None and not when(instance):
                return wrapped(*args, **kwargs)
            if not state.observing:
                return _run_observer(applied, wrapped, instance, args, kwargs)
            # Observers stacked on one attribute (two integrations) each run; an observed
            # function called from inside another observed one does not.
            proceeding = state.proceeding
            if proceeding is not None and getattr(proceeding, "__wrapped__", None) is wrapped:
                return _run_observer(applied, wrapped, instance, args, kwargs)
    return wrapped(*args, **kwargs)


def _dispatch_on_return(applied: AppliedPatch, wrapped, instance, args, kwargs):
    """The wrapper behind a return observer (``Patch(on_return=True)``): no `Call`.

    The original runs first, outside any hook, so calls it makes are observed as usual;
    then the hook, counted as an observer so that what it calls is not observed.
    """
    result = wrapped(*args, **kwargs)
    if applied.active:
        state = _state
        if not (state.depth or state.observing):
            when = applied.when
            if when is None or when(instance):
                state.observing += 1
                try:
                    if _hook_fault is not None:
                        _hook_fault(applied.hook_id)
                    applied.hook(result, instance, args, kwargs)
                except Exception as exc:  # noqa: BLE001 - reported (raised when strict)
                    owner = applied.owner
                    report_internal_error(exc, f"{owner.name}: {applied.hook_id}",
                                          silent=bool(getattr(owner.config, "silent", False)))
                finally:
                    state.observing -= 1
    return result


def _run_training(applied, wrapped, instance, args, kwargs):
    state = _state
    state.depth += 1
    try:
        return _run_hooked(applied, wrapped, instance, args, kwargs, True)
    finally:
        state.depth -= 1


def _run_unrecorded(wrapped, args, kwargs):
    """A training call its patch's ``when`` turned down: the original, counted as a
    training call so that the training calls it makes open no run either."""
    state = _state
    state.depth += 1
    try:
        return wrapped(*args, **kwargs)
    finally:
        state.depth -= 1


def _run_observer(applied, wrapped, instance, args, kwargs):
    state = _state
    state.observing += 1
    try:
        return _run_hooked(applied, wrapped, instance, args, kwargs, False)
    finally:
        state.observing -= 1


def _run_hooked(applied, wrapped, instance, args, kwargs, training: bool):
    owner = applied.owner
    config = owner.config
    silent = bool(getattr(config, "silent", False))
    call = Call(wrapped, instance, args, kwargs, owner.name, applied.hook_id)
    session = None
    stage = "hook"
    try:
        if training:
            stage = "run_name"
            run_name = applied.run_name(call) if applied.run_name is not None else None
            stage = "resume_run"
            resume = applied.resume_run(call) if applied.resume_run is not None else None
            stage = "TrainingSession.open"
            session = _open_session(owner, config, run_name, resume)
            stage = "hook"
        if _hook_fault is not None:
            _hook_fault(applied.hook_id)
        if training:
            applied.hook(session, call)
        else:
            applied.hook(call)
        if call._status == _PENDING:
            raise HookError(f"{applied.hook_id} returned without calling call.proceed()")
    except BaseException as exc:
        if not (call._status == _RAISED and exc is call.exception):  # not the user's
            if not isinstance(exc, Exception):  # KeyboardInterrupt in our code: stop
                _close_quietly(session, exc)
                raise
            cause = f"{owner.name}: {applied.hook_id if stage == 'hook' else stage}"
            _report(exc, cause, silent, session)
    if call._status == _PENDING:  # our code failed before the original ran: run it now
        call._proceed_quietly()
    if session is not None:
        try:
            session.close(error=call.exception)
        except Exception as exc:  # noqa: BLE001
            report_internal_error(exc, f"{owner.name}: TrainingSession.close", silent=silent)
    if call._status == _RAISED:
        error = call.exception
        del call
        raise error
    return call.result


def framework_hook(owner: PatchOwner, hook: Callable) -> Callable:
    """Wrap ``hook`` for registration through a framework's own global hook API.

    Some frameworks call registered functions themselves (torch's
    ``register_optimizer_step_post_hook``), which is cheaper than a wrapper but runs
    outside `_dispatch`. The function returned gives such a hook an observer's semantics:
    it runs only outside training calls and outside other observers (it returns None
    there without calling ``hook``), `autolog.testing.inject_hook_faults` reaches it under
    ``hook``'s id, and an error in it is reported like any hook's (a warning once per
    cause; raised under ``AUTOLOG_STRICT=1``) and then swallowed, returning None.
    The integration lists ``hook`` in ``Integration.framework_hooks()`` and removes the
    registration on disable.
    """
    hook_id = _hook_id(hook)
    name = owner.name

    def run_framework_hook(*args: Any, **kwargs: Any) -> Any:
        state = _state
        if state.depth or state.observing:
            return None
        state.observing += 1
        try:
            if _hook_fault is not None:
                _hook_fault(hook_id)
            return hook(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported (raised when strict)
            report_internal_error(exc, f"{name}: {hook_id}",
                                  silent=bool(getattr(owner.config, "silent", False)))
            return None
        finally:
            state.observing -= 1

    run_framework_hook.hook_id = hook_id  # type: ignore[attr-defined]
    return run_framework_hook


def _report(exc: Exception, cause: str, silent: bool, session) -> None:
    if is_strict():
        _close_quietly(session, exc)
        raise exc
    report_internal_error(exc, cause, silent=silent, strict=False)


def _close_quietly(session, error: BaseException) -> None:
    if session is None:
        return
    try:
        session.close(error=error)
    except Exception:  # noqa: BLE001 - already failing; the first error is the one raised
        _log().debug("autolog: closing the session after an error failed", exc_info=True)


# -- the wrapper objects ------------------------------------------------------------------


# `PatchWrapper` (the wrapt object installed on each attribute) lives in
# `autolog.core.patching.wrappers`, imported on first use: importing wrapt costs ~50 ms, which
# `autolog.autolog()` must not pay before any framework is imported.


def __getattr__(name: str) -> Any:
    if name == "PatchWrapper":
        from autolog.core.patching.wrappers import PatchWrapper

        return PatchWrapper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- installing and reverting -------------------------------------------------------------


class _Install:
    __slots__ = ("owner_ref", "name", "handle")

    def __init__(self, owner: Any, name: str, handle: Any) -> None:
        try:
            self.owner_ref: Callable[[], Any] = weakref.ref(owner) if isinstance(
                owner, type) else (lambda: owner)
        except TypeError:
            self.owner_ref = lambda: owner
        self.name = name
        self.handle = handle


_revert_warned: set[str] = set()


class AppliedPatch:
    """One patch installed for one owner (integration); `revert` takes it out again."""

    __slots__ = ("patch", "owner", "active", "training", "hook", "hook_id", "run_name",
                 "resume_run", "when", "installs", "_wrapper", "_seen", "__weakref__")

    def __init__(self, patch: Patch | SubclassPatch, owner: PatchOwner) -> None:
        self.patch = patch
        self.owner = owner
        self.active = True
        self.training = patch.training
        self.hook = patch.hook
        self.hook_id = patch.hook_id
        self.run_name = patch.run_name
        self.resume_run = patch.resume_run
        self.when = patch.when
        self.installs: list[_Install] = []
        dispatch = _dispatch_on_return if patch.on_return else _dispatch
        self._wrapper = functools.partial(dispatch, self)
        self._seen: weakref.WeakKeyDictionary[type, set[str]] = weakref.WeakKeyDictionary()

    def _wrap(self, parent: Any, name: str) -> Any:
        import wrapt

        from autolog.core.patching.wrappers import PatchWrapper

        handle = wrapt.wrap_object(parent, name, PatchWrapper, (self._wrapper,))
        self.installs.append(_Install(parent, name, handle))
        return handle

    def _wrap_class(self, cls: type) -> None:
        skip = getattr(self.patch, "skip_class", None)
        if skip is not None and skip(cls):
            return
        names = self._seen.setdefault(cls, set())
        for method in self.patch.methods:  # type: ignore[union-attr]
            if method in names or method not in cls.__dict__:
                continue
            names.add(method)
            self._wrap(cls, method)

    def revert(self) -> None:
        """Remove every wrapper installed; one that cannot be removed passes calls through."""
        self.active = False
        if not self.installs:
            return
        import wrapt

        for install in reversed(self.installs):
            owner = install.owner_ref()
            if owner is None:
                continue
            try:
                if isinstance(install.handle, _InitSubclassHook):
                    removed = install.handle.remove(owner)
                else:
                    removed = wrapt.unwrap_object(owner, install.name, install.handle,
                                                  missing_ok=True)
                problem = "the attribute was replaced by other code"
            except Exception as exc:  # noqa: BLE001 - WrapperNotOutermostError and the like
                removed = None
                problem = f"{type(exc).__name__}: {exc}"
            if removed is None:
                where = f"{getattr(owner, '__qualname__', getattr(owner, '__name__', owner))}" \
                        f".{install.name}"
                if where not in _revert_warned:
                    _revert_warned.add(where)
                    message = (f"autolog could not remove its wrapper from {where} "
                               f"({problem}); the wrapper left behind passes calls straight "
                               f"through to the original.")
                    _log().warning(message)
                    warnings.warn(message, AutologWarning, stacklevel=3)
        self.installs.clear()


class _ClassState(threading.local):
    depth = 0  # our __init_subclass__ hooks this thread is inside
    pending: list = []

    def __init__(self) -> None:
        self.pending = []


_class_state = _ClassState()


def _wrap_pending_classes() -> None:
    """Patch the classes created, once the outermost of our ``__init_subclass__`` returns.

    Waiting for it lets the rest of the chain finish first: sklearn's
    ``_SetOutputMixin.__init_subclass__`` replaces ``transform`` with its own wrapper
    after calling ``super()``, and wrapping before it would leave ours under theirs,
    where a revert cannot take it out.
    """
    pending = _class_state.pending
    while pending:
        applied, cls = pending.pop(0)
        if not applied.active:
            continue
        try:
            applied._wrap_class(cls)
        except Exception as exc:  # noqa: BLE001 - never break class creation
            report_internal_error(
                exc, f"{applied.owner.name}: patching {cls.__qualname__}",
                silent=bool(getattr(applied.owner.config, "silent", False)),
            )


class _InitSubclassHook:
    """Our ``__init_subclass__`` on a SubclassPatch's base: patches each new subclass.

    Not a wrapt wrapper around the inherited attribute: that would bind the inherited
    classmethod to the base, so a subclass created later would run its ancestors'
    ``__init_subclass__`` for the wrong class (sklearn's metadata routing adds
    ``set_fit_request`` in one) and, for a mixin base, shadow the one of a class later in
    the MRO. This classmethod calls the base's own original bound to the new class, or
    ``super(base, cls).__init_subclass__`` when the base had none, then patches the class.
    Removed on revert when it is still the base's attribute; otherwise it stays and,
    inactive, only calls through.
    """

    __slots__ = ("original", "installed")

    def __init__(self, base: type, applied: AppliedPatch) -> None:
        original = base.__dict__.get("__init_subclass__")
        self.original = original

        def __init_subclass__(cls, **kwargs):  # noqa: N807
            state = _class_state
            state.depth += 1
            try:
                if original is None:
                    super(base, cls).__init_subclass__(**kwargs)
                elif isinstance(original, classmethod):
                    original.__get__(None, cls)(**kwargs)
                else:  # a plain function set on the class after its creation
                    original(cls, **kwargs)
                if applied.active:
                    state.pending.append((applied, cls))
            finally:
                state.depth -= 1
            if state.depth == 0:
                _wrap_pending_classes()

        self.installed = classmethod(__init_subclass__)
        base.__init_subclass__ = self.installed

    def remove(self, base: type) -> bool | None:
        if base.__dict__.get("__init_subclass__") is not self.installed:
            return None  # something was installed over ours: ours stays, inert
        if self.original is None:
            delattr(base, "__init_subclass__")
        else:
            base.__init_subclass__ = self.original
        return True


def apply_patch(patch: Patch | SubclassPatch, owner: PatchOwner, module: Any) -> AppliedPatch:
    """Install ``patch`` on the imported ``module`` for ``owner``; returns the handle."""
    import wrapt

    applied = AppliedPatch(patch, owner)
    try:
        if isinstance(patch, SubclassPatch):
            _apply_subclass_patch(applied, patch, module)
        else:
            parent, name, _original = wrapt.resolve_path(module, patch.path)
            applied._wrap(parent, name)
    except BaseException:
        applied.revert()
        raise
    return applied


def _apply_subclass_patch(applied: AppliedPatch, patch: SubclassPatch, module: Any) -> None:
    import wrapt

    base = wrapt.resolve_path(module, patch.path)[2]
    if not isinstance(base, type):
        raise TypeError(f"{patch.target} is not a class")

    # Future subclasses first, so none created meanwhile is missed; _seen dedupes.
    hook = _InitSubclassHook(base, applied)
    applied.installs.append(_Install(base, "__init_subclass__", hook))

    seen: set[int] = set()
    stack: list[type] = [base]
    while stack:
        cls = stack.pop()
        if id(cls) in seen:
            continue
        seen.add(id(cls))
        if cls is not base or patch.include_base:
            applied._wrap_class(cls)
        try:
            stack.extend(type.__subclasses__(cls))
        except TypeError:
            continue
