"""CatBoost autologging on real CatBoost, small real data (never a mocked framework).

Every test runs in its own working directory (CatBoost writes ``catboost_info/`` into it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

cb = pytest.importorskip("catboost")
np = pytest.importorskip("numpy")

from _fault_matrix import each_hook_fails_in_turn, failing_store_changes_nothing  # noqa: E402
from _run_helpers import artifacts, end_runs, history, only_run, read_artifact  # noqa: E402

import autolog  # noqa: E402
from autolog.core.tracking import context  # noqa: E402

QUIET = {"verbose": False, "thread_count": 1}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def in_tmp_cwd(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def cb_autolog(tracking_uri):
    autolog.catboost.autolog()
    yield tracking_uri
    autolog.catboost.autolog(disable=True)


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return X[:400], y[:400], X[400:], y[400:]


def files_under(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, names in os.walk(root) for f in names)


# -- what a fit records ---------------------------------------------------------------------


def test_classifier_one_run_params_metrics_importance_model(cb_autolog, data):
    X, y, Xv, yv = data
    model = cb.CatBoostClassifier(iterations=20, depth=3, learning_rate=0.3, subsample=0.8,
                                  bootstrap_type="Bernoulli", eval_metric="AUC", **QUIET)
    assert model.fit(X, y, eval_set=(Xv, yv)) is model
    run = only_run()
    rid = run.info.run_id
    assert run.info.status == "FINISHED"
    params = run.data.params
    # what the user set, as set (0.8, not CatBoost's float32 0.800000011920929) ...
    assert params["depth"] == "3" and params["subsample"] == "0.8"
    assert params["iterations"] == "20" and params["eval_metric"] == "AUC"
    # ... and what CatBoost trained with besides
    assert params["loss_function"] == "Logloss" and params["l2_leaf_reg"] == "3"
    assert params["pool_metainfo_options.tags"] == "{}"
    evals = model.get_evals_result()
    assert set(evals) == {"learn", "validation"}
    assert history(rid, "validation-AUC") == [
        (i, pytest.approx(v)) for i, v in enumerate(evals["validation"]["AUC"])]
    assert [s for s, _ in history(rid, "learn-Logloss")] == list(range(20))
    metrics = run.data.metrics
    assert metrics["best_iteration"] == model.get_best_iteration()
    assert metrics["best.validation-AUC"] == pytest.approx(
        model.get_best_score()["validation"]["AUC"])
    assert "stopped_iteration" not in metrics  # no overfitting detector
    assert metrics["training_duration_seconds"] > 0
    tags = run.data.tags
    assert tags["autolog.integration"] == "catboost"
    assert tags["dataset.train.shape"] == "400x30" and tags["dataset.validation.shape"] == "169x30"
    assert tags["dataset.train.type"] == "numpy.ndarray"
    assert {"feature_importance_PredictionValuesChange.json",
            "feature_importance_PredictionValuesChange.png", "model"} <= set(artifacts(rid))
    importance = json.loads(read_artifact(rid, "feature_importance_PredictionValuesChange.json"))
    assert list(importance.values()) == pytest.approx(list(model.get_feature_importance()))
    loaded = autolog.catboost.load_model(f"runs:/{rid}/model")
    assert type(loaded) is cb.CatBoostClassifier
    np.testing.assert_array_equal(loaded.predict_proba(Xv), model.predict_proba(Xv))
    np.testing.assert_array_equal(loaded.predict(Xv), model.predict(Xv))


def test_model_is_native_cbm_mlflow_shaped_and_loads_every_way(cb_autolog, data):
    import yaml
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    model = cb.CatBoostClassifier(iterations=10, depth=2, **QUIET).fit(X, labels)
    rid = only_run().info.run_id
    files = artifacts(rid, "model")
    assert "model/model.cbm" in files
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".joblib"))], files
    with open(context.get_store().artifact_local_path(rid, "model/model.cbm"), "rb") as f:
        assert f.read(4) == b"CBM1"  # CatBoost's binary format, not a pickle
    mlmodel = yaml.safe_load(read_artifact(rid, "model/MLmodel"))
    conf = mlmodel["flavors"]["catboost"]
    assert conf == {"catboost_version": cb.__version__, "code": None, "data": "model.cbm",
                    "model_type": "CatBoostClassifier", "save_format": "cbm"}
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.catboost"
    assert mlmodel["flavors"]["python_function"]["data"] == "model.cbm"
    uri = f"runs:/{rid}/model"
    for loaded in (autolog.catboost.load_model(uri), autolog.load_model(uri)):
        assert type(loaded) is cb.CatBoostClassifier
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(autolog.pyfunc.load_model(uri).predict(X), model.predict(X))


def test_regressor_on_diabetes(cb_autolog):
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    model = cb.CatBoostRegressor(iterations=15, depth=3, **QUIET)
    model.fit(X[:350], y[:350], eval_set=(X[350:], y[350:]))
    run = only_run()
    rid = run.info.run_id
    assert run.data.params["loss_function"] == "RMSE"
    assert [s for s, _ in history(rid, "validation-RMSE")] == list(range(15))
    assert history(rid, "learn-RMSE")[-1][1] == pytest.approx(
        model.get_evals_result()["learn"]["RMSE"][-1])
    loaded = autolog.catboost.load_model(f"runs:/{rid}/model")
    assert type(loaded) is cb.CatBoostRegressor
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_eval_set_list_early_stopping_and_metric_period(cb_autolog, data):
    """Two eval sets, the overfitting detector stopping early, values every 4th iteration:
    each value at the iteration CatBoost computed it on -- as CatBoost's own callback
    info shows them (the explicit AutologCallback, in a run of its own)."""
    X, y, Xv, yv = data
    kwargs = {"eval_set": [(Xv[:80], yv[:80]), (Xv[80:], yv[80:])],
              "early_stopping_rounds": 3, "metric_period": 4}

    def fresh():
        return cb.CatBoostClassifier(iterations=200, learning_rate=0.8, depth=3, **QUIET)

    model = fresh().fit(X, y, **kwargs)
    run = only_run()
    rid = run.info.run_id
    evals = model.get_evals_result()
    ran = len(evals["validation_1"]["Logloss"])  # the detector's metric: every iteration
    assert ran < 200
    assert len(evals["validation_0"]["Logloss"]) < ran  # others: every 4th
    best = model.get_best_iteration()
    metrics = run.data.metrics
    assert metrics["best_iteration"] == best and metrics["stopped_iteration"] == ran
    assert run.data.params["early_stopping_rounds"] == "3"
    assert run.data.params["od_wait"] == "3" and run.data.params["metric_period"] == "4"
    assert run.data.tags["dataset.validation_0.shape"] == "80x30"
    assert run.data.tags["dataset.validation_1.shape"] == "89x30"
    steps = history(rid, "validation_1-Logloss")
    assert [s for s, _ in steps] == list(range(ran + 1))
    assert steps[-1][1] == pytest.approx(steps[best][1])  # the best once more, after
    end_runs()
    autolog.catboost.autolog(disable=True)
    with autolog.start_run() as explicit:
        fresh().fit(X, y, callbacks=[autolog.catboost.AutologCallback()], **kwargs)
    for key in ("learn-Logloss", "validation_0-Logloss", "validation_1-Logloss"):
        seen = history(explicit.info.run_id, key)
        autologged = [(s, v) for s, v in history(rid, key) if s < ran]  # not the best after
        assert autologged == seen and len(seen) > 1, key
    assert [s for s, _ in seen] == list(range(ran))


def test_log_every_n_steps_thins_and_keeps_the_last(tracking_uri, data):
    X, y, _, _ = data
    autolog.catboost.autolog(log_every_n_steps=5)
    try:
        cb.CatBoostClassifier(iterations=12, depth=2, **QUIET).fit(X, y)
    finally:
        autolog.catboost.autolog(disable=True)
    run = only_run()
    assert [s for s, _ in history(run.info.run_id, "learn-Logloss")] == [0, 5, 10, 11]


def test_users_callbacks_list_untouched_and_called(cb_autolog, data):
    X, y, Xv, yv = data

    class Stopper:
        def __init__(self):
            self.iterations = []

        def after_iteration(self, info):
            self.iterations.append(info.iteration)
            return info.iteration < 6  # stops training after 6 iterations

    mine = Stopper()
    callbacks = [mine]
    model = cb.CatBoostClassifier(iterations=30, depth=2, **QUIET)
    model.fit(X, y, eval_set=(Xv, yv), callbacks=callbacks)
    assert callbacks == [mine] and len(callbacks) == 1
    assert mine.iterations == [1, 2, 3, 4, 5, 6]
    run = only_run()
    assert [s for s, _ in history(run.info.run_id, "validation-Logloss")] == list(range(6))


def test_explicit_callback_without_patching(tracking_uri, data):
    X, y, Xv, yv = data
    callback = autolog.catboost.AutologCallback()
    with autolog.start_run() as run:
        cb.CatBoostRegressor(iterations=7, depth=2, **QUIET).fit(
            X, y.astype(float), eval_set=(Xv, yv.astype(float)), callbacks=[callback])
    assert [s for s, _ in history(run.info.run_id, "validation-RMSE")] == list(range(7))
    assert [s for s, _ in history(run.info.run_id, "learn-RMSE")] == list(range(7))
    assert autolog.get_run(run.info.run_id).data.params == {}
    assert len(autolog.search_runs()) == 1
    with autolog.start_run() as second:  # the same callback object, another training
        cb.CatBoostRegressor(iterations=3, depth=2, **QUIET).fit(
            X, y.astype(float), callbacks=[callback])
    assert [s for s, _ in history(second.info.run_id, "learn-RMSE")] == [0, 1, 2]
    assert len(history(run.info.run_id, "learn-RMSE")) == 7


def test_explicit_callback_under_autologging_logs_each_value_once(cb_autolog, data):
    X, y, Xv, yv = data
    callbacks = [autolog.catboost.AutologCallback()]
    cb.CatBoostClassifier(iterations=5, depth=2, **QUIET).fit(X, y, eval_set=(Xv, yv),
                                                               callbacks=callbacks)
    run = only_run()
    assert [s for s, _ in history(run.info.run_id, "validation-Logloss")] == [0, 1, 2, 3, 4]
    assert "best_iteration" in run.data.metrics and "model" in artifacts(run.info.run_id)


def test_catboost_train_with_pools_and_ranker(cb_autolog):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + rng.normal(scale=0.3, size=200) > 0).astype(int)
    train, valid = cb.Pool(X[:150], y[:150]), cb.Pool(X[150:], y[150:])
    booster = cb.train(train, {"iterations": 6, "depth": 2, "loss_function": "Logloss",
                               **QUIET}, eval_set=valid)
    run = only_run()
    assert type(booster) is cb.CatBoost
    assert run.data.tags["dataset.train.type"] == "catboost.Pool"
    assert run.data.tags["dataset.train.shape"] == "150x5"
    assert run.data.tags["dataset.validation.shape"] == "50x5"
    loaded = autolog.catboost.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded) is cb.CatBoost
    np.testing.assert_array_equal(loaded.predict(X), booster.predict(X))
    end_runs()
    groups = np.repeat(np.arange(20), 10)
    ranker = cb.CatBoostRanker(iterations=5, depth=2, loss_function="YetiRank", **QUIET)
    ranker.fit(X, rng.integers(0, 3, size=200), group_id=groups)
    # fit computes no importance for ranking losses; ours leaves nothing on the model
    assert "_prediction_values_change" not in vars(ranker)
    rid = [r for r in autolog.search_runs() if r.info.run_id != run.info.run_id][0].info.run_id
    assert "feature_importance_PredictionValuesChange.json" in artifacts(rid)
    loaded = autolog.catboost.load_model(f"runs:/{rid}/model")
    assert type(loaded) is cb.CatBoostRanker
    np.testing.assert_array_equal(loaded.predict(X), ranker.predict(X))


def test_pandas_categorical_features(cb_autolog):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"num": rng.normal(size=120),
                          "cat": rng.choice(["a", "b", "c"], size=120)})
    y = ((frame["cat"] == "a") ^ (frame["num"] > 0)).astype(int)
    model = cb.CatBoostClassifier(iterations=5, depth=2, cat_features=["cat"], **QUIET)
    model.fit(frame, y)
    run = only_run()
    assert run.data.tags["dataset.train.type"] == "pandas.DataFrame"
    importance = json.loads(read_artifact(run.info.run_id,
                                          "feature_importance_PredictionValuesChange.json"))
    assert set(importance) == {"num", "cat"}
    loaded = autolog.catboost.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))


def test_text_and_embedding_features(cb_autolog):
    """Cells holding arrays (embedding features) cannot be hashed by pandas: the dataset
    digest hashes their text instead; text features train and log as any."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"num": rng.normal(size=120),
                          "text": rng.choice(["good plot", "bad film", "great cast"], size=120),
                          "emb": [rng.normal(size=3) for _ in range(120)]})
    y = frame["text"].str.contains("good|great").astype(int)
    for kwargs in ({"text_features": ["text"]}, {"embedding_features": ["emb"]}):
        X = frame.drop(columns=["emb" if "text_features" in kwargs else "text"])
        model = cb.CatBoostClassifier(iterations=4, depth=2, **kwargs, **QUIET).fit(X, y)
        run = autolog.last_active_run()
        assert run.data.tags["dataset.train.shape"] == "120x2", kwargs
        loaded = autolog.catboost.load_model(f"runs:/{run.info.run_id}/model")
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    first = frame[["num", "emb"]]
    second = first.assign(emb=[v + 1 for v in first["emb"]])
    from autolog.integrations._boosting import describe_data

    assert describe_data(first)["digest"] != describe_data(second)["digest"]
    assert describe_data(first)["digest"] == describe_data(first.copy())["digest"]


# -- runs: nesting, user runs, failures -----------------------------------------------------


def test_nested_fit_opens_no_second_run(cb_autolog, data):
    X, y, _, _ = data

    class MyClassifier(cb.CatBoostClassifier):
        def fit(self, X, y=None, **kwargs):  # a user subclass calling the patched fit
            return super().fit(X, y, **kwargs)

    model = MyClassifier(iterations=3, depth=2, **QUIET).fit(X, y)
    run = only_run()
    assert run.data.params["iterations"] == "3"
    assert len(history(run.info.run_id, "learn-Logloss")) == 3
    loaded = autolog.catboost.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded) is cb.CatBoostClassifier
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_fits_inside_a_scikit_learn_search_are_the_searchs(tracking_uri, data):
    from sklearn.model_selection import GridSearchCV

    X, y, _, _ = data
    autolog.autolog(log_models=False, max_tuning_runs=0)
    try:
        GridSearchCV(cb.CatBoostClassifier(iterations=3, **QUIET), {"depth": [2, 3]},
                     cv=2).fit(X, y)
    finally:
        autolog.autolog(disable=True)
    integrations = {r.data.tags.get("autolog.integration") for r in autolog.search_runs()}
    assert integrations == {"sklearn"}


def test_inside_a_user_run(cb_autolog, data):
    X, y, _, _ = data
    with autolog.start_run(run_name="mine") as run:
        cb.CatBoostClassifier(iterations=3, depth=2, **QUIET).fit(X, y)
        assert autolog.active_run().info.run_id == run.info.run_id
    logged = only_run()
    assert logged.info.run_id == run.info.run_id
    assert logged.data.params["depth"] == "2" and "model" in artifacts(run.info.run_id)


def test_training_that_raises_marks_the_run_failed(cb_autolog, data):
    X, y, _, _ = data

    class Boom:
        def after_iteration(self, info):
            if info.iteration == 2:
                raise RuntimeError("user callback failed")
            return True

    try:
        with pytest.raises(cb.CatBoostError, match="user callback failed"):  # CatBoost wraps it
            cb.CatBoostClassifier(iterations=5, depth=2, **QUIET).fit(X, y, callbacks=[Boom()])
    finally:
        _clear_leaked_exception()
    run = only_run()
    assert run.info.status == "FAILED"
    assert "model" not in artifacts(run.info.run_id)


@pytest.mark.parametrize("shape", [(0, 4), (5, 0)])
def test_an_empty_training_set_behaves_as_without_autolog(tracking_uri, shape):
    def outcome():
        try:
            X, y = np.empty(shape), np.zeros(shape[0])
            return "ok", cb.CatBoostRegressor(iterations=2, **QUIET).fit(X, y).tree_count_
        except Exception as exc:  # noqa: BLE001 - compared with the bare call's
            return type(exc), str(exc)

    bare = outcome()
    autolog.catboost.autolog()
    try:
        assert outcome() == bare  # strict mode: no internal error on the way
    finally:
        autolog.catboost.autolog(disable=True)


def test_writes_no_file_the_bare_fit_would_not(tracking_uri, tmp_path, monkeypatch, data):
    X, y, Xv, yv = data

    def fit():
        cb.CatBoostClassifier(iterations=5, depth=2, **QUIET).fit(X, y, eval_set=(Xv, yv))

    for name in ("bare", "autologged"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        if name == "autologged":
            autolog.catboost.autolog()
        try:
            fit()
        finally:
            autolog.catboost.autolog(disable=True)
    autolog.flush()
    assert files_under(tmp_path / "autologged") == files_under(tmp_path / "bare")
    assert "catboost_info/catboost_training.json" in files_under(tmp_path / "bare")


def test_many_iterations_are_written_in_few_batches(cb_autolog, data):
    X, y, Xv, yv = data
    backend = context.get_logger(cb_autolog).backend
    batches = []
    original = backend.log_batch

    def counting(run_id, metrics=(), *args, **kwargs):
        batches.append(len(metrics))
        return original(run_id, metrics, *args, **kwargs)

    backend.log_batch = counting
    try:
        cb.CatBoostClassifier(iterations=1000, depth=1, learning_rate=0.05,
                              **QUIET).fit(X, y, eval_set=(Xv, yv))
        autolog.flush()
    finally:
        del backend.log_batch
    points = sum(batches)
    assert points >= 2000  # learn and validation Logloss at 1,000 steps each
    assert len(batches) <= 5, batches


# -- safety -----------------------------------------------------------------------------------


def _train_all(data):
    X, y, Xv, yv = data
    model = cb.CatBoostClassifier(iterations=5, depth=2, **QUIET).fit(X, y, eval_set=(Xv, yv))
    reg = cb.CatBoostRegressor(iterations=5, depth=2, **QUIET).fit(X, y.astype(float))
    return model.predict_proba(Xv), reg.predict(Xv), np.asarray(
        model.get_evals_result()["validation"]["Logloss"])


@pytest.mark.usefixtures("lenient")
def test_each_hook_made_to_raise_in_turn(cb_autolog, data):
    autolog.catboost.autolog(disable=True)
    baseline = _train_all(data)
    autolog.catboost.autolog()
    each_hook_fails_in_turn("catboost", lambda: _train_all(data), baseline, hooks_expected=1)


@pytest.mark.usefixtures("lenient")
def test_failing_backend_leaves_training_identical(cb_autolog, data):
    autolog.catboost.autolog(disable=True)
    baseline = _train_all(data)
    autolog.catboost.autolog()
    failing_store_changes_nothing(lambda: _train_all(data), baseline)


def test_import_is_lazy():
    code = ("import sys, autolog; autolog.autolog(); autolog.catboost.autolog(); "
            "import autolog.integrations.catboost, autolog.models.flavors.catboost; "
            "assert 'catboost' not in sys.modules and 'numpy' not in sys.modules, "
            "[m for m in ('catboost', 'numpy') if m in sys.modules]; "
            "print({s.name: s.state for s in autolog.status()}['catboost'])")
    env = dict(os.environ, AUTOLOG_TRACKING_URI="memory:")
    out = subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT,
                         capture_output=True, text=True)
    assert out.stdout.strip() == "waiting"


def test_mlflow_loaders_read_our_model_and_we_read_theirs(tmp_path, data):
    """The MLmodel entry is MLflow's catboost flavor, both ways (files, no server)."""
    pytest.importorskip("mlflow")
    import mlflow.catboost
    import mlflow.pyfunc

    X, y, Xv, _ = data
    model = cb.CatBoostClassifier(iterations=5, depth=2, **QUIET).fit(X, y)
    autolog.catboost.save_model(model, tmp_path / "ours")
    by_flavor = mlflow.catboost.load_model(str(tmp_path / "ours"))
    assert type(by_flavor) is cb.CatBoostClassifier
    np.testing.assert_array_equal(by_flavor.predict_proba(Xv), model.predict_proba(Xv))
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(str(tmp_path / "ours")).predict(Xv),
                                  model.predict(Xv))
    mlflow.catboost.save_model(model, str(tmp_path / "theirs"))
    loaded = autolog.catboost.load_model(tmp_path / "theirs")
    assert type(loaded) is cb.CatBoostClassifier
    np.testing.assert_array_equal(loaded.predict_proba(Xv), model.predict_proba(Xv))


def _clear_leaked_exception() -> None:
    """CatBoost 1.2 (its Cython layer) leaves a callback's exception set as the thread's
    "exception being handled" after it raises CatBoostError, bare or autologged alike
    (sys.exc_info() still returns it), so every later exception raised in this thread
    gets it as __context__. Clear it, so that tests run after this one see a clean
    thread."""
    import ctypes

    ctypes.pythonapi.PyErr_SetExcInfo(None, None, None)

