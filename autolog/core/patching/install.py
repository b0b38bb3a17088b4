"""Installing patches with wrapt and reverting them (`AppliedPatch`), including the
``__init_subclass__`` hook that patches future subclasses."""

from __future__ import annotations

import functools
import threading
import warnings
import weakref
from collections.abc import Callable
from typing import Any

from autolog.core.errors import AutologWarning
from autolog.core.patching.declarations import Patch, PatchOwner, SubclassPatch
from autolog.core.patching.dispatch import _dispatch, _dispatch_on_return
from autolog.core.reporting import _log, report_internal_error

__all__ = ["AppliedPatch", "apply_patch"]


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
                 "resume_run", "when", "own_run", "installs", "_wrapper", "_seen", "__weakref__")

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
        self.own_run = patch.own_run
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
