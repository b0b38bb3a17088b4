"""The CatBoost flavor: CatBoost models in CatBoost's own binary format (``.cbm``).

Files: ``model.cbm`` (``save_model(format="cbm")``: trees, feature names and types, class
names, the params the model was trained with). No pickle: loading runs no code from the
file.

The ``MLmodel`` entry is MLflow's catboost flavor (``data``, ``model_type``,
``save_format``, ``catboost_version``), so ``mlflow.catboost.load_model`` and MLflow's
pyfunc read a model autolog wrote, and autolog's `load_model` reads one MLflow wrote
(its file is ``model.cb``; ``data`` names it). ``model_type`` is the CatBoost class the
model is rebuilt as: ``CatBoost``, ``CatBoostClassifier``, ``CatBoostRegressor`` or
``CatBoostRanker`` -- a subclass of the user's own is saved as the CatBoost class it
derives from (its name is kept in ``python_class``), since loading must not import user
code.
"""

from __future__ import annotations

import os
from typing import Any

from autolog import models
from autolog.core.errors import InvalidInputError

__all__ = ["FLAVOR_NAME", "CatBoostFlavor"]

FLAVOR_NAME = "catboost"
MODEL_FILE = "model.cbm"
SAVE_FORMAT = "cbm"
#: The classes a model is rebuilt as (MLflow's `_init_model` accepts these names).
MODEL_TYPES = ("CatBoostClassifier", "CatBoostRegressor", "CatBoostRanker", "CatBoost")


def _model_type(model: Any) -> str:
    """The CatBoost class ``model`` is saved as: its own, or the first CatBoost one it
    derives from."""
    for cls in type(model).__mro__:
        if (cls.__module__ or "").split(".")[0] == "catboost" and cls.__name__ in MODEL_TYPES:
            return cls.__name__
    raise InvalidInputError(
        f"The catboost flavor saves a CatBoost, CatBoostClassifier, CatBoostRegressor or "
        f"CatBoostRanker model, got {type(model).__name__}."
    )


class CatBoostFlavor(models.Flavor):
    name = FLAVOR_NAME
    framework_module = "catboost"
    distribution = "catboost"
    mlflow_loader_module = "mlflow.catboost"
    model_path = MODEL_FILE

    def save(self, model: Any, path: str, **kwargs: Any) -> dict[str, Any]:
        if kwargs:
            raise InvalidInputError(
                f"Unknown option(s) for the catboost flavor: {', '.join(sorted(kwargs))}."
            )
        model_type = _model_type(model)
        if not model.is_fitted():
            raise InvalidInputError("The catboost flavor saves a fitted model; call fit first.")
        model.save_model(os.path.join(path, MODEL_FILE), format=SAVE_FORMAT)
        conf: dict[str, Any] = {
            "catboost_version": self.framework_version(),
            "code": None,
            "data": MODEL_FILE,
            "model_type": model_type,
            "save_format": SAVE_FORMAT,
        }
        cls = type(model)
        if cls.__name__ != model_type or (cls.__module__ or "").split(".")[0] != "catboost":
            conf["python_class"] = f"{cls.__module__}.{cls.__qualname__}"
        return conf

    def load(self, path: str, flavor_conf: dict[str, Any]) -> Any:
        import catboost

        model_type = flavor_conf.get("model_type") or "CatBoost"
        if model_type not in MODEL_TYPES:
            raise InvalidInputError(f"Cannot load {path!r}: model_type {model_type!r} is not "
                                    f"one of {', '.join(MODEL_TYPES)}.")
        save_format = flavor_conf.get("save_format") or SAVE_FORMAT
        file = models.model_file(path, flavor_conf.get("data", MODEL_FILE))
        model = getattr(catboost, model_type)()
        model.load_model(file, format=save_format)
        return model

    def pyfunc_predict(self, model: Any, data: Any, params: dict[str, Any] | None = None) -> Any:
        return model.predict(data)

    def pyfunc_entry(self, flavor_conf: dict[str, Any]) -> dict[str, Any]:
        # MLflow's catboost pyfunc entry names the file as ``data`` (its loader reads it).
        return {"model_path": MODEL_FILE, "data": MODEL_FILE, "predict_fn": "predict"}


models.register_flavor(CatBoostFlavor())
