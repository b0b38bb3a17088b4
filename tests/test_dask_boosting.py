"""LightGBM's and XGBoost's Dask estimators and ``xgboost.dask.train`` (issue 15, defect 6).

A real ``distributed.LocalCluster`` (two in-process workers, one thread each) and small
synthetic Dask arrays. What is checked: one run per fit, recorded in the client process
(params, per-iteration metrics, early stopping, the local model), and no run of its own
from the workers' share of the training.
"""

from __future__ import annotations

import warnings

import pytest

np = pytest.importorskip("numpy")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")
dxgb = pytest.importorskip("xgboost.dask")

import autolog  # noqa: E402

QUIET = {"verbose": -1}


def local_cluster(n_workers: int):
    return distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                    processes=False, dashboard_address=None)


@pytest.fixture(scope="module")
def client():
    """Two workers: each fit below is two workers' fits, recorded as one run."""
    with local_cluster(2) as cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


@pytest.fixture
def single_worker_client():
    """LightGBM's early stopping on several Dask workers stops them at different rounds
    (each scores its own part of the eval set) and its network breaks, autolog or not."""
    with local_cluster(1) as cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=600) * 0.8 > 0).astype(np.int64)
    Xv = rng.normal(size=(200, 6))
    yv = (Xv[:, 0] + 0.5 * Xv[:, 1] + rng.normal(size=200) * 0.8 > 0).astype(np.int64)
    return (da.from_array(X, chunks=300), da.from_array(y, chunks=300),
            da.from_array(Xv, chunks=100), da.from_array(yv, chunks=100), X, Xv)


@pytest.fixture
def boosting_autolog(tracking_uri):
    autolog.lightgbm.autolog()
    autolog.xgboost.autolog()
    yield tracking_uri
    autolog.xgboost.autolog(disable=True)
    autolog.lightgbm.autolog(disable=True)


def only_run():
    autolog.flush()
    runs = autolog.search_runs()
    assert len(runs) == 1, [(r.info.run_id, r.data.tags.get("autolog.integration"))
                            for r in runs]
    return runs[0]


def history(run_id, key):
    return [(m.step, m.value) for m in autolog.get_metric_history(run_id, key)]


# -- LightGBM ---------------------------------------------------------------------------------


def test_lightgbm_dask_classifier_one_run_metrics_early_stopping_local_model(
        boosting_autolog, single_worker_client, data):
    dX, dy, dXv, dyv, _, Xv = data
    model = lgb.DaskLGBMClassifier(n_estimators=200, learning_rate=0.5, num_leaves=7,
                                   client=single_worker_client, **QUIET)
    model.fit(dX, dy, eval_set=[(dXv, dyv)], eval_names=["holdout"],
              callbacks=[lgb.early_stopping(2, verbose=False)])
    run = only_run()
    assert run.info.status == "FINISHED"
    assert run.data.tags["autolog.integration"] == "lightgbm"
    assert run.data.params["num_leaves"] == "7" and "client" not in run.data.params
    values = model.evals_result_["holdout"]["binary_logloss"]
    ran = len(values)
    assert 0 < ran < 200
    steps = history(run.info.run_id, "holdout-binary_logloss")
    assert steps[:ran] == [(i, pytest.approx(v)) for i, v in enumerate(values)]
    assert run.data.metrics["best_iteration"] == model.best_iteration_ > 0
    assert run.data.metrics["stopped_iteration"] == ran
    assert steps[-1] == (ran, pytest.approx(values[model.best_iteration_ - 1]))
    assert run.data.tags["dataset.train.type"] == "dask.Array"
    assert run.data.tags["dataset.train.shape"] == "600x6"
    loaded = autolog.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    assert isinstance(loaded, lgb.LGBMClassifier)  # the local model, no client inside
    np.testing.assert_allclose(loaded.predict_proba(Xv),
                               model.to_local().predict_proba(Xv))


def test_lightgbm_dask_regressor_and_ranker(boosting_autolog, client, data):
    dX, dy, _, _, X, _ = data
    regressor = lgb.DaskLGBMRegressor(n_estimators=3, client=client, **QUIET)
    regressor.fit(dX, dy.astype(float), eval_set=[(dX, dy.astype(float))])
    run = only_run()
    assert len(history(run.info.run_id, "valid_0-l2")) == 3
    loaded = autolog.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(X), regressor.to_local().predict(X))

    group = da.from_array(np.full(60, 10), chunks=30)  # 30 queries of 10 rows per chunk
    ranker = lgb.DaskLGBMRanker(n_estimators=3, client=client, **QUIET)
    ranker.fit(dX, dy, group=group)
    runs = autolog.search_runs()
    assert len(runs) == 2
    ranked = next(r for r in runs if r.info.run_id != run.info.run_id)
    assert ranked.data.params["n_estimators"] == "3"
    assert "model" in {f.path for f in autolog.Client().list_artifacts(ranked.info.run_id)}


def test_lightgbm_in_a_worker_task_opens_no_run(boosting_autolog, client, data):
    """A worker's share of a distributed fit (here: a whole training submitted as a task)
    is the client's business: it opens no run, and nothing it calls does."""
    _, _, _, _, X, _ = data
    y = (X[:, 0] > 0).astype(int)

    def train_in_worker():
        booster = lgb.train({"objective": "binary", **QUIET}, lgb.Dataset(X, y), 2)
        lgb.LGBMClassifier(n_estimators=2, **QUIET).fit(X, y)
        return booster.num_trees()

    assert client.submit(train_in_worker, pure=False).result() == 2
    autolog.flush()
    assert autolog.search_runs() == []
    lgb.train({"objective": "binary", **QUIET}, lgb.Dataset(X, y), 2)  # here: recorded
    assert only_run().data.params["num_boost_round"] == "2"


# -- XGBoost ----------------------------------------------------------------------------------


def test_xgboost_dask_classifier_one_run_metrics_early_stopping_booster(
        boosting_autolog, client, data):
    dX, dy, dXv, dyv, _, Xv = data
    model = dxgb.DaskXGBClassifier(n_estimators=200, learning_rate=0.6, max_depth=2,
                                   early_stopping_rounds=2, eval_metric="logloss")
    model.client = client
    model.fit(dX, dy, eval_set=[(dXv, dyv)], verbose=False)
    run = only_run()
    assert run.info.status == "FINISHED"
    assert run.data.tags["autolog.integration"] == "xgboost"
    assert run.data.params["max_depth"] == "2"
    values = model.evals_result()["validation_0"]["logloss"]
    booster = model.get_booster()
    assert len(values) == booster.num_boosted_rounds() < 200
    steps = history(run.info.run_id, "validation_0-logloss")
    assert steps[:len(values)] == [(i, pytest.approx(v)) for i, v in enumerate(values)]
    assert run.data.metrics["best_iteration"] == model.best_iteration
    assert run.data.metrics["stopped_iteration"] == len(values) - 1
    loaded = autolog.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    assert isinstance(loaded, xgb.Booster)  # the booster: no client, no Dask inside
    np.testing.assert_allclose(loaded.predict(xgb.DMatrix(Xv)),
                               booster.predict(xgb.DMatrix(Xv)))


def test_xgboost_dask_regressor(boosting_autolog, client, data):
    dX, dy, _, _, X, _ = data
    model = dxgb.DaskXGBRegressor(n_estimators=3, max_depth=2)
    model.client = client
    model.fit(dX, dy.astype(float), eval_set=[(dX, dy.astype(float))], verbose=False)
    run = only_run()
    assert len(history(run.info.run_id, "validation_0-rmse")) == 3
    loaded = autolog.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(xgb.DMatrix(X)),
                               model.get_booster().predict(xgb.DMatrix(X)))


def test_xgboost_dask_train_history_and_booster(boosting_autolog, client, data):
    dX, dy, dXv, dyv, _, Xv = data
    dtrain = dxgb.DaskDMatrix(client, dX, dy)
    dvalid = dxgb.DaskDMatrix(client, dXv, dyv)
    output = dxgb.train(client, {"objective": "binary:logistic", "eta": 0.6, "max_depth": 2},
                        dtrain, 200, evals=[(dtrain, "train"), (dvalid, "valid")],
                        early_stopping_rounds=2, verbose_eval=False)
    run = only_run()
    assert run.data.params["num_boost_round"] == "200"
    assert run.data.params["early_stopping_rounds"] == "2"
    booster = output["booster"]
    for name in ("train", "valid"):
        values = output["history"][name]["logloss"]
        assert history(run.info.run_id, f"{name}-logloss")[:len(values)] == [
            (i, pytest.approx(v)) for i, v in enumerate(values)]
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    loaded = autolog.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(xgb.DMatrix(Xv)),
                               booster.predict(xgb.DMatrix(Xv)))


def test_xgboost_in_a_worker_task_opens_no_run(boosting_autolog, client, data):
    _, _, _, _, X, _ = data
    y = (X[:, 0] > 0).astype(int)

    def train_in_worker():
        booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, y), 2)
        xgb.XGBClassifier(n_estimators=2).fit(X, y)
        return booster.num_boosted_rounds()

    assert client.submit(train_in_worker, pure=False).result() == 2
    autolog.flush()
    assert autolog.search_runs() == []


# -- faults -----------------------------------------------------------------------------------


def _train_dask(client, data) -> tuple:
    dX, dy, _, _, X, _ = data
    lgb_model = lgb.DaskLGBMRegressor(n_estimators=3, client=client, deterministic=True,
                                      **QUIET)
    lgb_model.fit(dX, dy.astype(float))
    xgb_model = dxgb.DaskXGBRegressor(n_estimators=3, max_depth=2)
    xgb_model.client = client
    xgb_model.fit(dX, dy.astype(float))
    output = dxgb.train(client, {"max_depth": 2}, dxgb.DaskDMatrix(client, dX, dy), 3)
    return (lgb_model.to_local().predict(X), xgb_model.get_booster().inplace_predict(X),
            output["booster"].inplace_predict(X))


@pytest.mark.usefixtures("lenient")
def test_each_dask_hook_made_to_raise_in_turn(boosting_autolog, single_worker_client, data):
    """Each Dask hook fails once, alone: the same results as without autolog and one
    warning (one worker: the results are deterministic)."""
    from autolog.core import reporting
    from autolog.testing import inject_hook_faults, list_hooks

    autolog.lightgbm.autolog(disable=True)
    autolog.xgboost.autolog(disable=True)
    baseline = _train_dask(single_worker_client, data)
    autolog.lightgbm.autolog()
    autolog.xgboost.autolog()
    hooks = [h for name in ("lightgbm", "xgboost") for h in list_hooks(name) if "dask" in h]
    assert len(hooks) == 3
    for hook in hooks:
        reporting._warned_causes.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with inject_hook_faults(hook) as fired:
                for got, expected in zip(_train_dask(single_worker_client, data), baseline):
                    np.testing.assert_array_equal(got, expected)
        assert set(fired) == {hook}
        ours = [w for w in caught if issubclass(w.category, autolog.AutologWarning)]
        assert len(ours) == 1, [str(w.message) for w in ours]
