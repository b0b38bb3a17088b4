"""Model artifacts: the sklearn flavor, MLmodel content, URIs, pyfunc, signatures."""

from __future__ import annotations

import datetime
import json
import os

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import autolog
from autolog import InvalidInputError, ResourceNotFoundError, models
from autolog.models.signature import ModelSignature, Schema, TensorSpec, infer_signature

sk_flavor = autolog.sklearn  # the face: log_model, save_model, load_model


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y, LogisticRegression(max_iter=1000).fit(X, y)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y, Ridge(alpha=0.5).fit(X, y)


@pytest.fixture(scope="module")
def pipeline_data():
    X, y = load_iris(return_X_y=True, as_frame=True)
    X = X.copy()
    X["size"] = np.where(X["petal length (cm)"] > 4.0, "large", "small")
    numeric = [c for c in X.columns if c != "size"]
    pipe = Pipeline([
        ("prep", ColumnTransformer([
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["size"]),
        ])),
        ("clf", LogisticRegression(max_iter=1000)),
    ]).fit(X, y)
    return X, y, pipe


def _read(directory, name):
    with open(os.path.join(directory, name), encoding="utf-8") as handle:
        return handle.read()


def _uris(client, info, name):
    """Every URI form naming the model logged as ``info`` (version 1 of ``name``)."""
    client.transition_model_version_stage(name, 1, "Staging")
    client.set_registered_model_alias(name, "champion", 1)
    return [
        info.model_uri,
        models.resolve_model_uri(info.model_uri),
        "file://" + models.resolve_model_uri(info.model_uri),
        f"models:/{name}/1",
        f"models:/{name}/Staging",
        f"models:/{name}/staging",
        f"models:/{name}/latest",
        f"models:/{name}@champion",
    ]


@pytest.mark.parametrize("case", ["classifier", "regressor", "pipeline"])
def test_round_trip_through_every_uri_form(tracking_uri, case, iris, diabetes, pipeline_data):
    X, _y, model = {"classifier": iris, "regressor": diabetes, "pipeline": pipeline_data}[case]
    expected = model.predict(X)
    with autolog.start_run():
        info = sk_flavor.log_model(model, input_example=X[:5], registered_model_name=case)
    assert info.registered_model_version == 1
    assert info.model_uri == f"runs:/{info.run_id}/model"
    client = autolog.Client()
    for uri in _uris(client, info, case):
        loaded = sk_flavor.load_model(uri)
        assert type(loaded) is type(model)
        np.testing.assert_array_equal(loaded.predict(X), expected)
        native = autolog.load_model(uri)
        np.testing.assert_array_equal(native.predict(X), expected)
        pyfunc_model = autolog.pyfunc.load_model(uri)
        np.testing.assert_array_equal(pyfunc_model.predict(X), expected)


def test_save_and_load_local_path(tmp_path, iris):
    X, _y, model = iris
    target = tmp_path / "saved"
    sk_flavor.save_model(model, target, input_example=X[:3])
    assert sorted(os.listdir(target)) == [
        "MLmodel", "conda.yaml", "input_example.json", "model.pkl", "python_env.yaml",
        "requirements.txt",
    ]
    np.testing.assert_array_equal(sk_flavor.load_model(str(target)).predict(X), model.predict(X))
    with pytest.raises(InvalidInputError, match="already exists"):
        sk_flavor.save_model(model, target)


def test_mlmodel_content(tracking_uri, pipeline_data):
    X, _y, model = pipeline_data
    with autolog.start_run() as run:
        info = sk_flavor.log_model(model, name="clf", input_example=X.head(4))
    path = models.resolve_model_uri(info.model_uri)
    with open(os.path.join(path, "MLmodel")) as handle:
        mlmodel = yaml.safe_load(handle)
    assert mlmodel["artifact_path"] == "clf"
    assert mlmodel["run_id"] == run.info.run_id
    datetime.datetime.strptime(mlmodel["utc_time_created"], "%Y-%m-%d %H:%M:%S.%f")
    assert mlmodel["autolog_version"]
    assert len(mlmodel["model_uuid"]) == 32
    import sklearn

    assert mlmodel["flavors"]["sklearn"] == {
        "pickled_model": "model.pkl",
        "sklearn_version": sklearn.__version__,
        "serialization_format": "pickle",
        "code": None,
    }
    pyfunc = mlmodel["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.sklearn"
    assert pyfunc["model_path"] == "model.pkl"
    assert pyfunc["predict_fn"] == "predict"
    assert pyfunc["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert pyfunc["python_version"].count(".") == 2
    assert mlmodel["saved_input_example_info"] == {
        "artifact_path": "input_example.json", "type": "dataframe", "pandas_orient": "split",
    }
    signature = mlmodel["signature"]
    assert signature["params"] is None
    inputs = json.loads(signature["inputs"])
    assert inputs[0] == {"type": "double", "name": "sepal length (cm)", "required": True}
    assert inputs[-1] == {"type": "string", "name": "size", "required": True}
    assert json.loads(signature["outputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}
    ]
    example = json.loads(_read(path, "input_example.json"))
    assert example["columns"] == list(X.columns)
    assert example["data"][0][-1] == X["size"].iloc[0] and len(example["data"]) == 4
    requirements = _read(path, "requirements.txt").split()
    assert requirements == [f"scikit-learn=={sklearn.__version__}"]
    python_env = yaml.safe_load(_read(path, "python_env.yaml"))
    assert python_env["dependencies"] == ["-r requirements.txt"]
    conda = yaml.safe_load(_read(path, "conda.yaml"))
    assert {"pip": requirements} in conda["dependencies"]
    # MLflow's UI finds logged models through this tag.
    history = json.loads(autolog.get_run(run.info.run_id).data.tags["mlflow.log-model.history"])
    assert history[0]["artifact_path"] == "clf"
    # the metadata object a pyfunc model exposes
    meta = autolog.pyfunc.load_model(info.model_uri).metadata
    assert meta.run_id == run.info.run_id and meta["flavors"] == mlmodel["flavors"]
    assert meta.signature == info.signature
    assert meta.get_input_schema().input_names()[-1] == "size"


def test_ndarray_example_and_tensor_signature(tracking_uri, iris):
    X, _y, model = iris
    info = sk_flavor.log_model(model, input_example=X[:2])  # starts a run, like MLflow
    assert autolog.active_run().info.run_id == info.run_id
    autolog.end_run()
    path = models.resolve_model_uri(info.model_uri)
    assert json.loads(_read(path, "input_example.json")) == {
        "inputs": X[:2].tolist()
    }
    assert info.saved_input_example_info["type"] == "ndarray"
    assert info.signature.inputs == Schema([TensorSpec("float64", [-1, 4])])
    assert info.signature.outputs == Schema([TensorSpec("int64", [-1])])
    np.testing.assert_array_equal(models.load_input_example(info.model_uri), X[:2])


def test_pyfunc_predict_dataframe_and_array(tracking_uri, iris, pipeline_data):
    X, _y, model = pipeline_data
    info = sk_flavor.log_model(model, input_example=X.head())
    pyfunc_model = autolog.pyfunc.load_model(info.model_uri)
    expected = model.predict(X)
    np.testing.assert_array_equal(pyfunc_model.predict(X), expected)
    np.testing.assert_array_equal(pyfunc_model.predict(X.to_numpy()), expected)
    shuffled = X[list(reversed(X.columns))]
    np.testing.assert_array_equal(pyfunc_model.predict(shuffled), expected)
    with pytest.raises(InvalidInputError, match="size"):
        pyfunc_model.predict(X.drop(columns=["size"]))
    assert pyfunc_model.flavor == "sklearn"
    pd.testing.assert_frame_equal(pyfunc_model.input_example, X.head().reset_index(drop=True))

    Xi, _yi, clf = iris
    info = sk_flavor.log_model(clf, name="iris")
    pyfunc_model = autolog.pyfunc.load_model(info.model_uri)
    np.testing.assert_array_equal(pyfunc_model.predict(Xi), clf.predict(Xi))
    frame = pd.DataFrame(Xi, columns=list("abcd"))
    np.testing.assert_array_equal(pyfunc_model.predict(frame), clf.predict(Xi))
    np.testing.assert_array_equal(pyfunc_model.predict(Xi.tolist()), clf.predict(Xi))


def test_explicit_signature_and_metadata(tmp_path, diabetes):
    X, y, model = diabetes
    signature = infer_signature(X, model.predict(X))
    meta = sk_flavor.save_model(model, tmp_path / "m", signature=signature,
                                metadata={"owner": "ds"})
    assert meta.signature == signature
    loaded = models.read_model_metadata(str(tmp_path / "m"))
    assert loaded["metadata"] == {"owner": "ds"}
    assert "saved_input_example_info" not in loaded
    assert ModelSignature.from_dict(signature.to_dict()) == signature


def test_signature_types():
    frame = pd.DataFrame({
        "f64": np.array([1.0, 2.0]),
        "f32": np.array([1.0, 2.0], dtype=np.float32),
        "i64": np.array([1, 2]),
        "i32": np.array([1, 2], dtype=np.int32),
        "b": [True, False],
        "s": ["a", "b"],
        "obj": pd.Series(["a", "b"], dtype=object),
        "bin": [b"a", b"b"],
        "t": pd.to_datetime(["2024-01-01", "2024-01-02"]),
        "cat": pd.Categorical(["x", "y"]),
    })
    types = {spec.name: spec.type for spec in infer_signature(frame).inputs.inputs}
    assert types == {
        "f64": "double", "f32": "float", "i64": "long", "i32": "integer", "b": "boolean",
        "s": "string", "obj": "string", "bin": "binary", "t": "datetime", "cat": "string",
    }
    signature = infer_signature(np.zeros((3, 2, 5), dtype=np.float32), pd.Series([1, 2, 3]))
    assert signature.to_dict() == {
        "inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2, 5]}}]',
        "outputs": '[{"type": "long", "required": true}]',
        "params": None,
    }


def test_signature_module_imports_without_numpy():
    import subprocess
    import sys

    code = ("import sys; import autolog.models.signature, autolog.models, "
            "autolog.models.flavors.sklearn, autolog.models.pyfunc; "
            "bad = {'numpy', 'pandas', 'sklearn'} & set(sys.modules); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_uris_get_clear_errors(tracking_uri, iris):
    X, _y, model = iris
    info = sk_flavor.log_model(model, registered_model_name="known")
    autolog.end_run()
    for uri in ("models:/", "models:/known", "models:", "runs:/" + info.run_id,
                "runs:/" + info.run_id + "/", "runs:/", "foo://bar/baz", "s3://bucket/model",
                "models://known/1", ""):
        with pytest.raises(InvalidInputError) as excinfo:
            autolog.load_model(uri)
        assert "models:/<name>@<alias>" in str(excinfo.value), uri
    for uri, fragment in [
        ("models:/unknown/1", "unknown"),
        ("models:/known/7", "7"),
        ("models:/known/Production", "Production"),
        ("models:/known/Producton", "Producton"),
        ("models:/known@nobody", "nobody"),
        ("models:/unknown@champion", "unknown"),
        ("models:/unknown/latest", "unknown"),
        ("runs:/0123456789abcdef/model", "0123456789abcdef"),
        (f"runs:/{info.run_id}/nothing-here", "nothing-here"),
        ("/no/such/model/dir", "/no/such/model/dir"),
    ]:
        with pytest.raises(ResourceNotFoundError, match=fragment):
            autolog.load_model(uri)
    with pytest.raises(InvalidInputError, match="outside|leave"):
        autolog.load_model(f"runs:/{info.run_id}/../../x")
    with pytest.raises(InvalidInputError, match="Unknown model flavor"):
        models.log_model(model, "no-such-flavor", run_id=info.run_id)
    with pytest.raises(InvalidInputError, match="needs run_id"):
        models.log_model(model, "sklearn")


def test_loading_never_leaves_the_model_directory(tmp_path, iris):
    X, _y, model = iris
    target = tmp_path / "evil"
    sk_flavor.save_model(model, target)
    mlmodel = yaml.safe_load((target / "MLmodel").read_text())
    mlmodel["flavors"]["sklearn"]["pickled_model"] = "../outside.pkl"
    (target / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(InvalidInputError):
        sk_flavor.load_model(str(target))


def test_flavor_registry():
    assert models.get_flavor("sklearn") is models.get_flavor("scikit-learn")
    assert models.get_flavor("sklearn").framework_version()
    assert "sklearn" in models.known_flavors()
    with pytest.raises(InvalidInputError, match="sklearn"):
        models.get_flavor("nope")


def test_transformer_without_predict_has_no_pyfunc_flavor(tmp_path, iris):
    X, _y, _model = iris
    scaler = StandardScaler().fit(X)
    meta = sk_flavor.save_model(scaler, tmp_path / "scaler", input_example=X[:2])
    assert list(meta.flavors) == ["sklearn"]
    assert meta.signature.outputs is None
    np.testing.assert_array_equal(
        sk_flavor.load_model(str(tmp_path / "scaler")).transform(X), scaler.transform(X)
    )
    with pytest.raises(InvalidInputError, match="python_function"):
        autolog.pyfunc.load_model(str(tmp_path / "scaler"))
