"""autolog: one line, and every training call is recorded.

    import autolog
    autolog.autolog()

This module only hands names on (see DESIGN.md). Integrations are reachable as
``autolog.sklearn``, ``autolog.xgboost``, ... and are imported on first access, so
``import autolog`` imports no ML framework and no NumPy.
"""

from __future__ import annotations

import importlib
from typing import Any

from autolog.core.entities import (
    DatasetInput,
    Experiment,
    LoggedModel,
    Metric,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
)
from autolog.core.errors import (
    AutologException,
    AutologWarning,
    InvalidInputError,
    ResourceNotFoundError,
    RunStateError,
    StoreNotFoundError,
    StoreUnavailableError,
)
from autolog.core.tracking.client import Client
from autolog.core.tracking.context import get_tracking_uri, set_experiment, set_tracking_uri
from autolog.core.tracking.fluent import (
    flush,
    get_experiment_by_name,
    get_metric_history,
    get_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    search_runs,
    set_tag,
    set_tags,
)
from autolog.core.tracking.runs import active_run, end_run, last_active_run, start_run

__version__ = "0.1.0"

# Names resolved on first use, so that `import autolog` stays light.
_LAZY_ATTRIBUTES = {
    "autolog": ("autolog.core.patching.registry", "autolog"),
    "status": ("autolog.core.patching.registry", "status"),
    "load_model": ("autolog.models", "load_model"),
    "register_model": ("autolog.models", "register_model"),
    "dataset_input": ("autolog.core.tracking.datasets", "dataset_input"),
}
_LAZY_MODULES = {
    "pyfunc": "autolog.models.pyfunc",
    "testing": "autolog.testing",
}


def _faces() -> Any:
    """The table of ``autolog.<framework>`` faces, imported on the first such lookup."""
    return importlib.import_module("autolog._frameworks")


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRIBUTES:
        module_name, attribute = _LAZY_ATTRIBUTES[name]
        value = getattr(importlib.import_module(module_name), attribute)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(_LAZY_MODULES[name])
    elif name in _faces().FRAMEWORKS:  # autolog.sklearn, autolog.optuna, ...
        value = _faces().namespace(name)
    else:
        raise AttributeError(f"module 'autolog' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_ATTRIBUTES) | set(_LAZY_MODULES)
                  | set(_faces().FRAMEWORKS))


__all__ = [
    "AutologException",
    "AutologWarning",
    "Client",
    "DatasetInput",
    "Experiment",
    "InvalidInputError",
    "LoggedModel",
    "Metric",
    "Param",
    "ResourceNotFoundError",
    "Run",
    "RunInfo",
    "RunStateError",
    "RunStatus",
    "RunTag",
    "StoreNotFoundError",
    "StoreUnavailableError",
    "active_run",
    "autolog",
    "dataset_input",
    "end_run",
    "flush",
    "get_experiment_by_name",
    "get_metric_history",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "register_model",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    "status",
]
