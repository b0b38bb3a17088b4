"""Zero-code autologging: run an unchanged script, module or command with autolog on.

Two modes, both behind ``autolog run`` (see `autolog.cli`):

- **In-process** (``autolog run train.py [args]``, ``autolog run -m pkg.mod [args]``):
  `run_script` enables autologging, opens a run around the script and executes it with
  `runpy` as ``__main__``, with ``sys.argv`` and ``sys.path[0]`` set as ``python`` sets
  them. The run ends FINISHED on a normal exit or ``SystemExit(0)``, FAILED on an
  exception or a non-zero exit, KILLED on Ctrl-C or SIGTERM. The exit status is the one
  ``python train.py`` would give: 0, the ``SystemExit`` code, 1 after printing the
  traceback of an uncaught exception, 130 after Ctrl-C, 143 after SIGTERM.
- **Subprocess** (``autolog run -- COMMAND [args]``): `run_command` runs any command
  (``torchrun ...``, ``python train.py``, a shell script) with ``autolog/_bootstrap`` put
  first on ``PYTHONPATH``. Its ``sitecustomize`` calls `bootstrap_from_env` in every
  Python process the command starts, children and grandchildren included (as
  ``opentelemetry-instrument`` and ``ddtrace-run`` do), then loads the ``sitecustomize``
  that would otherwise have run. On POSIX the launcher ``exec``s the command, so pid,
  signals and exit status are the command's own. No wrapping run is opened: each
  training gets its own managed run in the process that runs it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import types
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autolog.core.config import (
    ENV_EXPERIMENT_NAME,
    ENV_RUN_NAME,
    ENV_SYSTEM_METRICS,
    ENV_TRACKING_URI,
    is_strict,
)

#: JSON object of `autolog.autolog()` options, for the bootstrap in child processes.
ENV_BOOTSTRAP_OPTIONS = "AUTOLOG_BOOTSTRAP_OPTIONS"
#: Set by the bootstrap to the pid of the process it instrumented.
ENV_BOOTSTRAP_MARKER = "AUTOLOG_BOOTSTRAPPED"

BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bootstrap")

TAG_LAUNCHER = "autolog.launcher"
TAG_ENTRY_POINT = "autolog.entry_point"

EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM


@dataclass
class LaunchOptions:
    """What ``autolog run`` was asked for (the command-line options)."""

    tracking_uri: str | None = None
    experiment: str | None = None
    run_name: str | None = None
    log_models: bool | None = None  # None: autolog()'s default
    log_system_metrics: bool | None = None
    open_run: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)  # -P key=value

    def autolog_options(self) -> dict[str, Any]:
        options: dict[str, Any] = dict(self.extra)
        if self.log_models is not None:
            options["log_models"] = self.log_models
        if self.log_system_metrics is not None:
            options["log_system_metrics"] = self.log_system_metrics
        return options


class LaunchError(Exception):
    """The target cannot be started (no such file or module); ``exit_code`` as python's."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Terminated(SystemExit):
    """Raised in the main thread by the launcher's SIGTERM handler."""


# -- in-process ------------------------------------------------------------------------


def run_script(
    target: str, args: Sequence[str], options: LaunchOptions, *, module: bool = False
) -> int:
    """Run ``target`` (a path, or a module name when ``module``) with autologging on.

    Returns the exit status ``python`` would have given; a missing file or module raises
    `LaunchError` before anything is logged.
    """
    if not module and not os.path.exists(target):
        raise LaunchError(
            f"can't open file {os.path.abspath(target)!r}: [Errno 2] No such file or directory",
            2,
        )
    saved_argv, saved_path0 = sys.argv[:], sys.path[0] if sys.path else None
    # sys.path[0] as python sets it: the script's real directory, or the cwd for -m
    _set_path0(os.getcwd() if module else os.path.dirname(os.path.realpath(target)))
    args = apply_overrides(target, args, options.overrides, module=module)
    try:
        return _run_in_process(target, args, options, module)
    finally:
        sys.argv[:] = saved_argv
        if saved_path0 is not None:
            _set_path0(saved_path0)


def _run_in_process(target: str, args: Sequence[str], options: LaunchOptions, module: bool) -> int:
    import autolog

    _configure_destination(options)
    _enable_autolog(options.autolog_options())
    if module:
        _check_module(target)

    run = None
    if options.open_run:
        run = _start_wrapping_run(target, args, module, options)

    previous_sigterm = _install_sigterm_handler()
    try:
        status, exit_code = _execute(target, args, module)
        if status != "KILLED":
            try:  # as python does before exiting: the run ends after the script's threads
                _join_non_daemon_threads()
            except Terminated:
                status, exit_code = "KILLED", EXIT_SIGTERM
            except KeyboardInterrupt:
                status, exit_code = "KILLED", EXIT_SIGINT
    finally:
        _restore_sigterm_handler(previous_sigterm)
    if run is not None:
        _end_wrapping_run(run, status)
    try:
        autolog.flush()
    except Exception as exc:
        if is_strict():
            raise
        warnings.warn(f"autolog: flushing failed ({exc!r})", autolog.AutologWarning, stacklevel=2)
    return exit_code


def _execute(target: str, args: Sequence[str], module: bool) -> tuple[str, int]:
    """Run the script as __main__; (run status, exit status) as python would end."""
    import runpy

    try:
        if module:
            sys.argv[:] = ["-m", *args]  # runpy puts the module's path in argv[0]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv[:] = [target, *args]
            runpy.run_path(target, run_name="__main__")
    except Terminated:
        return "KILLED", EXIT_SIGTERM
    except SystemExit as exc:
        exit_code = _exit_code(exc.code)
        return ("FINISHED" if exit_code == 0 else "FAILED"), exit_code
    except KeyboardInterrupt as exc:
        _print_exception(exc)
        return "KILLED", EXIT_SIGINT
    except BaseException as exc:  # noqa: BLE001 - the script's own error, reported as python does
        _print_exception(exc)
        return "FAILED", 1
    return "FINISHED", 0


def _join_non_daemon_threads() -> None:
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main and thread is not threading.current_thread() and not thread.daemon:
            thread.join()


def _check_module(name: str) -> None:
    """Fail like ``python -m`` for a module that does not exist."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise LaunchError(f"No module named {exc.name}", 1) from None
        return  # a missing import inside the package: the script's own error, shown later
    except Exception:  # noqa: BLE001 - the package's own error: it happens again in the run
        return
    if spec is None:
        raise LaunchError(f"No module named {name}", 1)


def _set_path0(directory: str) -> None:
    if sys.path:
        sys.path[0] = directory
    else:
        sys.path.append(directory)


def _configure_destination(options: LaunchOptions) -> None:
    import autolog

    if options.tracking_uri:
        autolog.set_tracking_uri(options.tracking_uri)
    if options.experiment:
        autolog.set_experiment(options.experiment)


def _enable_autolog(autolog_options: dict[str, Any]) -> None:
    import autolog

    try:
        autolog.autolog(**autolog_options)
    except Exception as exc:
        if is_strict():
            raise
        warnings.warn(
            f"autolog: could not enable autologging ({exc!r}); running the script without it",
            autolog.AutologWarning,
            stacklevel=2,
        )


def _start_wrapping_run(target: str, args: Sequence[str], module: bool, options: LaunchOptions):
    import autolog
    from autolog.core import provenance

    entry_point = f"-m {target}" if module else target
    if module:
        default_name = target
    else:
        default_name = os.path.splitext(os.path.basename(target))[0]
    run_name = options.run_name or os.environ.get(ENV_RUN_NAME) or default_name
    kwargs: dict[str, Any] = {}
    if options.log_system_metrics is not None:
        kwargs["log_system_metrics"] = options.log_system_metrics
    try:
        source = provenance.launch_tags(target, list(args), module=module,
                                        overrides=options.overrides)
        run = autolog.start_run(
            run_name=run_name,
            tags={TAG_LAUNCHER: "run", TAG_ENTRY_POINT: entry_point, **source},
            **kwargs,
        )
        run.ambient = True  # the script's own start_run() calls open children of it
        if options.overrides:
            autolog.log_params(options.overrides)
        return run
    except Exception as exc:
        if is_strict():
            raise
        warnings.warn(
            f"autolog: could not open a run around the script ({exc!r}); running it without",
            autolog.AutologWarning,
            stacklevel=2,
        )
        return None


def apply_overrides(
    target: str, args: Sequence[str], overrides: dict[str, str], *, module: bool = False
) -> list[str]:
    """``-P lr=0.1``: set ``--lr 0.1`` in the script's argv (replacing a value given).

    The option is the one already in ``args`` (``--lr``, ``--lr=...``, or with ``-`` for
    ``_``), else one the script's source declares (argparse ``"--learning-rate"``, click),
    else ``--key``. Flags without a value are not supported.
    """
    args = list(args)
    source = None
    for key, value in overrides.items():
        spellings = [f"--{key}", f"--{key.replace('_', '-')}", f"--{key.replace('-', '_')}"]
        for i, arg in enumerate(args):
            option, eq, _ = arg.partition("=")
            if option in spellings:
                if eq:
                    args[i] = f"{option}={value}"
                elif i + 1 < len(args):
                    args[i + 1] = value
                else:
                    args.append(value)
                break
        else:
            if source is None:
                source = _script_source(target, module)
            option = next((o for o in spellings if f'"{o}"' in source or f"'{o}'" in source),
                          spellings[0])
            args += [option, value]
    return args


def _script_source(target: str, module: bool) -> str:
    try:
        if module:
            import importlib.util

            spec = importlib.util.find_spec(target)
            target = spec.origin if spec is not None and spec.origin else ""
        with open(target, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except Exception:  # noqa: BLE001 - no source to look at: use --key
        return ""


def _end_wrapping_run(run: Any, status: str) -> None:
    """End our run (and any run the script left open inside it) with ``status``."""
    import autolog

    try:
        autolog.end_run(status, run_id=run.info.run_id)
    except Exception as exc:
        if is_strict():
            raise
        warnings.warn(
            f"autolog: could not end run {run.info.run_id} ({exc!r})",
            autolog.AutologWarning,
            stacklevel=2,
        )


def _exit_code(code: object) -> int:
    """The process status for ``SystemExit(code)``, printing a message as python does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:  # noqa: BLE001
        pass
    return 1


def _print_exception(exc: BaseException) -> None:
    """Print an uncaught exception through sys.excepthook, minus the launcher's frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get("__name__") in (__name__, "runpy"):
        tb = tb.tb_next
    exc = exc.with_traceback(tb)  # None for a SyntaxError in the script: no frames, as python
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    sys.excepthook(type(exc), exc, exc.__traceback__)


_NOT_INSTALLED = object()


def _install_sigterm_handler() -> Any:
    """SIGTERM raises `Terminated` in the main thread while the script runs."""

    def on_sigterm(signum: int, frame: types.FrameType | None) -> None:
        raise Terminated(EXIT_SIGTERM)

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except (ValueError, OSError):  # not the main thread, or no signals here
        return _NOT_INSTALLED
    return signal.SIG_DFL if previous is None else previous  # None: set from C


def _restore_sigterm_handler(previous: Any) -> None:
    if previous is _NOT_INSTALLED:
        return
    try:
        signal.signal(signal.SIGTERM, previous)
    except (ValueError, OSError):
        pass


# -- subprocess mode -------------------------------------------------------------------


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


def child_environment(
    options: LaunchOptions, environ: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment for a command whose Python processes autolog instruments."""
    env = dict(os.environ if environ is None else environ)
    existing = [
        p
        for p in env.get("PYTHONPATH", "").split(os.pathsep)
        if p and os.path.realpath(p) != os.path.realpath(BOOTSTRAP_DIR)
    ]
    env["PYTHONPATH"] = os.pathsep.join([BOOTSTRAP_DIR, *existing])
    env[ENV_BOOTSTRAP_OPTIONS] = json.dumps(options.autolog_options())
    env.pop(ENV_BOOTSTRAP_MARKER, None)
    if options.tracking_uri:
        uri = options.tracking_uri
        if not _SCHEME.match(uri):  # a plain path: the child may run elsewhere
            uri = os.path.abspath(uri)
        env[ENV_TRACKING_URI] = uri
    if options.experiment:
        env[ENV_EXPERIMENT_NAME] = options.experiment
    if options.run_name:
        env[ENV_RUN_NAME] = options.run_name
    if options.log_system_metrics:  # also for runs the command's code starts itself
        env[ENV_SYSTEM_METRICS] = "true"
    return env


def run_command(command: Sequence[str], options: LaunchOptions) -> int:
    """Run ``command`` with its Python processes autologged; return its exit status.

    On POSIX this does not return when the command starts: the launcher becomes it.
    """
    if not command:
        raise LaunchError("no command given after '--'", 2)
    if options.tracking_uri:  # a bad URI fails here, once, not in every child
        import autolog

        autolog.set_tracking_uri(options.tracking_uri)
    env = child_environment(options)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    if os.name == "posix":
        try:
            os.execvpe(command[0], list(command), env)
        except FileNotFoundError:
            raise LaunchError(f"{command[0]}: command not found", 127) from None
        except PermissionError:
            raise LaunchError(f"{command[0]}: permission denied", 126) from None
    import subprocess

    try:
        process = subprocess.Popen(list(command), env=env)
    except FileNotFoundError:
        raise LaunchError(f"{command[0]}: command not found", 127) from None
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:  # the child got Ctrl-C too; wait for it to finish
            continue


# -- the child side: called from autolog/_bootstrap/sitecustomize.py -------------------

_bootstrapped = False


def bootstrap_from_env(preloaded: bool = False) -> bool:
    """Enable autologging in this process from the launcher's environment, once.

    ``preloaded``: the autolog package was already imported when sitecustomize started,
    so a pid marker equal to ours means this very interpreter was instrumented already
    (rather than a fresh one that replaced it through ``exec``). Returns whether it
    instrumented now.
    """
    global _bootstrapped
    if _bootstrapped:
        return False
    if preloaded and os.environ.get(ENV_BOOTSTRAP_MARKER) == str(os.getpid()):
        return False
    _bootstrapped = True
    os.environ[ENV_BOOTSTRAP_MARKER] = str(os.getpid())
    raw = os.environ.get(ENV_BOOTSTRAP_OPTIONS) or "{}"
    options = json.loads(raw)
    if not isinstance(options, dict):
        raise ValueError(f"{ENV_BOOTSTRAP_OPTIONS} must be a JSON object, got {raw!r}")
    import autolog

    autolog.autolog(**options)
    return True


def bootstrap_count() -> int:
    """1 when this process was instrumented by the bootstrap, else 0 (for tests)."""
    return int(_bootstrapped)
