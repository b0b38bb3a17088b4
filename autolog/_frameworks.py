"""The per-framework faces: ``autolog.sklearn``, ``autolog.xgboost``, ``autolog.keras``, ...

Each joins under one name what a user reaches for: the integration's switch and
callbacks (``autolog.xgboost.autolog``, ``autolog.xgboost.AutologCallback``, from
``autolog.integrations.<name>``) and the flavor's model functions (``log_model``,
``save_model``, ``load_model``), written once here for every flavor. ``log_model`` is
where the active run is looked up (one is started when none is active, as MLflow does):
`autolog.models` itself only takes a run id.
"""

from __future__ import annotations

import importlib
import os
import types
from collections.abc import Callable
from typing import Any

__all__ = ["FRAMEWORKS", "namespace"]

#: face name -> (integration module, flavor name or None)
FRAMEWORKS: dict[str, tuple[str, str | None]] = {
    "sklearn": ("autolog.integrations.sklearn", "sklearn"),
    "xgboost": ("autolog.integrations.xgboost", "xgboost"),
    "lightgbm": ("autolog.integrations.lightgbm", "lightgbm"),
    "catboost": ("autolog.integrations.catboost", "catboost"),
    "keras": ("autolog.integrations.keras", "keras"),
    "tensorflow": ("autolog.integrations.keras", "keras"),
    "torch": ("autolog.integrations.torch", "pytorch"),
    "pytorch": ("autolog.integrations.torch", "pytorch"),
    "lightning": ("autolog.integrations.lightning", None),
    "transformers": ("autolog.integrations.transformers", "transformers"),
    "optuna": ("autolog.integrations.optuna", None),
}


def model_functions(flavor: str) -> dict[str, Callable[..., Any]]:
    """``log_model``, ``save_model`` and ``load_model`` for ``flavor`` (MLflow's name), plus
    what the flavor's module adds (``autolog.pytorch.load_state_dict``)."""
    from autolog import models

    def log_model(model: Any, name: str = "model", input_example: Any = None,
                  signature: Any = None, registered_model_name: str | None = None,
                  metadata: dict[str, Any] | None = None, *, artifact_path: str | None = None,
                  run_id: str | None = None, **flavor_kwargs: Any) -> models.ModelInfo:
        uri = None
        if run_id is None:
            from autolog.core.tracking.runs import active_run, start_run

            run = active_run() or start_run()
            run_id, uri = run.info.run_id, run.uri
        return models.log_model(model, flavor, name, input_example, signature,
                                registered_model_name, metadata, artifact_path=artifact_path,
                                run_id=run_id, tracking_uri=uri, **flavor_kwargs)

    def save_model(model: Any, path: str | os.PathLike, input_example: Any = None,
                   signature: Any = None, metadata: dict[str, Any] | None = None,
                   **flavor_kwargs: Any) -> models.ModelMetadata:
        return models.save_model(model, path, flavor, input_example, signature, metadata,
                                 **flavor_kwargs)

    def load_model(model_uri: str | os.PathLike) -> Any:
        return models.load_model(model_uri, flavor=flavor)

    log_model.__doc__ = (
        f"Log a model with the {flavor} flavor as the artifact directory ``name`` of the "
        "active run (one is started when none is active), or of ``run_id``; register it "
        "as ``registered_model_name`` when given. Returns a `ModelInfo`.")
    save_model.__doc__ = (f"Save a model with the {flavor} flavor as a model directory at "
                          "``path`` (which must not exist or be empty).")
    load_model.__doc__ = (f"Load a {flavor} model from any model URI (``runs:/``, "
                          "``models:/``, a path), written by autolog or by MLflow.")
    functions: dict[str, Callable[..., Any]] = {
        "log_model": log_model, "save_model": save_model, "load_model": load_model}
    module = importlib.import_module(models.get_flavor(flavor).__module__)
    for extra in getattr(module, "FACE", ()):  # the flavor's own additions or overrides
        functions[extra] = getattr(module, extra)
    return functions


class FrameworkNamespace(types.ModuleType):
    """``autolog.<name>``: the model functions, then the integration module's names."""

    def __init__(self, name: str, integration: str, flavor: str | None) -> None:
        super().__init__(f"autolog.{name}")
        self.__integration = importlib.import_module(integration)
        self.__doc__ = self.__integration.__doc__
        if flavor is not None:
            self.__dict__.update(model_functions(flavor))

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.__integration, attribute)

    def __dir__(self) -> list[str]:
        return sorted(set(self.__dict__) | set(getattr(self.__integration, "__all__", ())))


def namespace(name: str) -> FrameworkNamespace:
    integration, flavor = FRAMEWORKS[name]
    return FrameworkNamespace(name, integration, flavor)
