"""The scikit-learn flavor: save, log and load fitted estimators (and Pipelines).

Models are written with the standard library's `pickle` as ``model.pkl`` with
``serialization_format: pickle`` in ``MLmodel`` -- a format MLflow's own
``mlflow.sklearn.load_model`` reads too.

Security: loading a pickle executes code chosen by whoever wrote the file. Load only
models you trust (your own runs, your own registry). autolog never loads a model on its
own: deserialization happens only in an explicit `load_model` call (this module's,
``autolog.load_model`` or ``autolog.pyfunc.load_model``).

scikit-learn itself is imported only when a model is loaded (by unpickling).
"""

from __future__ import annotations

import os
import pickle
from typing import Any

from autolog import models
from autolog.core.errors import InvalidInputError

__all__ = ["FLAVOR_NAME", "SklearnFlavor"]

FLAVOR_NAME = "sklearn"
MODEL_FILE = "model.pkl"
SERIALIZATION_PICKLE = "pickle"
SERIALIZATION_CLOUDPICKLE = "cloudpickle"


class SklearnFlavor(models.Flavor):
    name = FLAVOR_NAME
    framework_module = "sklearn"
    distribution = "scikit-learn"
    mlflow_loader_module = "mlflow.sklearn"
    model_path = MODEL_FILE

    def save(self, model: Any, path: str, **kwargs: Any) -> dict[str, Any]:
        if kwargs:
            raise InvalidInputError(
                f"Unknown option(s) for the sklearn flavor: {', '.join(sorted(kwargs))}."
            )
        with open(os.path.join(path, MODEL_FILE), "wb") as handle:
            pickle.dump(model, handle, protocol=pickle.DEFAULT_PROTOCOL)
        return {
            "pickled_model": MODEL_FILE,
            "sklearn_version": self.framework_version(),
            "serialization_format": SERIALIZATION_PICKLE,
            "code": None,
        }

    def load(self, path: str, flavor_conf: dict[str, Any]) -> Any:
        """Unpickle the estimator. Runs code from the file: load only models you trust."""
        serialization = flavor_conf.get("serialization_format", SERIALIZATION_PICKLE)
        if serialization not in (SERIALIZATION_PICKLE, SERIALIZATION_CLOUDPICKLE):
            raise InvalidInputError(
                f"Cannot load the sklearn model in {path!r}: serialization format "
                f"{serialization!r} is not supported (pickle and cloudpickle are)."
            )
        file = models.model_file(path, flavor_conf.get("pickled_model", MODEL_FILE))
        with open(file, "rb") as handle:
            # A cloudpickle file is read by pickle when cloudpickle is importable.
            return pickle.load(handle)  # noqa: S301 - explicit load of a trusted model

    def supports_pyfunc(self, model: Any) -> bool:
        return hasattr(model, "predict")

    def pyfunc_predict(self, model: Any, data: Any, params: dict[str, Any] | None = None) -> Any:
        return model.predict(_align_input(model, data))


def _align_input(model: Any, data: Any) -> Any:
    """Give the estimator the input form it was fitted on (named columns or an array)."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return data
    import numpy as np

    names = getattr(model, "feature_names_in_", None)
    if isinstance(data, pd.DataFrame):
        if names is None and hasattr(model, "n_features_in_"):
            return data.to_numpy()  # fitted on an array: avoid sklearn's feature-name warning
        return data
    if isinstance(data, (list, tuple)):
        data = np.asarray(data, dtype=object if _mixed(data) else None)
    if names is not None and isinstance(data, np.ndarray) and data.ndim == 2 \
            and data.shape[1] == len(names):
        frame = pd.DataFrame(data, columns=list(names))
        return frame.infer_objects()
    return data


def _mixed(rows: Any) -> bool:
    return any(isinstance(v, str) for row in rows for v in (row if isinstance(row, (list, tuple))
                                                              else [row]))


models.register_flavor(SklearnFlavor())
