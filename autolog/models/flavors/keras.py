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

A subclassed model that ``model.save`` cannot describe (``__init__`` arguments that are not
plain values -- layers, sub-models -- and no ``get_config``, as in the Keras examples' VAE
or custom ``train_step`` models) is saved as its weights only, ``data/model.weights.h5``
(``save_format: weights``, the class in ``model_class``, and a ``note`` in ``MLmodel``; no
``python_function`` entry): the architecture is code. `load_model` then needs the model
rebuilt by the caller, ``load_model(uri, model=MyModel(...))``, and says so otherwise. One
`AutologWarning` per model class says the same when it is saved.

Keras is imported only when a model is saved or loaded.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from autolog import models
from autolog.core.errors import AutologWarning, InvalidInputError

__all__ = ["FLAVOR_NAME", "KerasFlavor", "TensorFlowFlavor", "load_model"]

#: what ``autolog.<framework>`` takes from this module beside the shared model functions
FACE = ("load_model",)

FLAVOR_NAME = "keras"
DATA_DIR = "data"
MODEL_FILE = "model.keras"
SAVE_FORMAT = "keras"
WEIGHTS_FILE = "model.weights.h5"
WEIGHTS_FORMAT = "weights"
WEIGHTS_NOTE = ("Weights only: the model's class has no get_config(), so its architecture is "
                "code. Rebuild it (model = {cls}(...)) and load the weights with "
                "autolog.keras.load_model(uri, model=model), or model.load_weights() on "
                "data/" + WEIGHTS_FILE + " after building the model.")

_warned_classes: set[str] = set()  # model classes already warned about (weights only)

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
        file = os.path.join(data, MODEL_FILE)
        try:
            model.save(file, **kwargs)
        except NotImplementedError:  # a subclassed model without get_config
            if os.path.exists(file):
                os.remove(file)
            return self._save_weights(keras, model, data)
        # MLflow's loaders read these two files (mlflow.tensorflow's pyfunc loader needs them).
        for file, text in (("keras_module.txt", "keras"), ("save_format.txt", SAVE_FORMAT)):
            with open(os.path.join(data, file), "w", encoding="utf-8") as handle:
                handle.write(text)
        return self._conf(keras)

    def _save_weights(self, keras: Any, model: Any, data: str) -> dict[str, Any]:
        """The weights of a model ``model.save`` cannot describe, and how to load them."""
        model.save_weights(os.path.join(data, WEIGHTS_FILE))
        cls = type(model)
        name = f"{cls.__module__}.{cls.__qualname__}"
        if name not in _warned_classes:
            _warned_classes.add(name)
            warnings.warn(
                f"autolog: {cls.__qualname__} has no get_config() (its __init__ takes values "
                "Keras cannot serialize), so it cannot be saved as .keras: only its weights "
                f"were saved (data/{WEIGHTS_FILE}). To load them, rebuild the model in code "
                f"and call autolog.keras.load_model(uri, model={cls.__qualname__}(...)). "
                "Implement get_config() (and register the class with "
                "keras.saving.register_keras_serializable) to save the whole model.",
                AutologWarning, stacklevel=2)
        conf = {
            "data": DATA_DIR,
            "keras_version": keras.__version__,
            "keras_backend": keras.backend.backend(),
            "save_format": WEIGHTS_FORMAT,
            "weights_file": WEIGHTS_FILE,
            "model_class": name,
            "note": WEIGHTS_NOTE.format(cls=cls.__qualname__),
        }
        build = model.get_build_config() if getattr(model, "built", False) else None
        if build and "input_shape" in build:
            conf["input_shape"] = _plain(build["input_shape"])
        return conf

    def supports_pyfunc(self, model: Any) -> bool:
        """Not for a model saved as weights only: no loader could rebuild it."""
        try:
            model.get_config()
        except NotImplementedError:
            return False
        except Exception:  # noqa: BLE001 - model.save decided; this only names the entry
            return True
        return True

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
        options pass through). ``model=``: a model the caller built, into which the saved
        weights are loaded and which is returned (the way to load a weights-only model)."""
        import keras

        into = kwargs.pop("model", None)
        if flavor_conf.get("save_format") == WEIGHTS_FORMAT or into is not None:
            return self._load_weights(keras, path, flavor_conf, into)

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
                try:
                    return keras.saving.load_model(candidate, **kwargs)
                except TypeError as exc:
                    if "Could not locate class" not in str(exc):
                        raise
                    raise InvalidInputError(
                        f"Cannot load the Keras model in {path!r}: {exc} Pass the classes "
                        "as autolog.keras.load_model(uri, custom_objects={'Name': Name}), "
                        "register them with @keras.saving.register_keras_serializable(), "
                        "or rebuild the model and pass it as model=... to load its weights."
                    ) from exc
        raise InvalidInputError(f"No Keras model file (model.keras) under {data!r}.")

    def _load_weights(self, keras: Any, path: str, conf: dict[str, Any], model: Any) -> Any:
        data = models.model_file(path, conf.get("data") or DATA_DIR)
        weights_only = conf.get("save_format") == WEIGHTS_FORMAT
        file = os.path.join(data, conf.get("weights_file") or WEIGHTS_FILE) if weights_only \
            else os.path.join(data, MODEL_FILE)
        if model is None:
            raise InvalidInputError(
                f"The Keras model in {path!r} was saved as weights only "
                f"({conf.get('model_class') or 'its class'} has no get_config(): its "
                "architecture is code). Rebuild it and pass it in: "
                "autolog.keras.load_model(uri, model=MyModel(...)) loads the weights into "
                f"it; or build it and call model.load_weights({file!r})."
            )
        if not isinstance(model, keras.Model):
            raise InvalidInputError(f"model= must be a keras.Model, got {type(model).__name__}.")
        if not model.built:
            shape = conf.get("input_shape") or []
            unbuilt = InvalidInputError(
                f"Build {type(model).__name__} before loading weights into it (call it on a "
                "batch of inputs): the saved model records no input shape it could be built "
                "from.")
            if len(shape) < 2 or any(dim is None for dim in shape[1:]):
                raise unbuilt
            try:
                model(keras.ops.zeros([1, *shape[1:]]))  # creates its variables
            except Exception as exc:  # noqa: BLE001 - the model's own call: say what to do
                raise unbuilt from exc
        model.load_weights(file)
        return model

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


def load_model(model_uri: str | os.PathLike, custom_objects: dict[str, Any] | None = None,
               model: Any = None, **kwargs: Any) -> Any:
    """Load a Keras model from any model URI (``runs:/``, ``models:/``, a path), written by
    autolog or by MLflow (``keras`` or ``tensorflow`` flavor). ``model``: a model rebuilt
    in code, into which the saved weights are loaded (needed for a model saved as weights
    only: a subclassed model without ``get_config``)."""
    path = models.resolve_model_uri(model_uri)
    meta = models.read_model_metadata(path)
    flavors = meta.flavors
    name = FLAVOR_NAME if FLAVOR_NAME in flavors else "tensorflow"
    flavor, conf = models.pick_flavor(meta, name)
    if custom_objects is not None:
        kwargs["custom_objects"] = custom_objects
    if model is not None:
        kwargs["model"] = model
    return flavor.load(path, conf, **kwargs)


def _plain(value: Any) -> Any:
    """Tuples as lists, for YAML's safe dumper."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
