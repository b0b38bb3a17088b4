"""Script arguments: the options a script run by ``autolog run`` parses, as run params.

Only the launcher turns this on: `autolog.launcher` registers it before its
`autolog.autolog()` call and names the run to log into with `record_into` (the run it
opens around the script); plain `autolog.autolog()` never registers it, and with no run
named it records nothing.

What is recorded: the result of each parse *of the command line*, i.e. a parse given no
argument list or ``sys.argv[1:]`` itself:

- argparse: the ``Namespace`` of ``ArgumentParser.parse_known_args`` (``parse_args`` and
  ``parse_intermixed_args`` go through it; subparsers' values are in the outer result);
- click (and typer, built on it): the params of each context ``Command.make_context``
  makes for the command line, the group's and the invoked subcommand's.

A parser that a library runs on a list of its own is left out. Every command-line parse
is recorded (a script may parse twice, e.g. ``parse_known_args`` for ``--config`` and
then the rest); a key already logged in the run, by ``-P`` or an earlier parse, keeps
its first value without an error. Values are logged as MLflow logs a param, ``str(value)``
(lists, tuples, None, paths), except a file object (its name) and a function
(``set_defaults(func=train)``: its qualified name, not an address that changes per run).

Why plain function wrappers rather than `Patch`: click is imported already when the
launcher enables this (the CLI is a click program), and a `Patch` would import wrapt
(~50 ms) into every ``autolog run``. The wrappers call the hook through
`patching.framework_hook` (observer semantics, error isolation, fault injection), as the
seeds integration does for ``random.seed``, and are removed on disable.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any

from autolog.core import patching
from autolog.core.patching.integration import Integration

#: click context meta key: this context (and its subcommands') parsed the command line.
_COMMAND_LINE = "autolog.script_args.command_line"

_run: Any = None  # the ActiveRun to log into, set by the launcher


def record_into(run: Any) -> None:
    """Log command-line parses into ``run`` from now on (None: record nothing)."""
    global _run
    _run = run


def _is_command_line(args: tuple, kwargs: dict, position: int, name: str) -> bool:
    """Whether the argument list given (checked before the parse consumes it) is ours."""
    given = args[position] if len(args) > position else kwargs.get(name)
    if given is None:
        return True
    try:
        return list(given) == sys.argv[1:]
    except Exception:  # noqa: BLE001 - not a list of strings: not the command line
        return False


def _param_value(value: Any) -> Any:
    if inspect.isroutine(value):
        return getattr(value, "__qualname__", None) or getattr(value, "__name__", value)
    if hasattr(value, "read") or hasattr(value, "write"):
        name = getattr(value, "name", None)  # argparse.FileType, click.File
        if isinstance(name, str):
            return name
    return value


def _record(values: Mapping[str, Any]) -> None:
    run = _run
    if run is None:
        return
    from autolog.core.tracking.recorder import RunRecorder

    fresh = {str(key): _param_value(value) for key, value in values.items()
             if str(key) not in run.params_logged}
    if fresh:
        RunRecorder(run.info.run_id, run.uri, run.params_logged).log_params(fresh)


def record_argparse(parser: Any, args: tuple, kwargs: dict, result: Any,
                    command_line: bool) -> None:
    """After ``parser.parse_known_args(...)`` returned ``(namespace, extras)``."""
    if command_line:
        _record(vars(result[0]))


def record_click(command: Any, args: tuple, kwargs: dict, context: Any,
                 command_line: bool) -> None:
    """After ``command.make_context(info_name, args, parent=None)`` returned ``context``."""
    parent = args[2] if len(args) > 2 else kwargs.get("parent")
    if parent is None and command_line:
        context.meta[_COMMAND_LINE] = True  # meta is shared with subcommand contexts
    if context.meta.get(_COMMAND_LINE):
        _record(context.params)


#: (module, class, method, (position, name) of its argument list, hook)
_TARGETS = (
    ("argparse", "ArgumentParser", "parse_known_args", (0, "args"), record_argparse),
    ("click.core", "Command", "make_context", (1, "args"), record_click),
)


class ScriptArgumentsIntegration(Integration):
    name = "script_args"
    module = ""  # no framework: argparse and click are watched from on_enable

    def __init__(self) -> None:
        super().__init__()
        self._hooks = {hook: patching.framework_hook(self, hook) for *_, hook in _TARGETS}
        self._installed: list[tuple[type, str, Callable, Callable]] = []
        self._watching = False

    def framework_hooks(self) -> list:
        return [hook for *_, hook in _TARGETS]

    def on_enable(self, config: Any) -> None:
        if not self._watching:  # once per process: the callbacks check `enabled`
            self._watching = True
            from autolog.core.patching.importhooks import when_imported

            for module_name in dict.fromkeys(module for module, *_ in _TARGETS):
                when_imported(module_name, self._module_ready)
        else:
            for module_name, *_ in _TARGETS:
                if module_name in sys.modules:
                    self._module_ready(sys.modules[module_name])

    def _module_ready(self, module: Any) -> None:
        try:
            with self._lock:
                if self._enabled:
                    self._install(module)
        except Exception as exc:  # noqa: BLE001 - never break the user's import
            patching.report_internal_error(exc, f"{self.name}: wrapping {module.__name__}")

    def _install(self, module: Any) -> None:
        for module_name, class_name, method, argument, hook in _TARGETS:
            if module.__name__ != module_name:
                continue
            cls = getattr(module, class_name)
            if any(c is cls and m == method for c, m, *_ in self._installed):
                continue
            original = cls.__dict__[method]
            wrapper = self._observe(original, argument, self._hooks[hook])
            setattr(cls, method, wrapper)
            self._installed.append((cls, method, original, wrapper))

    def _observe(self, original: Callable, argument: tuple[int, str], hook: Callable) -> Callable:
        integration = self

        @functools.wraps(original)
        def observed(instance: Any, *args: Any, **kwargs: Any) -> Any:
            if not (integration._enabled and _run is not None):
                return original(instance, *args, **kwargs)
            command_line = _is_command_line(args, kwargs, *argument)  # before it is consumed
            result = original(instance, *args, **kwargs)
            hook(instance, args, kwargs, result, command_line)
            return result

        return observed

    def on_disable(self) -> None:
        installed, self._installed = self._installed, []
        for cls, method, original, wrapper in installed:
            if cls.__dict__.get(method) is wrapper:
                setattr(cls, method, original)  # else others wrapped it: ours is inert now
