"""The Keras 3 flavors: save, log and load Keras models in the native ``.keras`` format.

Two flavor names share this module, both with MLflow's directory layouts:

* ``keras`` (the default; what autologging writes) -- MLflow's Keras 3 flavor, which works
  with every Keras backend (TensorFlow, PyTorch, JAX)::

      model/
        MLmodel            flavors: keras (data, keras_version, keras_backend, ...),
                           python_function (loader_module: mlflow.keras)
        data/model.keras   the model, written by ``model.save``
        data/keras_module.txt, data/save_format.txt

  ``mlflow.keras.load_model``, ``mlflow.pyfunc.load_model`` and also
  ``mlflow.tensorflow.load_model`` (it reads a ``keras`` flavor entry with
  ``keras_module``/``save_format``) load it.
* ``tensorflow`` -- MLflow's TensorFlow flavor for a TF-backed Keras model
  (``model_type: keras``, ``python_function`` loader ``mlflow.tensorflow``), the layout
  ``mlflow.tensorflow.autolog()`` writes; autolog loads those directories too.

The ``.keras`` file holds the architecture (``get_config``), the weights and the compile
state; a custom layer or a subclassed model loads back when its class is registered with
``keras.saving.register_keras_serializable`` (or passed as ``custom_objects``).

Keras is imported only when a model is saved or loaded.
"""

from __future__ import annotations

import os
from typing import Any

from autolog.core import models
from autolog.core.errors import InvalidInputError
from autolog.core.signature import ModelSignature

__all__ = ["FLAVOR_NAME", "KerasFlavor", "TensorFlowFlavor", "load_model", "log_model",
           "save_model"]

FLAVOR_NAME = "keras"
DATA_DIR = "data"
MODEL_FILE = "model.keras"
SAVE_FORMAT = "keras"

_SAVE_OPTIONS = {"zipped"}


def _backend_distribution() -> str | None:
    """The pip distribution of the Keras backend in use (pinned in requirements.txt)."""
    try:
        import keras

        backend = keras.backend.backend()
    except Exception:  # noqa: BLE001 - requirements are best effort
        return None
    candidates = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "torch": ("torch",),
                  "jax": ("jax",)}.get(backend, ())
    from importlib import metadata

    for dist in candidates:
        try:
            return f"{dist}=={metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return None


class KerasFlavor(models.Flavor):
    name = FLAVOR_NAME
    framework_module = "keras"
    distribution = "keras"
    mlflow_loader_module = "mlflow.keras"
    model_path = f"{DATA_DIR}/{MODEL_FILE}"

    def pip_requirements(self) -> list[str]:
        requirements = super().pip_requirements()
        backend = _backend_distribution()
        if backend:
            requirements.append(backend)
        return requirements

    def save(self, model: Any, path: str, **kwargs: Any) -> dict[str, Any]:
        unknown = set(kwargs) - _SAVE_OPTIONS
        if unknown:
            raise InvalidInputError(
                f"Unknown option(s) for the {self.name} flavor: {', '.join(sorted(unknown))} "
                f"(accepted: {', '.join(sorted(_SAVE_OPTIONS))})."
            )
        import keras

        if not isinstance(model, keras.Model):
            raise InvalidInputError(
                f"The {self.name} flavor saves keras.Model instances, got {type(model).__name__}."
            )
        data = os.path.join(path, DATA_DIR)
        os.makedirs(data, exist_ok=True)
        model.save(os.path.join(data, MODEL_FILE), **kwargs)
        # MLflow's loaders read these two files (mlflow.tensorflow's pyfunc loader needs them).
        for file, text in (("keras_module.txt", "keras"), ("save_format.txt", SAVE_FORMAT)):
            with open(os.path.join(data, file), "w", encoding="utf-8") as handle:
                handle.write(text)
        return self._conf(keras)

    def _conf(self, keras: Any) -> dict[str, Any]:
        return {
            "data": DATA_DIR,
            "keras_version": keras.__version__,
            "keras_backend": keras.backend.backend(),
            "save_exported_model": False,
            # For mlflow.tensorflow.load_model, which also reads a "keras" flavor entry.
            "keras_module": "keras",
            "save_format": SAVE_FORMAT,
        }

    def load(self, path: str, flavor_conf: dict[str, Any], **kwargs: Any) -> Any:
        """Load the Keras model (``custom_objects=`` and other `keras.saving.load_model`
        options pass through)."""
        import keras

        if flavor_conf.get("save_exported_model") or flavor_conf.get("model_type") not in (
            None, "keras"
        ):
            raise InvalidInputError(
                f"Cannot load the model in {path!r} as a Keras model: it was saved as an "
                "exported TensorFlow graph (load it with tensorflow.saved_model.load)."
            )
        data = models.model_file(path, flavor_conf.get("data") or DATA_DIR)
        file = data
        if os.path.isdir(data):
            file = os.path.join(data, "model")
        for candidate in (file + ".keras", file + ".h5", file):
            if os.path.isfile(candidate):
                return keras.saving.load_model(candidate, **kwargs)
        raise InvalidInputError(f"No Keras model file (model.keras) under {data!r}.")

    def pyfunc_entry(self, flavor_conf: dict[str, Any]) -> dict[str, Any]:
        # mlflow.keras reads the MLmodel itself from the model directory: no "data" key.
        return {}

    def pyfunc_predict(self, model: Any, data: Any, params: dict[str, Any] | None = None) -> Any:
        import keras

        try:
            import pandas as pd
        except ImportError:  # pragma: no cover
            pd = None
        if pd is not None and isinstance(data, pd.DataFrame):
            return pd.DataFrame(model.predict(data.to_numpy(), verbose=0), index=data.index)
        return keras.ops.convert_to_numpy(model.predict(data, verbose=0))


class TensorFlowFlavor(KerasFlavor):
    """MLflow's ``tensorflow`` flavor for a Keras model (``mlflow.tensorflow`` layout)."""

    name = "tensorflow"
    distribution = "keras"
    mlflow_loader_module = "mlflow.tensorflow"

    def _conf(self, keras: Any) -> dict[str, Any]:
        return {
            "code": None,
            "data": DATA_DIR,
            "model_type": "keras",
            "keras_version": keras.__version__,
            "keras_module": "keras",
            "save_format": SAVE_FORMAT,
        }

    def pyfunc_entry(self, flavor_conf: dict[str, Any]) -> dict[str, Any]:
        return {"data": DATA_DIR}  # mlflow.tensorflow's loader gets the data directory


models.register_flavor(KerasFlavor())
models.register_flavor(TensorFlowFlavor())


def save_model(
    model: Any,
    path: str | os.PathLike,
    input_example: Any = None,
    signature: ModelSignature | dict | None = None,
    metadata: dict[str, Any] | None = None,
    **kwargs: Any,
) -> models.ModelMetadata:
    """Save a Keras model as a model directory at ``path`` (``data/model.keras`` inside)."""
    return models.save_model(model, path, FLAVOR_NAME, input_example=input_example,
                             signature=signature, metadata=metadata, **kwargs)


def log_model(
    model: Any,
    name: str = "model",
    input_example: Any = None,
    signature: ModelSignature | dict | None = None,
    registered_model_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    **kwargs: Any,
) -> models.ModelInfo:
    """Log a Keras model as the artifact directory ``name`` of the active run (one is
    started when none is active); register it as ``registered_model_name`` when given."""
    return models.log_model(model, FLAVOR_NAME, name=name, input_example=input_example,
                            signature=signature, registered_model_name=registered_model_name,
                            metadata=metadata, **kwargs)


def load_model(model_uri: str | os.PathLike, custom_objects: dict[str, Any] | None = None,
               **kwargs: Any) -> Any:
    """Load a Keras model from any model URI (``runs:/``, ``models:/``, a path), written by
    autolog or by MLflow (``keras`` or ``tensorflow`` flavor)."""
    path = models.resolve_model_uri(model_uri)
    meta = models.read_model_metadata(path)
    flavors = meta.flavors
    name = FLAVOR_NAME if FLAVOR_NAME in flavors else "tensorflow"
    flavor, conf = models.pick_flavor(meta, name)
    if custom_objects is not None:
        kwargs["custom_objects"] = custom_objects
    return flavor.load(path, conf, **kwargs)
