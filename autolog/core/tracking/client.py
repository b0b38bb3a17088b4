"""`autolog.Client`: the same operations as the fluent API, addressed by id.

For scripts and tools that work with runs other than the active one (the CLI, the UI,
comparisons) and for model-registry calls. Writes go straight to the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from autolog.core import validation
from autolog.core.entities import (
    Experiment,
    FileInfo,
    Metric,
    ModelVersion,
    Param,
    RegisteredModel,
    Run,
    RunInfo,
    RunTag,
    now_ms,
)
from autolog.core.errors import InvalidInputError
from autolog.core.tracking import context
from autolog.core.tracking.recorder import RunRecorder


class Client:
    """Direct access to one tracking store (default: the current tracking URI)."""

    def __init__(self, tracking_uri: str | None = None) -> None:
        self.tracking_uri = tracking_uri or context.get_tracking_uri()
        self._backend = context.get_store(self.tracking_uri)
        context.settle(self.tracking_uri)  # see what the fluent API logged

    @property
    def backend(self):
        return self._backend

    # experiments
    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: Mapping[str, str] | None = None) -> str:
        return self._backend.create_experiment(name, artifact_location, dict(tags or {}))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._backend.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._backend.get_experiment_by_name(name)

    def search_experiments(self) -> list[Experiment]:
        return self._backend.search_experiments()

    # runs
    def create_run(self, experiment_id: str, run_name: str | None = None,
                   tags: Mapping[str, str] | None = None) -> Run:
        import uuid

        info = self._backend.create_run(str(experiment_id), run_name, now_ms(),
                                        dict(tags or {}), run_id=uuid.uuid4().hex)
        return self._backend.get_run(info.run_id)

    def get_run(self, run_id: str) -> Run:
        context.settle(self.tracking_uri)
        return self._backend.get_run(run_id)

    def set_terminated(self, run_id: str, status: str = "FINISHED",
                       end_time: int | None = None) -> RunInfo:
        context.settle(self.tracking_uri)
        return self._backend.update_run_info(run_id, status, end_time or now_ms())

    def search_runs(self, experiment_ids: Sequence[str], filter_string: str = "",
                    order_by: Sequence[str] | None = None, max_results: int = 1000) -> list[Run]:
        context.settle(self.tracking_uri)
        return self._backend.search_runs([str(i) for i in experiment_ids], filter_string,
                                         order_by, max_results)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        context.settle(self.tracking_uri)
        return self._backend.get_metric_history(run_id, key)

    # values: checked by the same `RunRecorder` as the fluent API (strict), then written
    # synchronously, as MLflow's client does
    def _checks(self, run_id: str) -> RunRecorder:
        return RunRecorder(run_id, self.tracking_uri, strict=True)

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, params=[Param(key, value)])

    def log_metric(self, run_id: str, key: str, value: Any, timestamp: int | None = None,
                   step: int | None = None) -> None:
        self.log_batch(run_id, metrics=[Metric(key, value, timestamp or now_ms(), step)])

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, tags=[RunTag(key, value)])

    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (),
                  params: Sequence[Param] = (), tags: Sequence[RunTag] = ()) -> None:
        checks = self._checks(run_id)
        checked_metrics = []
        for metric in metrics:
            value, step = checks.checked_metric(metric.key, metric.value, metric.step)
            checked_metrics.append(Metric(metric.key, value, metric.timestamp, step))
        checked_params = [Param(key, text) for param in params
                          for key, text in checks.checked_params({param.key: param.value})]
        checked_tags = [RunTag(key, text) for tag in tags
                        for key, text in checks.checked_tags({tag.key: tag.value})]
        self._backend.log_batch(run_id, metrics=checked_metrics, params=checked_params,
                                tags=checked_tags)

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        self._backend.log_artifact(run_id, local_path, validation.artifact_path(artifact_path))

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        context.settle(self.tracking_uri)
        return self._backend.list_artifacts(run_id, validation.artifact_path(path))

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        import tempfile

        context.settle(self.tracking_uri)
        return self._backend.download_artifacts(
            run_id, validation.artifact_path(path), dst_path or tempfile.mkdtemp()
        )

    # model registry
    def create_registered_model(self, name: str, tags: Mapping[str, str] | None = None,
                                description: str = "") -> RegisteredModel:
        return self._backend.create_registered_model(name, description, dict(tags or {}))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._backend.get_registered_model(name)

    def search_registered_models(self, filter_string: str = "") -> list[RegisteredModel]:
        return self._backend.search_registered_models(filter_string)

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return self._backend.get_model_version(name, str(version))

    def search_model_versions(self, filter_string: str = "") -> list[ModelVersion]:
        return self._backend.search_model_versions(filter_string)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None
                            ) -> list[ModelVersion]:
        """The newest version in each stage (or in each of ``stages``)."""
        versions = self._backend.search_model_versions(f"name = '{_quote(name)}'")
        if not versions:
            self._backend.get_registered_model(name)  # raises a clear not-found error
        latest: dict[str, ModelVersion] = {}
        for version in versions:
            best = latest.get(version.current_stage)
            if best is None or int(version.version) > int(best.version):
                latest[version.current_stage] = version
        wanted = [s.lower() for s in stages] if stages else None
        return sorted(
            (v for stage, v in latest.items() if wanted is None or stage.lower() in wanted),
            key=lambda v: int(v.version),
        )

    def transition_model_version_stage(self, name: str, version: str | int, stage: str,
                                       archive_existing_versions: bool = False) -> ModelVersion:
        return self._backend.update_model_version(
            name, str(version), stage=stage, archive_existing_versions=archive_existing_versions
        )

    def update_model_version(self, name: str, version: str | int,
                             description: str | None = None) -> ModelVersion:
        return self._backend.update_model_version(name, str(version), description=description)

    def delete_model_version(self, name: str, version: str | int) -> None:
        self._backend.delete_model_version(name, str(version))

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._backend.set_registered_model_alias(name, alias, str(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._backend.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._backend.get_model_version_by_alias(name, alias)


def _quote(value: str) -> str:
    if "'" in value:
        raise InvalidInputError(f"Model name {value!r} must not contain a single quote.")
    return value
