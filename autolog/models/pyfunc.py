"""``autolog.pyfunc``: one interface, ``predict(data)``, for a model of any flavor.

    model = autolog.pyfunc.load_model("models:/churn@champion")
    model.predict(df)            # a pandas DataFrame, a NumPy array or a list of rows

When the model has a column-based signature, a DataFrame is narrowed and reordered to
the signature's columns (a missing column is a clear error), and a 2-D array with the
right number of columns is given those column names.

Security: loading runs the flavor's loader; for pickle-based flavors (scikit-learn) that
executes code from the file. Load only models you trust.
"""

from __future__ import annotations

import os
from typing import Any

from autolog import models
from autolog.core.errors import InvalidInputError

__all__ = ["PyFuncModel", "load_model"]


class PyFuncModel:
    """A loaded model with a uniform ``predict``; the native model is ``unwrap()``."""

    def __init__(self, model: Any, flavor: models.Flavor, metadata: models.ModelMetadata) -> None:
        self._model = model
        self._flavor = flavor
        self.metadata = metadata

    @property
    def flavor(self) -> str:
        return self._flavor.name

    @property
    def signature(self):
        return self.metadata.signature

    @property
    def input_example(self) -> Any:
        if self.metadata.path is None or not self.metadata.saved_input_example_info:
            return None
        return models.load_input_example(self.metadata.path)

    def unwrap(self) -> Any:
        """The native model (an sklearn estimator, ...)."""
        return self._model

    def unwrap_python_model(self) -> Any:
        return self._model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._flavor.pyfunc_predict(self._model, self._conform(data), params)

    def _conform(self, data: Any) -> Any:
        schema = self.metadata.get_input_schema()
        if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
            return data
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover
            return data
        names = [str(n) for n in schema.input_names()]
        if isinstance(data, dict) and not isinstance(data, pd.DataFrame):
            data = pd.DataFrame(data)
        if isinstance(data, pd.DataFrame):
            columns = [str(c) for c in data.columns]
            if columns == names:
                return data
            missing = [n for n in names if n not in columns]
            required = {str(s.name) for s in schema.inputs if getattr(s, "required", True)}
            missing_required = [n for n in missing if n in required]
            if missing_required:
                raise InvalidInputError(
                    f"Model input is missing column(s) {missing_required}; the model's "
                    f"signature expects {names}."
                )
            if list(data.columns) != columns:
                data = data.set_axis(columns, axis=1)
            return data[[n for n in names if n in columns]]
        import numpy as np

        if isinstance(data, (list, tuple)):
            data = np.asarray(data, dtype=object)
        if isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[1] == len(names):
            return pd.DataFrame(data, columns=names).infer_objects()
        return data

    def __repr__(self) -> str:
        meta = self.metadata
        return (f"<PyFuncModel flavor={self.flavor!r} run_id={meta.run_id!r} "
                f"artifact_path={meta.artifact_path!r}>")


def load_model(model_uri: str | os.PathLike, tracking_uri: str | None = None) -> PyFuncModel:
    """Load a model of any flavor behind ``predict(data)``.

    Security: pickle-based flavors run code from the file; load only models you trust.
    """
    path = models.resolve_model_uri(model_uri, tracking_uri)
    meta = models.read_model_metadata(path)
    if models.PYFUNC_FLAVOR not in meta.flavors:
        raise InvalidInputError(
            f"The model at {os.fspath(model_uri)!r} has no {models.PYFUNC_FLAVOR!r} flavor "
            f"(its flavors: {', '.join(meta.flavors)}), so it cannot be loaded behind "
            "predict(); load it natively with autolog.load_model."
        )
    flavor, conf = models.pick_flavor(meta)
    return PyFuncModel(flavor.load(path, conf), flavor, meta)
