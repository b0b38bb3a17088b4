"""Integration base class, registry, autolog() options, version gate, status()."""

from __future__ import annotations

import sys
import warnings

import pytest
from _fakeml_support import fake, runs  # noqa: F401

from autolog.core.errors import AutologWarning
from autolog.core.patching import registry
from autolog.core.patching.integration import Integration, IntegrationStatus
from autolog.core.patching.registry import autolog, get_integration, integration_autolog, status

pytestmark = pytest.mark.usefixtures("fake")


def by_name():
    return {s.name: s for s in status()}


def events(kind):
    import fakeml_autolog

    return [e for e in fakeml_autolog.EVENTS if e[0] == kind]


def test_status_lists_builtins_and_registered():
    current = by_name()
    for name in registry.BUILTIN_INTEGRATIONS:
        assert name in current
    assert current["fakeml"] == IntegrationStatus("fakeml", "fakeml", "disabled", "not enabled",
                                                  None)
    missing = [s for s in current.values() if s.reason == "not implemented"]
    assert all(s.state == "skipped" for s in missing)


def test_autolog_enables_every_integration_and_disable_reverts():
    import fakeml

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AutologWarning)  # oldml is unsupported
        autolog(log_models=False)
    current = by_name()
    assert current["fakeml"].state == "enabled"
    assert current["fakeml"].framework_version == "1.2.0"
    assert current["oldml"].state == "enabled"
    assert get_integration("fakeml").config.log_models is False
    fakeml.train({"lr": 1})
    assert len(runs()) == 1
    autolog(disable=True)
    assert by_name()["fakeml"].state == "disabled"
    assert not hasattr(fakeml.train, "__wrapped__")


def test_autolog_env_disable_does_nothing(monkeypatch):
    monkeypatch.setenv("AUTOLOG_DISABLE", "true")
    autolog()
    assert by_name()["fakeml"].state == "disabled"


def test_unknown_option_is_a_type_error_listing_valid_ones():
    with pytest.raises(TypeError, match="'log_modles'.*valid options:.*log_models"):
        autolog(log_modles=False)
    with pytest.raises(TypeError, match="log_fake_extras"):
        autolog(nope=1)
    assert by_name()["fakeml"].state == "disabled"


def test_integration_specific_option_goes_to_its_config_only():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AutologWarning)
        autolog(log_fake_extras=False)
    assert get_integration("fakeml").config.log_fake_extras is False
    assert not hasattr(get_integration("oldml").config, "log_fake_extras")


def test_integration_autolog_function():
    import fakeml

    fakeml_autolog = integration_autolog("fakeml")
    assert fakeml_autolog.__name__ == "autolog"
    with pytest.raises(TypeError, match="'not_an_option'"):
        fakeml_autolog(not_an_option=1)
    oldml_autolog = integration_autolog("oldml")
    with pytest.raises(TypeError, match="log_fake_extras"):
        oldml_autolog(log_fake_extras=True)  # another integration's option
    fakeml_autolog(log_fake_extras=False)
    assert by_name()["fakeml"].state == "enabled"
    assert by_name()["oldml"].state == "disabled"
    fakeml.train({"lr": 1})
    assert len(events("train")) == 1
    fakeml_autolog(disable=True)
    assert by_name()["fakeml"].state == "disabled"
    with pytest.raises(LookupError):
        integration_autolog("no-such-integration")()


def test_double_autolog_patches_once_newer_config_wins():
    import fakeml

    fakeml_autolog = integration_autolog("fakeml")
    fakeml_autolog(log_fake_extras=True)
    wrapper = fakeml.__dict__["train"]
    fakeml_autolog(log_fake_extras=False)
    assert fakeml.__dict__["train"] is wrapper
    assert not hasattr(wrapper.__wrapped__, "__wrapped__")
    fakeml.train({"lr": 1})
    assert events("train")[0][3].log_fake_extras is False
    assert len(get_integration("fakeml").applied_patches) == 7


def test_version_gate_warns_once_and_stays_enabled():
    import oldml

    oldml_autolog = integration_autolog("oldml")
    with pytest.warns(AutologWarning, match=r"oldml.*>=1.0,<2.*0.5.0") as caught:
        oldml_autolog()
        oldml_autolog()
    assert len([w for w in caught if issubclass(w.category, AutologWarning)]) == 1
    current = by_name()["oldml"]
    assert current.state == "enabled" and current.framework_version == "0.5.0"
    assert "unsupported" in current.reason
    assert oldml.train(1) == ("oldml-model", 1)
    assert len(events("oldml-train")) == 1
    (run,) = runs()
    assert run.data.tags.get("autolog.oldml_version") == "0.5.0"


def test_version_gate_disable_for_unsupported_versions():
    import oldml

    original = oldml.train
    oldml_autolog = integration_autolog("oldml")
    with pytest.warns(AutologWarning, match="off"):
        oldml_autolog(disable_for_unsupported_versions=True)
    current = by_name()["oldml"]
    assert current.state == "skipped" and "outside the supported versions" in current.reason
    assert oldml.train is original
    oldml_autolog(disable_for_unsupported_versions=False)  # the gate decides again
    assert oldml.train is not original and by_name()["oldml"].state == "enabled"
    oldml_autolog(disable=True)
    assert oldml.train is original


def test_waiting_until_the_framework_is_imported(monkeypatch, tmp_path):
    pkg = tmp_path / "lateml"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("def train(x):\n    return ('late', x)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []

    def hook(session, call):
        seen.append(call.arguments)
        return call.proceed()

    from autolog.core.patching import Patch

    class LateIntegration(Integration):
        name = "lateml"
        module = "lateml"

        def patches(self):
            return [Patch("lateml:train", hook)]

    registry.register_integration(LateIntegration)
    try:
        integration_autolog("lateml")()
        assert by_name()["lateml"].state == "waiting"
        assert "lateml" not in sys.modules
        import lateml

        assert by_name()["lateml"].state == "enabled"
        assert lateml.train(3) == ("late", 3)
        assert seen == [{"x": 3}]
    finally:
        from _fakeml_support import unregister

        unregister("lateml")
        sys.modules.pop("lateml", None)


def test_missing_framework_is_skipped_in_status():
    class GoneIntegration(Integration):
        name = "gone"
        module = "surely_not_installed_framework"

    registry.register_integration(GoneIntegration)
    try:
        integration_autolog("gone")()
        current = by_name()["gone"]
        assert current.state == "skipped" and "not installed" in current.reason
    finally:
        from _fakeml_support import unregister

        unregister("gone")


def test_config_must_be_the_integrations_class():
    with pytest.raises(TypeError, match="FakeMLConfig"):
        get_integration("fakeml").enable(object())  # type: ignore[arg-type]


def test_broken_plugin_path_is_reported_in_status():
    registry.register_integration("no_such_module_xyz:Thing", name="broken")
    try:
        assert by_name()["broken"].state == "skipped"
        assert "not found" in by_name()["broken"].reason
    finally:
        from _fakeml_support import unregister

        unregister("broken")


def test_on_module_imported_runs_once_for_a_module_already_imported():
    """Enabling after the framework's import hands the module over exactly once."""
    import colorsys  # imported before the integration watches it

    from _fakeml_support import unregister

    from autolog.core.patching.registry import register_integration

    seen = []

    class Probe(Integration):
        name = "probe_colorsys"
        module = "colorsys"
        supported = ">=0"

        def patches(self):
            return []

        def on_module_imported(self, module):
            seen.append(module.__name__)

    register_integration(Probe)
    try:
        get_integration("probe_colorsys").enable()
        assert seen == [colorsys.__name__]
    finally:
        unregister("probe_colorsys")
