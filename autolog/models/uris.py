"""Model URIs (``runs:/``, ``models:/``, paths) resolved to local directories, and
`load_model`, which picks the flavor and loads."""

import json
import os
import re
import tempfile
from typing import Any
from urllib.parse import unquote, urlparse

from autolog.core import validation
from autolog.core.entities import ModelVersion
from autolog.core.errors import (
    InvalidInputError,
    ResourceNotFoundError,
)
from autolog.core.tracking import context
from autolog.models.files import (
    INPUT_EXAMPLE_FILE,
    ModelMetadata,
    model_file,
    read_model_metadata,
)
from autolog.models.flavor import PYFUNC_FLAVOR, Flavor, get_flavor, known_flavors

__all__ = [
    "get_model_version_for_uri",
    "load_input_example",
    "load_model",
    "pick_flavor",
    "resolve_model_uri",
]

STAGES = ("None", "Staging", "Production", "Archived")

ACCEPTED_URI_FORMS = (
    "runs:/<run_id>/<path>, a local directory path (or file:///path), "
    "models:/<name>/<version>, models:/<name>/<stage> (None, Staging, Production, "
    "Archived), models:/<name>/latest, models:/<name>@<alias>, models:/<model_id>"
)


# -- URIs -----------------------------------------------------------------------------------

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")  # MLflow 3's logged model ids


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
        if _MODEL_ID.match(body):
            return ("models", body, "model_id", "")
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
    if kind == "model_id":
        raise InvalidInputError(f"{uri!r} names a logged model, not a registered version.")
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
    if parsed[2] == "model_id":
        return _logged_model_path(parsed[1], tracking_uri)
    version = get_model_version_for_uri(os.fspath(uri), tracking_uri)
    source = version.source
    if source.startswith("models:") and _parse(source)[2] != "model_id":
        raise InvalidInputError(
            f"Model version {version.name} {version.version} has source {source!r}, which "
            "refers to the registry again."
        )
    return resolve_model_uri(source, tracking_uri)


def _logged_model_source(model_id: str, tracking_uri: str | None) -> tuple[Any, Any]:
    backend = context.get_store(tracking_uri)
    try:
        return backend, backend.get_logged_model(model_id)
    except NotImplementedError:
        raise ResourceNotFoundError(
            f"No logged model {model_id!r}: {backend.uri} keeps no logged models.") from None


def _logged_model_path(model_id: str, tracking_uri: str | None) -> str:
    """The local directory of a logged model: its source run's artifact, else (a model
    MLflow logged by itself) its own files, downloaded."""
    backend, logged = _logged_model_source(model_id, tracking_uri)
    if logged.source_run_id and logged.artifact_path:
        return _run_artifact(logged.source_run_id, logged.artifact_path,
                             tracking_uri)  # type: ignore[return-value]
    download = getattr(backend, "download_logged_model_artifacts", None)
    if download is None:
        raise ResourceNotFoundError(f"Logged model {model_id!r} has no files autolog can find.")
    return download(model_id, tempfile.mkdtemp(prefix="autolog-model-"))


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
