"""What integrations declare: `Patch` (one attribute) and `SubclassPatch` (methods on every
subclass of a base, present and future). Plain data: the core installs them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from autolog.core.config import AutologConfig

if TYPE_CHECKING:
    from autolog.core.patching.call import Call

__all__ = ["Patch", "PatchOwner", "SubclassPatch"]


def _hook_id(hook: Callable) -> str:
    module = getattr(hook, "__module__", None) or "?"
    qualname = getattr(hook, "__qualname__", None) or getattr(hook, "__name__", repr(hook))
    return f"{module}.{qualname}"


class _Declaration:
    """What `Patch` and `SubclassPatch` share: where, which hook, and how it runs."""

    __slots__ = ("target", "module", "path", "hook", "training", "run_name", "resume_run",
                 "when", "own_run")

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
        self.own_run = False

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

    ``own_run=True``: an outermost call always records into a run of its own, a child of
    the run active in the thread when there is one, instead of into that run (a study,
    whose trials are children of its run, inside the user's run).
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
        own_run: bool = False,
    ) -> None:
        super().__init__(target, "patch target", hook, training, run_name, resume_run, when)
        if on_return and training:
            raise ValueError(f"on_return=True is for observers (training=False); {target!r} "
                             "is declared as a training patch")
        if own_run and not training:
            raise ValueError(f"own_run=True is for training patches; {target!r} is an "
                             "observer")
        self.on_return = on_return
        self.own_run = own_run

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
