"""An in-process store: dicts behind one lock. For tests and throwaway work.

Artifacts go to a temporary directory made per backend instance. Everything is lost when
the process ends. ``get_backend("memory:")`` hands out one shared instance per process.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from autolog.backends import _local
from autolog.backends.base import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    TrackingBackend,
    linked_metrics,
)
from autolog.core import search
from autolog.core.entities import (
    DatasetInput,
    Experiment,
    FileInfo,
    LifecycleStage,
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
    InvalidInputError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
)


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _RunRecord:
    info: RunInfo
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    latest: dict[str, Metric] = field(default_factory=dict)
    history: dict[str, list[Metric]] = field(default_factory=dict)
    inputs: dict[tuple, DatasetInput] = field(default_factory=dict)

    def to_run(self) -> Run:
        return Run(
            info=replace(self.info),
            data=RunData(
                params=dict(self.params),
                metrics={key: metric.value for key, metric in self.latest.items()},
                tags=dict(self.tags),
            ),
            inputs=RunInputs(copy.deepcopy(list(self.inputs.values()))),
        )


@dataclass
class _ModelRecord:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: dict[int, ModelVersion] = field(default_factory=dict)


def _remove_in_owner(directory: str, owner_pid: int) -> None:
    """A forked child exits with a copy of the store: the directory stays the parent's."""
    if os.getpid() == owner_pid:
        shutil.rmtree(directory, ignore_errors=True)


class MemoryBackend(TrackingBackend):
    """The whole `TrackingBackend` interface, in memory, thread-safe."""

    def __init__(self, uri: str = "memory:") -> None:
        self.uri = uri
        self._lock = threading.RLock()
        self._artifact_root = tempfile.mkdtemp(prefix="autolog-memory-")
        # The artifacts live as long as the store: removed when it is collected or at exit.
        weakref.finalize(self, _remove_in_owner, self._artifact_root, os.getpid())
        self._experiments: dict[str, Experiment] = {}
        self._runs: dict[str, _RunRecord] = {}
        self._models: dict[str, _ModelRecord] = {}
        self._logged_models: dict[str, LoggedModel] = {}
        self._next_experiment_id = 1
        self._experiments[DEFAULT_EXPERIMENT_ID] = Experiment(
            DEFAULT_EXPERIMENT_ID,
            DEFAULT_EXPERIMENT_NAME,
            f"{self._artifact_root}/{DEFAULT_EXPERIMENT_ID}",
            creation_time=_now_ms(),
        )

    def __repr__(self) -> str:
        return f"MemoryBackend({self.uri!r})"

    # -- experiments ---------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(
                f"Invalid experiment name {name!r}: expected a non-empty string."
            )
        with self._lock:
            if any(e.name == name for e in self._experiments.values()):
                raise ResourceAlreadyExistsError(f"Experiment {name!r} already exists.")
            experiment_id = str(self._next_experiment_id)
            self._next_experiment_id += 1
            self._experiments[experiment_id] = Experiment(
                experiment_id,
                name,
                artifact_location or f"{self._artifact_root}/{experiment_id}",
                tags=dict(tags or {}),
                creation_time=_now_ms(),
            )
            return experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self._lock:
            experiment = self._experiments.get(str(experiment_id))
            if experiment is None:
                raise ResourceNotFoundError(f"No experiment with id {experiment_id!r}.")
            return copy.deepcopy(experiment)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self._lock:
            for experiment in self._experiments.values():
                if experiment.name == name:
                    return copy.deepcopy(experiment)
            return None

    def search_experiments(self) -> list[Experiment]:
        with self._lock:
            found = [
                copy.deepcopy(e)
                for e in self._experiments.values()
                if e.lifecycle_stage == LifecycleStage.ACTIVE
            ]
        return sorted(found, key=lambda e: int(e.experiment_id))

    # -- runs ----------------------------------------------------------------------

    def _record(self, run_id: str) -> _RunRecord:
        record = self._runs.get(run_id)
        if record is None:
            raise ResourceNotFoundError(f"No run with id {run_id!r}.")
        return record

    def create_run(
        self,
        experiment_id: str,
        run_name: str | None,
        start_time: int,
        tags: dict[str, str] | None = None,
        run_id: str | None = None,
    ) -> RunInfo:
        run_id = _local.check_run_id(run_id) if run_id else uuid.uuid4().hex
        with self._lock:
            experiment = self._experiments.get(str(experiment_id))
            if experiment is None:
                raise ResourceNotFoundError(f"No experiment with id {experiment_id!r}.")
            if run_id in self._runs:
                raise ResourceAlreadyExistsError(f"Run {run_id!r} already exists.")
            info = RunInfo(
                run_id=run_id,
                experiment_id=experiment.experiment_id,
                run_name=run_name or f"run-{run_id[:8]}",
                status=RunStatus.RUNNING,
                start_time=int(start_time),
                end_time=None,
                artifact_uri=f"{experiment.artifact_location}/{run_id}",
            )
            self._runs[run_id] = _RunRecord(info, tags=dict(tags or {}))
            return replace(info)

    def update_run_info(self, run_id: str, status: str, end_time: int | None) -> RunInfo:
        if status not in RunStatus.ALL:
            raise InvalidInputError(
                f"Invalid run status {status!r}; accepted: {', '.join(RunStatus.ALL)}."
            )
        with self._lock:
            record = self._record(run_id)
            record.info.status = status
            record.info.end_time = end_time
            if status in RunStatus.TERMINAL:  # the run's final values, linked to its models
                for model in self._logged_models.values():
                    if model.source_run_id == run_id:
                        self._link_run(record, model)
            return replace(record.info)

    def get_run(self, run_id: str) -> Run:
        with self._lock:
            return self._record(run_id).to_run()

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            self._record(run_id).info.lifecycle_stage = LifecycleStage.DELETED

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        with self._lock:
            record = self._record(run_id)
            # Check everything before changing anything: the batch is all or nothing.
            new_params: dict[str, str] = {}
            for param in params:
                old = new_params.get(param.key, record.params.get(param.key))
                if old is not None and old != param.value:
                    raise InvalidInputError(
                        f"param {param.key!r} already logged with value {old!r} for run "
                        f"{run_id}; cannot change it to {param.value!r}"
                    )
                new_params[param.key] = param.value
            record.params.update(new_params)
            for tag in tags:
                record.tags[tag.key] = tag.value
            for metric in metrics:
                metric = Metric(
                    metric.key, float(metric.value), int(metric.timestamp), int(metric.step)
                )
                record.history.setdefault(metric.key, []).append(metric)
                latest = record.latest.get(metric.key)
                if latest is None or (metric.step, metric.timestamp) >= (
                    latest.step,
                    latest.timestamp,
                ):
                    record.latest[metric.key] = metric

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        with self._lock:
            history = list(self._record(run_id).history.get(key, ()))
        return sorted(history, key=lambda m: (m.step, m.timestamp))

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
    ) -> list[Run]:
        wanted = {str(e) for e in experiment_ids}
        with self._lock:
            runs = [
                record.to_run()
                for record in self._runs.values()
                if record.info.experiment_id in wanted
                and record.info.lifecycle_stage == LifecycleStage.ACTIVE
            ]
        return search.search_runs(runs, filter_string, order_by, max_results)


    # -- dataset inputs and logged models ---------------------------------------------

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        with self._lock:
            record = self._record(run_id)
            for dataset in datasets:
                record.inputs.setdefault(dataset.key, copy.deepcopy(dataset))

    def get_inputs(self, run_id: str) -> list[DatasetInput]:
        with self._lock:
            return copy.deepcopy(list(self._record(run_id).inputs.values()))

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
    ) -> LoggedModel:
        now = _now_ms()
        with self._lock:
            record = self._record(run_id)
            location = (f"{record.info.artifact_uri}/{artifact_path}" if artifact_path
                        else "")
            model = LoggedModel(
                model_id=f"m-{uuid.uuid4().hex}",
                experiment_id=str(experiment_id or record.info.experiment_id), name=name,
                source_run_id=run_id, artifact_path=artifact_path, artifact_location=location,
                creation_timestamp=now, last_updated_timestamp=now, model_type=model_type,
                flavor=flavor, tags={str(k): str(v) for k, v in (tags or {}).items()},
                params={str(k): str(v) for k, v in (params or {}).items()})
            self._logged_models[model.model_id] = model
            return copy.deepcopy(model)

    def _logged_model(self, model_id: str) -> LoggedModel:
        model = self._logged_models.get(model_id)
        if model is None:
            raise ResourceNotFoundError(f"No logged model with id {model_id!r}.")
        return model

    def _link_run(self, record: _RunRecord, model: LoggedModel) -> None:
        for key, value in record.params.items():
            model.params.setdefault(key, value)
        self._add_model_metrics(model, linked_metrics(
            record.info.run_id, list(record.latest.values()), list(record.inputs.values())))

    @staticmethod
    def _add_model_metrics(model: LoggedModel, metrics: Sequence[ModelMetric]) -> None:
        have = {(m.key, m.step, m.timestamp, m.dataset_name, m.dataset_digest)
                for m in model.metrics}
        for metric in metrics:
            mark = (metric.key, metric.step, metric.timestamp, metric.dataset_name,
                    metric.dataset_digest)
            if mark not in have:
                have.add(mark)
                model.metrics.append(metric)
        model.metrics.sort(key=lambda m: (m.key, m.step, m.timestamp))

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        if status not in LoggedModelStatus.ALL:
            raise InvalidInputError(
                f"Invalid logged model status {status!r}; accepted: "
                f"{', '.join(LoggedModelStatus.ALL)}.")
        with self._lock:
            model = self._logged_model(model_id)
            model.status = status
            model.last_updated_timestamp = _now_ms()
            record = self._runs.get(model.source_run_id or "")
            if record is not None and status == LoggedModelStatus.READY:
                self._link_run(record, model)
            return copy.deepcopy(model)

    def log_model_metrics(self, model_id: str, metrics: Sequence[ModelMetric]) -> None:
        with self._lock:
            self._add_model_metrics(self._logged_model(model_id), metrics)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        with self._lock:
            return copy.deepcopy(self._logged_model(model_id))

    def search_logged_models(
        self, experiment_ids: Sequence[str] | None = None, source_run_id: str | None = None
    ) -> list[LoggedModel]:
        ids = None if experiment_ids is None else {str(e) for e in experiment_ids}
        with self._lock:
            return [copy.deepcopy(m) for m in self._logged_models.values()
                    if (ids is None or m.experiment_id in ids)
                    and (source_run_id is None or m.source_run_id == source_run_id)]

    # -- artifacts -----------------------------------------------------------------

    def _artifact_dir(self, run_id: str) -> str:
        with self._lock:
            return self._record(run_id).info.artifact_uri

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str = "") -> None:
        _local.log_artifact(self._artifact_dir(run_id), local_path, artifact_path, run_id=run_id)

    def list_artifacts(self, run_id: str, path: str = "") -> list[FileInfo]:
        return _local.list_artifacts(self._artifact_dir(run_id), path, run_id=run_id)

    def download_artifacts(self, run_id: str, path: str, dst_dir: str) -> str:
        return _local.download_artifacts(self._artifact_dir(run_id), path, dst_dir, run_id=run_id)

    def artifact_local_path(self, run_id: str, path: str = "") -> str | None:
        return _local.local_path(self._artifact_dir(run_id), path, run_id=run_id)

    # -- model registry ------------------------------------------------------------

    def _model(self, name: str) -> _ModelRecord:
        model = self._models.get(name)
        if model is None:
            raise ResourceNotFoundError(f"No registered model named {name!r}.")
        return model

    def _version(self, name: str, version: str) -> ModelVersion:
        number = _local.version_number(name, version)
        found = self._model(name).versions.get(number)
        if found is None:
            raise ResourceNotFoundError(f"No version {version} of registered model {name!r}.")
        return found

    def _export_version(self, model: _ModelRecord, version: ModelVersion) -> ModelVersion:
        aliases = sorted(a for a, v in model.aliases.items() if str(v) == version.version)
        return replace(version, aliases=aliases, tags=dict(version.tags))

    def _export_model(self, model: _ModelRecord) -> RegisteredModel:
        latest: dict[str, ModelVersion] = {}
        for number in sorted(model.versions):
            latest[model.versions[number].current_stage] = model.versions[number]
        return RegisteredModel(
            name=model.name,
            creation_timestamp=model.creation_timestamp,
            last_updated_timestamp=model.last_updated_timestamp,
            description=model.description,
            tags=dict(model.tags),
            aliases={alias: str(v) for alias, v in sorted(model.aliases.items())},
            latest_versions=[
                self._export_version(model, v)
                for v in sorted(latest.values(), key=lambda v: int(v.version))
            ],
        )

    def create_registered_model(
        self, name: str, description: str = "", tags: dict[str, str] | None = None
    ) -> RegisteredModel:
        _local.check_model_name(name)
        with self._lock:
            if name in self._models:
                raise ResourceAlreadyExistsError(f"Registered model {name!r} already exists.")
            now = _now_ms()
            model = _ModelRecord(name, now, now, description or "", dict(tags or {}))
            self._models[name] = model
            return self._export_model(model)

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self._lock:
            return self._export_model(self._model(name))

    def search_registered_models(self, filter_string: str = "") -> list[RegisteredModel]:
        comparisons = search.parse_field_filter(
            filter_string, _local.REGISTERED_MODEL_FILTER_FIELDS, "registered model filter"
        )
        with self._lock:
            return [
                self._export_model(model)
                for name, model in sorted(self._models.items())
                if search.matches_fields({"name": name}, comparisons)
            ]

    def create_model_version(
        self, name: str, source: str, run_id: str | None, description: str = ""
    ) -> ModelVersion:
        _local.check_model_name(name)
        with self._lock:
            now = _now_ms()
            model = self._models.get(name)
            if model is None:  # registering creates the model, as MLflow's register_model does
                model = self._models[name] = _ModelRecord(name, now, now)
            number = max(model.versions, default=0) + 1
            version = ModelVersion(
                name=name,
                version=str(number),
                source=source,
                run_id=run_id,
                creation_timestamp=now,
                last_updated_timestamp=now,
                description=description or "",
            )
            model.versions[number] = version
            model.last_updated_timestamp = now
            return self._export_version(model, version)

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        with self._lock:
            return self._export_version(self._model(name), self._version(name, version))

    def search_model_versions(self, filter_string: str = "") -> list[ModelVersion]:
        comparisons = search.parse_field_filter(
            filter_string, _local.MODEL_VERSION_FILTER_FIELDS, "model version filter"
        )
        found = []
        with self._lock:
            for name, model in sorted(self._models.items()):
                for number in sorted(model.versions, reverse=True):
                    version = model.versions[number]
                    fields = {
                        "name": name,
                        "run_id": version.run_id,
                        "source": version.source,
                        "version": version.version,
                    }
                    if search.matches_fields(fields, comparisons):
                        found.append(self._export_version(model, version))
        return found

    def update_model_version(
        self,
        name: str,
        version: str,
        *,
        stage: str | None = None,
        description: str | None = None,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        canonical = _local.canonical_stage(stage) if stage is not None else None
        with self._lock:
            model = self._model(name)
            target = self._version(name, version)
            now = _now_ms()
            changes: dict[str, object] = {"last_updated_timestamp": now}
            if canonical is not None:
                changes["current_stage"] = canonical
                if archive_existing_versions and canonical in ("Staging", "Production"):
                    for number, other in model.versions.items():
                        if other.version != target.version and other.current_stage == canonical:
                            model.versions[number] = replace(
                                other, current_stage="Archived", last_updated_timestamp=now
                            )
            if description is not None:
                changes["description"] = description
            updated = replace(target, **changes)  # type: ignore[arg-type]
            model.versions[int(target.version)] = updated
            model.last_updated_timestamp = now
            return self._export_version(model, updated)

    def delete_model_version(self, name: str, version: str) -> None:
        with self._lock:
            model = self._model(name)
            target = self._version(name, version)
            del model.versions[int(target.version)]
            model.aliases = {a: v for a, v in model.aliases.items() if str(v) != target.version}

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        if not isinstance(alias, str) or not alias.strip():
            raise InvalidInputError(f"Invalid alias {alias!r}: expected a non-empty string.")
        with self._lock:
            target = self._version(name, version)
            self._model(name).aliases[alias] = int(target.version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        with self._lock:
            model = self._model(name)
            if alias not in model.aliases:
                raise ResourceNotFoundError(f"Registered model {name!r} has no alias {alias!r}.")
            del model.aliases[alias]

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self._lock:
            model = self._model(name)
            number = model.aliases.get(alias)
            if number is None:
                raise ResourceNotFoundError(f"Registered model {name!r} has no alias {alias!r}.")
            return self._export_version(model, model.versions[number])
