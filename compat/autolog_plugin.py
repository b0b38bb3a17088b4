"""pytest plugin: a framework's own tests with every autolog integration on.

    pytest -p compat.autolog_plugin --pyargs keras.src.saving.saving_lib_test

The framework-agnostic sibling of ``compat/autolog_sklearn_plugin.py``: calls
`autolog.autolog` at ``pytest_configure``, before the test modules import their
framework, so each integration patches its framework as it is imported (as for a user).
Runs go to a throwaway embedded store. Options come from ``AUTOLOG_COMPAT_OPTIONS`` (a
JSON object of `autolog.autolog` options; default: everything on except plots).
"""

from __future__ import annotations

import json
import os
import tempfile

_store: list[str] = []


def pytest_configure(config):
    import autolog

    store = tempfile.mkdtemp(prefix="autolog-compat-")
    _store.append(store)
    autolog.set_tracking_uri(store)
    options = {"log_plots": False}
    options.update(json.loads(os.environ.get("AUTOLOG_COMPAT_OPTIONS") or "{}"))
    autolog.autolog(**options)
    config.stash_autolog_store = store  # type: ignore[attr-defined]


def pytest_report_header(config):
    import autolog

    states = ", ".join(f"{s.name}={s.state}" for s in autolog.status())
    return f"autolog autologging: {states} (store {_store[0]})"


def pytest_unconfigure(config):
    import autolog

    try:
        autolog.flush()
        runs = autolog.search_runs(experiment_names=["Default"], max_results=100000)
        print(f"\nautolog compat: {len(runs)} runs logged")
    except Exception as exc:  # noqa: BLE001 - reporting only
        print(f"\nautolog compat: could not count runs: {exc}")
    autolog.autolog(disable=True)
    # The store stays (in the temp directory): work still pending at exit writes into it.
