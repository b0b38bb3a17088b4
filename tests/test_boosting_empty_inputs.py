"""Empty inputs to XGBoost and LightGBM: the framework's own answer reaches the user
unchanged (also under AUTOLOG_STRICT=1), and autolog's dataset description copes."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

import autolog  # noqa: E402
from autolog.integrations._boosting import describe_data  # noqa: E402


def _outcome(train):
    try:
        return "ok", train()
    except Exception as exc:  # noqa: BLE001 - compared with the bare call's
        return type(exc), str(exc)


@pytest.fixture
def autologged(tracking_uri):
    autolog.autolog()
    yield
    autolog.autolog(disable=True)


@pytest.mark.parametrize("make", ["xgboost", "lightgbm"])
def test_an_empty_training_set_behaves_as_without_autolog(make, tracking_uri):
    def train():
        X, y = np.empty((0, 4)), np.empty(0)
        if make == "xgboost":
            return xgb.train({}, xgb.DMatrix(X, label=y), 2).num_boosted_rounds()
        return lgb.train({"verbose": -1}, lgb.Dataset(X, label=y), 2).num_trees()

    bare = _outcome(train)
    autolog.autolog()
    try:
        assert _outcome(train) == bare  # strict mode: no internal error on the way
    finally:
        autolog.autolog(disable=True)


@pytest.mark.parametrize("shape", [(0, 4), (5, 0), (0,)])
def test_an_empty_array_is_described_by_type_and_shape(shape):
    info = describe_data(np.empty(shape))
    assert info["shape"] == list(shape) and len(info["digest"]) == 16
