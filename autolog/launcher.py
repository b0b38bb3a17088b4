"""Zero-code autologging: run an unchanged script, module or command with autolog on.

Two modes, both behind ``autolog run`` (see `autolog.cli`):

- **In-process** (``autolog run train.py [args]``, ``autolog run -m pkg.mod [args]``):
  `run_script` enables autologging, opens a run around the script and executes it with
  `runpy` as ``__main__``, with ``sys.argv`` and ``sys.path[0]`` set as ``python`` sets
  them. The run ends FINISHED on a normal exit or ``SystemExit(0)``, FAILED on an
  exception or a non-zero exit, KILLED on Ctrl-C or SIGTERM. The exit status is the one
  ``python train.py`` would give: 0, the ``SystemExit`` code, 1 after printing the
  traceback of an uncaught exception, 130 after Ctrl-C, 143 after SIGTERM.

  The script's exit is the interpreter's own (CPython's ``Py_FinalizeEx``): threading's
  exit hooks (``threading._register_atexit``: loky, concurrent.futures), then the join of
  the non-daemon threads (both ``threading._shutdown``), then the atexit handlers, the
  script's first. The wrapping run ends in one of those atexit handlers, registered just
  before the script runs, so it ends after everything the script does at exit and before
  autolog's own exit handlers flush. SIGTERM, or Ctrl-C while waiting for threads, ends
  the run KILLED and leaves at once (``os._exit``), as a killed ``python`` would;
  ``os._exit`` in the script leaves the run RUNNING, as any killed process does.

  The options the script's argparse or click parse of the command line returns become
  params of the run (`autolog.integrations.script_args`, registered only here). Last, one
  line on stderr names the run, its store and an ``autolog runs show`` command, unless
  ``LaunchOptions.quiet``.
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

import atexit
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
    quiet: bool = False  # no closing line saying where the run went
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
    target: str,
    args: Sequence[str],
    options: LaunchOptions,
    *,
    module: bool = False,
    owns_process: bool = False,
) -> int:
    """Run ``target`` (a path, or a module name when ``module``) with autologging on.

    Returns the exit status ``python`` would have given; a missing file or module raises
    `LaunchError` before anything is logged.

    ``owns_process``: the caller exits with the returned status right away (``autolog
    run``). The script's threads, threading exit hooks and atexit handlers then run here,
    as the interpreter runs them at exit, and the run ends after them. Without it (a
    caller that lives on, such as a test) the run ends when the script's code returns;
    its threads and atexit handlers stay the caller process's.
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
        return _run_in_process(target, args, options, module, owns_process)
    finally:
        sys.argv[:] = saved_argv
        if saved_path0 is not None:
            _set_path0(saved_path0)


def _run_in_process(
    target: str, args: Sequence[str], options: LaunchOptions, module: bool, owns_process: bool
) -> int:
    _configure_destination(options)
    if options.open_run:
        _register_script_arguments()
    _enable_autolog(options.autolog_options())
    if module:
        _check_module(target)

    run = _start_wrapping_run(target, args, module, options) if options.open_run else None
    if run is not None:
        from autolog.integrations import script_args

        script_args.record_into(run)
    ending = _Ending(run, options)
    # threading._shutdown from another thread would wait for that thread itself
    owns_process = owns_process and threading.current_thread() is threading.main_thread()
    if owns_process:
        atexit.register(ending.finish)  # LIFO: after the script's own atexit handlers
    previous_sigterm = _install_sigterm_handler(ending)
    try:
        ending.status, ending.exit_code = _execute(target, args, module)
        if owns_process:
            if ending.exit_code == EXIT_SIGTERM and ending.status == "KILLED":
                _leave_now(ending, EXIT_SIGTERM)  # python dies here: no join, no atexit
            _exit_as_the_interpreter(ending)
    finally:
        _restore_sigterm_handler(previous_sigterm)
    ending.finish()  # in-process: now; owning the process: done already, a no-op
    return ending.exit_code


class _Ending:
    """How the script ended, and the one place where the wrapping run ends."""

    def __init__(self, run: Any, options: LaunchOptions) -> None:
        self.run = run
        self.options = options
        self.status = "FINISHED"
        self.exit_code = 0
        self.phase = "script"  # -> "threads" -> "atexit" -> "finishing"
        self._finished = False
        self._pid = os.getpid()  # a forked child leaving through sys.exit ends nothing

    def finish(self) -> None:
        """End the run with the script's status, flush, say where it went; once."""
        self.phase = "finishing"  # first: a SIGTERM from here on cannot stop it
        if self._finished or os.getpid() != self._pid:
            return
        self._finished = True
        import autolog

        if self.options.open_run:
            _stop_script_arguments()
        if self.run is not None:
            _end_wrapping_run(self.run, self.status)
        try:
            autolog.flush()
        except Exception as exc:
            if _reported_as_store_error(exc, "flushing the script's runs"):
                pass
            elif is_strict():
                raise
            else:
                warnings.warn(f"autolog: flushing failed ({exc!r})", autolog.AutologWarning,
                              stacklevel=2)
        if not self.options.quiet:
            _announce(self.run, self.status)

    def on_sigterm(self, signum: int, frame: types.FrameType | None) -> None:
        """SIGTERM: stop what runs now (the script, a wait, an atexit handler), KILLED.

        While the run is being ended it is only noted, so the run still ends; the exit
        status is then 143.
        """
        if self.phase in ("atexit", "finishing"):
            self.exit_code = EXIT_SIGTERM
            if self.phase == "finishing":
                return
            self.status = "KILLED"
        raise Terminated(EXIT_SIGTERM)


def _exit_as_the_interpreter(ending: _Ending) -> None:
    """The first steps of CPython's exit, in its order, while the wrapping run is open.

    ``threading._shutdown`` calls threading's exit hooks (loky and concurrent.futures
    stop their workers there) and then waits for the non-daemon threads;
    ``atexit._run_exitfuncs`` calls the atexit handlers, last registered first: the
    script's, then ``ending.finish``, then autolog's own. When the interpreter exits
    afterwards, its own calls of both find nothing left to do.
    """
    shut_down_threads = getattr(threading, "_shutdown", None)
    run_atexit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if shut_down_threads is None or run_atexit_handlers is None:
        return  # not CPython: the interpreter does both at exit, ending.finish included
    ending.phase = "threads"
    try:
        shut_down_threads()
    except Terminated:
        _leave_now(ending, EXIT_SIGTERM)
    except KeyboardInterrupt:
        _leave_now(ending, EXIT_SIGINT)
    except Exception:  # noqa: BLE001 - a failing exit hook stopped it half-way: the
        pass  # interpreter calls it again at exit and reports the error then, once
    ending.phase = "atexit"
    run_atexit_handlers()


def _leave_now(ending: _Ending, exit_code: int) -> None:
    """Killed: end the run KILLED and exit without waiting for threads or atexit."""
    ending.status, ending.exit_code = "KILLED", exit_code
    ending.finish()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(ending.exit_code)


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


def _register_script_arguments() -> None:
    """The script's argparse/click options become params of the wrapping run."""
    from autolog.core.patching.registry import register_integration
    from autolog.integrations import script_args

    register_integration(script_args.ScriptArgumentsIntegration)


def _stop_script_arguments() -> None:
    """Record no more parses, and unwrap argparse/click (a caller that lives on)."""
    import autolog
    from autolog.core.patching.registry import get_integration
    from autolog.integrations import script_args

    script_args.record_into(None)
    try:
        get_integration(script_args.ScriptArgumentsIntegration.name).disable()
    except Exception as exc:
        if is_strict():
            raise
        warnings.warn(f"autolog: could not stop recording script arguments ({exc!r})",
                      autolog.AutologWarning, stacklevel=2)


def _start_wrapping_run(target: str, args: Sequence[str], module: bool, options: LaunchOptions):
    import autolog
    from autolog.core.tracking import provenance

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
        if _reported_as_store_error(exc, "opening a run around the script"):
            return None
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
        if _reported_as_store_error(exc, "ending the run around the script"):
            return
        if is_strict():
            raise
        warnings.warn(
            f"autolog: could not end run {run.info.run_id} ({exc!r})",
            autolog.AutologWarning,
            stacklevel=2,
        )


def _reported_as_store_error(exc: Exception, cause: str) -> bool:
    """An unusable store is reported as everywhere else (`core.patching`): one line per
    store and reason, shared with the script's fits; under AUTOLOG_STRICT=1 it raises."""
    from autolog.core.errors import StoreUnavailableError

    if not isinstance(exc, StoreUnavailableError):
        return False
    from autolog.core.reporting import report_internal_error

    report_internal_error(exc, cause)
    return True


def _announce(run: Any, status: str) -> None:
    """One closing line on stderr: which run, which store, how to look at it."""
    from autolog.core.tracking import context

    uri = run.uri if run is not None else context.get_tracking_uri()
    store = ""
    if not _is_default_store(uri):
        import shlex

        store = f" --tracking-uri {shlex.quote(uri)}"
    if run is not None:
        run_id = run.info.run_id
        line = f"autolog: run {run_id} {status} in {uri}; see: autolog{store} runs show {run_id}"
    else:
        from autolog.core.errors import AutologException

        try:
            context.require_store(uri)
        except AutologException:  # no store to look at (the warning said why, if broken)
            return
        line = f"autolog: runs in {uri}; see: autolog{store} runs list"
    try:
        sys.stdout.flush()  # the script's last output first
        print(line, file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001 - no stderr: nothing to say
        pass


def _is_default_store(uri: str) -> bool:
    """Whether a plain ``autolog runs ...`` in this directory reads ``uri``."""
    if os.environ.get(ENV_TRACKING_URI):
        return False  # another shell may not have it: name the store
    return not _SCHEME.match(uri) and os.path.abspath(uri) == os.path.abspath("autolog-runs")


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


def _install_sigterm_handler(ending: _Ending) -> Any:
    """SIGTERM raises `Terminated` in the main thread while the script runs."""
    try:
        previous = signal.signal(signal.SIGTERM, ending.on_sigterm)
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
