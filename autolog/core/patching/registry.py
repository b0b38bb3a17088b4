"""The registry of integrations and the ``autolog()`` switches.

An integration declares what to capture (compare OpenTelemetry's ``BaseInstrumentor``)::

    class XGBoostIntegration(Integration):
        name = "xgboost"
        module = "xgboost"                  # importing it activates the integration
        distributions = ("xgboost",)        # read with importlib.metadata, never imported
        supported = ">=2.1,<4"              # PEP 440; outside it: one warning, still on
        config_class = XGBoostConfig        # an AutologConfig dataclass

        def patches(self):
            return [Patch("xgboost.training:train", on_train)]

and the core does the rest. `autolog()` imports no framework: it registers one wrapt
post-import hook per module a patch names (once per module per process; the hook checks
the current state when it fires), so calling it before or after ``import xgboost``
behaves the same, and a framework already imported is patched at once. The version is
read from the installed metadata the first time one of the integration's modules is
imported.

Built-in integrations are listed by import path in `BUILTIN_INTEGRATIONS` (a module that
does not exist yet is skipped, status "not implemented"); third parties register theirs
under the ``autolog.integrations`` entry-point group
(``myframework = mypackage.autolog_plugin:MyIntegration``) or with
`register_integration`.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from autolog.core.config import ENV_DISABLE, AutologConfig, env_flag
from autolog.core.patching import integration as base
from autolog.core.patching.integration import Integration, IntegrationStatus, _pending_options
from autolog.core.reporting import _log, report_internal_error
from autolog.core.tracking import provenance

__all__ = [
    "BUILTIN_INTEGRATIONS",
    "ENTRY_POINT_GROUP",
    "Integration",
    "IntegrationStatus",
    "autolog",
    "get_integration",
    "integration_autolog",
    "integration_names",
    "register_integration",
    "status",
]

ENTRY_POINT_GROUP = "autolog.integrations"

BUILTIN_INTEGRATIONS: dict[str, str] = {
    "sklearn": "autolog.integrations.sklearn:SklearnIntegration",
    "xgboost": "autolog.integrations.xgboost:XGBoostIntegration",
    "lightgbm": "autolog.integrations.lightgbm:LightGBMIntegration",
    "catboost": "autolog.integrations.catboost:CatBoostIntegration",
    "keras": "autolog.integrations.keras:KerasIntegration",
    "torch": "autolog.integrations.torch:TorchIntegration",
    "lightning": "autolog.integrations.lightning:LightningIntegration",
    "transformers": "autolog.integrations.transformers:TransformersIntegration",
    "seeds": "autolog.integrations.seeds:SeedsIntegration",
    "optuna": "autolog.integrations.optuna:OptunaIntegration",
}

# For `status()` of a built-in whose module cannot be loaded.
_BUILTIN_FRAMEWORK_MODULES = {
    "sklearn": "sklearn",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "keras": "keras",
    "torch": "torch",
    "lightning": "lightning",
    "transformers": "transformers",
    "optuna": "optuna",
}

#: What `autolog()` needs to know of a built-in before importing its module: the modules
#: whose import activates it, and its own options (beyond AutologConfig's). `autolog()`
#: imports an integration module only when one of these modules is (or gets) imported,
#: so that enabling costs next to nothing. tests/test_integration_lazy.py checks this
#: table against the integrations' config classes.
BUILTIN_TRIGGERS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "sklearn": (("sklearn",), frozenset({"log_training_metrics", "log_post_training_metrics",
                                         "log_plots", "max_tuning_runs"})),
    "xgboost": (("xgboost",), frozenset({"importance_types", "log_feature_importance_plot"})),
    "lightgbm": (("lightgbm",), frozenset({"importance_types", "log_feature_importance_plot"})),
    "catboost": (("catboost",), frozenset({"log_feature_importance_plot"})),
    "keras": (("keras",), frozenset()),
    "torch": (("torch",), frozenset({"log_checkpoints", "checkpoint_max_mb",
                                     "log_all_ranks"})),
    "lightning": (("lightning", "pytorch_lightning"), frozenset()),
    "transformers": (("transformers",), frozenset()),
    "optuna": (("optuna",), frozenset()),
}


# -- registry --------------------------------------------------------------------------------

_registry_lock = threading.RLock()
_specs: dict[str, str | type[Integration]] = dict(BUILTIN_INTEGRATIONS)
_load_errors: dict[str, str] = {}
_entry_points_loaded = False


def _after_fork_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def register_integration(integration: type[Integration] | str, name: str | None = None) -> str:
    """Add an integration class (or its ``"module:Class"`` path) to the registry."""
    if name is None:
        if isinstance(integration, str):
            raise TypeError("register_integration() needs name= with an import path")
        name = integration.name
    if not name:
        raise ValueError("an integration needs a name")
    with _registry_lock:
        current = base._instances.get(name)
        if current is not None and not (isinstance(integration, type)
                                        and type(current) is integration):
            current.disable()
            del base._instances[name]
        _specs[name] = integration
        _load_errors.pop(name, None)
    return name


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    try:
        found = _scan_entry_points(ENTRY_POINT_GROUP)
    except Exception as exc:  # noqa: BLE001
        report_internal_error(exc, f"reading the {ENTRY_POINT_GROUP} entry points")
        return
    with _registry_lock:
        for name, value in found:
            if name in BUILTIN_INTEGRATIONS:
                _log().debug("autolog: entry point %s ignored: a built-in has that name",
                                    name)
                continue
            _specs.setdefault(name, value)


def _scan_entry_points(group: str) -> list[tuple[str, str]]:
    """``(name, "module:attr")`` of the entry points in ``group``, first on sys.path wins.

    `importlib.metadata.entry_points` builds every distribution's metadata (about 5 ms in
    a 100-package environment, more in larger ones), which alone would spend the budget of
    `autolog()`. Reading only the ``entry_points.txt`` files of the ``*.dist-info`` and
    ``*.egg-info`` directories on sys.path is about four times faster; a sys.path entry
    that is not a directory (a zip) falls back to importlib.metadata.
    """
    header = f"[{group}]"
    result: list[tuple[str, str]] = []
    seen: set[str] = set()
    for entry in sys.path:
        directory = entry or "."
        try:
            names = os.listdir(directory)
        except NotADirectoryError:
            from importlib.metadata import entry_points

            return [(ep.name, ep.value) for ep in entry_points(group=group)]
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(directory, name, "entry_points.txt"),
                          encoding="utf-8") as handle:
                    text = handle.read()
            except OSError:
                continue
            if header not in text:
                continue
            for ep_name, value in _parse_group(text, header):
                if ep_name not in seen:
                    seen.add(ep_name)
                    result.append((ep_name, value))
    return result


def _parse_group(text: str, header: str) -> list[tuple[str, str]]:
    entries = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            inside = line == header
            continue
        if inside and "=" in line:
            name, _, value = line.partition("=")
            value = value.split("[", 1)[0].strip()  # drop "[extras]"
            entries.append((name.strip(), value))
    return entries


def integration_names() -> list[str]:
    """Every registered integration name: built-ins first, then third-party ones."""
    _load_entry_points()
    with _registry_lock:
        return list(_specs)


def _load(name: str) -> Integration | None:
    """The integration's singleton, or None (reason in ``_load_errors``)."""
    with _registry_lock:
        instance = base._instances.get(name)
        if instance is not None:
            return instance
        if name in _load_errors:
            return None
        spec = _specs.get(name)
        if spec is None:
            _load_errors[name] = "unknown integration"
            return None
    if isinstance(spec, str):
        module_name, _, attribute = spec.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                target = getattr(target, part)
            cls = target
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if module_name == missing or module_name.startswith(missing + "."):
                _load_errors[name] = ("not implemented" if name in BUILTIN_INTEGRATIONS
                                      else f"module {module_name} not found")
                return None
            _load_errors[name] = f"failed to load: {type(exc).__name__}: {exc}"
            report_internal_error(exc, f"loading integration {name}")
            return None
        except Exception as exc:  # noqa: BLE001
            _load_errors[name] = f"failed to load: {type(exc).__name__}: {exc}"
            report_internal_error(exc, f"loading integration {name}")
            return None
    else:
        cls = spec
    if not (isinstance(cls, type) and issubclass(cls, Integration)):
        _load_errors[name] = f"{spec!r} is not an Integration subclass"
        return None
    with _registry_lock:
        instance = base._instances.get(name)
        if instance is None:
            instance = cls()
            base._instances[name] = instance
    return instance


def get_integration(name: str) -> Integration:
    """The integration ``name`` (loaded on first use); LookupError when unavailable."""
    _load_entry_points()
    instance = _load(name)
    if instance is None:
        raise LookupError(f"integration {name!r} is not available: {_load_errors.get(name)}")
    return instance


def _loaded_integrations() -> list[Integration]:
    result = []
    for name in integration_names():
        instance = _load(name)
        if instance is not None:
            result.append(instance)
    return result


# -- the top-level functions --------------------------------------------------------------------


def _check_options(options: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(
            f"{where} got unexpected option{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}; valid options: {', '.join(sorted(allowed))}"
        )


def autolog(**options: Any) -> None:
    """Turn autologging on for every integration (each when its framework is imported).

    Options are `AutologConfig`'s plus any integration's own; ``disable=True`` turns all
    off. With ``AUTOLOG_DISABLE`` set this does nothing. A built-in integration whose
    framework is not imported yet is not even imported: it waits (`BUILTIN_TRIGGERS`).
    """
    if env_flag(ENV_DISABLE):
        return
    waiting = [name for name in integration_names() if _waits_for_import(name)]
    integrations = [i for i in (_load(n) for n in integration_names() if n not in waiting)
                    if i is not None]
    allowed = {f.name for f in fields(AutologConfig)}
    for integration in integrations:
        allowed |= {f.name for f in fields(integration.config_class)}
    for name in waiting:
        allowed |= BUILTIN_TRIGGERS[name][1]
    _check_options(options, allowed, "autolog()")
    provenance.configure(options, user_runs=not options.get("disable"))
    if options.get("disable"):
        for name in waiting:
            _pending_options.pop(name, None)
        for integration in integrations:
            integration.disable()
        return
    for name in waiting:
        _pending_options[name] = dict(options)
        for module_name in BUILTIN_TRIGGERS[name][0]:
            from autolog.core.patching.importhooks import when_imported

            if (name, module_name) not in _trigger_watched:
                _trigger_watched.add((name, module_name))
                when_imported(module_name, functools.partial(_load_pending, name))
    for integration in integrations:
        _enable_with(integration, options)


_trigger_watched: set[tuple[str, str]] = set()


def _waits_for_import(name: str) -> bool:
    """A built-in not loaded yet whose framework is not imported: leave it for later."""
    if name not in BUILTIN_TRIGGERS or name in base._instances or name in _load_errors:
        return False
    return not any(module in sys.modules for module in BUILTIN_TRIGGERS[name][0])


def _load_pending(name: str, module: Any) -> None:
    """The framework of a waiting built-in was imported: load and enable it now."""
    options = _pending_options.pop(name, None)
    if options is None:
        return  # disabled meanwhile, or already enabled
    try:
        integration = _load(name)
        if integration is not None:
            _enable_with(integration, options)
    except Exception as exc:  # noqa: BLE001 - never break the user's import
        report_internal_error(exc, f"{name}: activation on import")


def _enable_with(integration: Integration, options: dict[str, Any]) -> None:
    try:
        config = integration.config_class.from_options(options)
    except Exception as exc:  # noqa: BLE001 - a bad value for one integration's option
        report_internal_error(exc, f"{integration.name}: configuration")
        return
    integration.enable(config)


def integration_autolog(name: str) -> Callable[..., None]:
    """The ``autolog.<name>.autolog(**options)`` function of one integration."""

    def autolog(**options: Any) -> None:
        if env_flag(ENV_DISABLE):
            return
        integration = get_integration(name)
        _check_options(options, {f.name for f in fields(integration.config_class)},
                       f"autolog.{name}.autolog()")
        provenance.configure(options, user_runs=None)
        if options.get("disable"):
            integration.disable()
            return
        integration.enable(integration.config_class.from_options(options))

    autolog.__name__ = "autolog"
    autolog.__qualname__ = f"{name}.autolog"
    autolog.__doc__ = (f"Turn autologging for {name} on (disable=True: off). Takes the "
                       f"common options plus the {name} integration's own.")
    return autolog


def status() -> list[IntegrationStatus]:
    """Which integrations are on, which wait for their framework, which were skipped."""
    result = []
    for name in integration_names():
        if name in _pending_options and name not in base._instances:
            triggers = " or ".join(BUILTIN_TRIGGERS[name][0])
            result.append(IntegrationStatus(name, BUILTIN_TRIGGERS[name][0][0], "waiting",
                                            f"waiting for `import {triggers}`", None))
            continue
        instance = _load(name)
        if instance is None:
            module = _BUILTIN_FRAMEWORK_MODULES.get(name, "")
            result.append(IntegrationStatus(name, module, "skipped",
                                            _load_errors.get(name, "unavailable"), None))
        else:
            result.append(instance.status())
    return result
