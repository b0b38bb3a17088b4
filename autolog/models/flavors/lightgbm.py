"""The LightGBM flavor: Boosters and scikit-learn wrappers in LightGBM's own text format.

Files: ``model.lgb`` (``Booster.save_model``: the text model, best iteration when early
stopping ran), and for a scikit-learn wrapper ``estimator_params.json`` (its
JSON-representable ``get_params()``) and ``estimator_state.json`` (classes, feature count,
objective: what the wrapper needs to predict). No pickle: loading runs no code from the
file.

The ``MLmodel`` entry follows MLflow's lightgbm flavor (``data``, ``model_class``,
``lgb_version``) with ``model_class: lightgbm.basic.Booster``, so MLflow's
``mlflow.lightgbm.load_model`` reads it as a Booster; autolog's `load_model` rebuilds the
wrapper named by ``sklearn_model_class`` (``predict_proba`` works). Rebuilding sets the
wrapper's fitted attributes the way its ``fit`` does (tested with LightGBM 4.x). A custom
objective function is not saved: such a wrapper predicts raw scores after loading.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

from autolog import models
from autolog.core.errors import InvalidInputError

__all__ = ["FLAVOR_NAME", "LightGBMFlavor"]

FLAVOR_NAME = "lightgbm"
MODEL_FILE = "model.lgb"
PARAMS_FILE = "estimator_params.json"
STATE_FILE = "estimator_state.json"
BOOSTER_CLASS = "lightgbm.basic.Booster"


def _lightgbm_class(model: Any) -> type:
    for cls in type(model).__mro__:
        if (cls.__module__ or "").split(".")[0] == "lightgbm":
            return cls
    raise InvalidInputError(
        f"The lightgbm flavor saves a lightgbm.Booster or a LightGBM scikit-learn model, "
        f"got {type(model).__name__}."
    )


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays to JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


class LightGBMFlavor(models.Flavor):
    name = FLAVOR_NAME
    framework_module = "lightgbm"
    distribution = "lightgbm"
    mlflow_loader_module = "mlflow.lightgbm"
    model_path = MODEL_FILE

    def save(self, model: Any, path: str, **kwargs: Any) -> dict[str, Any]:
        if kwargs:
            raise InvalidInputError(
                f"Unknown option(s) for the lightgbm flavor: {', '.join(sorted(kwargs))}."
            )
        cls = _lightgbm_class(model)
        conf: dict[str, Any] = {
            "lgb_version": self.framework_version(),
            "data": MODEL_FILE,
            "model_class": BOOSTER_CLASS,
            "code": None,
        }
        booster = model.booster_ if hasattr(model, "booster_") else model
        booster.save_model(os.path.join(path, MODEL_FILE))
        if booster is not model:
            conf["sklearn_model_class"] = f"{cls.__module__}.{cls.__qualname__}"
            params, dropped = {}, []
            for key, value in model.get_params(deep=False).items():
                try:
                    json.dumps(value)
                except (TypeError, ValueError):
                    dropped.append(key)
                    continue
                params[key] = value
            state: dict[str, Any] = {
                "n_features": int(booster.num_feature()),
                "objective": model._objective if isinstance(model._objective, str) else None,
                "fitted_with_feature_names": bool(
                    getattr(model, "_fitted_with_feature_names", False)),
                "best_iteration": int(getattr(model, "_best_iteration", 0) or 0),
            }
            classes = getattr(model, "_classes", None)
            if classes is not None:
                state["classes"] = _plain(classes)
            with open(os.path.join(path, PARAMS_FILE), "w", encoding="utf-8") as handle:
                json.dump(params, handle, indent=1, sort_keys=True)
            with open(os.path.join(path, STATE_FILE), "w", encoding="utf-8") as handle:
                json.dump(state, handle, indent=1, sort_keys=True)
            conf["estimator_params"] = PARAMS_FILE
            conf["estimator_state"] = STATE_FILE
            if dropped:
                conf["params_not_saved"] = sorted(dropped)
        return conf

    def load(self, path: str, flavor_conf: dict[str, Any]) -> Any:
        import lightgbm

        file = models.model_file(path, flavor_conf.get("data", MODEL_FILE))
        class_path = flavor_conf.get("sklearn_model_class")
        if class_path is None and flavor_conf.get("model_class", BOOSTER_CLASS) != BOOSTER_CLASS:
            raise InvalidInputError(
                f"Cannot load {path!r}: its {flavor_conf.get('model_class')} is stored with "
                "pickle (as MLflow stores LightGBM scikit-learn models); autolog loads only "
                "LightGBM's text format. Use mlflow.lightgbm.load_model for it."
            )
        booster = lightgbm.Booster(model_file=file)
        if class_path is None:
            return booster
        module_name, _, class_name = class_path.rpartition(".")
        if module_name.split(".")[0] != "lightgbm":
            raise InvalidInputError(f"Cannot load {path!r}: {class_path!r} is not a LightGBM "
                                    "class.")
        cls = getattr(importlib.import_module(module_name), class_name)
        with open(models.model_file(path, flavor_conf["estimator_params"]),
                  encoding="utf-8") as handle:
            params = json.load(handle)
        with open(models.model_file(path, flavor_conf["estimator_state"]),
                  encoding="utf-8") as handle:
            state = json.load(handle)
        model = cls()
        valid = model.get_params(deep=False)
        model.set_params(**{k: v for k, v in params.items() if k in valid})
        _restore_fitted(model, booster, state)
        return model

    def pyfunc_predict(self, model: Any, data: Any, params: dict[str, Any] | None = None) -> Any:
        return model.predict(data)


def _restore_fitted(model: Any, booster: Any, state: dict[str, Any]) -> None:
    """Set what LGBMModel.fit sets, from the booster and the saved state."""
    model._Booster = booster
    model._n_features = booster.num_feature()
    model._n_features_in = booster.num_feature()
    model._fitted_with_feature_names = bool(state.get("fitted_with_feature_names"))
    model._objective = state.get("objective") or model.objective
    model._best_iteration = int(state.get("best_iteration") or 0)
    model._best_score = {}
    model._evals_result = {}
    classes = state.get("classes")
    if classes is not None:
        import numpy as np
        from lightgbm.compat import _LGBMLabelEncoder

        encoder = _LGBMLabelEncoder().fit(np.asarray(classes))
        model._le = encoder
        model._classes = encoder.classes_
        model._n_classes = len(encoder.classes_)
        model._class_map = dict(zip(encoder.classes_, encoder.transform(encoder.classes_)))
    model.fitted_ = True


models.register_flavor(LightGBMFlavor())
