"""Shared set-up for the patching/integration tests: the fake frameworks on sys.path,
the fake integrations registered, and everything restored afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).parent
FAKE_FRAMEWORKS = HERE / "fake_frameworks"
FAKE_PLUGINS = HERE / "fake_plugins"
REPO = HERE.parent


def originals():
    """Every attribute the fake integrations patch, as plain objects (for `is` checks)."""
    import fakeml
    import fakeml.estimators as est
    import fakeml.metrics as metrics
    import oldml

    return {
        "train": fakeml.__dict__["train"],
        "Estimator.fit": est.Estimator.__dict__["fit"],
        "LinearModel.fit": est.LinearModel.__dict__["fit"],
        "Ensemble.fit": est.Ensemble.__dict__["fit"],
        "Inherits.fit": est.Inherits.__dict__.get("fit"),
        "from_params": est.Estimator.__dict__["from_params"],
        "default_alpha": est.Estimator.__dict__["default_alpha"],
        "init_subclass": est.Estimator.__dict__.get("__init_subclass__"),
        "score": metrics.__dict__["score"],
        "f1": metrics.__dict__["f1"],
        "oldml.train": oldml.__dict__["train"],
    }


def unregister(*names):
    from autolog.core.patching import integration, registry

    for name in names:
        instance = integration._instances.pop(name, None)
        if instance is not None:
            instance.disable()
        registry._specs.pop(name, None)
        registry._load_errors.pop(name, None)


@pytest.fixture
def fake(monkeypatch, memory_uri):
    """Fake frameworks importable, fake integrations registered (not enabled)."""
    monkeypatch.syspath_prepend(str(FAKE_FRAMEWORKS))
    import fakeml
    import fakeml_autolog
    import oldml  # noqa: F401

    from autolog.core.patching.registry import register_integration

    before = originals()
    assert all(not type(v).__name__.endswith("Wrapper") for v in before.values())
    fakeml.CALLS.clear()
    fakeml_autolog.EVENTS.clear()
    fakeml_autolog.BEHAVIOUR.clear()
    for cls in (fakeml_autolog.FakeMLIntegration, fakeml_autolog.ExtraIntegration,
                fakeml_autolog.OldMLIntegration):
        register_integration(cls)
    yield fakeml
    unregister("fakeml", "fakeml_extra", "oldml")
    fakeml_autolog.BEHAVIOUR.clear()
    after = originals()
    for key, value in before.items():
        assert after[key] is value, f"{key} not restored"


def runs():
    import autolog

    return autolog.search_runs()


def run_python(code: str, *, plugins: bool = False, env: dict | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with the fake frameworks importable."""
    paths = [str(FAKE_FRAMEWORKS)] + ([str(FAKE_PLUGINS)] if plugins else []) + [str(REPO)]
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(paths + [full_env.get("PYTHONPATH", "")])
    full_env.setdefault("AUTOLOG_STRICT", "1")
    full_env["AUTOLOG_TRACKING_URI"] = "memory:"
    full_env.pop("AUTOLOG_DISABLE", None)
    if env:
        full_env.update(env)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result
