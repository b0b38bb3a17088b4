"""The Hugging Face ``transformers`` flavor: save, log and load ``PreTrainedModel``s.

The layout is MLflow's ``transformers`` flavor (a model saved with
``save_pretrained=True``), so ``mlflow.transformers.load_model(uri,
return_type="components")`` reads what autolog writes::

    model/
      MLmodel                  flavors.transformers: pipeline_model_type (the model's
                               class), model_binary, components, transformers_version, ...
      model/                   ``model.save_pretrained``: config.json, model.safetensors
                               (weights in safetensors: no code runs when they are read),
                               generation_config.json when the model has one
      components/tokenizer/    ``tokenizer.save_pretrained`` when a tokenizer (or a
                               processor, image processor, feature extractor) was given
      requirements.txt, python_env.yaml, conda.yaml

`load_model` rebuilds the class named in ``MLmodel`` (else the first of the saved
config's ``architectures``) from ``transformers`` with ``from_pretrained``; a class of
your own is passed as ``model_class=``. Nothing is unpickled and no remote code is
trusted. There is no ``python_function`` entry: predicting behind a generic interface
needs a task and a tokenizer, which a bare model does not carry.

transformers is imported only when a model is saved or loaded.
"""

from __future__ import annotations

import json
import os
from typing import Any

from autolog import models
from autolog.core.errors import InvalidInputError

__all__ = ["FACE", "FLAVOR_NAME", "TransformersFlavor", "load_model"]

#: `autolog.transformers.load_model` is this module's (``model_class=``, ``return_type=``);
#: ``log_model``/``save_model`` are the face's, which pass ``processing_class=`` and
#: ``task=`` on to `TransformersFlavor.save`.
FACE = ("load_model",)

FLAVOR_NAME = "transformers"
MODEL_DIR = "model"  # MLflow's _MODEL_BINARY_FILE_NAME
COMPONENTS_DIR = "components"
COMPONENT_KEYS = ("tokenizer", "feature_extractor", "image_processor", "processor")
_SAVE_OPTIONS = {"processing_class", "task", "max_shard_size"}


def _component_key(component: Any) -> str | None:
    """MLflow's component key for a processing object, or None when it is none of them."""
    import transformers

    checks = (
        ("processor", "ProcessorMixin"),
        ("tokenizer", "PreTrainedTokenizerBase"),
        ("image_processor", "BaseImageProcessor"),
        ("feature_extractor", "FeatureExtractionMixin"),
    )
    for key, name in checks:
        cls = getattr(transformers, name, None)
        if isinstance(cls, type) and isinstance(component, cls):
            return key
    return None


def _split(model: Any) -> tuple[Any, dict[str, Any], str | None]:
    """(model, components, task) from a model, a components dict or a Pipeline."""
    if isinstance(model, dict):
        if "model" not in model:
            raise InvalidInputError("A components dict needs a 'model' entry (MLflow's form: "
                                    "{'model': model, 'tokenizer': tokenizer}).")
        unknown = set(model) - {"model", *COMPONENT_KEYS}
        if unknown:
            raise InvalidInputError(f"Unknown component(s) {sorted(unknown)}; accepted: "
                                    f"model, {', '.join(COMPONENT_KEYS)}.")
        components = {k: v for k, v in model.items() if k != "model" and v is not None}
        return model["model"], components, None
    inner = getattr(model, "model", None)
    if inner is not None and hasattr(model, "task") and hasattr(inner, "save_pretrained"):
        components = {key: getattr(model, key) for key in COMPONENT_KEYS[:3]
                      if getattr(model, key, None) is not None}
        return inner, components, model.task
    return model, {}, None


class TransformersFlavor(models.Flavor):
    name = FLAVOR_NAME
    framework_module = "transformers"
    distribution = "transformers"
    mlflow_loader_module = None  # no python_function entry (see the module doc)
    model_path = MODEL_DIR

    def pip_requirements(self) -> list[str]:
        requirements = super().pip_requirements()
        for dist in ("torch", "safetensors"):  # pinned when installed
            other = models.Flavor()
            other.distribution = dist
            requirements += [r for r in other.pip_requirements() if "==" in r]
        return requirements

    def supports_pyfunc(self, model: Any) -> bool:
        return False

    def save(self, model: Any, path: str, **kwargs: Any) -> dict[str, Any]:
        unknown = set(kwargs) - _SAVE_OPTIONS
        if unknown:
            raise InvalidInputError(
                f"Unknown option(s) for the transformers flavor: {', '.join(sorted(unknown))} "
                f"(accepted: {', '.join(sorted(_SAVE_OPTIONS))})."
            )
        import transformers

        model, components, task = _split(model)
        if not isinstance(model, transformers.PreTrainedModel):
            raise InvalidInputError(
                "The transformers flavor saves transformers.PreTrainedModel instances (or "
                f"{{'model': ..., 'tokenizer': ...}} or a Pipeline), got {type(model).__name__}."
            )
        processing = kwargs.get("processing_class")
        if processing is not None:
            key = _component_key(processing)
            if key is not None:
                components.setdefault(key, processing)
        task = kwargs.get("task") or task
        save_kwargs = {}
        if kwargs.get("max_shard_size") is not None:
            save_kwargs["max_shard_size"] = kwargs["max_shard_size"]
        model.save_pretrained(os.path.join(path, MODEL_DIR), **save_kwargs)
        for key, component in components.items():
            component.save_pretrained(os.path.join(path, COMPONENTS_DIR, key))
        dtype = getattr(model, "dtype", None)
        conf: dict[str, Any] = {
            "pipeline_model_type": type(model).__name__,
            "instance_type": type(model).__name__,
            "source_model_name": str(getattr(model, "name_or_path", "") or ""),
            "model_binary": MODEL_DIR,
            "task": task,
            "components": sorted(k for k in components if k != "processor"),
            "transformers_version": self.framework_version(),
            "code": None,
        }
        if dtype is not None:
            conf["torch_dtype"] = str(dtype)
        for key, component in components.items():
            conf[f"{key}_type"] = type(component).__name__
        if type(model).__module__.split(".")[0] != "transformers":
            conf["model_class"] = f"{type(model).__module__}.{type(model).__qualname__}"
        return conf

    def load(self, path: str, flavor_conf: dict[str, Any]) -> Any:
        return _load(path, flavor_conf)


def _model_class(local: str, conf: dict[str, Any]) -> Any:
    import transformers

    names = [conf.get("pipeline_model_type")]
    try:
        with open(os.path.join(local, "config.json"), encoding="utf-8") as handle:
            names += list(json.load(handle).get("architectures") or [])
    except (OSError, ValueError):
        pass
    for name in names:
        cls = getattr(transformers, name, None) if isinstance(name, str) else None
        if isinstance(cls, type):
            return cls
    raise InvalidInputError(
        f"The saved model's class {conf.get('model_class') or names[0]!r} is not part of "
        "transformers; pass it: autolog.transformers.load_model(uri, model_class=MyModel)."
    )


def _load(path: str, conf: dict[str, Any], model_class: Any = None,
          return_type: str = "model", **from_pretrained: Any) -> Any:
    if return_type not in ("model", "components"):
        raise InvalidInputError(f"return_type must be 'model' or 'components', got "
                                f"{return_type!r}.")
    local = models.model_file(path, conf.get("model_binary", MODEL_DIR))
    cls = model_class if model_class is not None else _model_class(local, conf)
    from_pretrained.setdefault("trust_remote_code", False)
    model = cls.from_pretrained(local, **from_pretrained)
    if return_type == "model":
        return model
    import transformers

    result = {"model": model}
    for key in (*conf.get("components", []), "processor"):
        directory = models.model_file(path, f"{COMPONENTS_DIR}/{key}")
        if not os.path.isdir(directory):
            continue
        auto = {"tokenizer": "AutoTokenizer", "feature_extractor": "AutoFeatureExtractor",
                "image_processor": "AutoImageProcessor", "processor": "AutoProcessor"}[key]
        component_cls = getattr(transformers, str(conf.get(f"{key}_type")), None)
        if not isinstance(component_cls, type):
            component_cls = getattr(transformers, auto)
        result[key] = component_cls.from_pretrained(directory, trust_remote_code=False)
    return result


models.register_flavor(TransformersFlavor())


def load_model(model_uri: str | os.PathLike, model_class: Any = None,
               return_type: str = "model", **from_pretrained: Any) -> Any:
    """Load a logged model from any model URI (``runs:/``, ``models:/``, a path).

    Returns the model, rebuilt with ``from_pretrained`` by the class recorded in
    ``MLmodel`` (else the config's ``architectures``; ``model_class=`` for a class of
    your own). ``return_type="components"`` returns ``{"model": ..., "tokenizer": ...}``
    with every saved component. Extra keyword arguments go to ``from_pretrained``
    (``dtype=``, ``device_map=``...). Weights are safetensors: no code runs from the file.
    """
    local = models.resolve_model_uri(model_uri)
    meta = models.read_model_metadata(local)
    _flavor, conf = models.pick_flavor(meta, FLAVOR_NAME)
    return _load(local, conf, model_class, return_type, **from_pretrained)
