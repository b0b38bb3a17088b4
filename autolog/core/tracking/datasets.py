"""Describing data as a `DatasetInput` (MLflow 3's dataset inputs): digest, schema, profile.

`dataset_input` is what integrations and users call: from a NumPy array, a pandas
DataFrame/Series, a SciPy sparse matrix (with optional targets) it computes the parts
MLflow's UI shows in a run's Datasets tab, in MLflow's own formats:

- ``digest``: given by the caller (integrations keep the digest they tag runs with), or
  a hash of the type, shape and at most `DIGEST_ROWS` rows (no copy of large data);
- ``schema``: ``{"mlflow_colspec": [...]}`` for a DataFrame (from its dtypes),
  ``{"mlflow_tensorspec": {"features": ..., "targets": ...}}`` for arrays;
- ``profile``: ``{"num_rows", "num_elements"}`` for a DataFrame, the shapes, sizes and
  byte counts of features and targets for arrays;
- ``source``: MLflow's "code" source (data made by the script) unless one is given.

Nothing here imports NumPy or pandas unless the data is of their types already.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from autolog.core.entities import DatasetInput

__all__ = ["DIGEST_ROWS", "as_dataset_input", "dataset_input", "digest_of"]

#: Rows hashed for a digest: bounded cost on large data.
DIGEST_ROWS = 10_000


def _is_pandas(data: Any) -> bool:
    return (type(data).__module__ or "").startswith("pandas") and hasattr(data, "iloc")


def _is_sparse(data: Any) -> bool:
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(data)


def _update(hasher: Any, data: Any) -> None:
    hasher.update(repr((type(data).__name__, getattr(data, "shape", None))).encode())
    if _is_pandas(data):
        import pandas as pd

        hasher.update(repr(list(getattr(data, "columns", [getattr(data, "name", None)])))
                      .encode())
        hashed = pd.util.hash_pandas_object(data.iloc[:DIGEST_ROWS], index=False)
        hasher.update(hashed.to_numpy().tobytes())
        return
    if _is_sparse(data):
        for part in ("data", "indices", "indptr", "row", "col"):
            array = getattr(data, part, None)
            if array is not None and hasattr(array, "tobytes"):
                hasher.update(array[: DIGEST_ROWS * 50].tobytes())
        return
    if hasattr(data, "__array_interface__") and hasattr(data, "shape"):
        import numpy as np

        part = data[:DIGEST_ROWS] if getattr(data, "ndim", 0) else data
        hasher.update(str(data.dtype).encode())
        if part.dtype == object:
            hasher.update(repr(part.tolist()).encode())
        else:
            hasher.update(np.ascontiguousarray(part).tobytes())
        return
    if isinstance(data, (list, tuple)):
        hasher.update(repr(list(data[:DIGEST_ROWS])).encode())
        return
    hasher.update(repr(data).encode()[:1_000_000])


def digest_of(data: Any, targets: Any = None) -> str:
    """A content digest of ``data`` (and ``targets``): 16 hex digits, bounded cost."""
    hasher = hashlib.md5(usedforsecurity=False)
    for part in (data, targets):
        if part is not None:
            _update(hasher, part)
    return hasher.hexdigest()[:16]


def _shape(data: Any) -> list[int] | None:
    shape = getattr(data, "shape", None)
    if shape is None and isinstance(data, (list, tuple)):
        return [len(data)]
    try:
        return [int(s) for s in shape] if shape is not None else None
    except (TypeError, ValueError):
        return None


def _column_type(dtype: Any) -> str:
    """MLflow's column type for a pandas/NumPy dtype (object columns: "string")."""
    kind = getattr(dtype, "kind", "O")
    size = getattr(dtype, "itemsize", 8)
    if kind == "b":
        return "boolean"
    if kind in "iu":
        return "long" if size >= 8 or kind == "u" and size >= 4 else "integer"
    if kind == "f":
        return "double" if size >= 8 else "float"
    if kind == "M":
        return "datetime"
    if kind == "S":
        return "binary"
    return "string"


def _tensor_spec(part: Any) -> list[dict[str, Any]]:
    shape = _shape(part) or []
    if shape:
        shape[0] = -1
    return [{"type": "tensor", "tensor-spec": {"dtype": str(getattr(part, "dtype", "object")),
                                               "shape": shape}}]


def _schema(data: Any, targets: Any) -> str | None:
    """MLflow's dataset schema JSON: column specs for a DataFrame, tensor specs else."""
    if _is_pandas(data) and getattr(data, "ndim", 1) == 2:
        columns = [{"type": _column_type(dtype), "name": str(name), "required": True}
                   for name, dtype in data.dtypes.items()]
        return json.dumps({"mlflow_colspec": columns})
    parts: dict[str, Any] = {"features": None, "targets": None}
    for key, part in (("features", data), ("targets", targets)):
        if part is not None and hasattr(part, "dtype"):
            parts[key] = json.dumps(_tensor_spec(part))
    return json.dumps({"mlflow_tensorspec": parts}) if parts["features"] else None


def _profile(data: Any, targets: Any) -> str | None:
    if _is_pandas(data) and getattr(data, "ndim", 1) == 2:
        rows, columns = (int(s) for s in data.shape)
        return json.dumps({"num_rows": rows, "num_elements": rows * columns})
    profile: dict[str, Any] = {}
    for key, part in (("features", data), ("targets", targets)):
        shape = _shape(part) if part is not None else None
        if shape is None:
            continue
        size = 1
        for s in shape:
            size *= s
        profile[f"{key}_shape"] = shape
        profile[f"{key}_size"] = size
        nbytes = getattr(part, "nbytes", None)
        if isinstance(nbytes, int):
            profile[f"{key}_nbytes"] = nbytes
    return json.dumps(profile) if profile else None


def _code_source() -> str:
    script = sys.argv[0] if sys.argv and sys.argv[0] else "<interactive>"
    return json.dumps({"tags": {"mlflow.source.name": script}})


def dataset_input(
    data: Any = None,
    name: str = "dataset",
    *,
    targets: Any = None,
    context: str | None = None,
    digest: str | None = None,
    source: str | None = None,
    source_type: str | None = None,
    tags: dict[str, str] | None = None,
) -> DatasetInput:
    """A `DatasetInput` describing ``data`` (and ``targets``) as MLflow 3 does.

    ``context``: "training", "validation", "evaluation" (or any text). ``source``: a
    location (path or URL: type "local"/"http") or MLflow's source JSON; by default the
    data is described as made by the script (type "code"). With no ``data``, ``digest``
    is required: the input then names data autolog does not see (a file, a table).
    """
    if not isinstance(name, str) or not name.strip():
        from autolog.core.errors import InvalidInputError

        raise InvalidInputError(f"Invalid dataset name {name!r}: expected a non-empty string.")
    if data is None and digest is None:
        from autolog.core.errors import InvalidInputError

        raise InvalidInputError("dataset_input needs the data, or its digest.")
    if source is not None and source_type is None:
        if source.startswith(("http://", "https://")):
            source_type = "http"
        elif source.lstrip().startswith("{"):
            source_type = "code"
        else:
            source_type = "local"
    if source_type in ("http", "local") and source is not None and \
            not source.lstrip().startswith("{"):
        key = "url" if source_type == "http" else "uri"
        source = json.dumps({key: source})
    schema = profile = None
    if data is not None:
        digest = digest or digest_of(data, targets)
        schema = _schema(data, targets)
        profile = _profile(data, targets)
    return DatasetInput(name=name, digest=str(digest), source_type=source_type or "code",
                        source=source or _code_source(), schema=schema, profile=profile,
                        context=context, tags=dict(tags or {}))


def as_dataset_input(dataset: Any, context: str | None = None,
                     tags: dict[str, str] | None = None, name: str | None = None,
                     targets: Any = None) -> DatasetInput:
    """``dataset`` as a `DatasetInput`: one already (context and tags added), an MLflow
    ``mlflow.data.Dataset`` (converted, without importing MLflow), or the data itself."""
    import dataclasses

    if isinstance(dataset, DatasetInput):
        changes: dict[str, Any] = {}
        if context is not None:
            changes["context"] = context
        if tags:
            changes["tags"] = {**dataset.tags, **{str(k): str(v) for k, v in tags.items()}}
        if name is not None:
            changes["name"] = name
        return dataclasses.replace(dataset, **changes)
    to_entity = getattr(dataset, "_to_mlflow_entity", None)
    if callable(to_entity) and hasattr(dataset, "digest"):  # an MLflow Dataset
        entity = to_entity()
        return DatasetInput(name=name or entity.name, digest=entity.digest,
                            source_type=entity.source_type, source=entity.source,
                            schema=entity.schema, profile=entity.profile, context=context,
                            tags={str(k): str(v) for k, v in (tags or {}).items()})
    return dataset_input(dataset, name or "dataset", targets=targets, context=context,
                         tags={str(k): str(v) for k, v in (tags or {}).items()})
