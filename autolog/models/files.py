"""A model directory in MLflow's format: its ``MLmodel`` metadata, environment files,
input example and signature, and `save_model`, which writes one."""

import datetime
import functools
import json
import os
import platform
import uuid
import warnings
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any

from autolog.core import validation
from autolog.core.errors import (
    AutologWarning,
    InvalidInputError,
    ResourceNotFoundError,
)
from autolog.models.flavor import PYFUNC_FLAVOR, Flavor, _dist_version, get_flavor
from autolog.models.signature import ModelSignature, infer_schema

__all__ = [
    "ModelInfo",
    "ModelMetadata",
    "infer_model_signature",
    "model_file",
    "read_model_metadata",
    "save_model",
]

MLMODEL_FILE = "MLmodel"
INPUT_EXAMPLE_FILE = "input_example.json"
REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"


# -- metadata -------------------------------------------------------------------------------


class ModelMetadata(dict):
    """The ``MLmodel`` file as a dict, with MLflow's ``Model`` attributes on top.

    ``meta["flavors"]``, ``meta.flavors``, ``meta.signature`` (a `ModelSignature` or
    None), ``meta.run_id``, ``meta.get_input_schema()``; ``meta.path`` is the local
    model directory it was read from (None when not read from disk).
    """

    path: str | None = None

    @property
    def flavors(self) -> dict[str, Any]:
        return self.get("flavors") or {}

    @property
    def run_id(self) -> str | None:
        return self.get("run_id")

    @property
    def artifact_path(self) -> str | None:
        return self.get("artifact_path")

    @property
    def model_uuid(self) -> str | None:
        return self.get("model_uuid")

    @property
    def model_id(self) -> str | None:
        return self.get("model_id")

    @property
    def utc_time_created(self) -> str | None:
        return self.get("utc_time_created")

    @property
    def saved_input_example_info(self) -> dict[str, Any] | None:
        return self.get("saved_input_example_info")

    @property
    def signature(self) -> ModelSignature | None:
        raw = self.get("signature")
        return ModelSignature.from_dict(raw) if raw else None

    def get_input_schema(self):
        signature = self.signature
        return signature.inputs if signature is not None else None

    def get_output_schema(self):
        signature = self.signature
        return signature.outputs if signature is not None else None

    def to_dict(self) -> dict[str, Any]:
        return dict(self)


@dataclass
class ModelInfo:
    """What `log_model` returns (MLflow's ``ModelInfo`` fields)."""

    model_uri: str
    run_id: str
    artifact_path: str
    flavors: dict[str, Any]
    signature: ModelSignature | None = None
    registered_model_version: int | None = None
    model_uuid: str | None = None
    utc_time_created: str | None = None
    model_id: str | None = None  # the logged model (MLflow 3), where the backend keeps them
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = field(default=None)


def read_model_metadata(path: str) -> ModelMetadata:
    """The parsed ``MLmodel`` of a local model directory (never loads the model)."""
    import yaml

    mlmodel = os.path.join(path, MLMODEL_FILE)
    if not os.path.isfile(mlmodel):
        raise ResourceNotFoundError(
            f"{path!r} is not a model directory: it has no {MLMODEL_FILE} file."
        )
    with open(mlmodel, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
        raise InvalidInputError(f"{mlmodel!r} is not a valid MLmodel file: it lists no flavors.")
    meta = ModelMetadata(data)
    meta.path = path
    return meta


def model_file(model_dir: str, relative: str) -> str:
    """``model_dir/relative``, refusing paths that leave the model directory."""
    cleaned = validation.artifact_path(relative)
    root = os.path.realpath(model_dir)
    target = os.path.realpath(os.path.join(root, *cleaned.split("/"))) if cleaned else root
    if target != root and not target.startswith(root.rstrip(os.sep) + os.sep):
        raise InvalidInputError(
            f"Model file {relative!r} resolves outside the model directory {model_dir!r}."
        )
    return target


# -- saving ---------------------------------------------------------------------------------


# Installed versions are read from package metadata once per process (each read scans
# sys.path: ~0.5 ms, five or more per saved model), as provenance reads them.


@functools.cache
def _autolog_version() -> str:
    try:
        return importlib_metadata.version("autolog")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"




def _example_data(example: Any) -> tuple[Any, str]:
    """Normalise an input example to a DataFrame or ndarray (or dict of arrays)."""
    import numpy as np

    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None:
        if isinstance(example, pd.DataFrame):
            return example, "dataframe"
        if isinstance(example, pd.Series):
            return example.to_frame(), "dataframe"
    if isinstance(example, np.ndarray):
        return example, "ndarray"
    if isinstance(example, dict):
        if example and all(isinstance(v, np.ndarray) for v in example.values()):
            return example, "ndarray"
        if pd is not None:
            values = {k: v if isinstance(v, (list, tuple, np.ndarray)) else [v]
                      for k, v in example.items()}
            return pd.DataFrame(values), "dataframe"
    if isinstance(example, (list, tuple)):
        if example and all(isinstance(v, dict) for v in example) and pd is not None:
            return pd.DataFrame(list(example)), "dataframe"
        array = np.asarray(example)
        if array.dtype != object:
            return array, "ndarray"
    if hasattr(example, "toarray") and hasattr(example, "shape"):  # scipy sparse
        return example.toarray(), "ndarray"
    raise InvalidInputError(
        f"Unsupported input example of type {type(example).__name__}: expected a pandas "
        "DataFrame or Series, a NumPy array, a dict of arrays or columns, or a list."
    )


def _write_input_example(data: Any, kind: str, path: str) -> dict[str, Any]:
    target = os.path.join(path, INPUT_EXAMPLE_FILE)
    if kind == "dataframe":
        text = data.to_json(orient="split", index=False, date_format="iso")
        info = {"artifact_path": INPUT_EXAMPLE_FILE, "type": "dataframe", "pandas_orient": "split"}
    else:
        if isinstance(data, dict):
            payload = {"inputs": {str(k): v.tolist() for k, v in data.items()}}
        else:
            payload = {"inputs": data.tolist()}
        text = json.dumps(payload)
        info = {"artifact_path": INPUT_EXAMPLE_FILE, "type": "ndarray", "format": "tf-serving"}
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(text)
    return info




def _write_environment(path: str, requirements: list[str]) -> dict[str, str]:
    texts = _environment_texts(tuple(requirements))
    for name, text in zip((REQUIREMENTS_FILE, PYTHON_ENV_FILE, CONDA_ENV_FILE), texts):
        with open(os.path.join(path, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    return {"conda": CONDA_ENV_FILE, "virtualenv": PYTHON_ENV_FILE}


@functools.lru_cache(maxsize=64)
def _environment_texts(requirements: tuple[str, ...]) -> tuple[str, str, str]:
    """requirements.txt, python_env.yaml and conda.yaml for these requirements (the same
    for every model of a flavor in a process: rendered once)."""
    import yaml

    python_version = platform.python_version()
    build = [f"{name}=={v}" if (v := _dist_version(name)) else name
             for name in ("pip", "setuptools", "wheel")]
    python_env = {
        "python": python_version,
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    }
    pip_version = _dist_version("pip")
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={python_version}",
            f"pip<={pip_version}" if pip_version else "pip",
            {"pip": list(requirements)},
        ],
        "name": "mlflow-env",
    }
    return ("".join(f"{line}\n" for line in requirements),
            yaml.safe_dump(python_env, default_flow_style=False, sort_keys=False),
            yaml.safe_dump(conda, default_flow_style=False, sort_keys=False))


def _warn(message: str) -> None:
    warnings.warn(message, AutologWarning, stacklevel=3)


def _infer_signature(flavor: Flavor, model: Any, data: Any,
                     with_output: bool = True) -> ModelSignature | None:
    try:
        inputs = infer_schema(data)
    except Exception as exc:  # noqa: BLE001 - an unsupported example never fails a save
        _warn(f"autolog: could not infer a model signature from the input example: {exc}")
        return None
    if not with_output:
        return ModelSignature(inputs, None)
    try:
        outputs = infer_schema(flavor.pyfunc_predict(model, data))
    except Exception as exc:  # noqa: BLE001
        _warn(f"autolog: could not infer the model's output schema from the input example: "
              f"{exc}")
        outputs = None
    return ModelSignature(inputs, outputs)


def infer_model_signature(model: Any, data: Any, flavor: str | Flavor) -> ModelSignature | None:
    """The signature of ``model`` for ``data`` (inputs, and outputs of its prediction);
    None, with a warning, for data no schema describes -- never an error."""
    from autolog.core.tracking.scope import quiet

    with quiet():
        return _infer_signature(get_flavor(flavor), model, data)


def save_model(
    model: Any,
    path: str | os.PathLike,
    flavor: str | Flavor,
    input_example: Any = None,
    signature: ModelSignature | dict | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    run_id: str | None = None,
    artifact_path: str | None = None,
    infer_signature: bool = True,
    model_id: str | None = None,
    **flavor_kwargs: Any,
) -> ModelMetadata:
    """Write ``model`` as a model directory at ``path`` (which must not exist or be empty).

    With an ``input_example`` and no ``signature``, the signature is inferred from the
    example and the model's prediction for it, unless ``infer_signature=False``. Runs
    `quiet`: autologging does not observe the framework calls saving makes. Returns the
    ``MLmodel`` content.
    """
    from autolog.core.tracking.scope import quiet

    with quiet():
        return _save_model(model, path, flavor, input_example, signature, metadata,
                           run_id, artifact_path, infer_signature, flavor_kwargs, model_id)


def _save_model(model: Any, path: str | os.PathLike, flavor: str | Flavor, input_example: Any,
                signature: ModelSignature | dict | None, metadata: dict[str, Any] | None,
                run_id: str | None, artifact_path: str | None, infer_signature: bool,
                flavor_kwargs: dict[str, Any], model_id: str | None = None) -> ModelMetadata:
    import yaml

    flavor_obj = get_flavor(flavor)
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise InvalidInputError(
            f"Cannot save a model to {path!r}: it already exists and is not an empty directory."
        )
    if signature is not None and not isinstance(signature, ModelSignature):
        if isinstance(signature, dict):
            signature = ModelSignature.from_dict(signature)
        else:
            raise InvalidInputError(
                f"Invalid signature {signature!r}: expected a ModelSignature (see "
                "autolog.models.signature.infer_signature) or its dict form."
            )
    os.makedirs(path, exist_ok=True)

    flavor_conf = flavor_obj.save(model, path, **flavor_kwargs)
    with_pyfunc = flavor_obj.supports_pyfunc(model)
    example_info = None
    if input_example is not None:
        data, kind = _example_data(input_example)
        example_info = _write_input_example(data, kind, path)
        if signature is None and infer_signature:
            signature = _infer_signature(flavor_obj, model, data, with_pyfunc)

    requirements = flavor_obj.pip_requirements()
    env = _write_environment(path, requirements)
    pyfunc_conf: dict[str, Any] = {}
    if flavor_obj.mlflow_loader_module:
        pyfunc_conf["loader_module"] = flavor_obj.mlflow_loader_module
    pyfunc_conf.update(flavor_obj.pyfunc_entry(flavor_conf))
    pyfunc_conf["env"] = env
    pyfunc_conf["python_version"] = platform.python_version()

    model_size = 0
    for dirpath, _dirs, files in os.walk(path):
        model_size += sum(os.path.getsize(os.path.join(dirpath, name)) for name in files)

    content: dict[str, Any] = {}
    if artifact_path is not None:
        content["artifact_path"] = artifact_path
    content["flavors"] = {flavor_obj.name: flavor_conf}
    if with_pyfunc:
        content["flavors"][PYFUNC_FLAVOR] = pyfunc_conf
    content["model_size_bytes"] = model_size
    content["model_uuid"] = uuid.uuid4().hex
    if model_id is not None:
        content["model_id"] = model_id
    if run_id is not None:
        content["run_id"] = run_id
    if example_info is not None:
        content["saved_input_example_info"] = example_info
    if signature is not None:
        content["signature"] = signature.to_dict()
    content["utc_time_created"] = datetime.datetime.now(datetime.timezone.utc).strftime(
        TIME_FORMAT
    )
    if metadata:
        content["metadata"] = dict(metadata)
    content["autolog_version"] = _autolog_version()
    with open(os.path.join(path, MLMODEL_FILE), "w", encoding="utf-8") as handle:
        yaml.safe_dump(content, handle, default_flow_style=False, sort_keys=False)
    meta = ModelMetadata(content)
    meta.path = path
    return meta
