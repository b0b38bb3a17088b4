"""Configuration: the options every integration shares, and environment variables.

Each integration declares a dataclass deriving from `AutologConfig` with its own extra
options; `autolog.autolog(**options)` builds one per integration from the options that
integration knows, so an option only some integrations understand is not an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

ENV_TRACKING_URI = "AUTOLOG_TRACKING_URI"
ENV_EXPERIMENT_NAME = "AUTOLOG_EXPERIMENT_NAME"
ENV_RUN_NAME = "AUTOLOG_RUN_NAME"
ENV_STRICT = "AUTOLOG_STRICT"
ENV_DISABLE = "AUTOLOG_DISABLE"
ENV_SYSTEM_METRICS = "AUTOLOG_ENABLE_SYSTEM_METRICS"
ENV_SYSTEM_METRICS_INTERVAL = "AUTOLOG_SYSTEM_METRICS_SAMPLING_INTERVAL"

_TRUE = {"1", "true", "yes", "on"}


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in _TRUE


def is_strict() -> bool:
    """``AUTOLOG_STRICT=1``: internal errors raise instead of warning (the test suite)."""
    return env_flag(ENV_STRICT)


@dataclass
class AutologConfig:
    """Options common to every integration (MLflow's names where MLflow has them)."""

    log_models: bool = True
    log_datasets: bool = True
    log_input_examples: bool = False
    log_model_signatures: bool = True
    log_system_metrics: bool = False
    log_every_n_steps: int | None = None
    disable: bool = False
    exclusive: bool = False
    disable_for_unsupported_versions: bool = False
    silent: bool = False
    registered_model_name: str | None = None
    extra_tags: dict[str, str] | None = field(default=None)
    log_code: bool = True  # command, git commit and diff (core.provenance)
    log_environment: bool = True  # python, platform, packages, framework versions

    @classmethod
    def from_options(cls, options: dict[str, object]) -> AutologConfig:
        """Build from keyword options, ignoring ones this integration does not define."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in options.items() if k in known})

    @classmethod
    def option_names(cls) -> set[str]:
        return {f.name for f in fields(cls)}
