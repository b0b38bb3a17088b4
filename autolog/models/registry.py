"""Registering a logged model as a version of a registered model."""


from autolog.core.entities import ModelVersion
from autolog.core.errors import (
    InvalidInputError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
)
from autolog.core.tracking import context
from autolog.models.files import read_model_metadata
from autolog.models.uris import (
    _logged_model_source,
    _parse,
    _run_artifact,
    get_model_version_for_uri,
    resolve_model_uri,
)

__all__ = ["register_model"]

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
    elif parsed[2] == "model_id":
        _, logged = _logged_model_source(parsed[1], tracking_uri)
        run_id = logged.source_run_id
        source = (f"runs:/{run_id}/{logged.artifact_path}" if run_id and logged.artifact_path
                  else f"models:/{logged.model_id}")
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
