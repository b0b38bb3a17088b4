"""Model artifacts: flavors, save/load, metadata, signatures, input examples, the registry.

A saved model is a directory in MLflow's format, so a model saved by autolog loads with
MLflow's own loaders (``mlflow.sklearn.load_model``, ``mlflow.pyfunc.load_model``)::

    model/
      MLmodel              YAML: flavors, python_function entry, run_id, signature, ...
      model.pkl            the serialized model (the flavor decides the files)
      requirements.txt     the framework pinned to the installed version
      python_env.yaml      python version + "-r requirements.txt"
      conda.yaml           the same for conda
      input_example.json   when an input example was given

Each framework contributes a `Flavor` (``autolog.models.flavors.<module>``), registered with
`register_flavor` and found by name with `get_flavor`; the name is MLflow's flavor name.

Model URIs (`resolve_model_uri`):

- ``runs:/<run_id>/<path>``          an artifact directory of a run
- ``/abs/path``, ``rel/path``, ``file:///abs/path``    a local directory
- ``models:/<name>/<version>``       a registered version (1, 2, ...)
- ``models:/<name>/<stage>``         the newest version in None/Staging/Production/Archived
- ``models:/<name>/latest``          the newest version
- ``models:/<name>@<alias>``         the version an alias points to

Security: some flavors (scikit-learn) serialize with pickle, and loading a pickle runs
code chosen by whoever wrote the file. Load only models you trust. Nothing is ever
loaded implicitly: only `load_model` and ``autolog.pyfunc.load_model`` (and a flavor's
own ``load_model``) deserialize a model; reading metadata never does.
"""

from __future__ import annotations

import datetime
import functools
import importlib
import json
import os
import platform
import re
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any
from urllib.parse import unquote, urlparse

from autolog.core import validation
from autolog.core.entities import ModelVersion
from autolog.core.errors import (
    AutologWarning,
    InvalidInputError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
)
from autolog.core.tracking import context
from autolog.models.signature import ModelSignature, infer_schema

__all__ = [
    "Flavor",
    "ModelInfo",
    "ModelMetadata",
    "get_flavor",
    "known_flavors",
    "load_input_example",
    "load_model",
    "log_model",
    "read_model_metadata",
    "register_flavor",
    "register_model",
    "resolve_model_uri",
    "save_model",
]

MLMODEL_FILE = "MLmodel"
PYFUNC_FLAVOR = "python_function"
INPUT_EXAMPLE_FILE = "input_example.json"
REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
STAGES = ("None", "Staging", "Production", "Archived")
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"

ACCEPTED_URI_FORMS = (
    "runs:/<run_id>/<path>, a local directory path (or file:///path), "
    "models:/<name>/<version>, models:/<name>/<stage> (None, Staging, Production, "
    "Archived), models:/<name>/latest, models:/<name>@<alias>"
)


# -- flavors ------------------------------------------------------------------------------


class Flavor:
    """How one framework saves and loads its models. Subclass and `register_flavor`.

    Class attributes:

    - ``name``: MLflow's flavor name ("sklearn", "xgboost", "pytorch", ...), the key of
      the flavor's entry in ``MLmodel``.
    - ``framework_module``: the import name ("sklearn").
    - ``distribution``: the pip distribution name ("scikit-learn"); defaults to the module.
    - ``mlflow_loader_module``: MLflow's module for this flavor ("mlflow.sklearn"), written
      as the ``python_function`` entry's ``loader_module`` so MLflow's pyfunc can load it.
    - ``model_path``: the file or directory holding the model, relative to the model
      directory (the ``python_function`` entry's ``model_path``).
    """

    name: str = ""
    framework_module: str = ""
    distribution: str = ""
    mlflow_loader_module: str | None = None
    model_path: str = "model"

    def framework_version(self) -> str | None:
        """The installed framework version, from package metadata (never imports it)."""
        for dist in (self.distribution, self.framework_module):
            version = _dist_version(dist) if dist else None
            if version is not None:
                return version
        return None

    def pip_requirements(self) -> list[str]:
        """Requirements written to requirements.txt: the framework, pinned."""
        dist = self.distribution or self.framework_module
        version = self.framework_version()
        return [f"{dist}=={version}" if version else dist] if dist else []

    def save(self, model: Any, path: str, **kwargs: Any) -> dict[str, Any]:
        """Write the serialized model into the directory ``path``; return the flavor's
        ``MLmodel`` entry (a dict of plain values)."""
        raise NotImplementedError

    def load(self, path: str, flavor_conf: dict[str, Any]) -> Any:
        """Load the native model from the model directory ``path``."""
        raise NotImplementedError

    def pyfunc_predict(self, model: Any, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict for `autolog.pyfunc`; ``data`` is a DataFrame or an array."""
        return model.predict(data)

    def supports_pyfunc(self, model: Any) -> bool:
        """Whether to write a ``python_function`` entry (MLflow omits it for sklearn
        transformers without ``predict``)."""
        return True

    def pyfunc_entry(self, flavor_conf: dict[str, Any]) -> dict[str, Any]:
        """Extra keys for the ``python_function`` entry (MLflow's loader conventions)."""
        return {"model_path": self.model_path, "predict_fn": "predict"}

    def __repr__(self) -> str:
        return f"<Flavor {self.name!r}>"


_flavors: dict[str, Flavor] = {}


def register_flavor(flavor: Flavor | type[Flavor]) -> Flavor:
    """Make a flavor known by its name (an instance or a class, instantiated here)."""
    instance = flavor() if isinstance(flavor, type) else flavor
    if not isinstance(instance, Flavor) or not instance.name:
        raise InvalidInputError(f"register_flavor needs a Flavor with a name, got {flavor!r}.")
    _flavors[instance.name] = instance
    return instance


def known_flavors() -> list[str]:
    """Flavor names registered or built in (importable on demand)."""
    from autolog.models.flavors import BUILTIN_FLAVORS

    return sorted(set(_flavors) | set(BUILTIN_FLAVORS))


def get_flavor(name: str | Flavor) -> Flavor:
    """The flavor called ``name``, importing its built-in module on first use."""
    if isinstance(name, Flavor):
        return name
    from autolog.models.flavors import BUILTIN_FLAVORS, FLAVOR_ALIASES

    if not isinstance(name, str):
        raise InvalidInputError(f"Invalid flavor {name!r}: expected a flavor name.")
    key = FLAVOR_ALIASES.get(name, name)
    found = _flavors.get(key)
    if found is not None:
        return found
    module = BUILTIN_FLAVORS.get(key)
    if module is not None:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
        found = _flavors.get(key)
        if found is not None:
            return found
    available = sorted(set(_flavors) | {k for k, m in BUILTIN_FLAVORS.items() if _importable(m)})
    raise InvalidInputError(
        f"Unknown model flavor {name!r}; available: {', '.join(available) or 'none'}."
    )


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


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


@functools.cache
def _dist_version(name: str) -> str | None:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return None


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


def load_input_example(model: str) -> Any:
    """The saved input example of a model (URI or directory) as a DataFrame or ndarray,
    or None when it was saved without one."""
    path = resolve_model_uri(model)
    meta = read_model_metadata(path)
    info = meta.saved_input_example_info
    if not info:
        return None
    with open(model_file(path, info.get("artifact_path", INPUT_EXAMPLE_FILE)),
              encoding="utf-8") as handle:
        payload = json.load(handle)
    if info.get("type") == "dataframe":
        import pandas as pd

        return pd.DataFrame(payload["data"], columns=payload["columns"])
    import numpy as np

    inputs = payload.get("inputs", payload) if isinstance(payload, dict) else payload
    if isinstance(inputs, dict):
        return {k: np.asarray(v) for k, v in inputs.items()}
    return np.asarray(inputs)


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
                           run_id, artifact_path, infer_signature, flavor_kwargs)


def _save_model(model: Any, path: str | os.PathLike, flavor: str | Flavor, input_example: Any,
                signature: ModelSignature | dict | None, metadata: dict[str, Any] | None,
                run_id: str | None, artifact_path: str | None, infer_signature: bool,
                flavor_kwargs: dict[str, Any]) -> ModelMetadata:
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


def log_model(
    model: Any,
    flavor: str | Flavor,
    name: str = "model",
    input_example: Any = None,
    signature: ModelSignature | dict | None = None,
    registered_model_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    artifact_path: str | None = None,
    run_id: str | None = None,
    tracking_uri: str | None = None,
    infer_signature: bool = True,
    **flavor_kwargs: Any,
) -> ModelInfo:
    """Save ``model`` as the directory artifact ``<name>/`` of a run; register it when
    ``registered_model_name`` is given.

    The run is ``run_id`` (on ``tracking_uri``, default the current one) when given, else
    the active run, else a new run that stays active (as the fluent API does).
    ``artifact_path`` is MLflow 2's name for ``name``.
    """
    from autolog.core.tracking.runs import active_run, start_run

    name = artifact_path if artifact_path is not None else name
    relative = validation.artifact_path(name)
    if not relative:
        raise InvalidInputError(f"Invalid model name {name!r}: a non-empty relative path "
                                "is needed (e.g. 'model').")
    if run_id is not None:
        uri = tracking_uri or context.get_tracking_uri()
    else:
        run = active_run()
        if run is None:
            run = start_run()
        run_id, uri = run.info.run_id, run.uri
    backend = context.get_store(uri)
    with tempfile.TemporaryDirectory(prefix="autolog-model-") as tmp:
        local = os.path.join(tmp, relative.rsplit("/", 1)[-1])
        meta = save_model(model, local, flavor, input_example, signature, metadata,
                          run_id=run_id, artifact_path=relative,
                          infer_signature=infer_signature, **flavor_kwargs)
        backend.log_artifact(run_id, local, relative)
    _record_history(uri, run_id, meta)
    model_uri = f"runs:/{run_id}/{relative}"
    version = None
    if registered_model_name is not None:
        registered = register_model(model_uri, registered_model_name, tracking_uri=uri)
        version = int(registered.version)
    return ModelInfo(
        model_uri=model_uri,
        run_id=run_id,
        artifact_path=relative,
        flavors=meta.flavors,
        signature=meta.signature,
        registered_model_version=version,
        model_uuid=meta.model_uuid,
        utc_time_created=meta.utc_time_created,
        saved_input_example_info=meta.saved_input_example_info,
        metadata=meta.get("metadata"),
    )


#: (tracking URI, run id) -> the model history this process last wrote into that run, so
#: that the next model logged there extends it without waiting for the writer and reading
#: the run back (the fit's model was the one synchronous flush left). Bounded.
_histories: dict[tuple[str, str], list] = {}
_HISTORIES_KEPT = 1000


def _record_history(uri: str, run_id: str, meta: ModelMetadata) -> None:
    """Append to the run's ``mlflow.log-model.history`` tag (MLflow's UI reads it)."""
    run_logger = context.get_logger(uri)
    history = _histories.get((uri, run_id))
    if history is None:
        # Nothing of this tag that this process logged is still buffered (it would be in
        # _histories): the store holds the history as it stands.
        run = context.get_store(uri).get_run(run_id)
        try:
            history = json.loads(run.data.tags.get(LOG_MODEL_HISTORY_TAG, "[]"))
            if not isinstance(history, list):
                history = []
        except ValueError:
            history = []
    entry = {key: meta[key] for key in ("run_id", "artifact_path", "utc_time_created",
                                        "flavors", "model_uuid") if key in meta}
    history = [*history, entry]
    text = json.dumps(history)
    while len(text) > validation.MAX_TAG_VALUE_LENGTH and len(history) > 1:
        history.pop(0)
        text = json.dumps(history)
    if len(text) <= validation.MAX_TAG_VALUE_LENGTH:
        run_logger.set_tags(run_id, [(LOG_MODEL_HISTORY_TAG, text)])
        if len(_histories) >= _HISTORIES_KEPT:
            _histories.pop(next(iter(_histories)))
        _histories[(uri, run_id)] = history


# -- URIs -----------------------------------------------------------------------------------

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def _bad_uri(uri: str, why: str) -> InvalidInputError:
    return InvalidInputError(f"Invalid model URI {uri!r}: {why}. Accepted forms: "
                             f"{ACCEPTED_URI_FORMS}.")


def _parse(uri: str) -> tuple[str, ...]:
    """('runs', run_id, path) | ('local', path) | ('models', name, kind, value)."""
    if not isinstance(uri, (str, os.PathLike)):
        raise InvalidInputError(f"Invalid model URI {uri!r}: expected a string. Accepted "
                                f"forms: {ACCEPTED_URI_FORMS}.")
    uri = os.fspath(uri)
    if not uri.strip():
        raise _bad_uri(uri, "it is empty")
    match = _SCHEME.match(uri)
    scheme = match.group(1).lower() if match else None
    if scheme is None or (len(scheme) == 1 and os.name == "nt"):
        return ("local", uri)
    rest = uri[match.end():]
    if scheme == "file":
        parsed = urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            raise _bad_uri(uri, "a file: URI must name a local path")
        return ("local", unquote(parsed.path))
    if scheme == "runs":
        if not rest.startswith("/"):
            raise _bad_uri(uri, "expected runs:/<run_id>/<path>")
        body = rest.lstrip("/")
        run_id, _, path = body.partition("/")
        path = path.strip("/")
        if not run_id:
            raise _bad_uri(uri, "the run id is missing")
        if not path:
            raise _bad_uri(uri, "the artifact path after the run id is missing")
        return ("runs", run_id, validation.artifact_path(path))
    if scheme == "models":
        if not rest.startswith("/") or rest.startswith("//"):
            raise _bad_uri(uri, "expected models:/<name>/<version|stage|latest> or "
                                "models:/<name>@<alias>")
        body = rest[1:].rstrip("/")
        if "/" in body:
            name, _, suffix = body.rpartition("/")
            if not name or not suffix:
                raise _bad_uri(uri, "the model name or version is missing")
            if "@" in name:
                raise _bad_uri(uri, "an alias cannot be followed by a version or stage")
            if suffix.isdigit():
                return ("models", name, "version", suffix)
            if suffix.lower() == "latest":
                return ("models", name, "latest", "")
            return ("models", name, "stage", suffix)
        if "@" in body:
            name, _, alias = body.rpartition("@")
            if not name or not alias:
                raise _bad_uri(uri, "the model name or alias is missing")
            return ("models", name, "alias", alias)
        if not body:
            raise _bad_uri(uri, "the model name is missing")
        raise _bad_uri(uri, f"a version, stage, 'latest' or '@alias' is missing after {body!r}")
    raise _bad_uri(uri, f"unknown scheme {scheme!r}")


def _canonical_stage(name: str, stage: str) -> str:
    for accepted in STAGES:
        if stage.lower() == accepted.lower():
            return accepted
    raise ResourceNotFoundError(
        f"Registered model {name!r} has no version or stage {stage!r}: expected a version "
        f"number, a stage ({', '.join(STAGES)}), 'latest', or use models:/{name}@<alias>."
    )


def get_model_version_for_uri(uri: str, tracking_uri: str | None = None) -> ModelVersion:
    """The registered version a ``models:/`` URI points to."""
    parsed = _parse(uri)
    if parsed[0] != "models":
        raise InvalidInputError(f"{uri!r} is not a models:/ URI. Accepted forms: "
                                f"{ACCEPTED_URI_FORMS}.")
    _, name, kind, value = parsed
    backend = context.get_store(tracking_uri)
    if kind == "version":
        return backend.get_model_version(name, value)
    if kind == "alias":
        return backend.get_model_version_by_alias(name, value)
    registered = backend.get_registered_model(name)  # raises when unknown
    candidates = list(registered.latest_versions)
    if kind == "stage":
        stage = _canonical_stage(name, value)
        candidates = [v for v in candidates if v.current_stage == stage]
        if not candidates:
            raise ResourceNotFoundError(
                f"Registered model {name!r} has no version in stage {stage!r}."
            )
    elif not candidates:
        raise ResourceNotFoundError(f"Registered model {name!r} has no versions.")
    return max(candidates, key=lambda v: int(v.version))


def resolve_model_uri(uri: str | os.PathLike, tracking_uri: str | None = None) -> str:
    """A local directory holding the model that ``uri`` names (see the module docstring)."""
    parsed = _parse(uri)
    if parsed[0] == "local":
        path = os.path.abspath(os.path.expanduser(parsed[1]))
        if not os.path.exists(path):
            raise ResourceNotFoundError(f"No model at {os.fspath(uri)!r}: {path} does not exist.")
        return path
    if parsed[0] == "runs":
        return _run_artifact(parsed[1], parsed[2], tracking_uri)  # type: ignore[return-value]
    version = get_model_version_for_uri(os.fspath(uri), tracking_uri)
    source = version.source
    if source.startswith("models:"):
        raise InvalidInputError(
            f"Model version {version.name} {version.version} has source {source!r}, which "
            "refers to the registry again."
        )
    return resolve_model_uri(source, tracking_uri)


def _run_artifact(run_id: str, path: str, tracking_uri: str | None,
                  download: bool = True) -> str | None:
    """The local path of a run's artifact; downloaded when the store keeps it remotely
    (``download=False``: only check that it exists where that is cheap)."""
    backend = context.get_store(tracking_uri)
    backend.get_run(run_id)  # a clear not-found error for an unknown run
    local = backend.artifact_local_path(run_id, path)
    if local is not None:
        if not os.path.exists(local):
            raise ResourceNotFoundError(f"Run {run_id!r} has no artifact {path!r}.")
        return local
    if not download:
        return None
    return backend.download_artifacts(run_id, path, tempfile.mkdtemp(prefix="autolog-model-"))


# -- loading --------------------------------------------------------------------------------


def pick_flavor(meta: ModelMetadata, wanted: str | None = None) -> tuple[Flavor, dict[str, Any]]:
    """The flavor to load a model with: ``wanted``, else the first one autolog knows."""
    flavors = meta.flavors
    where = meta.path or "the model"
    if wanted is not None:
        flavor = get_flavor(wanted)
        if flavor.name not in flavors:
            raise InvalidInputError(
                f"{where} has no {flavor.name!r} flavor; it has: {', '.join(flavors)}."
            )
        return flavor, flavors[flavor.name] or {}
    for name, conf in flavors.items():
        if name == PYFUNC_FLAVOR:
            continue
        try:
            return get_flavor(name), conf or {}
        except InvalidInputError:
            continue
    raise InvalidInputError(
        f"autolog cannot load {where}: its flavors are {', '.join(flavors)}; autolog "
        f"knows {', '.join(known_flavors())}."
    )


def load_model(model_uri: str | os.PathLike, flavor: str | None = None,
               tracking_uri: str | None = None) -> Any:
    """Load a model in its native form (an sklearn estimator, an xgboost Booster, ...).

    Security: pickle-based flavors run code from the file; load only models you trust.
    """
    path = resolve_model_uri(model_uri, tracking_uri)
    meta = read_model_metadata(path)
    flavor_obj, conf = pick_flavor(meta, flavor)
    return flavor_obj.load(path, conf)


# -- registry -------------------------------------------------------------------------------


def register_model(model_uri: str, name: str, *, tracking_uri: str | None = None,
                   description: str = "") -> ModelVersion:
    """Register the model at ``model_uri`` as a new version of ``name`` (created when
    missing). Version numbers stay unique when several processes register at once."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"Invalid registered model name {name!r}: expected a "
                                "non-empty string.")
    parsed = _parse(model_uri)
    backend = context.get_store(tracking_uri)
    if parsed[0] == "runs":
        _, run_id, path = parsed
        _run_artifact(run_id, path, tracking_uri, download=False)  # the run must exist
        source = f"runs:/{run_id}/{path}"
    elif parsed[0] == "local":
        source = resolve_model_uri(model_uri)
        run_id = None
        try:
            run_id = read_model_metadata(source).run_id
        except (ResourceNotFoundError, InvalidInputError):
            pass
    else:
        version = get_model_version_for_uri(model_uri, tracking_uri)
        source, run_id = version.source, version.run_id
    try:
        backend.get_registered_model(name)
    except ResourceNotFoundError:
        try:
            backend.create_registered_model(name)
        except ResourceAlreadyExistsError:
            pass  # another process created it first
    return backend.create_model_version(name, source, run_id, description)
