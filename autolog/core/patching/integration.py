"""The `Integration` base class: what an integration declares, its switch (enable/disable),
activation when a module it watches is imported, and the version gate.

An integration declares what to capture (compare OpenTelemetry's ``BaseInstrumentor``)::

    class XGBoostIntegration(Integration):
        name = "xgboost"
        module = "xgboost"                  # importing it activates the integration
        distributions = ("xgboost",)        # read with importlib.metadata, never imported
        supported = ">=2.1,<4"              # PEP 440; outside it: one warning, still on
        config_class = XGBoostConfig        # an AutologConfig dataclass

        def patches(self):
            return [Patch("xgboost.training:train", on_train)]

and the core does the rest. The registry of integrations and the ``autolog()`` functions
are `autolog.core.patching.registry`'s.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from autolog.core.config import AutologConfig
from autolog.core.patching.declarations import Patch, SubclassPatch
from autolog.core.patching.install import AppliedPatch, apply_patch
from autolog.core.reporting import _log, report_internal_error

__all__ = ["Integration", "IntegrationStatus"]

#: name -> the one instance of each integration loaded in this process (the registry fills it)
_instances: dict[str, Integration] = {}
#: built-ins enabled by autolog() but not loaded yet (their framework is not imported)
_pending_options: dict[str, dict[str, Any]] = {}


@dataclass
class IntegrationStatus:
    name: str
    module: str
    state: str  # "enabled" | "waiting" | "disabled" | "skipped"
    reason: str
    framework_version: str | None = None


class Integration:
    """Base class of every integration; one instance per integration per process."""

    name: ClassVar[str] = ""
    module: ClassVar[str] = ""
    distributions: ClassVar[tuple[str, ...]] = ()
    supported: ClassVar[str | None] = None
    config_class: ClassVar[type[AutologConfig]] = AutologConfig

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._enabled = False
        self._config: AutologConfig = self.config_class()
        self._patch_list: list[Patch | SubclassPatch] | None = None
        self._applied: dict[int, AppliedPatch] = {}  # index in _patch_list -> applied
        self._version_read = False
        self._framework_version: str | None = None
        self._version_supported: bool | None = None  # None: unknown
        self._version_warned = False
        self._skip_reason: str | None = None

    # -- what subclasses provide ---------------------------------------------------------
    def patches(self) -> list[Patch | SubclassPatch]:
        return []

    def on_enable(self, config: AutologConfig) -> None:
        """Called once when the integration is switched on (not on a repeated enable)."""

    def on_disable(self) -> None:
        """Called once when the integration is switched off."""

    def on_module_imported(self, module: Any) -> None:
        """Called (enabled, version gate passed) when a watched module is imported, after
        its patches are applied: register hooks through the framework's own API here."""

    def framework_hooks(self) -> list[Callable]:
        """The hooks registered through the framework's own API (each wrapped with
        `patching.framework_hook`), so that `autolog.testing.list_hooks` lists them."""
        return []

    # -- state -----------------------------------------------------------------------------
    @property
    def config(self) -> AutologConfig:
        return self._config

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def framework_version(self) -> str | None:
        return self._framework_version

    @property
    def applied_patches(self) -> list[AppliedPatch]:
        return list(self._applied.values())

    def _patches(self) -> list[Patch | SubclassPatch]:
        if self._patch_list is None:
            self._patch_list = list(self.patches())
        return self._patch_list

    def watched_modules(self) -> list[str]:
        """The activation module, then every module a patch names (import order)."""
        names = [self.module] if self.module else []
        for patch in self._patches():
            if patch.module not in names:
                names.append(patch.module)
        return names

    # -- switching ---------------------------------------------------------------------------
    def enable(self, config: AutologConfig | None = None) -> None:
        """Switch on (or, when on, take the new config: it is read at call time)."""
        _pending_options.pop(self.name, None)  # an explicit enable supersedes autolog()'s
        if config is None:
            config = self.config_class()
        elif not isinstance(config, self.config_class):
            raise TypeError(
                f"{self.name}: config must be a {self.config_class.__name__}, "
                f"got {type(config).__name__}"
            )
        first = False
        with self._lock:
            if self._enabled:
                gate_changed = (config.disable_for_unsupported_versions
                                != self._config.disable_for_unsupported_versions)
                self._config = config
                if not gate_changed:
                    return  # patched once; the wrappers read the new config at call time
                self._revert_all()  # the version gate may decide differently now
                self._skip_reason = None
            else:
                self._config = config
                self._enabled = True
                self._skip_reason = None
                first = True
        if first:
            try:
                self.on_enable(config)
            except Exception as exc:  # noqa: BLE001
                report_internal_error(exc, f"{self.name}: on_enable", silent=config.silent)
        for module_name in self.watched_modules():
            if _watch(module_name):
                continue  # just watched: an imported module was handed over already
            module = sys.modules.get(module_name)
            if module is not None:
                self._module_imported(module)

    def disable(self) -> None:
        """Switch off: every wrapper is removed (attributes are the originals again)."""
        _pending_options.pop(self.name, None)
        with self._lock:
            if not self._enabled:
                return
            self._enabled = False
            self._skip_reason = None
            self._revert_all()
        try:
            self.on_disable()
        except Exception as exc:  # noqa: BLE001
            report_internal_error(exc, f"{self.name}: on_disable", silent=self._config.silent)

    def _revert_all(self) -> None:
        applied = list(self._applied.values())
        self._applied.clear()
        for item in reversed(applied):
            item.revert()

    # -- activation ----------------------------------------------------------------------------
    def _module_imported(self, module: Any) -> None:
        """A module this integration watches is imported (or already was)."""
        module_name = getattr(module, "__name__", None)
        if module_name != self.module and all(
            patch.module != module_name for patch in self._patches()
        ):
            return
        with self._lock:
            if not self._enabled:
                return
            if self._skip_reason is None:
                self._check_version()
            if self._skip_reason is not None:
                return
            for index, patch in enumerate(self._patches()):
                if patch.module != module_name or index in self._applied:
                    continue
                try:
                    self._applied[index] = apply_patch(patch, self, module)
                except Exception as exc:  # noqa: BLE001
                    report_internal_error(exc, f"{self.name}: applying {patch!r}",
                                          silent=self._config.silent)
            try:
                self.on_module_imported(module)
            except Exception as exc:  # noqa: BLE001
                report_internal_error(exc, f"{self.name}: on_module_imported",
                                      silent=self._config.silent)

    def _read_version(self) -> None:
        if self._version_read:
            return
        self._version_read = True
        version = None
        if self.distributions:
            import importlib.metadata as metadata

            for dist in self.distributions:
                try:
                    version = metadata.version(dist)
                    break
                except metadata.PackageNotFoundError:
                    continue
                except Exception:  # noqa: BLE001 - broken metadata: treat as unknown
                    continue
        if version is None and self.module in sys.modules:
            found = getattr(sys.modules[self.module], "__version__", None)
            version = found if isinstance(found, str) else None
        self._framework_version = version
        if version is None or not self.supported:
            return
        try:
            from packaging.specifiers import SpecifierSet
            from packaging.version import Version

            self._version_supported = SpecifierSet(self.supported).contains(
                Version(version), prereleases=True
            )
        except Exception:  # noqa: BLE001 - unparsable version: unknown, not unsupported
            self._version_supported = None

    def _check_version(self) -> None:
        self._read_version()
        if self._version_supported is not False:
            return
        off = self._config.disable_for_unsupported_versions
        if off:
            self._skip_reason = (f"{self.module} {self._framework_version} is outside the "
                                 f"supported versions {self.supported}")
        if not self._version_warned:
            self._version_warned = True
            what = "autologging for it is off (disable_for_unsupported_versions=True)" if off \
                else "autologging may not work as expected"
            message = (f"autolog: {self.name} integration is tested with {self.module} "
                       f"{self.supported}, but {self._framework_version} is installed; {what}.")
            if self._config.silent:
                _log().debug(message)
            else:
                import warnings

                from autolog.core.errors import AutologWarning

                _log().warning(message)
                warnings.warn(message, AutologWarning, stacklevel=2)

    # -- status -----------------------------------------------------------------------------------
    def status(self) -> IntegrationStatus:
        with self._lock:
            if not self._enabled:
                return IntegrationStatus(self.name, self.module, "disabled", "not enabled",
                                         self._framework_version)
            if self._skip_reason is not None:
                return IntegrationStatus(self.name, self.module, "skipped", self._skip_reason,
                                         self._framework_version)
            if self.module and self.module not in sys.modules:
                if not _is_installed(self.module):
                    return IntegrationStatus(self.name, self.module, "skipped",
                                             f"{self.module} is not installed", None)
                return IntegrationStatus(self.name, self.module, "waiting",
                                         f"waiting for `import {self.module}`", None)
            count = len(self._applied)
            reason = f"{count} patch{'es' if count != 1 else ''} applied"
            if self._version_supported is False:
                reason += f"; unsupported version (tested: {self.supported})"
            return IntegrationStatus(self.name, self.module, "enabled", reason,
                                     self._framework_version)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} enabled={self._enabled}>"


def _is_installed(module_name: str) -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):
        return False


# -- activation hooks -----------------------------------------------------------------------

_watched: set[str] = set()
_watch_lock = threading.Lock()


def _watch(module_name: str) -> bool:
    """Register our post-import hook for ``module_name`` once per process; True when this
    call registered it (it then fired at once for a module already imported, for every
    enabled integration)."""
    with _watch_lock:
        if module_name in _watched:
            return False
        _watched.add(module_name)
    from autolog.core.patching.importhooks import when_imported

    when_imported(module_name, _on_import)
    return True


def _on_import(module: Any) -> None:
    for integration in list(_instances.values()):
        if integration._enabled:
            try:
                integration._module_imported(module)
            except Exception as exc:  # noqa: BLE001 - never break the user's import
                report_internal_error(exc, f"{integration.name}: activation on import")


def _after_fork_in_child() -> None:
    global _watch_lock
    _watch_lock = threading.Lock()
    for integration in list(_instances.values()):
        integration._lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
