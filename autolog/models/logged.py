"""Logging a model into a run: `log_model(model, flavor, run_id=...)` saves the model
directory into the run's artifacts, extends the run's model history and registers it
when asked. It takes the run by id: the active run is the caller's business (the
fluent face, a session).

Logged models (MLflow 3's ``LoggedModel``): where the backend keeps them, `log_model`
creates one per model logged (its id is written into ``MLmodel`` as ``model_id``), marks
it READY once the files are stored, and the backend links the run's params and final
metrics to it."""

import json
import os
import tempfile
from typing import Any

from autolog.core import validation
from autolog.core.errors import (
    InvalidInputError,
)
from autolog.core.tracking import context
from autolog.models.files import LOG_MODEL_HISTORY_TAG, ModelInfo, ModelMetadata, save_model
from autolog.models.flavor import Flavor, get_flavor
from autolog.models.registry import register_model
from autolog.models.signature import ModelSignature

__all__ = ["log_model"]

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

    The run is ``run_id`` (on ``tracking_uri``, default the current one): the active run
    is the caller's to find (``autolog.<framework>.log_model`` does it). ``artifact_path``
    is MLflow 2's name for ``name``.
    """

    name = artifact_path if artifact_path is not None else name
    relative = validation.artifact_path(name)
    if not relative:
        raise InvalidInputError(f"Invalid model name {name!r}: a non-empty relative path "
                                "is needed (e.g. 'model').")
    if run_id is None:
        raise InvalidInputError("autolog.models.log_model needs run_id=...; "
                                "autolog.<framework>.log_model logs into the active run.")
    uri = tracking_uri or context.get_tracking_uri()
    backend = context.get_store(uri)
    logged = _create_logged_model(backend, run_id, relative, flavor)
    model_id = logged.model_id if logged is not None else None
    with tempfile.TemporaryDirectory(prefix="autolog-model-") as tmp:
        local = os.path.join(tmp, relative.rsplit("/", 1)[-1])
        try:
            meta = save_model(model, local, flavor, input_example, signature, metadata,
                              run_id=run_id, artifact_path=relative,
                              infer_signature=infer_signature, model_id=model_id,
                              **flavor_kwargs)
            backend.log_artifact(run_id, local, relative)
            if model_id is not None:
                _store_logged_model_files(backend, model_id, local)
        except BaseException:
            if model_id is not None:
                backend.finalize_logged_model(model_id, "FAILED")
            raise
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
        model_id=model_id,
        utc_time_created=meta.utc_time_created,
        saved_input_example_info=meta.saved_input_example_info,
        metadata=meta.get("metadata"),
    )


def _create_logged_model(backend: Any, run_id: str, artifact_path: str,
                         flavor: str | Flavor) -> Any:
    """A PENDING logged model for the model about to be stored (None where the backend
    keeps none: third-party backends, an MLflow server that is down)."""
    try:
        return backend.create_logged_model(run_id, artifact_path.rsplit("/", 1)[-1],
                                           artifact_path, flavor=get_flavor(flavor).name)
    except NotImplementedError:
        return None


def _store_logged_model_files(backend: Any, model_id: str, local: str) -> None:
    """Mark the logged model READY; a backend that keeps a copy of the files in the
    model's own location (MLflow 3: ``logged_model_files``) gets them uploaded first, by
    the deferred worker, after the training call has returned (`flush`, reads and exit
    wait for it): the model stays PENDING until then, FAILED if the upload fails."""
    if not getattr(backend, "logged_model_files", False):
        backend.finalize_logged_model(model_id, "READY")
        return
    import shutil

    from autolog.core.tracking import deferred

    holder = tempfile.mkdtemp(prefix="autolog-model-files-")
    files = os.path.join(holder, os.path.basename(local))
    shutil.copytree(local, files)

    def upload() -> None:
        try:
            backend.log_model_artifacts(model_id, files)
        except BaseException:
            backend.finalize_logged_model(model_id, "FAILED")
            raise
        finally:
            shutil.rmtree(holder, ignore_errors=True)
        backend.finalize_logged_model(model_id, "READY")

    deferred.submit(f"uploading the files of logged model {model_id}", upload)


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
                                        "flavors", "model_uuid", "model_id") if key in meta}
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
