"""A scikit-learn-style estimator's params as loggable values (nested estimators by class
name, large arrays by shape): shared by the scikit-learn integration and cross-validation."""

from __future__ import annotations

from typing import Any

__all__ = ["estimator_params", "param_value"]


def estimator_params(estimator: Any) -> dict[str, Any]:
    """``get_params(deep=True)`` with estimators as their class names."""
    try:
        params = estimator.get_params(deep=True)
    except TypeError:
        params = estimator.get_params()
    return {str(key): param_value(value) for key, value in params.items()}


def param_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "get_params") and hasattr(value, "fit"):
        return type(value).__name__
    if isinstance(value, (list, tuple)):
        return str(type(value)(param_value(v) for v in value)) if len(value) < 1000 \
            else f"{type(value).__name__} of {len(value)} items"
    if isinstance(value, type) or callable(value):
        return getattr(value, "__qualname__", None) or getattr(value, "__name__", None) \
            or type(value).__name__
    shape = getattr(value, "shape", None)
    if shape is not None and getattr(value, "size", 0) > 100:  # a large array: no repr
        return f"{type(value).__name__} of shape {tuple(shape)}"
    return value
