"""Enable autologging in every Python process started by ``autolog run -- COMMAND``.

``autolog run -- COMMAND`` puts this file's directory first on ``PYTHONPATH``, so Python's
`site` module imports it as ``sitecustomize`` at interpreter start-up (as
``opentelemetry-instrument`` and ``ddtrace-run`` do). It then

1. calls `autolog.launcher.bootstrap_from_env`, which reads the options from
   ``AUTOLOG_BOOTSTRAP_OPTIONS`` (JSON) and the ``AUTOLOG_*`` variables and calls
   ``autolog.autolog(**options)``, at most once per process;
2. loads the ``sitecustomize`` that Python would have imported without us (the user's or
   the distribution's), so it still runs.

An error here never stops the process: it is reported on stderr in one line and the
program runs without autologging. ``python -S`` and ``python -I`` skip this file.
"""

import os
import sys


def _bootstrap(here: str) -> None:
    preloaded = "autolog" in sys.modules
    added = None
    try:
        try:
            from autolog import launcher
        except ImportError:
            # autolog is not installed for this interpreter: use the tree this file is in
            added = os.path.dirname(os.path.dirname(here))
            sys.path.append(added)
            from autolog import launcher
        launcher.bootstrap_from_env(preloaded)
    except Exception as exc:  # noqa: BLE001 - never break the user's process
        if added is not None and "autolog" not in sys.modules and added in sys.path:
            sys.path.remove(added)
        try:
            sys.stderr.write(
                f"autolog: could not enable autologging in process {os.getpid()}; "
                f"running without it: {type(exc).__name__}: {exc}\n"
            )
        except Exception:  # noqa: BLE001 - no stderr
            pass


def _load_next_sitecustomize(here: str) -> None:
    """Import the ``sitecustomize`` later on sys.path, as site.py would have."""
    import importlib.machinery
    import importlib.util

    ours = os.path.realpath(here)
    real = [os.path.realpath(p or os.curdir) for p in sys.path]
    # only what comes after us: another bootstrap found later then never finds us again
    start = real.index(ours) + 1 if ours in real else 0
    path = [p for p, r in zip(sys.path[start:], real[start:]) if r != ours]
    try:
        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    except Exception:  # noqa: BLE001
        spec = None
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - what site.py does with a failing one
        if sys.flags.verbose:
            sys.excepthook(*sys.exc_info())
        else:
            sys.stderr.write(
                "Error in sitecustomize; set PYTHONVERBOSE for traceback:\n"
                f"{type(err).__name__}: {err}\n"
            )


if __name__ == "sitecustomize":
    _here = os.path.dirname(os.path.abspath(__file__))
    _bootstrap(_here)
    _load_next_sitecustomize(_here)
