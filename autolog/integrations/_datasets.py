"""Describing a training input without copying it: type, shape, feature names and a
bounded content digest -- the ``dataset.*`` tags of every integration.

One digest for all integrations (`digest`): at most ~1 MB of each input is hashed (its
first rows), a lazy collection is never computed (a Dask collection gives its token) and
a framework's own dataset is read only where that is cheap (an XGBoost ``DMatrix``, a
CatBoost ``Pool``: labels and feature names; a LightGBM ``Dataset``: the data it was made
from). Cells pandas cannot hash (arrays, lists) are hashed by their text.

Two tag layouts:

* `dataset_tags(X, y)`: ``dataset.shape|type|features|digest`` (scikit-learn estimators,
  cross-validation);
* `named_dataset_tags([(name, data), ...])`, recorded by `log_datasets`:
  ``dataset.<name>.shape|digest|type`` (XGBoost, LightGBM, CatBoost: the training set
  and each validation set).

Keras describes its input as params instead (`input_params`: ``dataset_type``,
``dataset_shape``, ...): it never reads a ``tf.data`` pipeline or generator to hash it.

Nothing here imports a framework, NumPy or pandas at module level.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["dataset_tags", "describe_data", "digest", "input_params", "is_sparse",
           "log_dataset", "log_datasets", "named_dataset_tags", "shape_text", "training_inputs",
           "dataset_inputs", "is_plain_data"]

DIGEST_MAX_BYTES = 1 << 20  # at most this much of X (and of y) is hashed
SMALL_DIGEST_BYTES = 64 << 10  # up to this, hashed without releasing the GIL
HASHLIB_GIL_MINSIZE = 2047  # hashlib releases the GIL for updates larger than this


def log_dataset(session: Any, X: Any, y: Any, describe: Any = None) -> None:
    """The training data as tags (``describe``: `dataset_tags` by default) and as the
    run's "training" dataset input "train" (MLflow's Datasets tab), each in a record of
    its own; the digest is computed once."""
    describe = describe or dataset_tags
    tags: dict[str, str] = {}

    def tag_record() -> dict[str, str]:
        tags.update(describe(X, y))
        return tags

    session.set_tags(tag_record)
    session.log_inputs(lambda: training_inputs(X, y, tags.get("dataset.digest")))


def training_inputs(X: Any, y: Any, known_digest: str | None = None) -> list[Any]:
    """``X`` (with ``y`` as targets) as the "training" `DatasetInput` named "train"."""
    from autolog.core.tracking.datasets import dataset_input

    if X is None:
        return []
    try:
        data_digest = known_digest or digest(X, y)
    except TypeError:  # cells pandas cannot hash: no digest, no input (as for the tags)
        return []
    return [dataset_input(X, "train", targets=y, context="training", digest=data_digest)]


# -- tags -----------------------------------------------------------------------------------


def dataset_tags(X: Any, y: Any) -> dict[str, str]:
    """Shape, type, feature names (DataFrames) and a bounded content digest of X and y."""
    tags: dict[str, str] = {}
    if X is None:
        return tags
    shape = getattr(X, "shape", None)
    if shape is None and hasattr(X, "__len__"):
        shape = (len(X),)
    if shape is not None:
        tags["dataset.shape"] = "x".join(str(int(n)) for n in shape)
    tags["dataset.type"] = type(X).__name__
    columns = getattr(X, "columns", None)
    if columns is not None:
        names = ",".join(str(c) for c in list(columns)[:500])
        tags["dataset.features"] = names if len(names) <= 5000 else names[:4997] + "..."
    try:
        tags["dataset.digest"] = digest(X, y)
    except TypeError:  # array-likes NumPy cannot take: no digest
        pass
    return tags


def log_datasets(session: Any, datasets: Iterable[tuple[str, Any]]) -> None:
    """Tags ``dataset.<name>.shape|digest|type`` for each ``(name, data)``, and the same
    datasets as the run's dataset inputs (MLflow's Datasets tab: the first "training",
    the others "validation"), each computed inside a session record of its own: data that
    cannot be described costs that record only. Each input is described once."""
    datasets = list(datasets)
    described: list[tuple[str, Any, dict[str, Any]]] = []

    def tags() -> dict[str, str]:
        described[:] = _describe_all(datasets)
        return _named_tags(described)

    session.set_tags(tags)
    session.log_inputs(lambda: dataset_inputs(described))


def named_dataset_tags(datasets: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """``dataset.<name>.shape|digest|type`` of each ``(name, data)`` that can be described."""
    return _named_tags(_describe_all(datasets))


def _describe_all(datasets: Iterable[tuple[str, Any]]) -> list[tuple[str, Any, dict[str, Any]]]:
    found = []
    for name, data in datasets:
        if data is None:
            continue
        info = describe_data(data)
        if info is not None:
            found.append((name, data, info))
    return found


def _named_tags(described: list[tuple[str, Any, dict[str, Any]]]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for name, _data, info in described:
        if info["shape"] is not None:
            tags[f"dataset.{name}.shape"] = "x".join(str(s) for s in info["shape"])
        tags[f"dataset.{name}.digest"] = info["digest"]
        tags[f"dataset.{name}.type"] = info["type"]
    return tags


def is_plain_data(data: Any) -> bool:
    """A NumPy array or a pandas object: data whose schema and digest cost no iteration
    (a framework container, a tf.data dataset or a generator is not read)."""
    return data is not None and (hasattr(data, "__array_interface__") or (
        (type(data).__module__ or "").startswith("pandas") and hasattr(data, "iloc")))


def dataset_inputs(described: list[tuple[str, Any, dict[str, Any]]]) -> list[Any]:
    """`DatasetInput` s for described datasets: arrays and DataFrames with their schema
    and profile; framework containers (DMatrix, lightgbm.Dataset, Pool) by digest and
    shape. An evaluation set that is the training data itself (same name and digest) is
    kept once."""
    import json

    from autolog.core.entities import DatasetContext
    from autolog.core.tracking.datasets import dataset_input

    inputs = []
    seen: set[tuple[str, str]] = set()
    for position, (name, data, info) in enumerate(described):
        if (name, info["digest"]) in seen:
            continue
        seen.add((name, info["digest"]))
        context = DatasetContext.TRAINING if position == 0 else DatasetContext.VALIDATION
        plain = is_plain_data(data)
        described_input = dataset_input(data if plain else None, name, context=context,
                                        digest=info["digest"])
        if not plain and info["shape"] is not None:
            described_input.profile = json.dumps({"num_rows": info["shape"][0],
                                                  "shape": info["shape"], "type": info["type"]})
        inputs.append(described_input)
    return inputs


def describe_data(data: Any) -> dict[str, Any] | None:
    """``{"type", "shape", "digest"}`` of a training input, without copying it (None: an
    input of unknown kind). ``type`` is ``<top-level module>.<class>`` (``numpy.ndarray``,
    ``lightgbm.Dataset(pandas.DataFrame)``); ``shape`` a list, or None when unknown."""
    module = type(data).__module__ or ""
    name = type(data).__name__
    kind = f"{module.split('.')[0]}.{name}"
    if module.startswith(("xgboost", "catboost")) and hasattr(data, "num_row"):
        shape: tuple[int, ...] | None = (int(data.num_row()), int(data.num_col()))
    elif module.startswith("lightgbm") and hasattr(data, "construct"):
        raw = getattr(data, "data", None)
        if raw is not None and not isinstance(raw, (str, bytes)) and hasattr(raw, "shape"):
            inner = describe_data(raw)  # the data it was made from: the same digest
            if inner is not None:
                inner["type"] = f"lightgbm.Dataset({inner['type']})"
            return inner
        if isinstance(raw, (str, bytes)):
            return {"type": "lightgbm.Dataset(file)", "shape": None, "digest": digest(data)}
        if getattr(data, "_handle", None) is None:
            return None
        shape = (int(data.num_data()), int(data.num_feature()))
    elif _is_dask(data):
        shape = tuple(int(s) for s in getattr(data, "shape", ()) if _is_known(s))
        if len(shape) != len(getattr(data, "shape", ())):
            shape = None  # some size is not known without computing
        kind = f"dask.{name}"
    elif module.startswith("pandas") and hasattr(data, "columns"):
        shape = tuple(int(s) for s in data.shape)
    elif module.startswith("pandas") and hasattr(data, "dtype"):  # a Series
        shape = (int(len(data)),)
    elif module.startswith("scipy.sparse") and hasattr(data, "tocsr"):
        shape = tuple(int(s) for s in data.shape)
        kind = f"scipy.sparse.{name}"
    elif hasattr(data, "__array_interface__") and hasattr(data, "shape"):
        shape = tuple(int(s) for s in data.shape)
    else:
        return None
    return {"type": kind, "shape": list(shape) if shape is not None else None,
            "digest": digest(data)}


# -- deep-learning inputs (Keras) ----------------------------------------------------------


def shape_text(value: Any) -> str | None:
    """``(20000, 20)`` for an array, nested for a tuple/list/dict of arrays."""
    if isinstance(value, dict):
        parts = [f"{k}: {shape_text(v)}" for k, v in value.items()]
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(str(shape_text(v)) for v in value) + ")"
    shape = getattr(value, "shape", None)
    if shape is None:
        return None
    try:
        return str(tuple(None if d is None else int(d) for d in shape))
    except TypeError:  # an unknown rank
        return str(shape)


def input_params(x: Any) -> dict[str, Any]:
    """A deep-learning input as ``dataset_*`` params, when it is cheap to know (never
    iterates it): its class; a ``tf.data.Dataset``'s element spec and batch count, a
    Keras ``PyDataset``'s batches, an array's (or nested arrays') shape."""
    cls = type(x)
    params: dict[str, Any] = {"dataset_type": f"{cls.__module__}.{cls.__qualname__}"}
    if hasattr(x, "element_spec"):  # tf.data.Dataset
        params["dataset_element_spec"] = shape_text(x.element_spec)
        try:
            cardinality = int(x.cardinality())
        except Exception:  # noqa: BLE001 - not knowable cheaply
            cardinality = -2
        if cardinality >= 0:
            params["dataset_batches"] = cardinality
        return params
    if hasattr(x, "num_batches") and hasattr(x, "__getitem__"):  # keras.utils.PyDataset
        batches = x.num_batches
        if batches is not None:
            params["dataset_batches"] = batches
        return params
    if hasattr(x, "__next__") or x is None:  # a generator: its size is unknown
        return params
    shape = shape_text(x)
    if shape is not None:
        params["dataset_shape"] = shape
    return params


# -- the digest -----------------------------------------------------------------------------


def digest(X: Any, y: Any = None) -> str:
    """A content digest over at most ~1 MB of each of X and y (no large copies): 16 hex
    digits, the same for equal inputs whichever integration describes them."""
    import hashlib

    hasher = hashlib.md5(usedforsecurity=False)
    for data in (X, y):
        if data is None:
            continue
        shape = None if _is_dask(data) else getattr(data, "shape", None)
        hasher.update(repr((type(data).__name__, shape)).encode())
        _hash_into(hasher, data)
    return hasher.hexdigest()[:16]


def _hash_into(hasher, data: Any) -> None:
    import numpy as np

    module = type(data).__module__ or ""
    if _is_dask(data):  # the token of the graph that makes it: computing it would run it
        hasher.update(repr(data.__dask_tokenize__()).encode())
        return
    if hasattr(data, "iloc"):  # pandas
        import pandas as pd

        width = data.shape[1] if getattr(data, "ndim", 1) == 2 else 1
        rows = max(1, DIGEST_MAX_BYTES // (8 * max(1, width)))
        head = data.iloc[:rows]
        hasher.update(repr(list(getattr(data, "columns", [getattr(data, "name", None)])))
                      .encode())
        try:
            hashed = pd.util.hash_pandas_object(head, index=False)
        except TypeError:  # cells pandas cannot hash (CatBoost's embedding features)
            if hasattr(head, "columns"):
                head = head.apply(lambda col: col.map(_cell_text) if col.dtype == object
                                  else col)
            else:
                head = head.map(_cell_text)
            hashed = pd.util.hash_pandas_object(head, index=False)
        _hash_array(hasher, hashed.to_numpy())
        return
    if is_sparse(data):
        for names in (("indptr", "indices", "data"), ("row", "col", "data")):
            if all(hasattr(data, name) for name in names):  # CSR/CSC/BSR, COO
                for name in names:
                    _hash_array(hasher, np.asarray(getattr(data, name)))
                return
        hasher.update(repr(getattr(data, "nnz", None)).encode())  # DOK, LIL: shape + nnz
        return
    if module.startswith("xgboost") and hasattr(data, "num_row"):  # a DMatrix: no rows
        hasher.update(repr((data.num_row(), data.num_col(), data.feature_names,
                            data.feature_types)).encode())
        _hash_array(hasher, np.asarray(data.get_label()))
        return
    if module.startswith("catboost") and hasattr(data, "num_row"):
        # A Pool keeps its features in CatBoost's own form (reading them back copies the
        # whole matrix): names, feature kinds and labels, as for a DMatrix.
        hasher.update(repr((data.num_row(), data.num_col(), data.get_feature_names(),
                            data.get_cat_feature_indices(),
                            data.get_text_feature_indices())).encode())
        label = data.get_label()
        if label is not None:
            _hash_array(hasher, np.asarray(label))
        return
    if module.startswith("lightgbm") and hasattr(data, "construct"):
        raw = getattr(data, "data", None)
        if raw is not None and not isinstance(raw, (str, bytes)):
            _hash_into(hasher, raw)
        elif raw is not None:  # a file: its name
            hasher.update(str(raw).encode())
        elif getattr(data, "_handle", None) is not None:
            hasher.update(repr((data.num_data(), data.num_feature())).encode())
        return
    if isinstance(data, (str, bytes)):
        hasher.update(data.encode() if isinstance(data, str) else data)
        return
    if not hasattr(data, "dtype"):
        data = np.asarray(data[:10000] if isinstance(data, (list, tuple)) else data)
    _hash_array(hasher, data)


def _cell_text(value: Any) -> Any:
    """A hashable stand-in for a cell pandas cannot hash (an array, a list, a dict)."""
    if hasattr(value, "tolist"):
        return repr(value.tolist())
    return repr(value) if isinstance(value, (list, dict, set)) else value


def is_sparse(data: Any) -> bool:
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(data)


def _is_dask(data: Any) -> bool:
    return (type(data).__module__ or "").startswith("dask") \
        and hasattr(data, "__dask_tokenize__")


def _is_known(size: Any) -> bool:
    """A dimension a Dask collection knows without computing (not NaN, not a Delayed)."""
    return isinstance(size, int) or (hasattr(size, "__index__") and not hasattr(size, "dask"))


def _hash_array(hasher, array: Any) -> None:
    import numpy as np

    if array.dtype == object:
        hasher.update(repr(array.ravel()[:1000].tolist()).encode())
        return
    row_bytes = max(1, array.itemsize * (array.size // max(1, array.shape[0]) if array.ndim
                                         else 1))
    rows = max(1, DIGEST_MAX_BYTES // row_bytes)
    head = array[:rows] if array.ndim else array
    if head.size == 0:  # nothing to hash beyond type and shape (memoryview cannot cast it)
        return
    if not head.flags.c_contiguous:
        head = np.ascontiguousarray(head)  # a bounded copy of the head only
    view = memoryview(head).cast("B")
    if len(view) > SMALL_DIGEST_BYTES:
        hasher.update(view)
        return
    # hashlib lets go of the GIL for updates over 2 KiB; taking it back costs up to the
    # switch interval (5 ms) while one of autolog's threads runs -- far more than hashing
    # a small input, so small inputs go in pieces that keep it.
    for start in range(0, len(view), HASHLIB_GIL_MINSIZE):
        hasher.update(view[start:start + HASHLIB_GIL_MINSIZE])
