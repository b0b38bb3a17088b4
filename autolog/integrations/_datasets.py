"""Describing a training input without copying it: shape, type, feature names and a
bounded content digest (the ``dataset.*`` tags)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["dataset_tags", "digest", "is_sparse", "log_dataset", "training_inputs"]

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
    except TypeError:  # cells pandas cannot hash (lists in a column), array-likes: no digest
        pass
    return tags


def digest(X: Any, y: Any = None) -> str:
    """A content digest over at most ~1 MB of each of X and y (no large copies)."""
    import hashlib

    hasher = hashlib.md5(usedforsecurity=False)
    for data in (X, y):
        if data is None:
            continue
        hasher.update(repr((type(data).__name__, getattr(data, "shape", None))).encode())
        _hash_into(hasher, data)
    return hasher.hexdigest()[:16]


def _hash_into(hasher, data: Any) -> None:
    import numpy as np

    if hasattr(data, "iloc"):  # pandas
        import pandas as pd

        width = data.shape[1] if getattr(data, "ndim", 1) == 2 else 1
        rows = max(1, DIGEST_MAX_BYTES // (8 * max(1, width)))
        head = data.iloc[:rows]
        hasher.update(repr(list(getattr(data, "columns", [getattr(data, "name", None)])))
                      .encode())
        hasher.update(pd.util.hash_pandas_object(head, index=False).to_numpy().tobytes())
        return
    if is_sparse(data):
        for names in (("indptr", "indices", "data"), ("row", "col", "data")):
            if all(hasattr(data, name) for name in names):  # CSR/CSC/BSR, COO
                for name in names:
                    _hash_array(hasher, np.asarray(getattr(data, name)))
                return
        hasher.update(repr(getattr(data, "nnz", None)).encode())  # DOK, LIL: shape + nnz
        return
    if not hasattr(data, "dtype"):
        data = np.asarray(data[:10000] if isinstance(data, (list, tuple)) else data)
    _hash_array(hasher, data)


def is_sparse(data: Any) -> bool:
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(data)


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
