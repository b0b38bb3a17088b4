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

from typing import Any

from autolog.core.patching.call import Call
from autolog.core.patching.declarations import Patch, PatchOwner, SubclassPatch
from autolog.core.patching.dispatch import framework_hook
from autolog.core.patching.install import AppliedPatch, apply_patch
from autolog.core.patching.isolation import HookError, guard
from autolog.core.reporting import report_internal_error
from autolog.core.tracking.scope import in_training_call, outermost, quiet, training_depth

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
    "outermost",
    "quiet",
    "report_internal_error",
    "training_depth",
]


# `PatchWrapper` (the wrapt object installed on each attribute) lives in
# `autolog.core.patching.wrappers`, imported on first use: importing wrapt costs ~50 ms,
# which `autolog.autolog()` must not pay before any framework is imported.


def __getattr__(name: str) -> Any:
    if name == "PatchWrapper":
        from autolog.core.patching.wrappers import PatchWrapper

        return PatchWrapper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
