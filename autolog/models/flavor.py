"""Flavors: how one framework's model is saved, loaded and predicted with; the registry
of flavors by MLflow's flavor name (built-ins imported lazily by name)."""

import functools
import importlib
from importlib import metadata as importlib_metadata
from typing import Any

from autolog.core.errors import (
    InvalidInputError,
)

__all__ = ["Flavor", "get_flavor", "known_flavors", "register_flavor"]

PYFUNC_FLAVOR = "python_function"


@functools.cache
def _dist_version(name: str) -> str | None:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return None


class Flavor:
    """How one framework saves and loads its models. Subclass and `register_flavor`.

    Class attributes:

    - ``name``: MLflow's flavor name ("sklearn", "xgboost", "pytorch", ...), the key of
      the flavor's entry in ``MLmodel``.
    - ``framework_module``: the import name ("sklearn").
    - ``distribution``: the pip distribution name ("scikit-learn"); defaults to the module.
    - ``mlflow_loader_module``: MLflow's module for this flavor ("mlflow.sklearn"), written
      as the ``python_function`` entry's ``loader_module`` so MLflow's pyfunc can load it.
    - ``model_path``: the file or directory holding the model, relative to the model
      directory (the ``python_function`` entry's ``model_path``).
    """

    name: str = ""
    framework_module: str = ""
    distribution: str = ""
    mlflow_loader_module: str | None = None
    model_path: str = "model"

    def framework_version(self) -> str | None:
        """The installed framework version, from package metadata (never imports it)."""
        for dist in (self.distribution, self.framework_module):
            version = _dist_version(dist) if dist else None
            if version is not None:
                return version
        return None

    def pip_requirements(self) -> list[str]:
        """Requirements written to requirements.txt: the framework, pinned."""
        dist = self.distribution or self.framework_module
        version = self.framework_version()
        return [f"{dist}=={version}" if version else dist] if dist else []

    def save(self, model: Any, path: str, **kwargs: Any) -> dict[str, Any]:
        """Write the serialized model into the directory ``path``; return the flavor's
        ``MLmodel`` entry (a dict of plain values)."""
        raise NotImplementedError

    def load(self, path: str, flavor_conf: dict[str, Any]) -> Any:
        """Load the native model from the model directory ``path``."""
        raise NotImplementedError

    def pyfunc_predict(self, model: Any, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict for `autolog.pyfunc`; ``data`` is a DataFrame or an array."""
        return model.predict(data)

    def supports_pyfunc(self, model: Any) -> bool:
        """Whether to write a ``python_function`` entry (MLflow omits it for sklearn
        transformers without ``predict``)."""
        return True

    def pyfunc_entry(self, flavor_conf: dict[str, Any]) -> dict[str, Any]:
        """Extra keys for the ``python_function`` entry (MLflow's loader conventions)."""
        return {"model_path": self.model_path, "predict_fn": "predict"}

    def __repr__(self) -> str:
        return f"<Flavor {self.name!r}>"


_flavors: dict[str, Flavor] = {}


def register_flavor(flavor: Flavor | type[Flavor]) -> Flavor:
    """Make a flavor known by its name (an instance or a class, instantiated here)."""
    instance = flavor() if isinstance(flavor, type) else flavor
    if not isinstance(instance, Flavor) or not instance.name:
        raise InvalidInputError(f"register_flavor needs a Flavor with a name, got {flavor!r}.")
    _flavors[instance.name] = instance
    return instance


def known_flavors() -> list[str]:
    """Flavor names registered or built in (importable on demand)."""
    from autolog.models.flavors import BUILTIN_FLAVORS

    return sorted(set(_flavors) | set(BUILTIN_FLAVORS))


def get_flavor(name: str | Flavor) -> Flavor:
    """The flavor called ``name``, importing its built-in module on first use."""
    if isinstance(name, Flavor):
        return name
    from autolog.models.flavors import BUILTIN_FLAVORS, FLAVOR_ALIASES

    if not isinstance(name, str):
        raise InvalidInputError(f"Invalid flavor {name!r}: expected a flavor name.")
    key = FLAVOR_ALIASES.get(name, name)
    found = _flavors.get(key)
    if found is not None:
        return found
    module = BUILTIN_FLAVORS.get(key)
    if module is not None:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
        found = _flavors.get(key)
        if found is not None:
            return found
    available = sorted(set(_flavors) | {k for k, m in BUILTIN_FLAVORS.items() if _importable(m)})
    raise InvalidInputError(
        f"Unknown model flavor {name!r}; available: {', '.join(available) or 'none'}."
    )


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
