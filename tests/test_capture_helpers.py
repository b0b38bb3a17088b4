"""The capture helpers every integration shares (issue 16): one dataset description and
digest (`_datasets`), one place for plots (`_plots`)."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")

from autolog.integrations import _datasets, _plots  # noqa: E402
from autolog.integrations._datasets import describe_data, digest, named_dataset_tags  # noqa: E402


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    return X, (X[:, 0] > 0).astype(int)


def test_one_digest_whichever_integration_describes_the_data():
    X, y = _data()
    assert describe_data(X)["digest"] == digest(X)
    assert describe_data(X.copy())["digest"] == digest(X)  # content, not identity
    assert digest(X) != digest(X + 1) and digest(X, y) != digest(X)
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=list("abcdef"))
    assert describe_data(frame) == {"type": "pandas.DataFrame", "shape": [300, 6],
                                    "digest": digest(frame)}
    lgb = pytest.importorskip("lightgbm")
    made = describe_data(lgb.Dataset(X, label=y))
    assert made == {"type": "lightgbm.Dataset(numpy.ndarray)", "shape": [300, 6],
                    "digest": digest(X)}


def test_the_named_layout_keeps_its_tag_names():
    X, y = _data()
    tags = named_dataset_tags([("train", X), ("valid", X[:50]), ("missing", None)])
    assert tags == {"dataset.train.shape": "300x6", "dataset.train.type": "numpy.ndarray",
                    "dataset.train.digest": digest(X),
                    "dataset.valid.shape": "50x6", "dataset.valid.type": "numpy.ndarray",
                    "dataset.valid.digest": digest(X[:50])}


def test_a_dmatrix_is_described_by_its_labels_and_features_without_its_rows():
    xgb = pytest.importorskip("xgboost")
    X, y = _data()
    described = describe_data(xgb.DMatrix(X, label=y))
    assert described["type"] == "xgboost.DMatrix" and described["shape"] == [300, 6]
    assert described["digest"] == describe_data(xgb.DMatrix(X, label=y))["digest"]
    assert described["digest"] != describe_data(xgb.DMatrix(X, label=1 - y))["digest"]


def test_a_dask_collection_is_described_without_computing_it():
    da = pytest.importorskip("dask.array")
    X, _ = _data()
    computed = []

    def block(part):
        computed.append(part.shape)
        return part

    lazy = da.from_array(X, chunks=100).map_blocks(block, dtype=X.dtype)
    filtered = lazy[lazy[:, 0] > 0]  # sizes unknown until computed
    computed.clear()  # dask calls it on an empty array to learn its output type
    described = describe_data(lazy)
    assert described["type"] == "dask.Array" and described["shape"] == [300, 6]
    assert len(described["digest"]) == 16
    assert computed == []
    assert describe_data(filtered)["shape"] is None and computed == []


def test_the_digest_is_bounded_and_small_inputs_are_hashed_in_pieces(monkeypatch):
    """At most DIGEST_MAX_BYTES of an input is read; small inputs go to hashlib in pieces
    under its GIL-release size (a large update lets go of the GIL)."""
    sizes = []

    class Recording:
        def __init__(self):
            self.inner = hashlib.md5(usedforsecurity=False)

        def update(self, data):
            sizes.append(len(data))
            self.inner.update(data)

    hasher = Recording()
    _datasets._hash_array(hasher, np.zeros((100, 10)))  # 8000 bytes
    assert sum(sizes) == 8000 and max(sizes) <= _datasets.HASHLIB_GIL_MINSIZE
    sizes.clear()
    _datasets._hash_array(hasher, np.zeros((1_000_000, 10)))  # 80 MB: the head only
    assert sum(sizes) <= _datasets.DIGEST_MAX_BYTES


def test_plots_draw_pngs():
    png = _plots.bar_chart_png("Feature importance (gain)", [("f0", 3.0), ("f1", 1.5)])
    assert png is None or png.startswith(b"\x89PNG")
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    figure = _plots.matrix_figure(np.array([[5, 1], [2, 7]]), ["a", "b"])
    assert figure.axes[0].get_title() == "Confusion matrix (training data)"
    positive, scores = np.array([0, 1, 1, 0]), np.array([0.1, 0.8, 0.6, 0.4])
    assert _plots.roc_figure(positive, scores, None).axes[0].get_title() == \
        "ROC curve (training data)"
    assert _plots.precision_recall_figure(positive, scores, None).axes


def test_the_helpers_import_no_framework():
    code = ("import sys; import autolog.integrations._datasets, autolog.integrations._plots, "
            "autolog.integrations._boosting, autolog.integrations._sklearn_metrics, "
            "autolog.integrations._sklearn_post; "
            "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'matplotlib', 'PIL', "
            "'xgboost', 'lightgbm', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_cells_pandas_cannot_hash_are_digested_by_their_text():
    pd = pytest.importorskip("pandas")
    from autolog.integrations._datasets import dataset_tags

    frame = pd.DataFrame({"x": [1.0, 2.0], "emb": [np.array([0.1, 0.2]), np.array([0.3, 0.4])]})
    other = pd.DataFrame({"x": [1.0, 2.0], "emb": [np.array([0.1, 0.2]), np.array([0.3, 0.5])]})
    assert describe_data(frame)["digest"] != describe_data(other)["digest"]
    assert dataset_tags(frame, None)["dataset.digest"] == digest(frame)


def test_a_catboost_pool_is_described_by_its_labels_and_features():
    catboost = pytest.importorskip("catboost")
    X, y = _data()
    described = describe_data(catboost.Pool(X, label=y))
    assert described["type"] == "catboost.Pool" and described["shape"] == [300, 6]
    assert described["digest"] != describe_data(catboost.Pool(X, label=1 - y))["digest"]
