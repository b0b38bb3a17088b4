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
- ``models:/<model_id>``             a logged model (MLflow 3's ``m-<32 hex digits>`` ids)

Security: some flavors (scikit-learn) serialize with pickle, and loading a pickle runs
code chosen by whoever wrote the file. Load only models you trust. Nothing is ever
loaded implicitly: only `load_model` and ``autolog.pyfunc.load_model`` (and a flavor's
own ``load_model``) deserialize a model; reading metadata never does.
"""

from __future__ import annotations

from autolog.models.files import (
    CONDA_ENV_FILE,
    INPUT_EXAMPLE_FILE,
    LOG_MODEL_HISTORY_TAG,
    MLMODEL_FILE,
    PYTHON_ENV_FILE,
    REQUIREMENTS_FILE,
    ModelInfo,
    ModelMetadata,
    infer_model_signature,
    model_file,
    read_model_metadata,
    save_model,
)
from autolog.models.flavor import (
    PYFUNC_FLAVOR,
    Flavor,
    get_flavor,
    known_flavors,
    register_flavor,
)
from autolog.models.logged import log_model
from autolog.models.registry import register_model
from autolog.models.uris import (
    ACCEPTED_URI_FORMS,
    STAGES,
    get_model_version_for_uri,
    load_input_example,
    load_model,
    pick_flavor,
    resolve_model_uri,
)

__all__ = [
    "ACCEPTED_URI_FORMS",
    "CONDA_ENV_FILE",
    "INPUT_EXAMPLE_FILE",
    "LOG_MODEL_HISTORY_TAG",
    "MLMODEL_FILE",
    "PYFUNC_FLAVOR",
    "PYTHON_ENV_FILE",
    "REQUIREMENTS_FILE",
    "STAGES",
    "Flavor",
    "ModelInfo",
    "ModelMetadata",
    "get_flavor",
    "get_model_version_for_uri",
    "infer_model_signature",
    "known_flavors",
    "load_input_example",
    "load_model",
    "log_model",
    "model_file",
    "pick_flavor",
    "read_model_metadata",
    "register_flavor",
    "register_model",
    "resolve_model_uri",
    "save_model",
]
