"""The one wrapper function behind every patch: which calls run a hook (outermost training
calls, observers outside training), the session around a training hook, and what happens
when autolog's code fails (reported; the user's call goes on)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autolog.core.config import AutologConfig, is_strict
from autolog.core.patching.call import _PENDING, _RAISED, Call
from autolog.core.patching.declarations import PatchOwner, _hook_id
from autolog.core.patching.isolation import HookError
from autolog.core.reporting import _log, report_internal_error
from autolog.core.tracking.scope import _state

__all__ = ["framework_hook"]


#: Set by `autolog.testing.inject_hook_faults`: called with the hook id right before a
#: hook runs; raises to simulate a failing hook. None (the default) costs one check on
#: the hook path only.
_hook_fault: Callable[[str], None] | None = None

_TrainingSession: Any = None  # tracking.sessions.TrainingSession, imported on first use


def _open_session(
    owner: PatchOwner, config: AutologConfig, run_name: str | None, resume_run_id: str | None,
    own_run: bool = False,
) -> Any:
    global _TrainingSession
    session_class = _TrainingSession
    if session_class is None:
        from autolog.core.tracking.sessions import TrainingSession as session_class

        _TrainingSession = session_class
    return session_class.open(
        integration=owner.name,
        config=config,
        framework_version=owner.framework_version,
        run_name=run_name,
        resume_run_id=resume_run_id,
        own_run=own_run,
    )


def _dispatch(applied: Any, wrapped, instance, args, kwargs):
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


def _dispatch_on_return(applied: Any, wrapped, instance, args, kwargs):
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
            session = _open_session(owner, config, run_name, resume, applied.own_run)
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
