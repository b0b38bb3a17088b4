"""Model signatures: what a model takes and returns, in MLflow's JSON schema.

A signature is stored in the ``MLmodel`` file as

    signature:
      inputs: '[{"type": "double", "name": "x", "required": true}, ...]'
      outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
      params: null

Column-based schemas (a pandas DataFrame or Series) list a name and a type per column,
the type one of ``double, float, long, integer, boolean, string, binary, datetime``.
Tensor-based schemas (NumPy arrays) give a dtype and a shape whose first (batch)
dimension is -1.

NumPy and pandas are imported inside the functions that need them, never at import.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from autolog.core.errors import InvalidInputError

__all__ = ["ColSpec", "ModelSignature", "Schema", "TensorSpec", "infer_signature"]

COLUMN_TYPES = ("boolean", "integer", "long", "float", "double", "string", "binary", "datetime")


class ColSpec:
    """One column: a type from `COLUMN_TYPES`, an optional name, required or not."""

    def __init__(self, type: str, name: str | None = None, required: bool = True) -> None:
        if type not in COLUMN_TYPES:
            raise InvalidInputError(
                f"Unsupported column type {type!r}; accepted: {', '.join(COLUMN_TYPES)}."
            )
        self.type = type
        self.name = name
        self.required = required

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ColSpec) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        name = f"{self.name!r}: " if self.name is not None else ""
        return f"{name}{self.type!r}" + ("" if self.required else " (optional)")


class TensorSpec:
    """A tensor: a NumPy dtype name and a shape (-1 for a variable dimension)."""

    def __init__(self, dtype: str, shape: Iterable[int], name: str | None = None) -> None:
        self.dtype = str(dtype)
        self.shape = tuple(int(d) for d in shape)
        self.name = name

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        out["type"] = "tensor"
        out["tensor-spec"] = {"dtype": self.dtype, "shape": list(self.shape)}
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorSpec) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        name = f"{self.name!r}: " if self.name is not None else ""
        return f"{name}Tensor({self.dtype!r}, {self.shape})"


class Schema:
    """A list of column specs or a list of tensor specs (never a mix)."""

    def __init__(self, inputs: Iterable[ColSpec | TensorSpec]) -> None:
        self.inputs = list(inputs)
        kinds = {type(spec) for spec in self.inputs}
        if len(kinds) > 1:
            raise InvalidInputError("A schema holds either column specs or tensor specs, not both.")

    def is_tensor_spec(self) -> bool:
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    def input_names(self) -> list[str | None]:
        return [spec.name for spec in self.inputs]

    def has_input_names(self) -> bool:
        return bool(self.inputs) and all(spec.name is not None for spec in self.inputs)

    def to_list(self) -> list[dict[str, Any]]:
        return [spec.to_dict() for spec in self.inputs]

    def to_json(self) -> str:
        return json.dumps(self.to_list())

    @classmethod
    def from_json(cls, text: str | list) -> Schema:
        items = json.loads(text) if isinstance(text, str) else text
        if not isinstance(items, list):
            raise InvalidInputError(f"Invalid schema {text!r}: expected a JSON list of specs.")
        specs: list[ColSpec | TensorSpec] = []
        for item in items:
            if not isinstance(item, dict) or "type" not in item:
                raise InvalidInputError(f"Invalid schema entry {item!r}: it needs a 'type'.")
            if item["type"] == "tensor":
                spec = item.get("tensor-spec") or {}
                specs.append(TensorSpec(spec.get("dtype", "object"), spec.get("shape", []),
                                        item.get("name")))
            else:
                required = item.get("required")
                if required is None:
                    required = not item.get("optional", False)
                specs.append(ColSpec(item["type"], item.get("name"), bool(required)))
        return cls(specs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.to_list() == other.to_list()

    def __len__(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        return "[" + ", ".join(repr(spec) for spec in self.inputs) + "]"


class ModelSignature:
    """The inputs (and optionally outputs) of a model."""

    def __init__(self, inputs: Schema | None = None, outputs: Schema | None = None,
                 params: Any = None) -> None:
        self.inputs = inputs
        self.outputs = outputs
        self.params = params

    def to_dict(self) -> dict[str, Any]:
        """MLflow's form: each schema as a JSON string."""
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": None if self.params is None else json.dumps(self.params),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSignature:
        if not isinstance(data, dict):
            raise InvalidInputError(f"Invalid signature {data!r}: expected a dict.")
        inputs = Schema.from_json(data["inputs"]) if data.get("inputs") else None
        outputs = Schema.from_json(data["outputs"]) if data.get("outputs") else None
        params = data.get("params")
        if isinstance(params, str):
            params = json.loads(params)
        return cls(inputs, outputs, params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelSignature) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"ModelSignature(inputs={self.inputs!r}, outputs={self.outputs!r})"


# -- inference -------------------------------------------------------------------------


def _numpy_column_type(dtype: Any) -> str | None:
    kind = dtype.kind
    if kind == "b":
        return "boolean"
    if kind in "iu":
        if kind == "u":
            return "integer" if dtype.itemsize < 4 else "long"
        return "integer" if dtype.itemsize <= 4 else "long"
    if kind == "f":
        return "float" if dtype.itemsize <= 4 else "double"
    if kind == "M":
        return "datetime"
    if kind == "U":
        return "string"
    if kind == "S":
        return "binary"
    return None


def _column_type(series: Any) -> str:
    """The MLflow column type of one pandas Series."""
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _column_type(pd.Series(np.asarray(dtype.categories)))
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime"
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        numpy_dtype = getattr(dtype, "numpy_dtype", None)
        if numpy_dtype is not None:
            found = _numpy_column_type(np.dtype(numpy_dtype))
            if found:
                return found
    elif isinstance(dtype, np.dtype):
        found = _numpy_column_type(dtype)
        if found:
            return found
    if str(dtype) in ("object", "str", "string"):
        values = series.dropna()
        if len(values) == 0 or all(isinstance(v, str) for v in values):
            return "string"
        if all(isinstance(v, (bytes, bytearray)) for v in values):
            return "binary"
        if all(isinstance(v, bool) for v in values):
            return "boolean"
    raise InvalidInputError(
        f"Cannot infer a column type for {series.name!r} (dtype {dtype}); supported: "
        f"{', '.join(COLUMN_TYPES)}. Pass an explicit signature instead."
    )


def _tensor_spec(array: Any, name: str | None = None) -> TensorSpec:
    shape = list(array.shape)
    if shape:
        shape[0] = -1
    return TensorSpec(str(array.dtype), shape, name)


def infer_schema(data: Any) -> Schema:
    """The schema of a DataFrame, Series, ndarray, dict of arrays, list or scalar."""
    import numpy as np

    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional for tensors
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        return Schema([ColSpec(_column_type(data[col]), str(col)) for col in data.columns])
    if pd is not None and isinstance(data, pd.Series):
        name = None if data.name is None else str(data.name)
        return Schema([ColSpec(_column_type(data), name)])
    if isinstance(data, dict):
        if data and all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema([_tensor_spec(v, str(k)) for k, v in data.items()])
        if pd is None:
            raise InvalidInputError("Inferring a schema from a dict needs pandas.")
        return infer_schema(pd.DataFrame({k: np.atleast_1d(v) for k, v in data.items()}))
    if hasattr(data, "toarray") and hasattr(data, "shape") and hasattr(data, "dtype"):
        return Schema([_tensor_spec(data)])  # a scipy sparse matrix
    if isinstance(data, (list, tuple)) and data and all(isinstance(v, dict) for v in data):
        if pd is None:
            raise InvalidInputError("Inferring a schema from a list of dicts needs pandas.")
        return infer_schema(pd.DataFrame(list(data)))
    if isinstance(data, str) or (
        isinstance(data, (list, tuple)) and data and all(isinstance(v, str) for v in data)
    ):
        return Schema([ColSpec("string")])
    if not isinstance(data, np.ndarray):
        if hasattr(data, "numpy"):  # torch / tf tensors
            data = data.detach().cpu().numpy() if hasattr(data, "detach") else data.numpy()
        else:
            data = np.asarray(data)
    if data.dtype == object:
        raise InvalidInputError(
            "Cannot infer a tensor schema from an array of Python objects; pass a DataFrame or "
            "an explicit signature."
        )
    return Schema([_tensor_spec(data)])


def infer_signature(model_input: Any, model_output: Any = None) -> ModelSignature:
    """A signature from an input example and, optionally, what the model returned for it."""
    inputs = infer_schema(model_input)
    outputs = infer_schema(model_output) if model_output is not None else None
    return ModelSignature(inputs, outputs)
