"""Forwarding to an MLflow tracking URI through MLflow's own client.

Tracking URIs: ``mlflow+http://host:5000``, ``mlflow+https://...``,
``mlflow+sqlite:///mlflow.db``, ``mlflow+file:./mlruns`` -- everything after ``mlflow+``
is handed to ``mlflow.tracking.MlflowClient(tracking_uri=..., registry_uri=...)``.
MLflow is imported here only, and only when such a URI is first used.

Notes on MLflow's behaviour:

- Run ids are MLflow's: `create_run` cannot take a caller-chosen id, so the returned
  `RunInfo.run_id` is the one to use (the fluent API does).
- ``mlflow+file:`` -- MLflow 3 refuses its file store unless ``MLFLOW_ALLOW_FILE_STORE``
  is true. For this scheme only, autolog sets ``MLFLOW_ALLOW_FILE_STORE=true`` for the
  moment it constructs its own client's stores and restores the previous value right
  after; the user's environment is left as it was.
- Writes are chunked within MLflow's ``log_batch`` limits (1000 metrics, 100 params,
  100 tags, 1000 entities per request).

A server that is down or slow never stalls training (``http``/``https`` URIs):

- MLflow's HTTP client retries for minutes by default. Unless the user set them, autolog
  sets ``MLFLOW_HTTP_REQUEST_MAX_RETRIES=1`` and ``MLFLOW_HTTP_REQUEST_TIMEOUT=15``
  (process-wide, with ``os.environ.setdefault``) when it first talks to a server: autolog
  does its own retrying, below.
- `log_batch` (called by the background writer of `core.tracking.logger.RunLogger`) never raises
  because the server is unreachable: the batch joins an in-memory backlog, one
  `AutologWarning` says so, and a daemon thread retries with backoff (0.5 s doubling to
  15 s); batches keep their order. A run's end status waits in the same backlog.
- The backlog is bounded (``max_backlog`` values, default 1,000,000): beyond it the oldest
  values go to the local spool at once. The caller-side buffer of `RunLogger` is made
  large for this backend (``logger_options``: 1,000,000 items): the writer drains it fast
  even when the server is down, so the caller blocks only when the writer is stuck behind
  a slow (not refused) request for long enough to fill it.
- A run started while the server is down is created in the spool instead (an "offline"
  run under autolog's run id) and everything of it goes there.
- At exit (`at_exit`, called by `core.tracking.logger` after the final flush) one last attempt is
  made; what still cannot be sent is written to the spool (`autolog.backends.spool`):
  an embedded store under ``$AUTOLOG_SPOOL_DIR/<host_port>/`` or
  ``~/.autolog/spool/<host_port>/``, with the run's info, params, tags, metric values and
  final status. ``autolog sync --from <spool> --to mlflow+http://host:port`` sends them.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence

from autolog.backends.base import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    TrackingBackend,
    linked_metrics,
)
from autolog.backends.spool import Spool, spool_dir_for
from autolog.core.entities import (
    DATASET_CONTEXT_TAG,
    DatasetInput,
    Experiment,
    FileInfo,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelMetric,
    ModelVersion,
    Param,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
)
from autolog.core.errors import (
    AutologException,
    AutologWarning,
    InvalidInputError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
)

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
_RETRY_FIRST_S = 0.5
_RETRY_MAX_S = 15.0
_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"}
_env_lock = threading.Lock()

_log = logging.getLogger("autolog")


class TrackingServerUnavailable(AutologException, ConnectionError):
    """The MLflow tracking server could not be reached for a call that needs an answer."""


class _Unsent(Exception):
    """Internal: part of an item was not sent because the server is unreachable."""

    def __init__(self, rest: tuple, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.rest = rest
        self.cause = cause


def _is_unavailable(exc: BaseException) -> bool:
    """Connection refused, timeouts, 5xx and 429: worth retrying later."""
    from mlflow.exceptions import MlflowException, RestException

    if isinstance(exc, RestException):
        try:
            status = exc.get_http_status_code()
        except Exception:  # noqa: BLE001
            return False
        return status >= 500 or status == 429
    if isinstance(exc, MlflowException):
        return "API request to" in str(exc)
    try:
        import requests

        if isinstance(exc, requests.exceptions.RequestException):
            return True
    except ImportError:  # pragma: no cover - mlflow depends on requests
        pass
    return isinstance(exc, (ConnectionError, TimeoutError))


def _translate(exc: BaseException) -> BaseException:
    """MLflow's errors as autolog's (the message is kept)."""
    code = getattr(exc, "error_code", None)
    message = getattr(exc, "message", None) or str(exc)
    if code == "RESOURCE_DOES_NOT_EXIST":
        return ResourceNotFoundError(message)
    if code == "RESOURCE_ALREADY_EXISTS":
        return ResourceAlreadyExistsError(message)
    if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE"):
        if "not found" in message.lower():  # e.g. "Registered model alias x not found."
            return ResourceNotFoundError(message)
        return InvalidInputError(message)
    return exc


def _chunks(metrics: list, params: list, tags: list):
    """Split one batch into requests within MLflow's limits (params and tags first)."""
    m, p, t = metrics, params, tags
    while m or p or t:
        cp, p = p[:MAX_PARAMS_PER_BATCH], p[MAX_PARAMS_PER_BATCH:]
        ct, t = t[:MAX_TAGS_PER_BATCH], t[MAX_TAGS_PER_BATCH:]
        room = min(MAX_METRICS_PER_BATCH, MAX_ENTITIES_PER_BATCH - len(cp) - len(ct))
        cm, m = m[:room], m[room:]
        yield cm, cp, ct, (m, p, t)


# -- entity conversion ------------------------------------------------------------------


def _run_info(info) -> RunInfo:
    return RunInfo(
        run_id=info.run_id,
        experiment_id=str(info.experiment_id),
        run_name=info.run_name or "",
        status=info.status if isinstance(info.status, str) else _status_name(info.status),
        start_time=info.start_time,
        end_time=info.end_time,
        artifact_uri=info.artifact_uri,
        lifecycle_stage=info.lifecycle_stage,
    )


def _status_name(status) -> str:
    from mlflow.entities import RunStatus as MlflowRunStatus

    return MlflowRunStatus.to_string(status)


def _run(run) -> Run:
    data = run.data
    return Run(
        _run_info(run.info),
        RunData(params=dict(data.params), metrics=dict(data.metrics), tags=dict(data.tags)),
        RunInputs(_inputs(run)),
    )


def _inputs(run) -> list[DatasetInput]:
    inputs = getattr(run, "inputs", None)
    found = []
    for item in getattr(inputs, "dataset_inputs", None) or []:
        dataset = item.dataset
        tags = {t.key: t.value for t in item.tags or []}
        context = tags.pop(DATASET_CONTEXT_TAG, None)
        found.append(DatasetInput(dataset.name, dataset.digest, dataset.source_type,
                                  dataset.source, dataset.schema or None,
                                  dataset.profile or None, context, tags))
    return found


def _mlflow_inputs(datasets: Sequence[DatasetInput]) -> list:
    from mlflow.entities import Dataset, InputTag
    from mlflow.entities import DatasetInput as MlflowDatasetInput

    converted = []
    for d in datasets:
        tags = [InputTag(k, v) for k, v in d.tags.items() if k != DATASET_CONTEXT_TAG]
        if d.context:
            tags.append(InputTag(DATASET_CONTEXT_TAG, d.context))
        converted.append(MlflowDatasetInput(
            Dataset(d.name, d.digest, d.source_type, d.source, d.schema, d.profile), tags))
    return converted


#: Logged-model tags autolog adds in MLflow: the model's directory in the source run's
#: artifacts (where `runs:/` finds it) and its flavor.
TAG_MODEL_ARTIFACT_PATH = "autolog.artifact_path"
TAG_MODEL_FLAVOR = "autolog.flavor"


def _logged_model(model) -> LoggedModel:
    tags = dict(model.tags or {})
    status = model.status
    return LoggedModel(
        model_id=model.model_id,
        experiment_id=str(model.experiment_id),
        name=model.name,
        source_run_id=model.source_run_id or None,
        artifact_path=tags.get(TAG_MODEL_ARTIFACT_PATH),
        artifact_location=model.artifact_location or "",
        status=getattr(status, "value", None) or str(status),
        creation_timestamp=model.creation_timestamp or 0,
        last_updated_timestamp=model.last_updated_timestamp or 0,
        model_type=model.model_type or None,
        flavor=tags.get(TAG_MODEL_FLAVOR),
        tags=tags,
        params=dict(model.params or {}),
        metrics=sorted(
            (ModelMetric(m.key, float(m.value), int(m.timestamp), int(m.step or 0),
                         m.dataset_name or None, m.dataset_digest or None, m.run_id or None)
             for m in model.metrics or []),
            key=lambda m: (m.key, m.step, m.timestamp)),
    )


def _experiment(experiment) -> Experiment:
    return Experiment(
        experiment_id=str(experiment.experiment_id),
        name=experiment.name,
        artifact_location=experiment.artifact_location,
        lifecycle_stage=experiment.lifecycle_stage,
        tags=dict(experiment.tags or {}),
        creation_time=experiment.creation_time,
    )


def _metric(metric) -> Metric:
    return Metric(metric.key, float(metric.value), int(metric.timestamp), int(metric.step or 0))


def _model_version(version) -> ModelVersion:
    return ModelVersion(
        name=version.name,
        version=str(version.version),
        source=version.source or "",
        run_id=version.run_id or None,
        current_stage=version.current_stage or "None",
        creation_timestamp=version.creation_timestamp or 0,
        last_updated_timestamp=version.last_updated_timestamp or 0,
        description=version.description or "",
        status=version.status or "READY",
        aliases=sorted(version.aliases or []),
        tags=dict(version.tags or {}),
    )


def _registered_model(model) -> RegisteredModel:
    aliases = model.aliases or {}
    if not isinstance(aliases, dict):  # a list of RegisteredModelAlias in some versions
        aliases = {a.alias: a.version for a in aliases}
    return RegisteredModel(
        name=model.name,
        creation_timestamp=model.creation_timestamp or 0,
        last_updated_timestamp=model.last_updated_timestamp or 0,
        description=model.description or "",
        tags=dict(model.tags or {}),
        aliases={k: str(v) for k, v in aliases.items()},
        latest_versions=sorted(
            (_model_version(v) for v in (model.latest_versions or [])),
            key=lambda v: int(v.version),
        ),
    )


def _order_by(order_by: Sequence[str] | str | None) -> list[str] | None:
    """autolog's order_by items, rewritten in MLflow's syntax (the same language)."""
    from autolog.core import search

    keys = search.parse_order_by(order_by)
    if not keys:
        return None
    items = []
    for entity, key, descending in keys:
        quoted = key if key.replace("_", "").isalnum() else f"`{key}`"
        items.append(f"{entity}.{quoted} {'DESC' if descending else 'ASC'}")
    return items


def _paged(call, max_results: int | None = None, page_size: int = 1000) -> list:
    """Every item of an MLflow search that returns a PagedList with ``token``."""
    results: list = []
    token = None
    while True:
        size = page_size if max_results is None else min(page_size, max_results - len(results))
        if size <= 0:
            return results
        page = call(size, token)
        results.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return results


# -- the backend ------------------------------------------------------------------------

class MlflowBackend(TrackingBackend):
    """`TrackingBackend` forwarding to MLflow's ``MlflowClient`` (see the module doc)."""

    #: Read by `core.tracking.logger.RunLogger`: a large caller-side buffer for a remote store.
    logger_options = {"max_buffer": 1_000_000}
    #: Longest wait between two attempts to reach a server that is down.
    retry_max_s = _RETRY_MAX_S
    #: Read by `autolog.models`: a logged model's files are also uploaded to the model's own
    #: location (`log_model_artifacts`), after the training call (MLflow 3 keeps them there).
    logged_model_files = True

    def __init__(self, uri: str, *, spool_dir: str | None = None,
                 max_backlog: int = 1_000_000) -> None:
        if not uri.startswith("mlflow+"):
            raise InvalidInputError(f"Invalid MLflow tracking URI {uri!r}: expected "
                                    "mlflow+http://host:port, mlflow+https://..., "
                                    "mlflow+sqlite:///path.db or mlflow+file:./mlruns.")
        self.uri = uri
        self.mlflow_uri = uri[len("mlflow+"):]
        scheme = self.mlflow_uri.split(":", 1)[0].lower()
        if scheme not in ("http", "https", "sqlite", "file", "postgresql", "mysql",
                          "databricks", "mssql") and "+" not in scheme:
            raise InvalidInputError(
                f"Invalid MLflow tracking URI {uri!r}: unknown scheme {scheme!r} after "
                "'mlflow+' (expected http, https, sqlite or file)."
            )
        self.scheme = scheme
        self.remote = scheme in ("http", "https")
        #: Queue and spool when the server is unreachable (remote URIs). `autolog.sync`
        #: turns it off: a sync must fail loudly, and can simply be run again.
        self.resilient = self.remote
        self.spool_dir = spool_dir or spool_dir_for(self.mlflow_uri)
        self.max_backlog = max_backlog
        self._client_obj = None
        self._client_lock = threading.Lock()
        self._send_lock = threading.RLock()
        self._backlog: list[tuple] = []
        self._backlog_values = 0
        self._retry_at = 0.0
        self._retry_delay = _RETRY_FIRST_S
        self._retry_thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._closed = False
        self._warned = False
        self._spool: Spool | None = None
        self._offline: set[str] = set()
        self._infos: dict[str, RunInfo] = {}
        self._run_names: dict[str, str] = {}
        self._experiment_names: dict[str, str] = {DEFAULT_EXPERIMENT_ID: DEFAULT_EXPERIMENT_NAME}
        self._run_models: dict[str, list[str]] = {}  # run id -> logged models made here
        self._link_lock = threading.Lock()
        self._offline_models: set[str] = set()  # logged models kept in the spool
        self.sent_after_outage = 0

    def __repr__(self) -> str:
        return f"MlflowBackend({self.uri!r})"

    # -- the client -------------------------------------------------------------------
    @property
    def client(self):
        client = self._client_obj
        if client is None:
            with self._client_lock:
                if self._client_obj is None:
                    self._client_obj = self._make_client()
                client = self._client_obj
        return client

    def _make_client(self):
        if self.remote:
            for name, value in _HTTP_DEFAULTS.items():
                os.environ.setdefault(name, value)
        from mlflow.tracking import MlflowClient

        if self.scheme != "file":
            return MlflowClient(tracking_uri=self.mlflow_uri, registry_uri=self.mlflow_uri)
        # MLflow 3 refuses its file store unless MLFLOW_ALLOW_FILE_STORE is true; set it
        # only while our own stores are constructed (the stores are cached by MLflow).
        with _env_lock:
            previous = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
            try:
                client = MlflowClient(tracking_uri=self.mlflow_uri, registry_uri=self.mlflow_uri)
                client._tracking_client.store  # noqa: B018 - construct now
                client._get_registry_client().store  # noqa: B018
            finally:
                if previous is None:
                    os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
                else:
                    os.environ["MLFLOW_ALLOW_FILE_STORE"] = previous
        return client

    def _call(self, method: str, *args, **kwargs):
        """``client.<method>(...)`` with MLflow's errors turned into autolog's."""
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except Exception as exc:
            if _is_unavailable(exc):
                raise TrackingServerUnavailable(
                    f"The MLflow tracking server {self.mlflow_uri!r} is unreachable "
                    f"({method}): {exc}"
                ) from exc
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    # -- experiments ------------------------------------------------------------------
    def _remember(self, experiment: Experiment) -> Experiment:
        self._experiment_names[experiment.experiment_id] = experiment.name
        return experiment

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(
                f"Invalid experiment name {name!r}: expected a non-empty string."
            )
        experiment_id = str(self._call("create_experiment", name, artifact_location,
                                       dict(tags or {}) or None))
        self._experiment_names[experiment_id] = name
        return experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._remember(_experiment(self._call("get_experiment", str(experiment_id))))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self._call("get_experiment_by_name", name)
        return None if found is None else self._remember(_experiment(found))

    def search_experiments(self) -> list[Experiment]:
        found = _paged(lambda size, token: self._call("search_experiments", max_results=size,
                                                      page_token=token))
        experiments = [self._remember(_experiment(e)) for e in found
                       if e.lifecycle_stage == "active"]
        return sorted(experiments, key=lambda e: (e.experiment_id != DEFAULT_EXPERIMENT_ID,
                                                  e.creation_time or 0, e.experiment_id))

    # -- runs ---------------------------------------------------------------------------
    def _is_offline(self, run_id: str) -> bool:
        return run_id in self._offline

    def create_run(
        self,
        experiment_id: str,
        run_name: str | None,
        start_time: int,
        tags: dict[str, str] | None = None,
        run_id: str | None = None,
    ) -> RunInfo:
        """MLflow chooses the run id; ``run_id`` is used only for a run created offline."""
        try:
            run = self._call("create_run", str(experiment_id), start_time=int(start_time),
                             tags=dict(tags or {}), run_name=run_name)
        except TrackingServerUnavailable as exc:
            if not self.resilient:
                raise
            return self._create_offline_run(str(experiment_id), run_name, start_time, tags,
                                            run_id, exc)
        info = _run_info(run.info)
        self._infos[info.run_id] = info
        self._run_names[info.run_id] = info.run_name
        return info

    def _create_offline_run(self, experiment_id, run_name, start_time, tags, run_id, exc):
        import uuid

        self._warn_down(exc)
        run_id = run_id or uuid.uuid4().hex
        name = self._experiment_names.get(experiment_id, f"mlflow-experiment-{experiment_id}")
        spool = self._get_spool()
        info = RunInfo(run_id, experiment_id, run_name or f"run-{run_id[:8]}", RunStatus.RUNNING,
                       int(start_time), None, "")
        spool.ensure_run(info, name, dict(tags or {}), partial=False)
        self._offline.add(run_id)
        _log.warning("autolog: run %s was created in the local spool %s because %s is "
                     "unreachable; send it later with: autolog sync --from %s --to %s",
                     run_id, spool.directory, self.mlflow_uri, spool.directory, self.uri)
        return spool.store.get_run(run_id).info

    def update_run_info(self, run_id: str, status: str, end_time: int | None) -> RunInfo:
        if status not in RunStatus.ALL:
            raise InvalidInputError(
                f"Invalid run status {status!r}; accepted: {', '.join(RunStatus.ALL)}."
            )
        if self._is_offline(run_id):
            return self._get_spool().store.update_run_info(run_id, status, end_time)
        item = ("status", run_id, status, end_time)
        if not self.resilient:
            return self._send(item)
        with self._send_lock:
            if self._backlog:
                self._drain(force=False)
            if not self._backlog:
                try:
                    return self._send(item)
                except _Unsent as unsent:
                    self._went_down(unsent.cause)
            self._enqueue(item)
        info = self._infos.get(run_id)
        if info is None:
            info = RunInfo(run_id, DEFAULT_EXPERIMENT_ID, self._run_names.get(run_id, ""),
                           status, 0, end_time, "")
        info = RunInfo(info.run_id, info.experiment_id, info.run_name, status, info.start_time,
                       end_time, info.artifact_uri, info.lifecycle_stage)
        self._infos[run_id] = info
        return info

    def _update_status(self, run_id: str, status: str, end_time: int | None) -> RunInfo:
        from mlflow.entities import RunStatus as MlflowRunStatus

        client = self.client
        store = getattr(getattr(client, "_tracking_client", None), "store", None)
        try:
            if store is not None:  # the store's call does not print a "View run" line
                info = _run_info(store.update_run_info(
                    run_id, MlflowRunStatus.from_string(status), end_time, None))
            else:
                if status in RunStatus.TERMINAL:
                    client.set_terminated(run_id, status, end_time)
                else:
                    client.update_run(run_id, status=status)
                info = _run_info(client.get_run(run_id).info)
            self._infos[run_id] = info
            if status in RunStatus.TERMINAL and self._run_models.get(run_id):
                self._link(run_id, self._run_models[run_id])  # the run's final values
        except Exception as exc:
            if _is_unavailable(exc):
                raise
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc
        return info

    def get_run(self, run_id: str) -> Run:
        if self._is_offline(run_id):
            return self._get_spool().store.get_run(run_id)
        run = _run(self._call("get_run", run_id))
        self._infos[run_id] = run.info
        self._run_names[run_id] = run.info.run_name
        return run

    def delete_run(self, run_id: str) -> None:
        if self._is_offline(run_id):
            self._get_spool().store.delete_run(run_id)
            return
        self._call("delete_run", run_id)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        if self._is_offline(run_id):
            return self._get_spool().store.get_metric_history(run_id, key)
        history = [_metric(m) for m in self._call("get_metric_history", run_id, key)]
        return sorted(history, key=lambda m: (m.step, m.timestamp))

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
    ) -> list[Run]:
        ids = [str(e) for e in experiment_ids]
        if not ids:
            return []
        mlflow_order = _order_by(order_by)
        found = _paged(
            lambda size, token: self._call("search_runs", ids, filter_string or "",
                                           max_results=size, order_by=mlflow_order,
                                           page_token=token),
            max_results,
        )
        return [_run(r) for r in found]

    # -- dataset inputs and logged models (MLflow 3) --------------------------------------
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """MLflow's ``log_inputs``: the run's Datasets tab. Queued like `log_batch` while
        the server is unreachable."""
        datasets = list(datasets)
        if not datasets:
            return
        if self._is_offline(run_id):
            self._get_spool().store.log_inputs(run_id, datasets)
            return
        self._send_or_queue(("inputs", run_id, datasets))

    def get_inputs(self, run_id: str) -> list[DatasetInput]:
        if self._is_offline(run_id):
            return self._get_spool().store.get_inputs(run_id)
        return _inputs(self._call("get_run", run_id))

    def create_logged_model(
        self,
        run_id: str,
        name: str,
        artifact_path: str | None = None,
        *,
        flavor: str | None = None,
        model_type: str | None = None,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        experiment_id: str | None = None,
    ) -> LoggedModel | None:
        """An MLflow 3 ``LoggedModel`` with ``source_run_id``, linked to the run as one of
        its outputs (the run page's Logged models). None when the server is unreachable:
        the model is then only the run's artifact."""
        from mlflow.entities import LoggedModelOutput

        all_tags = {str(k): str(v) for k, v in (tags or {}).items()}
        if artifact_path:
            all_tags[TAG_MODEL_ARTIFACT_PATH] = artifact_path
        if flavor:
            all_tags[TAG_MODEL_FLAVOR] = flavor
        # MLflow's model names take no '/', ':', '.', '%' or quotes. A model named as its
        # run's artifact directory would make MLflow's runs:/ URIs read both copies (and
        # its client then looks the model up on the default tracking URI, which fails):
        # "<name>-<flavor>" instead.
        clean = "".join("-" if c in "/:.%\"'" else c for c in name).strip("-") or "model"
        if artifact_path and clean == artifact_path.split("/", 1)[0]:
            clean = f"{clean}-{flavor or 'autolog'}"
        if self._is_offline(run_id):
            model = self._get_spool().store.create_logged_model(
                run_id, clean, artifact_path, flavor=flavor, model_type=model_type,
                params=params, tags=all_tags, experiment_id=experiment_id)
            self._offline_models.add(model.model_id)
            return model
        try:
            if experiment_id is None:
                info = self._infos.get(run_id) or self.get_run(run_id).info
                experiment_id = info.experiment_id
            created = self._call("create_logged_model", str(experiment_id), name=clean,
                                 source_run_id=run_id, tags=all_tags,
                                 params={str(k): str(v) for k, v in (params or {}).items()},
                                 model_type=model_type)
            self._call("log_outputs", run_id, [LoggedModelOutput(created.model_id, step=0)])
        except TrackingServerUnavailable as exc:
            if not self.resilient:
                raise
            self._warn_down(exc)
            return None
        self._run_models.setdefault(run_id, []).append(created.model_id)
        return _logged_model(created)

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        if status not in LoggedModelStatus.ALL:
            raise InvalidInputError(
                f"Invalid logged model status {status!r}; accepted: "
                f"{', '.join(LoggedModelStatus.ALL)}.")
        if model_id in self._offline_models:
            return self._get_spool().store.finalize_logged_model(model_id, status)
        finalized = self._call("finalize_logged_model", model_id, status)
        run_id = finalized.source_run_id
        info = self._infos.get(run_id or "")
        if status == LoggedModelStatus.READY and run_id and (
                info is None or info.status in RunStatus.TERMINAL):
            # Logged into a run that has ended: link its values now. Otherwise the run's
            # end links them (on the writer, off the training call's path).
            self._link(run_id, [model_id])
            finalized = self.client.get_logged_model(model_id)
        return _logged_model(finalized)

    def _link(self, run_id: str, model_ids: list[str]) -> None:
        """The run's params and latest metrics, linked to its models (MLflow 3 metrics
        carry ``model_id``, ``dataset_name`` and ``dataset_digest``). One link at a time:
        the run's end (on the writer) and a model's upload (deferred) may meet, and MLflow
        refuses a model param logged twice."""
        with self._link_lock:
            self._link_locked(run_id, model_ids)

    def _link_locked(self, run_id: str, model_ids: list[str]) -> None:
        run = self.client.get_run(run_id)
        latest = [Metric(m.key, float(m.value), int(m.timestamp), int(m.step or 0))
                  for m in getattr(run.data, "_metric_objs", None) or []]
        metrics = linked_metrics(run_id, latest, _inputs(run))
        params = dict(run.data.params)
        for model_id in model_ids:
            model = self.client.get_logged_model(model_id)
            new = {k: v for k, v in params.items() if k not in (model.params or {})}
            keys = sorted(new)
            for i in range(0, len(keys), MAX_PARAMS_PER_BATCH):
                self.client.log_model_params(model_id, {k: new[k] for k in
                                                        keys[i:i + MAX_PARAMS_PER_BATCH]})
            have = {(m.key, m.step, m.timestamp, m.dataset_name or None,
                     m.dataset_digest or None) for m in model.metrics or []}
            self._send_model_metrics(model_id, run_id, [
                m for m in metrics
                if (m.key, m.step, m.timestamp, m.dataset_name, m.dataset_digest) not in have])

    def _send_model_metrics(self, model_id: str, run_id: str,
                            metrics: Sequence[ModelMetric]) -> None:
        from mlflow.entities import Metric as MlflowMetric

        converted = [MlflowMetric(m.key, m.value, m.timestamp, m.step, model_id=model_id,
                                  dataset_name=m.dataset_name,
                                  dataset_digest=m.dataset_digest if m.dataset_name else None)
                     for m in metrics]
        for i in range(0, len(converted), MAX_METRICS_PER_BATCH):
            self.client.log_batch(run_id, metrics=converted[i:i + MAX_METRICS_PER_BATCH],
                                  synchronous=True)

    def log_model_metrics(self, model_id: str, metrics: Sequence[ModelMetric]) -> None:
        if model_id in self._offline_models:
            self._get_spool().store.log_model_metrics(model_id, metrics)
            return
        model = self.get_logged_model(model_id)
        by_run: dict[str, list[ModelMetric]] = {}
        for metric in metrics:
            run_id = metric.run_id or model.source_run_id
            if run_id is None:
                raise InvalidInputError(f"Logged model {model_id} has no run to log its "
                                        f"metric {metric.key!r} through.")
            by_run.setdefault(run_id, []).append(metric)
        try:
            for run_id, items in by_run.items():
                self._send_model_metrics(model_id, run_id, items)
        except Exception as exc:
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    def get_logged_model(self, model_id: str) -> LoggedModel:
        if model_id in self._offline_models:
            return self._get_spool().store.get_logged_model(model_id)
        return _logged_model(self._call("get_logged_model", model_id))

    def search_logged_models(
        self, experiment_ids: Sequence[str] | None = None, source_run_id: str | None = None
    ) -> list[LoggedModel]:
        if experiment_ids is None:
            experiment_ids = [e.experiment_id for e in self.search_experiments()]
        ids = [str(e) for e in experiment_ids]
        if not ids:
            return []
        where = f"source_run_id = '{source_run_id}'" if source_run_id else None
        found = _paged(lambda size, token: self._call(
            "search_logged_models", ids, filter_string=where, max_results=size,
            page_token=token), page_size=100)
        models = [_logged_model(m) for m in found]
        return sorted(models, key=lambda m: (m.creation_timestamp, m.model_id))

    def log_model_artifacts(self, model_id: str, local_dir: str) -> None:
        """The model's files in its own location too (MLflow 3 keeps them there: its
        ``models:/<model_id>`` URIs and the Models tab read them)."""
        if model_id in self._offline_models:
            return
        self._call("log_model_artifacts", model_id, local_dir)

    def download_logged_model_artifacts(self, model_id: str, dst_dir: str) -> str:
        """A logged model's own files (MLflow 3's location), into ``dst_dir``."""
        import mlflow.artifacts

        model = self._call("get_logged_model", model_id)
        os.makedirs(dst_dir, exist_ok=True)
        try:
            return mlflow.artifacts.download_artifacts(
                artifact_uri=model.artifact_location, dst_path=dst_dir,
                tracking_uri=self.mlflow_uri)
        except Exception as exc:
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    # -- log_batch and the backlog --------------------------------------------------------
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Send within MLflow's limits; when the server is unreachable, queue (see above)."""
        metrics, params, tags = list(metrics), list(params), list(tags)
        if not (metrics or params or tags):
            return
        if self._is_offline(run_id):
            self._get_spool().log_batch(run_id, metrics, params, tags)
            return
        self._send_or_queue(("batch", run_id, metrics, params, tags))

    def _send_or_queue(self, item: tuple) -> None:
        """Send ``item`` behind the backlog; when the server is unreachable, queue it."""
        if not self.resilient:
            self._send(item)
            return
        with self._send_lock:
            if self._backlog:
                self._drain(force=False)
                if self._backlog:
                    self._enqueue(item)
                    return
            try:
                self._send(item)
            except _Unsent as unsent:
                self._went_down(unsent.cause)
                self._enqueue(unsent.rest)

    def _send(self, item: tuple):
        """Send one backlog item; raise `_Unsent` with what is left if unreachable."""
        if item[0] == "status":
            _, run_id, status, end_time = item
            try:
                return self._update_status(run_id, status, end_time)
            except Exception as exc:
                if _is_unavailable(exc):
                    self._unavailable(item, exc, "update_run")
                raise
        if item[0] == "inputs":
            _, run_id, datasets = item
            try:
                self.client.log_inputs(run_id, datasets=_mlflow_inputs(datasets))
            except Exception as exc:
                if _is_unavailable(exc):
                    self._unavailable(item, exc, "log_inputs")
                translated = _translate(exc)
                if translated is exc:
                    raise
                raise translated from exc
            return None
        from mlflow.entities import Metric as MlflowMetric
        from mlflow.entities import Param as MlflowParam
        from mlflow.entities import RunTag as MlflowRunTag

        _, run_id, metrics, params, tags = item
        for cm, cp, ct, rest in _chunks(metrics, params, tags):
            try:
                self.client.log_batch(
                    run_id,
                    metrics=[MlflowMetric(m.key, m.value, m.timestamp, m.step) for m in cm],
                    params=[MlflowParam(p.key, p.value) for p in cp],
                    tags=[MlflowRunTag(t.key, t.value) for t in ct],
                    synchronous=True,
                )
            except Exception as exc:
                if _is_unavailable(exc):
                    self._unavailable(("batch", run_id, cm + rest[0], cp + rest[1],
                                       ct + rest[2]), exc, "log_batch")
                translated = _translate(exc)
                if translated is exc:
                    raise
                raise translated from exc
        return None

    def _unavailable(self, rest: tuple, exc: BaseException, method: str):
        if self.resilient:
            raise _Unsent(rest, exc) from exc
        raise TrackingServerUnavailable(
            f"The MLflow tracking server {self.mlflow_uri!r} is unreachable ({method}): {exc}"
        ) from exc

    @staticmethod
    def _size(item: tuple) -> int:
        if item[0] in ("status", "inputs"):
            return 1 if item[0] == "status" else len(item[2])
        return len(item[2]) + len(item[3]) + len(item[4])

    def _enqueue(self, item: tuple) -> None:
        self._backlog.append(item)
        self._backlog_values += self._size(item)
        if self._backlog_values > self.max_backlog:
            # Keep memory bounded: the oldest half goes to the spool now.
            while self._backlog and self._backlog_values > self.max_backlog // 2:
                oldest = self._backlog.pop(0)
                self._backlog_values -= self._size(oldest)
                self._spool_item(oldest)
        self._start_retry_thread()

    def _went_down(self, exc: BaseException) -> None:
        self._warn_down(exc)
        self._retry_at = time.monotonic() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self.retry_max_s)

    def _warn_down(self, exc: BaseException) -> None:
        if self._warned:
            return
        self._warned = True
        message = (
            f"autolog: the MLflow tracking server {self.mlflow_uri} is unreachable ({exc}); "
            "logging goes on: values are kept and retried in the background, and whatever "
            f"cannot be sent by exit is written to the local spool {self.spool_dir}."
        )
        _log.warning(message)
        import warnings

        warnings.warn(message, AutologWarning, stacklevel=2)

    def _drain(self, force: bool) -> None:
        """Send the backlog in order (caller holds ``_send_lock``)."""
        if not self._backlog or (not force and time.monotonic() < self._retry_at):
            return
        sent = 0
        while self._backlog:
            item = self._backlog[0]
            try:
                self._send(item)
            except _Unsent as unsent:
                self._backlog_values -= self._size(item) - self._size(unsent.rest)
                self._backlog[0] = unsent.rest
                self._went_down(unsent.cause)
                self.sent_after_outage += sent
                return
            except Exception as exc:  # noqa: BLE001 - bad data: keep it for `autolog sync`
                _log.warning("autolog: a queued write to %s failed (%s: %s); it goes to the "
                             "spool %s", self.mlflow_uri, type(exc).__name__, exc,
                             self.spool_dir)
                try:
                    self._spool_item(item)
                except Exception as spool_exc:  # noqa: BLE001
                    _log.warning("autolog: could not spool it either: %s", spool_exc)
            self._backlog.pop(0)
            self._backlog_values -= self._size(item)
            sent += self._size(item)
        self.sent_after_outage += sent
        self._retry_delay = _RETRY_FIRST_S
        self._retry_at = 0.0
        _log.info("autolog: %s is reachable again; sent %d queued values", self.mlflow_uri, sent)

    def _start_retry_thread(self) -> None:
        thread = self._retry_thread
        if self._closed or (thread is not None and thread.is_alive()):
            return
        thread = threading.Thread(target=self._retry_loop, name="autolog-mlflow-retry",
                                  daemon=True)
        self._retry_thread = thread
        thread.start()

    def _retry_loop(self) -> None:
        while not self._closed:
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                self._wake.wait(min(wait, 1.0))
                self._wake.clear()
                continue
            with self._send_lock:
                if not self._backlog or self._closed:
                    return
                self._drain(force=True)

    def pending_values(self) -> int:
        """Values queued for the server (not yet sent, not spooled)."""
        return self._backlog_values

    # -- the spool ------------------------------------------------------------------------
    def _get_spool(self) -> Spool:
        if self._spool is None:
            self._spool = Spool(self.spool_dir)
        return self._spool

    def _spool_item(self, item: tuple) -> None:
        spool = self._get_spool()
        run_id = item[1]
        info = self._infos.get(run_id) or RunInfo(
            run_id, DEFAULT_EXPERIMENT_ID, self._run_names.get(run_id, f"run-{run_id[:8]}"),
            RunStatus.RUNNING, 0, None, "")
        name = self._experiment_names.get(info.experiment_id,
                                          f"mlflow-experiment-{info.experiment_id}")
        tags = {"mlflow.runName": info.run_name} if info.run_name else {}
        spool.ensure_run(info, name, tags, partial=True)
        if item[0] == "status":
            spool.set_status(run_id, item[2], item[3])
        elif item[0] == "inputs":
            spool.store.log_inputs(run_id, item[2])
        else:
            spool.log_batch(run_id, item[2], item[3], item[4])

    def at_exit(self) -> None:
        """Last attempt to send the backlog; the rest goes to the spool (with a warning)."""
        with self._send_lock:
            if self._backlog:
                self._drain(force=True)
            left = list(self._backlog)
            self._backlog.clear()
            self._backlog_values = 0
            self._closed = True
            self._wake.set()
            for item in left:
                try:
                    self._spool_item(item)
                except Exception as exc:  # noqa: BLE001 - at exit, report and go on
                    _log.warning("autolog: could not write to the spool %s: %s",
                                 self.spool_dir, exc)
        spool = self._spool
        if spool is not None:
            _log.warning(
                "autolog: %s was unreachable; unsent runs and values are in the spool %s. "
                "Send them with: autolog sync --from %s --to %s",
                self.mlflow_uri, spool.directory, spool.directory, self.uri,
            )
        self._closed = False  # usable again (tests, long-lived processes)

    def close(self) -> None:
        if self._backlog:
            with self._send_lock:
                self._drain(force=True)

    # -- artifacts ----------------------------------------------------------------------
    def log_artifact(self, run_id: str, local_path: str, artifact_path: str = "") -> None:
        if not os.path.exists(local_path):
            raise InvalidInputError(
                f"Cannot log artifact {local_path!r}: no such file or directory."
            )
        if self._is_offline(run_id):
            self._get_spool().store.log_artifact(run_id, local_path, artifact_path)
            return
        method = "log_artifacts" if os.path.isdir(local_path) else "log_artifact"
        try:
            self._call(method, run_id, local_path, artifact_path or None)
        except TrackingServerUnavailable as exc:
            if not self.resilient:
                raise
            self._warn_down(exc)
            with self._send_lock:
                self._spool_item(("batch", run_id, [], [], []))
                self._get_spool().store.log_artifact(run_id, local_path, artifact_path)

    def list_artifacts(self, run_id: str, path: str = "") -> list[FileInfo]:
        if self._is_offline(run_id):
            return self._get_spool().store.list_artifacts(run_id, path)
        return [FileInfo(f.path, bool(f.is_dir), f.file_size)
                for f in self._call("list_artifacts", run_id, path or None)]

    def download_artifacts(self, run_id: str, path: str, dst_dir: str) -> str:
        if self._is_offline(run_id):
            return self._get_spool().store.download_artifacts(run_id, path, dst_dir)
        os.makedirs(dst_dir, exist_ok=True)
        if not path:
            self._call("download_artifacts", run_id, "", dst_dir)
            return os.path.abspath(dst_dir)
        # MLflow keeps the artifact's parent directories; autolog puts it at dst/<name>.
        with tempfile.TemporaryDirectory(prefix="autolog-dl-", dir=dst_dir) as tmp:
            local = self._call("download_artifacts", run_id, path, tmp)
            destination = os.path.join(os.path.abspath(dst_dir), os.path.basename(
                os.path.normpath(local)))
            if os.path.isdir(destination):
                shutil.rmtree(destination)
            elif os.path.exists(destination):
                os.remove(destination)
            shutil.move(local, destination)
        return destination

    # -- model registry -----------------------------------------------------------------
    def create_registered_model(
        self, name: str, description: str = "", tags: dict[str, str] | None = None
    ) -> RegisteredModel:
        return _registered_model(self._call("create_registered_model", name,
                                            dict(tags or {}) or None, description or None))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return _registered_model(self._call("get_registered_model", name))

    def search_registered_models(self, filter_string: str = "") -> list[RegisteredModel]:
        found = _paged(lambda size, token: self._call(
            "search_registered_models", filter_string or None, max_results=size,
            page_token=token), page_size=100)
        return sorted((_registered_model(m) for m in found), key=lambda m: m.name)

    def create_model_version(
        self, name: str, source: str, run_id: str | None, description: str = ""
    ) -> ModelVersion:
        try:  # registering creates the model when needed, as autolog's stores do
            self._call("get_registered_model", name)
        except ResourceNotFoundError:
            try:
                self._call("create_registered_model", name)
            except ResourceAlreadyExistsError:
                pass
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            version = self._call("create_model_version", name, source, run_id,
                                 description=description or None)
        return _model_version(version)

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        return _model_version(self._call("get_model_version", name, str(version)))

    def search_model_versions(self, filter_string: str = "") -> list[ModelVersion]:
        found = _paged(lambda size, token: self._call(
            "search_model_versions", filter_string or None, max_results=size,
            page_token=token), page_size=1000)
        return sorted((_model_version(v) for v in found),
                      key=lambda v: (v.name, -int(v.version)))

    def update_model_version(
        self,
        name: str,
        version: str,
        *,
        stage: str | None = None,
        description: str | None = None,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        import warnings

        from autolog.backends._local import canonical_stage

        if stage is not None:
            stage = canonical_stage(stage)
            with warnings.catch_warnings():  # stages are deprecated in MLflow 3; still served
                warnings.simplefilter("ignore")
                self._call("transition_model_version_stage", name, str(version), stage,
                           archive_existing_versions=archive_existing_versions)
        if description is not None:
            self._call("update_model_version", name, str(version), description=description)
        return self.get_model_version(name, version)

    def delete_model_version(self, name: str, version: str) -> None:
        self._call("delete_model_version", name, str(version))

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self._call("set_registered_model_alias", name, alias, str(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._call("delete_registered_model_alias", name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return _model_version(self._call("get_model_version_by_alias", name, alias))
