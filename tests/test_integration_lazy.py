"""`autolog()` imports a built-in integration only when its framework is imported."""

from __future__ import annotations

import importlib
import subprocess
import sys
from dataclasses import fields

import pytest

from autolog.core.config import AutologConfig
from autolog.core.patching.registry import BUILTIN_INTEGRATIONS, BUILTIN_TRIGGERS


@pytest.mark.parametrize("name", sorted(BUILTIN_TRIGGERS))
def test_trigger_table_matches_the_integrations(name):
    module_name, _, attribute = BUILTIN_INTEGRATIONS[name].partition(":")
    integration = getattr(importlib.import_module(module_name), attribute)
    own = {f.name for f in fields(integration.config_class)} - {
        f.name for f in fields(AutologConfig)}
    triggers, options = BUILTIN_TRIGGERS[name]
    assert set(options) == own
    assert integration.module in triggers


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={**__import__("os").environ,
                                           "AUTOLOG_TRACKING_URI": "memory:"})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_autolog_imports_no_integration_module_before_its_framework():
    out = _run(
        "import sys, autolog; autolog.autolog(log_plots=False, max_tuning_runs=2); "
        "print(sorted(m for m in sys.modules if m.startswith('autolog.integrations.')));"
        "print({s.name: s.state for s in autolog.status()}['sklearn'])"
    )
    loaded, sklearn_state = out.splitlines()
    assert "autolog.integrations.sklearn" not in loaded
    assert sklearn_state == "waiting"


def test_importing_the_framework_later_enables_it_with_the_options_given():
    out = _run(
        "import autolog; autolog.autolog(log_plots=False); "
        "import sklearn.linear_model; "
        "from autolog.core.patching.registry import get_integration; "
        "i = get_integration('sklearn'); print(i.enabled, i.config.log_plots)"
    )
    assert out == "True False"


def test_disable_before_the_import_keeps_it_off():
    out = _run(
        "import autolog; autolog.autolog(); autolog.autolog(disable=True); "
        "import sklearn.linear_model; import sys; "
        "print('autolog.integrations.sklearn' in sys.modules and "
        "__import__('autolog.core.patching.registry').core.patching.registry.get_integration('sklearn')"
        ".enabled)"
    )
    assert out == "False"


def test_unknown_option_is_still_an_error():
    import autolog

    with pytest.raises(TypeError, match="no_such_option"):
        autolog.autolog(no_such_option=1)
