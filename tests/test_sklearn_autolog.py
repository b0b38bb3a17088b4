"""scikit-learn autologging, on real estimators and small real data."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

import autolog
from autolog.core import reporting
from autolog.core.errors import AutologWarning
from autolog.testing import failing_store, inject_hook_faults, list_hooks

sklearn = pytest.importorskip("sklearn")

from sklearn import model_selection  # noqa: E402  (functions read at call time: patched)
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression, SGDClassifier  # noqa: E402
from sklearn.metrics import accuracy_score, mean_squared_error  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

CLASSIFIER_METRICS = {"training_score", "training_accuracy_score", "training_precision_score",
                      "training_recall_score", "training_f1_score", "training_log_loss",
                      "training_roc_auc"}
REGRESSOR_METRICS = {"training_score", "training_mean_squared_error",
                     "training_root_mean_squared_error", "training_mean_absolute_error",
                     "training_r2_score"}


@pytest.fixture(autouse=True)
def sklearn_autolog(tracking_uri):
    autolog.sklearn.autolog()
    yield tracking_uri
    autolog.autolog(disable=True)


def runs(**kwargs):
    return autolog.search_runs(experiment_names=["Default"], **kwargs)


def only_run():
    found = runs()
    assert len(found) == 1, [r.data.tags.get("estimator_name") for r in found]
    return found[0]


def artifacts(run_id, path=None):
    return sorted(f.path for f in autolog.Client().list_artifacts(run_id, path))


def test_classifier_run_params_metrics_tags_plots_model():
    X, y = load_breast_cancer(return_X_y=True)
    model = LogisticRegression(max_iter=5000, C=0.5)
    assert model.fit(X, y) is model
    run = only_run()
    assert run.info.status == "FINISHED"
    assert run.data.params["C"] == "0.5" and run.data.params["max_iter"] == "5000"
    assert CLASSIFIER_METRICS <= set(run.data.metrics)
    assert run.data.metrics["training_accuracy_score"] == pytest.approx(model.score(X, y))
    assert run.data.metrics["n_iter"] >= 1
    tags = run.data.tags
    assert tags["estimator_name"] == "LogisticRegression"
    assert tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert tags["dataset.shape"] == "569x30" and len(tags["dataset.digest"]) == 16
    names = artifacts(run.info.run_id)
    assert {"model", "training_confusion_matrix.png", "training_roc_curve.png",
            "training_precision_recall_curve.png"} <= set(names)
    loaded = autolog.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert set(vars(model)) == set(vars(LogisticRegression(max_iter=5000, C=0.5).fit(X, y)))


def test_regressor_and_sample_weights():
    X, y = load_diabetes(return_X_y=True)
    weights = np.random.default_rng(0).random(len(y))
    model = LinearRegression().fit(X, y, sample_weight=weights)
    run = only_run()
    assert REGRESSOR_METRICS <= set(run.data.metrics)
    expected = mean_squared_error(y, model.predict(X), sample_weight=weights)
    assert run.data.metrics["training_mean_squared_error"] == pytest.approx(expected)
    assert run.data.metrics["training_score"] == pytest.approx(
        model.score(X, y, sample_weight=weights))


def test_clusterer_and_transformer():
    X, _ = load_iris(return_X_y=True)
    labels = KMeans(n_clusters=3, n_init=2, random_state=0).fit_predict(X)
    PCA(n_components=2).fit_transform(X)
    found = {r.data.tags["estimator_name"]: r for r in runs()}
    assert set(found) == {"KMeans", "PCA"}
    kmeans = found["KMeans"].data.metrics
    assert kmeans["training_n_clusters"] == len(set(labels))
    assert {"training_inertia", "training_calinski_harabasz_score",
            "training_davies_bouldin_score"} <= set(kmeans)
    assert 0.9 < found["PCA"].data.metrics["training_explained_variance_ratio"] <= 1


def test_pipeline_with_column_transformer_on_a_dataframe_is_one_run():
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = load_iris(return_X_y=True, as_frame=True)
    X = X.assign(kind=pd.Series(np.where(X.iloc[:, 0] > 5.8, "big", "small")))
    numeric = list(X.columns[:4])
    pipe = Pipeline([
        ("prep", ColumnTransformer([("num", StandardScaler(), numeric),
                                    ("cat", OneHotEncoder(), ["kind"])])),
        ("clf", LogisticRegression(max_iter=1000)),
    ])
    pipe.fit(X, y)
    run = only_run()
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert run.data.tags["dataset.features"].endswith(",kind")
    assert run.data.params["clf"] == "LogisticRegression"
    assert run.data.params["clf__max_iter"] == "1000"
    assert CLASSIFIER_METRICS <= set(run.data.metrics)
    model = autolog.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(model.predict(X), pipe.predict(X))


def test_grid_search_parent_and_child_runs():
    from sklearn.model_selection import GridSearchCV

    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 0.1, 1, 10]}, cv=3)
    autolog.sklearn.autolog(max_tuning_runs=3, log_plots=False)
    search.fit(X, y)
    found = runs()
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1  # the clones fitted inside opened no runs
    parent = parents[0]
    children = [r for r in found if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 3
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.params["estimator__C"] == "1.0"
    assert parent.data.metrics["best_score"] == pytest.approx(search.best_score_)
    assert "cv_results.csv" in artifacts(parent.info.run_id)
    best = max(children, key=lambda r: r.data.metrics["mean_test_score"])
    assert best.data.metrics["rank_test_score"] == 1
    assert {c.data.params["C"] for c in children} <= {"0.01", "0.1", "1", "10"}
    model = autolog.sklearn.load_model(f"runs:/{parent.info.run_id}/model")
    assert type(model) is LogisticRegression and model.C == search.best_params_["C"]


def test_user_run_managed_run_and_exclusive():
    X, y = load_iris(return_X_y=True)
    autolog.sklearn.autolog(log_models=False, log_plots=False)
    with autolog.start_run() as user:
        LogisticRegression(max_iter=500).fit(X, y)
        LogisticRegression(max_iter=500, C=2.0).fit(X, y)  # a second training: a child run
    found = runs()
    assert len(found) == 2
    own = autolog.get_run(user.info.run_id)
    assert own.data.params["C"] == "1.0" and "training_score" in own.data.metrics
    child = [r for r in found if r.info.run_id != user.info.run_id][0]
    assert child.data.tags["mlflow.parentRunId"] == user.info.run_id
    autolog.sklearn.autolog(log_models=False, log_plots=False, exclusive=True)
    with autolog.start_run() as other:
        LogisticRegression(max_iter=500).fit(X, y)
    assert "C" not in autolog.get_run(other.info.run_id).data.params
    assert len(runs()) == 4


def test_disable_reverts_everything():
    X, y = load_iris(return_X_y=True)
    autolog.sklearn.autolog(disable=True)
    assert "fit" not in type(LogisticRegression.__dict__["fit"]).__module__
    LogisticRegression(max_iter=500).fit(X, y)
    assert runs() == []
    assert type(sklearn.metrics.accuracy_score).__name__ == "function"


def test_fit_that_raises_fails_the_run_and_keeps_the_exception():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError) as raised:
        LogisticRegression(C=-1.0).fit(X, y)
    try:
        LogisticRegression(C=-1.0)._validate_params()
    except ValueError as plain:
        assert str(raised.value) == str(plain)
    run = only_run()
    assert run.info.status == "FAILED" and run.data.params["C"] == "-1.0"


def test_sparse_input():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X, y = load_iris(return_X_y=True)
    Xs = scipy_sparse.csr_matrix(X)
    SGDClassifier(random_state=0).fit(Xs, y)
    run = only_run()
    assert run.data.tags["dataset.type"] == "csr_matrix" and "training_score" in run.data.metrics


def test_curves_logged_with_steps():
    X, y = load_iris(return_X_y=True)
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, early_stopping=True,
                          random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    run = only_run()
    history = autolog.get_metric_history(run.info.run_id, "loss_curve")
    assert [m.step for m in history] == list(range(len(model.loss_curve_)))
    assert [m.value for m in history] == pytest.approx(model.loss_curve_)
    assert len(autolog.get_metric_history(run.info.run_id, "validation_scores")) == len(
        model.validation_scores_)


def test_post_training_metrics_named_after_the_data():
    # Imported after enabling: a name bound before autolog() is the unpatched function.
    from sklearn.metrics import accuracy_score, f1_score

    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = X[::2], X[1::2], y[::2], y[1::2]
    model = LogisticRegression(max_iter=500).fit(X_train, y_train)
    y_pred = model.predict(X_test)
    accuracy = accuracy_score(y_test, y_pred)
    accuracy_score(y_test, y_pred)
    f1_score(y_test, y_pred, average="macro")
    model.score(X_test, y_test)
    accuracy_score(y_test, y_test)  # no autologged prediction: nothing logged
    metrics = autolog.get_run(only_run().info.run_id).data.metrics
    assert metrics["accuracy_score_X_test"] == accuracy
    assert "accuracy_score_X_test-2" in metrics and "f1_score_X_test" in metrics
    assert metrics["LogisticRegression_score_X_test"] == accuracy
    assert not [k for k in metrics if k.startswith("accuracy_score") and "X_test" not in k]
    pred = model.predict(X_test[:10] + 0)  # no variable holds the data: numbered
    accuracy_score(y_test[:10], pred)
    assert "accuracy_score_dataset_1" in autolog.get_run(only_run().info.run_id).data.metrics


def test_partial_fit_one_run_with_steps():
    X, y = load_iris(return_X_y=True)
    model = SGDClassifier(random_state=0)
    for start in range(0, 150, 50):
        model.partial_fit(X[start:start + 50], y[start:start + 50], classes=np.unique(y))
    run = only_run()
    history = autolog.get_metric_history(run.info.run_id, "training_accuracy_score")
    assert [m.step for m in history] == [0, 1, 2]
    assert run.data.params["loss"] == "hinge"


def test_metric_functions_still_pickle_and_predict_has_no_attribute_leak():
    assert pickle.loads(pickle.dumps(accuracy_score)) is sklearn.metrics._classification \
        .accuracy_score
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert hasattr(LogisticRegression, "set_fit_request")  # metadata routing intact


def _trained(X, y):
    model = LogisticRegression(max_iter=500).fit(X, y)
    y_pred = model.predict(X)
    accuracy = sklearn.metrics.accuracy_score(y, y_pred)
    return model.coef_.copy(), y_pred, accuracy, model.score(X, y)


@pytest.mark.usefixtures("lenient")
def test_each_hook_failing_leaves_training_identical():
    X, y = load_iris(return_X_y=True)
    autolog.sklearn.autolog(disable=True)
    coef, y_pred, accuracy, score = _trained(X, y)
    model = SGDClassifier(random_state=0).partial_fit(X, y, classes=np.unique(y))
    baseline_partial = model.coef_.copy()
    baseline_cv = model_selection.cross_val_score(LogisticRegression(max_iter=200), X, y, cv=3)
    autolog.sklearn.autolog(log_plots=False)
    hooks = list_hooks("sklearn")
    assert len(hooks) == 5
    for hook in hooks:
        reporting._warned_causes.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with inject_hook_faults(hook) as fired:
                for _ in range(2):
                    got = _trained(X, y)
                    np.testing.assert_array_equal(got[0], coef)
                    np.testing.assert_array_equal(got[1], y_pred)
                    assert got[2:] == (accuracy, score)
                    partial = SGDClassifier(random_state=0).partial_fit(X, y,
                                                                        classes=np.unique(y))
                    np.testing.assert_array_equal(partial.coef_, baseline_partial)
                    np.testing.assert_array_equal(model_selection.cross_val_score(
                        LogisticRegression(max_iter=200), X, y, cv=3), baseline_cv)
        assert fired, hook
        ours = [w for w in caught if issubclass(w.category, AutologWarning)]
        assert len(ours) == 1, (hook, [str(w.message) for w in ours])


@pytest.mark.usefixtures("lenient")
def test_failing_backend_leaves_training_identical():
    X, y = load_iris(return_X_y=True)
    autolog.sklearn.autolog(disable=True)
    baseline = _trained(X, y)
    autolog.sklearn.autolog()
    with failing_store(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            got = _trained(X, y)
            np.testing.assert_array_equal(got[0], baseline[0])
            np.testing.assert_array_equal(got[1], baseline[1])
            assert got[2:] == baseline[2:]
    ours = [w for w in caught if issubclass(w.category, AutologWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]


def _modules_after(enable: bool) -> set[str]:
    code = (
        "import sys, autolog\n"
        "autolog.set_tracking_uri('memory:')\n"
        f"if {enable}:\n"
        "    autolog.sklearn.autolog()\n"
        "    assert 'sklearn' not in sys.modules and 'numpy' not in sys.modules\n"
        "from sklearn.linear_model import LogisticRegression\n"
        f"if {enable}:\n"
        "    assert type(LogisticRegression.__dict__['fit']).__name__ == 'PatchWrapper'\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_enabling_imports_nothing_and_patches_on_import():
    extra = _modules_after(True) - _modules_after(False)
    heavy = {"numpy", "scipy", "pandas", "matplotlib", "sklearn", "torch", "tensorflow",
             "keras", "xgboost", "lightgbm", "mlflow", "joblib", "PIL"}
    assert not [m for m in extra if m.partition(".")[0] in heavy], sorted(extra)


def test_core_subclass_patch_on_a_mixin_keeps_every_init_subclass():
    """Core: a SubclassPatch base that inherits __init_subclass__ (sklearn's mixins)."""
    import types

    from autolog.core.config import AutologConfig
    from autolog.core.patching import SubclassPatch, apply_patch

    module = types.ModuleType("mixins_under_test")
    exec(
        "seen = []\n"
        "class Root:\n"
        "    def __init_subclass__(cls, **kw):\n"
        "        super().__init_subclass__(**kw)\n"
        "        seen.append(cls.__name__)\n"
        "class Mixin:\n"
        "    def predict(self, x):\n"
        "        return x\n",
        module.__dict__,
    )

    class Owner:
        name = "test"
        config = AutologConfig()
        framework_version = None

    calls = []

    def hook(call):
        calls.append(call.function.__name__)
        return call.proceed()

    applied = apply_patch(SubclassPatch("mixins_under_test:Mixin", ("predict",), hook,
                                        training=False), Owner(), module)
    try:
        class Late(module.Mixin, module.Root):  # Mixin's hook first in the MRO
            def predict(self, x):
                return -x

        assert module.seen == ["Late"]  # Root's __init_subclass__ ran, for Late
        assert Late().predict(2) == -2 and calls == ["predict"]
        assert module.Mixin().predict(3) == 3
    finally:
        applied.revert()
    assert "__init_subclass__" not in module.Mixin.__dict__
    assert type(Late.__dict__["predict"]).__name__ == "function"


@pytest.mark.parametrize("with_signature", [True, False])
def test_input_example_with_and_without_signature(with_signature):
    """``log_model_signatures=False`` means no signature, also when an input example is
    logged (the core would otherwise infer one from the example)."""
    from autolog.models import read_model_metadata, resolve_model_uri

    X, y = load_iris(return_X_y=True)
    autolog.sklearn.autolog(log_input_examples=True, log_model_signatures=with_signature)
    LogisticRegression(max_iter=200).fit(X, y)
    run = only_run()
    meta = read_model_metadata(resolve_model_uri(f"runs:/{run.info.run_id}/model"))
    assert meta.saved_input_example_info is not None
    assert (meta.signature is not None) is with_signature


@pytest.mark.usefixtures("lenient")
def test_a_failing_record_costs_that_record_not_the_model():
    """A user's predict_proba returning strings breaks the training metrics; the model
    is still logged, and training is unaffected."""
    import warnings

    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        model = OddProba(max_iter=200).fit(X, y)
    assert model.predict(X[:2]).shape == (2,)
    run = only_run()
    assert "model" in artifacts(run.info.run_id)


class OddProba(LogisticRegression):
    """Module level, so that it pickles; its probabilities are strings."""

    def predict_proba(self, X):
        return np.full((len(X), 3), "x")


# -- the complete record of a fit with default options (issue 19: nothing dropped) ------

IRIS_LR_PARAMS = {
    "C": "1.0", "class_weight": "None", "dual": "False", "fit_intercept": "True",
    "intercept_scaling": "1", "l1_ratio": "0.0", "max_iter": "200", "n_jobs": "None",
    "penalty": "deprecated", "random_state": "None", "solver": "lbfgs", "tol": "0.0001",
    "verbose": "0", "warm_start": "False",
}
IRIS_LR_METRICS = {
    "training_accuracy_score": 0.9733333333333334, "training_f1_score": 0.9733226623982926,
    "training_log_loss": 0.11954966540353854, "training_precision_score": 0.9738247863247863,
    "training_recall_score": 0.9733333333333333, "training_roc_auc": 0.9984,
    "training_score": 0.9733333333333334,
}
IRIS_LR_TAGS = {
    "autolog.framework.sklearn", "autolog.host", "autolog.integration", "autolog.platform",
    "autolog.python_version", "autolog.sklearn_version", "autolog.source.argv",
    "autolog.source.cwd", "autolog.source.entry_point", "dataset.digest", "dataset.shape",
    "dataset.type", "estimator_class", "estimator_name", "mlflow.autologging",
    "mlflow.runName", "mlflow.source.name", "mlflow.source.type", "mlflow.user",
}
IRIS_LR_ARTIFACTS = {"environment/python_env.yaml", "environment/requirements.txt",
                     "training_confusion_matrix.png"}
MODEL_ARTIFACTS = {"model/MLmodel", "model/conda.yaml", "model/model.pkl",
                   "model/python_env.yaml", "model/requirements.txt"}


def _stored_files(store, run_id, path=""):
    files = []
    for info in store.list_artifacts(run_id, path):
        files += _stored_files(store, run_id, info.path) if info.is_dir else [info.path]
    return set(files)


@pytest.mark.parametrize("log_models", [True, False])
def test_the_record_of_a_fit_with_default_options_is_complete_after_flush(
        log_models, monkeypatch, tmp_path):
    """Everything a default-options fit records is in the store once `autolog.flush()`
    returns -- read straight from the store, not through a read that settles first.
    The expected record was taken from the code before the per-fit cost work (issue 19):
    taking work off the user's thread must drop nothing."""
    from autolog.core.tracking import context

    monkeypatch.chdir(tmp_path)  # no git work tree: the same tags wherever the suite runs
    autolog.autolog(log_models=log_models)
    X, y = load_iris(return_X_y=True)
    LogisticRegression(max_iter=200).fit(X, y)
    autolog.flush()
    store = context.get_store()
    [found] = store.search_runs([context.current_experiment_id()])
    run = store.get_run(found.info.run_id)
    assert run.info.status == "FINISHED" and run.info.end_time is not None
    assert run.data.params == IRIS_LR_PARAMS
    assert set(run.data.metrics) == {*IRIS_LR_METRICS, "n_iter", "training_cpu_seconds",
                                     "training_duration_seconds",
                                     "training_peak_rss_growth_mb"}
    for key, value in IRIS_LR_METRICS.items():
        assert run.data.metrics[key] == pytest.approx(value, rel=1e-9), key
    expected_tags = IRIS_LR_TAGS | ({"mlflow.log-model.history"} if log_models else set())
    # Other frameworks imported by earlier tests in this process add their own version
    # tags, and seeds those tests set are recorded too.
    others = {k for k in run.data.tags if k.startswith(("autolog.framework.", "autolog.seed."))
              and k != "autolog.framework.sklearn"}
    assert set(run.data.tags) - others == expected_tags
    assert run.data.tags["dataset.shape"] == "150x4"
    expected_files = IRIS_LR_ARTIFACTS | (MODEL_ARTIFACTS if log_models else set())
    assert _stored_files(store, run.info.run_id) == expected_files


# -- empty inputs (issue 15, defect 3) ---------------------------------------------------------


def _empty_inputs():
    import pandas as pd
    import scipy.sparse as sp

    return {
        "no rows": (np.empty((0, 4)), np.empty(0)),
        "no rows, no columns": (np.empty((0, 0)), np.empty(0)),
        "no columns": (np.empty((5, 0)), np.array([0, 1, 0, 1, 0])),
        "empty DataFrame": (pd.DataFrame(np.empty((0, 4)), columns=list("abcd")),
                            pd.Series([], dtype=float)),
        "DataFrame without columns": (pd.DataFrame(index=range(4)), np.array([0, 1, 0, 1])),
        "empty sparse": (sp.csr_matrix((0, 4)), np.empty(0)),
        "empty Fortran-ordered": (np.asfortranarray(np.empty((0, 3))), np.empty(0)),
    }


@pytest.mark.parametrize("case", list(_empty_inputs()))
def test_an_empty_input_gets_the_users_own_error_unchanged(case):
    """sklearn's ValueError about the empty input reaches the user as it would without
    autolog -- also under AUTOLOG_STRICT (this suite's mode): no internal error, no
    AutologWarning."""
    X, y = _empty_inputs()[case]
    autolog.autolog(disable=True)
    with pytest.raises(ValueError) as bare:
        LogisticRegression().fit(X, y)
    autolog.sklearn.autolog()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError) as logged:
            LogisticRegression().fit(X, y)
    assert type(logged.value) is type(bare.value) and str(logged.value) == str(bare.value)
    assert not [w for w in caught if issubclass(w.category, AutologWarning)]
    run = only_run()
    assert run.info.status == "FAILED"


@pytest.mark.parametrize("case", list(_empty_inputs()))
def test_empty_inputs_get_a_digest_of_their_type_and_shape(case):
    from autolog.integrations._datasets import dataset_tags, digest

    X, y = _empty_inputs()[case]
    tags = dataset_tags(X, y)
    assert len(tags["dataset.digest"]) == 16
    assert digest(X, y) != digest(np.empty((1, 4)), np.empty(1))


FORKED_FIT = """
import os, sys, autolog
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
autolog.set_tracking_uri(sys.argv[1])
autolog.autolog()
X, y = load_breast_cancer(return_X_y=True)
pid = os.fork()
if pid == 0:
    LogisticRegression(max_iter=5000).fit(X, y)
    os._exit(0)  # as multiprocessing ends a forked worker: no exit handlers
os.waitpid(pid, 0)
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_fit_in_a_forked_child_ending_with_os_exit_is_complete(tmp_path):
    """What autolog moves to the background (run end, plots, artifact files) is done
    before a forked child's fit returns: multiprocessing ends it with os._exit."""
    store = str(tmp_path / "store")
    out = subprocess.run([sys.executable, "-c", FORKED_FIT, store], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    [run] = autolog.Client(store).search_runs(["0"])
    assert run.info.status == "FINISHED"
    assert "training_accuracy_score" in run.data.metrics
    names = {f.path for f in autolog.Client(store).list_artifacts(run.info.run_id)}
    assert {"model", "training_confusion_matrix.png", "training_roc_curve.png",
            "training_precision_recall_curve.png"} <= names
