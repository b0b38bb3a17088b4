"""LightGBM autologging on real LightGBM, small real data (never a mocked framework)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

lgb = pytest.importorskip("lightgbm")
np = pytest.importorskip("numpy")

from _fault_matrix import each_hook_fails_in_turn, failing_store_changes_nothing  # noqa: E402
from _run_helpers import artifacts, end_runs, history, only_run, read_artifact  # noqa: E402

import autolog  # noqa: E402

QUIET = {"verbose": -1, "num_threads": 1}


@pytest.fixture
def lgb_autolog(tracking_uri):
    autolog.lightgbm.autolog()
    yield tracking_uri
    autolog.lightgbm.autolog(disable=True)


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return X[:400], y[:400], X[400:], y[400:]


# -- wrappers ---------------------------------------------------------------------------------


def test_classifier_one_run_params_metrics_importance_model(lgb_autolog, data):
    X, y, Xv, yv = data
    model = lgb.LGBMClassifier(n_estimators=8, num_leaves=7, **QUIET)
    assert model.fit(X, y, eval_X=(X, Xv), eval_y=(y, yv), eval_metric="auc") is model
    run = only_run()
    assert run.info.status == "FINISHED"
    assert run.data.params["n_estimators"] == "8" and run.data.params["num_leaves"] == "7"
    evals = model.evals_result_
    assert history(run.info.run_id, "valid_1-auc") == [
        (i, pytest.approx(v)) for i, v in enumerate(evals["valid_1"]["auc"])]
    assert "valid_0-binary_logloss" in run.data.metrics
    assert "best_iteration" not in run.data.metrics
    assert run.data.tags["dataset.train.shape"] == "400x30"
    assert run.data.tags["dataset.valid_1.shape"] == "169x30"
    names = artifacts(run.info.run_id)
    assert {"feature_importance_split.json", "feature_importance_gain.json",
            "feature_importance_gain.png", "model"} <= set(names)
    assert "model/model.lgb" in artifacts(run.info.run_id, "model")
    loaded = autolog.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded) is lgb.LGBMClassifier and loaded.get_params()["num_leaves"] == 7
    np.testing.assert_allclose(loaded.predict_proba(Xv), model.predict_proba(Xv))
    np.testing.assert_array_equal(loaded.predict(Xv), model.predict(Xv))


def test_string_labels_regressor_and_ranker(lgb_autolog, data):
    X, y, Xv, yv = data
    labels = np.array(["no", "yes"])[y]
    clf = lgb.LGBMClassifier(n_estimators=3, **QUIET).fit(X, labels)
    loaded = autolog.lightgbm.load_model(f"runs:/{only_run().info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(Xv), clf.predict(Xv))
    end_runs()
    reg = lgb.LGBMRegressor(n_estimators=4, **QUIET).fit(X, y.astype(float),
                                                         eval_X=Xv, eval_y=yv.astype(float))
    run = [r for r in autolog.search_runs() if "valid_0-l2" in r.data.metrics][0]
    assert len(history(run.info.run_id, "valid_0-l2")) == 4
    loaded = autolog.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(Xv), reg.predict(Xv))
    end_runs()
    rng = np.random.default_rng(0)
    Xr, yr = rng.normal(size=(200, 5)), rng.integers(0, 3, size=200)
    group = [10] * 20
    ranker = lgb.LGBMRanker(n_estimators=3, min_child_samples=5, **QUIET)
    ranker.fit(Xr, yr, group=group, eval_X=Xr, eval_y=yr, eval_group=[group], eval_at=[3])
    run = [r for r in autolog.search_runs() if "training-ndcg_at_3" in r.data.metrics][0]
    loaded = autolog.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded) is lgb.LGBMRanker
    np.testing.assert_allclose(loaded.predict(Xr), ranker.predict(Xr))


def test_early_stopping_with_users_callback_and_with_param(lgb_autolog, data):
    X, y, Xv, yv = data
    stopper = lgb.early_stopping(2, verbose=False)
    callbacks = [stopper]
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.5, **QUIET)
    model.fit(X, y, eval_X=Xv, eval_y=yv, callbacks=callbacks)
    assert callbacks == [stopper]
    run = only_run()
    ran = len(model.evals_result_["valid_0"]["binary_logloss"])
    assert ran < 300
    assert run.data.metrics["best_iteration"] == model.best_iteration_
    assert run.data.metrics["stopped_iteration"] == ran
    steps = history(run.info.run_id, "valid_0-binary_logloss")
    assert steps[-1] == (ran, pytest.approx(steps[model.best_iteration_ - 1][1]))
    end_runs()
    train_set = lgb.Dataset(X, y)
    booster = lgb.train({"objective": "binary", "early_stopping_round": 2,
                         "learning_rate": 0.5, **QUIET}, train_set, 300,
                        valid_sets=[lgb.Dataset(Xv, yv, reference=train_set)])
    second = [r for r in autolog.search_runs() if r.info.run_id != run.info.run_id][0]
    assert second.data.params["early_stopping_round"] == "2"
    assert second.data.metrics["best_iteration"] == booster.best_iteration


def test_training_continued_from_init_model_counts_its_rounds(tracking_uri, data):
    """``init_model=``: LightGBM's iterations and best_iteration count the model's earlier
    rounds; the best step's summary is found among them."""
    X, y, Xv, yv = data
    params = {"objective": "binary", "learning_rate": 0.5, **QUIET}
    train_set = lgb.Dataset(X, y, free_raw_data=False)
    valid = lgb.Dataset(Xv, yv, reference=train_set, free_raw_data=False)
    first = lgb.train(params, train_set, 10, valid_sets=[valid])
    autolog.lightgbm.autolog()
    try:
        booster = lgb.train({**params, "early_stopping_round": 2}, train_set, 300,
                            valid_sets=[valid], init_model=first)
    finally:
        autolog.lightgbm.autolog(disable=True)
    run = only_run()
    steps = history(run.info.run_id, "valid_0-binary_logloss")
    last = steps[-2][0]
    assert steps[0][0] == 10
    assert run.data.metrics["best_iteration"] == booster.best_iteration >= 11
    assert run.data.metrics["stopped_iteration"] == last + 1
    best_value = dict(steps[:-1])[booster.best_iteration - 1]
    assert steps[-1] == (last + 1, pytest.approx(best_value))


# -- native train / cv ------------------------------------------------------------------------


def test_native_train_two_eval_sets_and_booster_model(lgb_autolog, data):
    X, y, Xv, yv = data
    train_set = lgb.Dataset(X, y)
    valid = lgb.Dataset(Xv, yv, reference=train_set)
    record: dict = {}
    booster = lgb.train({"objective": "binary", "metric": ["binary_logloss", "auc"], **QUIET},
                        train_set, 5, valid_sets=[train_set, valid],
                        valid_names=["train", "valid"],
                        callbacks=[lgb.record_evaluation(record)])
    run = only_run()
    assert run.data.params["num_boost_round"] == "5"
    assert run.data.params["metric"] == "[binary_logloss, auc]"
    for data_name in ("train", "valid"):
        for metric in ("binary_logloss", "auc"):
            assert history(run.info.run_id, f"{data_name}-{metric}") == [
                (i, pytest.approx(v)) for i, v in enumerate(record[data_name][metric])]
    assert run.data.tags["dataset.valid.shape"] == "169x30"
    assert run.data.tags["dataset.train.type"] == "lightgbm.Dataset(numpy.ndarray)"
    split = json.loads(read_artifact(run.info.run_id, "feature_importance_split.json"))
    assert sum(split.values()) > 0
    loaded = autolog.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    assert isinstance(loaded, lgb.Booster)
    np.testing.assert_allclose(loaded.predict(Xv), booster.predict(Xv))


#: ``valid_sets``/``valid_names`` in every form ``lightgbm.train`` accepts (engine.py): a
#: lone Dataset, a list, a tuple, a generator; names absent, a list, a tuple, one string;
#: the training set among them. -> the metric prefixes LightGBM itself reports.
VALID_FORMS = {
    "dataset": (lambda t, v: v, None, ["valid_0"]),
    "dataset-named": (lambda t, v: v, "holdout", ["holdout"]),
    "list": (lambda t, v: [v], None, ["valid_0"]),
    "tuple": (lambda t, v: (v,), ["holdout"], ["holdout"]),
    "generator": (lambda t, v: (d for d in (v,)), None, ["valid_0"]),
    "train-and-valid": (lambda t, v: (t, v), None, ["training", "valid_1"]),
    "train-named": (lambda t, v: [v, t], ("holdout", "fit"), ["holdout", "fit"]),
}


@pytest.mark.parametrize("form", sorted(VALID_FORMS))
def test_native_train_every_valid_sets_form(lgb_autolog, data, form):
    """Issue 15 defect 2: ``valid_sets=<a Dataset>`` raised inside the hook and the
    training's metrics, early stopping and model were lost."""
    make, names, expected = VALID_FORMS[form]
    X, y, Xv, yv = data
    train_set = lgb.Dataset(X, y)
    valid = lgb.Dataset(Xv, yv, reference=train_set)
    record: dict = {}
    booster = lgb.train({"objective": "binary", "learning_rate": 0.5, **QUIET}, train_set,
                        300, valid_sets=make(train_set, valid), valid_names=names,
                        callbacks=[lgb.record_evaluation(record),
                                   lgb.early_stopping(2, verbose=False)])
    assert sorted(record) == sorted(expected)
    run = only_run()
    assert run.info.status == "FINISHED"
    ran = len(record[expected[0]]["binary_logloss"])
    assert ran < 300
    for name in expected:
        steps = history(run.info.run_id, f"{name}-binary_logloss")
        assert steps[:ran] == [(i, pytest.approx(v))
                               for i, v in enumerate(record[name]["binary_logloss"])]
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    assert run.data.metrics["stopped_iteration"] == ran
    valid_name = next(n for n in expected if n not in ("training", "fit"))
    assert run.data.tags[f"dataset.{valid_name}.shape"] == "169x30"
    assert not {"dataset.training.shape", "dataset.fit.shape"} & set(run.data.tags)
    loaded = autolog.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(Xv), booster.predict(Xv))


@pytest.mark.parametrize("names, with_train, expected", [
    (None, True, ["training", "valid_1"]),
    ("holdout", False, ["holdout"]),
    (["fit", "holdout"], True, ["fit", "holdout"]),
])
def test_wrapper_eval_names_forms_and_training_data_as_eval_set(lgb_autolog, data, names,
                                                                with_train, expected):
    X, y, Xv, yv = data
    model = lgb.LGBMClassifier(n_estimators=4, **QUIET)
    eval_set = [(X, y), (Xv, yv)] if with_train else (Xv, yv)
    model.fit(X, y, eval_set=eval_set, eval_names=names)
    assert sorted(model.evals_result_) == sorted(expected)
    run = only_run()
    for name in expected:
        assert len(history(run.info.run_id, f"{name}-binary_logloss")) == 4
    assert run.data.tags[f"dataset.{expected[-1]}.shape"] == "169x30"
    assert not {"dataset.training.shape", "dataset.fit.shape"} & set(run.data.tags)


def test_cv_mean_and_std(lgb_autolog, data):
    X, y, _, _ = data
    result = lgb.cv({"objective": "binary", **QUIET}, lgb.Dataset(X, y), 4, nfold=3,
                    stratified=False, seed=1)
    run = only_run()
    assert run.data.params["nfold"] == "3"
    means = history(run.info.run_id, "valid-binary_logloss-mean")
    assert [v for _, v in means] == pytest.approx(result["valid binary_logloss-mean"])
    assert len(history(run.info.run_id, "valid-binary_logloss-std")) == 4
    assert "model" not in artifacts(run.info.run_id)


def test_custom_objective_and_metric(lgb_autolog, data):
    X, y, Xv, yv = data

    def logistic_obj(preds, train_data):
        p = 1 / (1 + np.exp(-preds))
        return p - train_data.get_label(), p * (1 - p)

    def my_error(preds, eval_data):
        return "my_error", float(np.mean((preds > 0) != eval_data.get_label())), False

    train_set = lgb.Dataset(X, y)
    lgb.train({"objective": logistic_obj, "metric": "None", **QUIET}, train_set, 3,
              valid_sets=[lgb.Dataset(Xv, yv, reference=train_set)], feval=my_error)
    run = only_run()
    assert run.data.params["objective"].endswith("logistic_obj")
    assert run.data.params["feval"].endswith("my_error")
    assert len(history(run.info.run_id, "valid_0-my_error")) == 3


def test_pandas_categorical_features(lgb_autolog):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"num": rng.normal(size=300),
                          "cat": pd.Categorical(rng.choice(["a", "b", "c"], size=300))})
    y = ((frame["cat"] == "a") ^ (frame["num"] > 1)).astype(int)
    model = lgb.LGBMClassifier(n_estimators=4, min_child_samples=5, **QUIET).fit(frame, y)
    run = only_run()
    assert run.data.tags["dataset.train.type"] == "pandas.DataFrame"
    gain = json.loads(read_artifact(run.info.run_id, "feature_importance_gain.json"))
    assert set(gain) == {"num", "cat"}
    loaded = autolog.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))


def test_training_that_raises_marks_the_run_failed(lgb_autolog, data):
    X, y, _, _ = data

    def boom(env):
        if env.iteration == 1:
            raise RuntimeError("user callback failed")

    with pytest.raises(RuntimeError, match="user callback failed"):
        lgb.train({"objective": "binary", **QUIET}, lgb.Dataset(X, y), 5, callbacks=[boom])
    run = only_run()
    assert run.info.status == "FAILED"
    assert "model" not in artifacts(run.info.run_id)


# -- explicit callback ------------------------------------------------------------------------


def test_explicit_callback_without_patching(tracking_uri, data):
    X, y, Xv, yv = data
    train_set = lgb.Dataset(X, y)
    with autolog.start_run() as run:
        lgb.train({"objective": "binary", **QUIET}, train_set, 4,
                  valid_sets=[lgb.Dataset(Xv, yv, reference=train_set)],
                  callbacks=[autolog.lightgbm.callback()])
    assert len(history(run.info.run_id, "valid_0-binary_logloss")) == 4
    assert autolog.get_run(run.info.run_id).data.params == {}


def test_users_own_callback_not_added_twice_and_list_not_mutated(lgb_autolog, data):
    X, y, Xv, yv = data
    mine = autolog.lightgbm.callback()
    callbacks = [mine]
    lgb.LGBMClassifier(n_estimators=3, **QUIET).fit(X, y, eval_X=Xv, eval_y=yv,
                                                    callbacks=callbacks)
    assert callbacks == [mine]
    run = only_run()
    assert [s for s, _ in history(run.info.run_id, "valid_0-binary_logloss")] == [0, 1, 2]


# -- safety -----------------------------------------------------------------------------------


def _train_all(data):
    X, y, Xv, yv = data
    train_set = lgb.Dataset(X, y, free_raw_data=False)
    booster = lgb.train({"objective": "binary", **QUIET}, train_set, 3,
                        valid_sets=[lgb.Dataset(Xv, yv, reference=train_set)])
    model = lgb.LGBMClassifier(n_estimators=3, **QUIET).fit(X, y, eval_X=Xv, eval_y=yv)
    cv = lgb.cv({"objective": "binary", **QUIET}, lgb.Dataset(X, y), 2, nfold=2, seed=0)
    return booster.predict(Xv), model.predict_proba(Xv), np.asarray(
        cv["valid binary_logloss-mean"])


@pytest.mark.usefixtures("lenient")
def test_each_hook_made_to_raise_in_turn(lgb_autolog, data):
    autolog.lightgbm.autolog(disable=True)
    baseline = _train_all(data)
    autolog.lightgbm.autolog()
    each_hook_fails_in_turn("lightgbm", lambda: _train_all(data), baseline, hooks_expected=3,
                            exclude="dask")


@pytest.mark.usefixtures("lenient")
def test_failing_backend_leaves_training_identical(lgb_autolog, data):
    autolog.lightgbm.autolog(disable=True)
    baseline = _train_all(data)
    autolog.lightgbm.autolog()
    failing_store_changes_nothing(lambda: _train_all(data), baseline)


def test_import_is_lazy():
    code = ("import sys, autolog; autolog.lightgbm.autolog(); "
            "import autolog.integrations.lightgbm, "
            "autolog.models.flavors.lightgbm; "
            "assert 'lightgbm' not in sys.modules and 'numpy' not in sys.modules, "
            "[m for m in ('lightgbm', 'numpy') if m in sys.modules]")
    env = dict(os.environ, AUTOLOG_TRACKING_URI="memory:")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
