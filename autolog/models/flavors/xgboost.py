"""The XGBoost flavor: Boosters and scikit-learn wrappers in XGBoost's own UBJSON format.

Files: ``model.ubj`` (``Booster.save_model`` / ``XGBModel.save_model``), and for a wrapper
``estimator_params.json`` with its JSON-representable ``get_params()``. The ``MLmodel``
entry follows MLflow's xgboost flavor (``data``, ``model_class``, ``model_format``,
``xgb_version``), so ``mlflow.xgboost.load_model`` reads it too. No pickle: loading runs
no code from the file.

A model fitted through a wrapper (``XGBClassifier``, ``XGBRegressor``, ``XGBRanker``, ...)
loads back as that wrapper (``predict_proba`` works); a user subclass loads as the
nearest XGBoost class it derives from. XGBoost is imported only when a model is saved or
loaded.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

from autolog import models
from autolog.core.errors import InvalidInputError

__all__ = ["FLAVOR_NAME", "XGBoostFlavor"]

FLAVOR_NAME = "xgboost"
MODEL_FORMAT = "ubj"
MODEL_FILE = f"model.{MODEL_FORMAT}"
PARAMS_FILE = "estimator_params.json"
BOOSTER_CLASS = "xgboost.core.Booster"


def _xgboost_class(model: Any) -> type:
    """The model's class, or the nearest base class that XGBoost itself defines."""
    for cls in type(model).__mro__:
        if (cls.__module__ or "").split(".")[0] == "xgboost":
            return cls
    raise InvalidInputError(
        f"The xgboost flavor saves an xgboost.Booster or an XGBoost scikit-learn model, "
        f"got {type(model).__name__}."
    )


def _json_params(params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    kept, dropped = {}, []
    for key, value in params.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            dropped.append(key)
            continue
        kept[key] = value
    return kept, dropped


class XGBoostFlavor(models.Flavor):
    name = FLAVOR_NAME
    framework_module = "xgboost"
    distribution = "xgboost"
    mlflow_loader_module = "mlflow.xgboost"
    model_path = MODEL_FILE

    def save(self, model: Any, path: str, **kwargs: Any) -> dict[str, Any]:
        if kwargs:
            raise InvalidInputError(
                f"Unknown option(s) for the xgboost flavor: {', '.join(sorted(kwargs))}."
            )
        cls = _xgboost_class(model)
        conf: dict[str, Any] = {
            "xgb_version": self.framework_version(),
            "data": MODEL_FILE,
            "model_class": f"{cls.__module__}.{cls.__qualname__}",
            "model_format": MODEL_FORMAT,
            "code": None,
        }
        model.save_model(os.path.join(path, MODEL_FILE))
        if hasattr(model, "get_params") and hasattr(model, "get_booster"):
            params, dropped = _json_params(model.get_params(deep=False))
            with open(os.path.join(path, PARAMS_FILE), "w", encoding="utf-8") as handle:
                json.dump(params, handle, indent=1, sort_keys=True)
            conf["estimator_params"] = PARAMS_FILE
            if dropped:
                conf["params_not_saved"] = sorted(dropped)
        return conf

    def load(self, path: str, flavor_conf: dict[str, Any]) -> Any:
        import xgboost

        class_path = flavor_conf.get("model_class", BOOSTER_CLASS)
        module_name, _, class_name = class_path.rpartition(".")
        if module_name.split(".")[0] != "xgboost":
            raise InvalidInputError(f"Cannot load {path!r}: model_class {class_path!r} is not "
                                    "an XGBoost class.")
        file = models.model_file(path, flavor_conf.get("data", MODEL_FILE))
        cls = getattr(importlib.import_module(module_name), class_name)
        if cls is xgboost.Booster:
            return xgboost.Booster(model_file=file)
        model = cls()
        params_file = flavor_conf.get("estimator_params")
        if params_file:
            with open(models.model_file(path, params_file), encoding="utf-8") as handle:
                params = json.load(handle)
            valid = model.get_params(deep=False)
            model.set_params(**{k: v for k, v in params.items() if k in valid})
        model.load_model(file)
        return model

    def pyfunc_predict(self, model: Any, data: Any, params: dict[str, Any] | None = None) -> Any:
        import xgboost

        if isinstance(model, xgboost.Booster):
            return model.inplace_predict(data)
        return model.predict(data)


models.register_flavor(XGBoostFlavor())
