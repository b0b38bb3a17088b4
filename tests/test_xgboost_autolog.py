"""XGBoost autologging on real XGBoost, small real data (never a mocked framework)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

xgb = pytest.importorskip("xgboost")
np = pytest.importorskip("numpy")

from _fault_matrix import each_hook_fails_in_turn, failing_store_changes_nothing  # noqa: E402
from _run_helpers import artifacts, history, only_run  # noqa: E402

import autolog  # noqa: E402
from autolog.core.tracking import context  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    """One XGBoost thread: the suite shares a few cores; the results do not depend on it."""
    with xgb.config_context(nthread=1):
        yield


@pytest.fixture
def xgb_autolog(tracking_uri):
    autolog.xgboost.autolog()
    yield tracking_uri
    autolog.xgboost.autolog(disable=True)


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return X[:400], y[:400], X[400:], y[400:]


def top_level_runs():
    return [r for r in autolog.search_runs() if "mlflow.parentRunId" not in r.data.tags]


# -- wrappers ---------------------------------------------------------------------------------


def test_classifier_one_run_params_metrics_importance_model(xgb_autolog, data):
    X, y, Xv, yv = data
    model = xgb.XGBClassifier(n_estimators=8, max_depth=3)
    assert model.fit(X, y, eval_set=[(X, y), (Xv, yv)], verbose=False) is model
    run = only_run()
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["n_estimators"] == "8" and params["max_depth"] == "3"
    assert params["objective"] == "binary:logistic"
    assert history(run.info.run_id, "validation_1-logloss") == [
        (i, pytest.approx(v)) for i, v in enumerate(model.evals_result()["validation_1"]["logloss"])
    ]
    assert "validation_0-logloss" in run.data.metrics
    assert "best_iteration" not in run.data.metrics  # no early stopping
    tags = run.data.tags
    assert tags["autolog.integration"] == "xgboost"
    assert tags["dataset.train.shape"] == "400x30"
    assert tags["dataset.validation_1.shape"] == "169x30"
    assert tags["dataset.train.digest"] == tags["dataset.validation_0.digest"]
    names = artifacts(run.info.run_id)
    for kind in ("weight", "gain", "cover", "total_gain", "total_cover"):
        assert f"feature_importance_{kind}.json" in names
    assert "feature_importance_gain.png" in names and "model" in names
    assert "model/model.ubj" in artifacts(run.info.run_id, "model")
    loaded = autolog.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded) is xgb.XGBClassifier
    assert loaded.get_params()["max_depth"] == 3
    np.testing.assert_array_equal(loaded.predict_proba(Xv), model.predict_proba(Xv))
    np.testing.assert_array_equal(loaded.predict(Xv), model.predict(Xv))
    assert autolog.load_model(f"runs:/{run.info.run_id}/model").__class__ is xgb.XGBClassifier
    from autolog.core.tracking.sessions import recorder_for_model

    assert recorder_for_model(model).run_id == run.info.run_id


def test_regressor_and_pyfunc(xgb_autolog, data):
    X, y, Xv, yv = data
    model = xgb.XGBRegressor(n_estimators=5).fit(X, y.astype(float), eval_set=[(Xv, yv)],
                                                 verbose=False)
    run = only_run()
    assert len(history(run.info.run_id, "validation_0-rmse")) == 5
    import autolog.models.pyfunc as pyfunc

    loaded = pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(Xv), model.predict(Xv))


def test_ranker(xgb_autolog):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = rng.integers(0, 3, size=200)
    qid = np.repeat(np.arange(20), 10)
    model = xgb.XGBRanker(n_estimators=4, eval_metric="ndcg@5")
    model.fit(X, y, qid=qid, eval_set=[(X, y)], eval_qid=[qid], verbose=False)
    run = only_run()
    assert len(history(run.info.run_id, "validation_0-ndcg_at_5")) == 4
    loaded = autolog.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded) is xgb.XGBRanker
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_wrapper_early_stopping(xgb_autolog, data):
    X, y, Xv, yv = data
    model = xgb.XGBClassifier(n_estimators=200, learning_rate=0.5, early_stopping_rounds=3)
    model.fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    run = only_run()
    metrics = run.data.metrics
    stopped = len(model.evals_result()["validation_0"]["logloss"]) - 1
    assert stopped < 199
    assert metrics["best_iteration"] == model.best_iteration
    assert metrics["stopped_iteration"] == stopped
    steps = history(run.info.run_id, "validation_0-logloss")
    assert steps[-1][0] == stopped + 1  # the best iteration's metrics once more
    assert steps[-1][1] == pytest.approx(steps[model.best_iteration][1])


@pytest.mark.slow
def test_one_run_inside_grid_search_and_pipeline(tracking_uri, data):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    try:
        autolog.sklearn.autolog()
    except (LookupError, AttributeError, ImportError):
        pytest.skip("the sklearn integration is not available")
    autolog.xgboost.autolog()
    try:
        X, y, _, _ = data
        GridSearchCV(xgb.XGBClassifier(n_estimators=3), {"max_depth": [2, 3]}, cv=2).fit(X, y)
        assert len(top_level_runs()) == 1  # candidates may be child runs of the search's run
        while autolog.active_run() is not None:
            autolog.end_run()
        make_pipeline(StandardScaler(), xgb.XGBClassifier(n_estimators=3)).fit(X, y)
        assert len(top_level_runs()) == 2
        assert not [r for r in autolog.search_runs()
                    if r.data.tags.get("autolog.integration") == "xgboost"]
    finally:
        autolog.xgboost.autolog(disable=True)
        autolog.sklearn.autolog(disable=True)


# -- native train / cv ------------------------------------------------------------------------


def test_native_train_two_eval_sets(xgb_autolog, data):
    X, y, Xv, yv = data
    dtrain, dvalid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
    params = {"objective": "binary:logistic", "eval_metric": ["logloss", "auc"],
              "max_depth": 2, "tree_method": "hist"}
    result: dict = {}
    booster = xgb.train(params, dtrain, 6, evals=[(dtrain, "train"), (dvalid, "valid")],
                        evals_result=result, verbose_eval=False)
    run = only_run()
    p = run.data.params
    assert p["max_depth"] == "2" and p["num_boost_round"] == "6"
    assert p["eval_metric"] == "[logloss, auc]"
    for key in ("train-logloss", "train-auc", "valid-logloss", "valid-auc"):
        data_name, metric = key.split("-")
        assert history(run.info.run_id, key) == [
            (i, pytest.approx(v)) for i, v in enumerate(result[data_name][metric])]
    assert run.data.tags["dataset.valid.shape"] == "169x30"
    loaded = autolog.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    assert isinstance(loaded, xgb.Booster)
    np.testing.assert_array_equal(loaded.predict(dvalid), booster.predict(dvalid))


#: ``evals`` in the forms ``xgboost.train`` accepts (any iterable of (DMatrix, name) pairs:
#: it calls ``list(evals)``) -> the names XGBoost reports.
EVALS_FORMS = {
    "list-of-tuples": (lambda t, v: [(v, "valid")], ["valid"]),
    "tuple-of-tuples": (lambda t, v: ((t, "train"), (v, "valid")), ["train", "valid"]),
    "list-of-lists": (lambda t, v: [[v, "holdout"]], ["holdout"]),
    "generator": (lambda t, v: ((d, n) for d, n in [(v, "valid")]), ["valid"]),
    "iterator-with-train": (lambda t, v: iter([(t, "fit"), (v, "valid")]), ["fit", "valid"]),
}


@pytest.mark.parametrize("form", sorted(EVALS_FORMS))
def test_native_train_every_evals_form(xgb_autolog, data, form):
    """Every ``evals`` form: metrics under XGBoost's names, early stopping, the model; a
    generator is still seen whole by XGBoost (reading it must not consume the user's)."""
    make, expected = EVALS_FORMS[form]
    X, y, Xv, yv = data
    dtrain, dvalid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
    evals = make(dtrain, dvalid)
    result: dict = {}
    booster = xgb.train({"objective": "binary:logistic", "eta": 0.6}, dtrain, 300,
                        evals=evals, evals_result=result, early_stopping_rounds=3,
                        verbose_eval=False)
    assert sorted(result) == sorted(expected)
    run = only_run()
    for name in expected:
        assert history(run.info.run_id, f"{name}-logloss")[:len(result[name]["logloss"])] == [
            (i, pytest.approx(v)) for i, v in enumerate(result[name]["logloss"])]
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    assert run.data.metrics["stopped_iteration"] == booster.num_boosted_rounds() - 1 < 299
    valid_name = next(n for n in expected if n not in ("train", "fit"))
    assert run.data.tags[f"dataset.{valid_name}.shape"] == "169x30"
    assert "dataset.fit.shape" not in run.data.tags
    loaded = autolog.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(dvalid), booster.predict(dvalid))


def test_early_stopping_with_and_without_users_callback(xgb_autolog, data):
    X, y, Xv, yv = data
    dtrain, dvalid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
    params = {"objective": "binary:logistic", "eta": 0.6}
    booster = xgb.train(params, dtrain, 300, evals=[(dvalid, "valid")],
                        early_stopping_rounds=3, verbose_eval=False)
    run = only_run()
    assert run.data.params["early_stopping_rounds"] == "3"
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    stopped = booster.num_boosted_rounds() - 1
    assert run.data.metrics["stopped_iteration"] == stopped < 299
    while autolog.active_run() is not None:
        autolog.end_run()

    stopper = xgb.callback.EarlyStopping(rounds=3, save_best=False)
    callbacks = [stopper]
    booster2 = xgb.train(params, dtrain, 300, evals=[(dvalid, "valid")], callbacks=callbacks,
                         verbose_eval=False)
    assert callbacks == [stopper]  # the user's list is not mutated
    assert booster2.num_boosted_rounds() == booster.num_boosted_rounds()  # theirs stopped it
    second = [r for r in autolog.search_runs() if r.info.run_id != run.info.run_id][0]
    assert second.data.metrics["best_iteration"] == booster2.best_iteration
    steps = history(second.info.run_id, "valid-logloss")
    assert steps[-1] == (stopped + 1, pytest.approx(steps[booster2.best_iteration][1]))


def test_training_continued_from_a_model_counts_its_rounds(tracking_uri, data):
    """``xgb_model=``: steps, best_iteration and the best step's summary all count the
    rounds the model already had, as XGBoost's own best_iteration does."""
    X, y, Xv, yv = data
    dtrain, dvalid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
    params = {"objective": "binary:logistic", "eta": 0.6}
    first = xgb.train(params, dtrain, 10, evals=[(dvalid, "valid")], verbose_eval=False)
    autolog.xgboost.autolog()
    try:
        booster = xgb.train(params, dtrain, 300, evals=[(dvalid, "valid")], xgb_model=first,
                            early_stopping_rounds=3, verbose_eval=False)
    finally:
        autolog.xgboost.autolog(disable=True)
    run = only_run()
    steps = history(run.info.run_id, "valid-logloss")
    last = booster.num_boosted_rounds() - 1
    assert [s for s, _ in steps[:-1]] == list(range(10, last + 1))  # no duplicate point
    assert run.data.metrics["best_iteration"] == booster.best_iteration >= 10
    assert run.data.metrics["stopped_iteration"] == last
    best_value = dict(steps[:-1])[booster.best_iteration]
    assert steps[-1] == (last + 1, pytest.approx(best_value))


def test_cv_mean_and_std(xgb_autolog, data):
    X, y, _, _ = data
    result = xgb.cv({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, y), 4,
                    nfold=3, metrics=["auc"], seed=1)
    run = only_run()
    assert run.data.params["nfold"] == "3" and run.data.params["metrics"] == "[auc]"
    means = history(run.info.run_id, "test-auc-mean")
    assert [v for _, v in means] == pytest.approx(list(result["test-auc-mean"]))
    assert len(history(run.info.run_id, "test-auc-std")) == 4
    assert "model" not in artifacts(run.info.run_id)


def test_custom_objective_and_metric(xgb_autolog, data):
    X, y, Xv, yv = data

    def squared_log(predt, dtrain):
        label = dtrain.get_label()
        return predt - label, np.ones_like(predt)

    def my_error(predt, dmatrix):
        return "my_error", float(np.mean((predt > 0.5) != dmatrix.get_label()))

    dtrain, dvalid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
    xgb.train({"disable_default_eval_metric": 1}, dtrain, 3, evals=[(dvalid, "valid")],
              obj=squared_log, custom_metric=my_error, verbose_eval=False)
    run = only_run()
    assert run.data.params["obj"].endswith("squared_log")
    assert run.data.params["custom_metric"].endswith("my_error")
    assert len(history(run.info.run_id, "valid-my_error")) == 3


def test_pandas_categorical_features(xgb_autolog):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"num": rng.normal(size=300),
                          "cat": pd.Categorical(rng.choice(["a", "b", "c"], size=300))})
    y = (frame["cat"] == "a").astype(int) ^ (frame["num"] > 1).astype(int)
    model = xgb.XGBClassifier(n_estimators=4, enable_categorical=True, tree_method="hist")
    model.fit(frame, y, eval_set=[(frame, y)], verbose=False)
    run = only_run()
    assert run.data.tags["dataset.train.shape"] == "300x2"
    assert run.data.tags["dataset.train.type"] == "pandas.DataFrame"
    gain = json.loads(_read_artifact(run.info.run_id, "feature_importance_gain.json"))
    assert set(gain) <= {"num", "cat"}
    loaded = autolog.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))


def test_sparse_input_described_without_copy(xgb_autolog):
    sparse = pytest.importorskip("scipy.sparse")
    X = sparse.random(100, 8, density=0.3, format="csr", random_state=0)
    y = np.arange(100) % 2
    xgb.XGBClassifier(n_estimators=2).fit(X, y)
    run = only_run()
    assert run.data.tags["dataset.train.shape"] == "100x8"
    assert run.data.tags["dataset.train.type"] == "scipy.sparse.csr_matrix"


def test_training_that_raises_marks_the_run_failed(xgb_autolog, data):
    X, y, _, _ = data
    with pytest.raises(xgb.core.XGBoostError):
        xgb.train({"objective": "no:such_objective"}, xgb.DMatrix(X, y), 2)
    run = only_run()
    assert run.info.status == "FAILED"
    assert "model" not in artifacts(run.info.run_id)


# -- explicit callback ------------------------------------------------------------------------


def test_explicit_callback_without_patching(tracking_uri, data):
    X, y, Xv, yv = data
    dtrain, dvalid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
    with autolog.start_run() as run:
        xgb.train({"objective": "binary:logistic"}, dtrain, 4, evals=[(dvalid, "valid")],
                  callbacks=[autolog.xgboost.AutologCallback()], verbose_eval=False)
    assert len(history(run.info.run_id, "valid-logloss")) == 4
    assert autolog.get_run(run.info.run_id).data.params == {}  # no patch ran


def test_users_own_autolog_callback_is_not_added_twice(xgb_autolog, data):
    X, y, Xv, yv = data
    dtrain, dvalid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
    callbacks = [autolog.xgboost.AutologCallback()]
    xgb.train({"objective": "binary:logistic"}, dtrain, 4, evals=[(dvalid, "valid")],
              callbacks=callbacks, verbose_eval=False)
    assert len(callbacks) == 1
    run = only_run()
    assert [s for s, _ in history(run.info.run_id, "valid-logloss")] == [0, 1, 2, 3]
    # In a wrapper's constructor: logged once too, not again from evals_result.
    while autolog.active_run() is not None:
        autolog.end_run()
    model = xgb.XGBClassifier(n_estimators=3, callbacks=[autolog.xgboost.AutologCallback()])
    model.fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    second = [r for r in autolog.search_runs() if r.info.run_id != run.info.run_id][0]
    assert [s for s, _ in history(second.info.run_id, "validation_0-logloss")] == [0, 1, 2]


def test_log_every_n_steps(tracking_uri, data):
    X, y, Xv, yv = data
    autolog.xgboost.autolog(log_every_n_steps=3, log_models=False)
    try:
        xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, y), 7,
                  evals=[(xgb.DMatrix(Xv, yv), "valid")], verbose_eval=False)
    finally:
        autolog.xgboost.autolog(disable=True)
    run = only_run()
    assert [s for s, _ in history(run.info.run_id, "valid-logloss")] == [0, 3, 6]
    assert "model" not in artifacts(run.info.run_id)


# -- safety -----------------------------------------------------------------------------------


def _train_all(data):
    X, y, Xv, yv = data
    dtrain, dvalid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, dtrain, 3,
                        evals=[(dvalid, "valid")], verbose_eval=False)
    model = xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(X, y, eval_set=[(Xv, yv)],
                                                               verbose=False)
    cv = xgb.cv({"objective": "binary:logistic", "max_depth": 2}, dtrain, 2, nfold=2, seed=0)
    return booster.predict(dvalid), model.predict_proba(Xv), cv.to_numpy()


@pytest.mark.usefixtures("lenient")
def test_each_hook_made_to_raise_in_turn(xgb_autolog, data):
    autolog.xgboost.autolog(disable=True)
    baseline = _train_all(data)
    autolog.xgboost.autolog()
    each_hook_fails_in_turn("xgboost", lambda: _train_all(data), baseline, hooks_expected=3,
                            exclude="dask")


@pytest.mark.usefixtures("lenient")
def test_failing_backend_leaves_training_identical(xgb_autolog, data):
    autolog.xgboost.autolog(disable=True)
    baseline = _train_all(data)
    autolog.xgboost.autolog()
    failing_store_changes_nothing(lambda: _train_all(data), baseline)


def test_user_callback_list_not_mutated(xgb_autolog, data):
    X, y, Xv, yv = data
    mine = xgb.callback.EvaluationMonitor(period=100)
    callbacks = [mine]
    as_tuple = (mine,)
    dtrain = xgb.DMatrix(X, y)
    xgb.train({"objective": "binary:logistic"}, dtrain, 2, evals=[(dtrain, "t")],
              callbacks=callbacks, verbose_eval=False)
    xgb.train({"objective": "binary:logistic"}, dtrain, 2, evals=[(dtrain, "t")],
              callbacks=as_tuple, verbose_eval=False)
    assert callbacks == [mine] and as_tuple == (mine,)
    model = xgb.XGBClassifier(n_estimators=2, callbacks=callbacks)
    model.fit(X, y)
    assert model.callbacks is callbacks and callbacks == [mine]


def test_import_is_lazy():
    code = ("import sys, autolog; autolog.xgboost.autolog(); import autolog.integrations.xgboost, "
            "autolog.models.flavors.xgboost; "
            "assert 'xgboost' not in sys.modules and 'numpy' not in sys.modules, "
            "[m for m in ('xgboost', 'numpy') if m in sys.modules]")
    env = dict(os.environ, AUTOLOG_TRACKING_URI="memory:")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def _read_artifact(run_id, path):
    store = context.get_store()
    local = store.artifact_local_path(run_id, path)
    with open(local, encoding="utf-8") as handle:
        return handle.read()
