"""The one interface everything above `autolog/backends` speaks.

A backend stores experiments, runs, their params/metrics/tags, artifacts and (optionally)
a model registry. It is called from the background writer thread (`log_batch`) and from
the caller's thread (everything else), so implementations must be thread-safe. Several
processes may use the same store at once.

Third-party backends subclass `TrackingBackend` and register a URI scheme under the
``autolog.backends`` entry-point group: ``myscheme = mypackage.module:MyBackend``. The
class is constructed with the full tracking URI string.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from autolog.core.entities import (
    DatasetInput,
    Experiment,
    FileInfo,
    LoggedModel,
    Metric,
    ModelMetric,
    ModelVersion,
    Param,
    RegisteredModel,
    Run,
    RunInfo,
    RunTag,
)

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
#: How `TrackingBackend.log_inputs` keeps a dataset input in a backend without inputs of
#: its own: the tag ``autolog.input.<name>.<context>`` holding the input as JSON.
INPUT_TAG_PREFIX = "autolog.input."
_MAX_TAG_VALUE = 8000


def input_tag(dataset: DatasetInput) -> RunTag:
    """``dataset`` as one run tag (schema and profile dropped when too long for a tag)."""
    import json

    record = {"name": dataset.name, "digest": dataset.digest,
              "source_type": dataset.source_type, "source": dataset.source,
              "schema": dataset.schema, "profile": dataset.profile,
              "context": dataset.context, "tags": dict(dataset.tags)}
    text = json.dumps(record)
    for dropped in ("profile", "schema", "source"):
        if len(text) <= _MAX_TAG_VALUE:
            break
        record[dropped] = None if dropped != "source" else "{}"
        text = json.dumps(record)
    return RunTag(f"{INPUT_TAG_PREFIX}{dataset.name}.{dataset.context or 'none'}", text)


def inputs_from_tags(tags: dict[str, str]) -> list[DatasetInput]:
    """The dataset inputs `input_tag` wrote into a run's tags."""
    import json

    found = []
    for key in sorted(tags):
        if not key.startswith(INPUT_TAG_PREFIX):
            continue
        try:
            record = json.loads(tags[key])
            found.append(DatasetInput(**record))
        except (ValueError, TypeError):
            continue
    return found


def linked_metrics(run_id: str, latest: Sequence[Metric],
                   inputs: Sequence[DatasetInput]) -> list[ModelMetric]:
    """A run's latest metric values as the metrics of a model it logged, each with the
    dataset it was measured on when its key says (`core.entities.dataset_for_metric`)."""
    from autolog.core.entities import dataset_for_metric

    inputs = list(inputs)
    linked = []
    for metric in latest:
        dataset = dataset_for_metric(metric.key, inputs)
        linked.append(ModelMetric(
            metric.key, metric.value, metric.timestamp, metric.step,
            dataset.name if dataset is not None else None,
            dataset.digest if dataset is not None else None, run_id))
    return linked


class TrackingBackend(abc.ABC):
    """Storage for experiments, runs and artifacts.

    Errors: a missing run/experiment raises `ResourceNotFoundError`; a duplicate
    experiment name raises `ResourceAlreadyExistsError`; a param re-logged with another
    value raises `InvalidInputError` naming both values.
    """

    #: Human-readable description used by `autolog status` and the CLI.
    uri: str

    # -- experiments ---------------------------------------------------------------
    @abc.abstractmethod
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        """Create an experiment and return its id."""

    @abc.abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment: ...

    @abc.abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    @abc.abstractmethod
    def search_experiments(self) -> list[Experiment]:
        """All active experiments, the default one first."""

    # -- runs ----------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(
        self,
        experiment_id: str,
        run_name: str | None,
        start_time: int,
        tags: dict[str, str] | None = None,
        run_id: str | None = None,
    ) -> RunInfo:
        """Create a RUNNING run. ``run_id`` may be chosen by the caller (uuid4 hex)."""

    @abc.abstractmethod
    def update_run_info(self, run_id: str, status: str, end_time: int | None) -> RunInfo: ...

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run: ...

    @abc.abstractmethod
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Write all of these atomically (one transaction where the store has them)."""

    @abc.abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every value of ``key``, ordered by step then timestamp."""

    @abc.abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
    ) -> list[Run]:
        """Runs of these experiments matching the filter language of `core.search`."""

    def delete_run(self, run_id: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not delete runs")

    # -- dataset inputs (MLflow's log_inputs; these defaults keep them in tags) ---------
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record the datasets a run used; an input logged again (same name, digest and
        context) is kept once. The default keeps each as a run tag (`input_tag`), for
        backends that have no inputs of their own."""
        if datasets:
            self.log_batch(run_id, tags=[input_tag(d) for d in datasets])

    def get_inputs(self, run_id: str) -> list[DatasetInput]:
        """The dataset inputs of a run, in the order they were first logged."""
        return inputs_from_tags(self.get_run(run_id).data.tags)

    # -- logged models (MLflow 3's LoggedModel; optional) -------------------------------
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
        """Create a PENDING logged model produced by the run ``run_id`` (its experiment,
        unless ``experiment_id``), whose files are the run artifact ``artifact_path``."""
        raise NotImplementedError(f"{type(self).__name__} has no logged models")

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        """Set the model READY (or FAILED), and link its run's params and latest metrics
        to it (each metric with the dataset `dataset_for_metric` finds for it)."""
        raise NotImplementedError(f"{type(self).__name__} has no logged models")

    def get_logged_model(self, model_id: str) -> LoggedModel:
        raise NotImplementedError(f"{type(self).__name__} has no logged models")

    def search_logged_models(
        self, experiment_ids: Sequence[str] | None = None, source_run_id: str | None = None
    ) -> list[LoggedModel]:
        """Logged models of these experiments (all when None), or of one run; oldest first."""
        raise NotImplementedError(f"{type(self).__name__} has no logged models")

    def log_model_metrics(self, model_id: str, metrics: Sequence[ModelMetric]) -> None:
        """Link metric values to a logged model (a value linked twice is kept once)."""
        raise NotImplementedError(f"{type(self).__name__} has no logged models")

    def log_model_artifacts(self, model_id: str, local_dir: str) -> None:  # noqa: B027
        """Upload the model's files to the model's own location, for stores that keep
        one (MLflow 3). Stores that point the model at the run's artifacts do nothing."""

    # -- optional fast reads (the UI uses them; these defaults work for every backend) --
    def get_metric_series(
        self, run_id: str, key: str
    ) -> tuple[list[int], list[int], list[float]]:
        """`get_metric_history` as three columns: steps, timestamps, values (NaN kept).

        Same points, same order. For charts of long histories: a backend may answer
        without building one `Metric` per point (the SQLite store does, ~4x faster).
        """
        history = self.get_metric_history(run_id, key)
        return (
            [m.step for m in history],
            [m.timestamp for m in history],
            [m.value for m in history],
        )

    def count_runs(self, experiment_id: str) -> int:
        """How many active runs the experiment holds (a store may count without reading)."""
        return len(self.search_runs([experiment_id], max_results=50_000))

    # -- artifacts -----------------------------------------------------------------
    @abc.abstractmethod
    def log_artifact(self, run_id: str, local_path: str, artifact_path: str = "") -> None:
        """Copy a local file to ``artifact_path/<its name>``, or a directory's contents
        under ``artifact_path`` (MLflow's ``log_artifact`` / ``log_artifacts``).

        ``artifact_path`` has been normalised by `core.validation.artifact_path`; a
        backend must still never write outside the run's artifact directory.
        """

    @abc.abstractmethod
    def list_artifacts(self, run_id: str, path: str = "") -> list[FileInfo]: ...

    @abc.abstractmethod
    def download_artifacts(self, run_id: str, path: str, dst_dir: str) -> str:
        """Copy an artifact file or directory into ``dst_dir``; return the local path."""

    def artifact_local_path(self, run_id: str, path: str = "") -> str | None:
        """A local filesystem path for an artifact when the store keeps them on disk."""
        return None

    # -- model registry (optional) -------------------------------------------------
    def create_registered_model(
        self, name: str, description: str = "", tags: dict[str, str] | None = None
    ) -> RegisteredModel:
        raise NotImplementedError(f"{type(self).__name__} has no model registry")

    def get_registered_model(self, name: str) -> RegisteredModel:
        raise NotImplementedError(f"{type(self).__name__} has no model registry")

    def search_registered_models(self, filter_string: str = "") -> list[RegisteredModel]:
        raise NotImplementedError(f"{type(self).__name__} has no model registry")

    def create_model_version(
        self, name: str, source: str, run_id: str | None, description: str = ""
    ) -> ModelVersion:
        raise NotImplementedError(f"{type(self).__name__} has no model registry")

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        raise NotImplementedError(f"{type(self).__name__} has no model registry")

    def search_model_versions(self, filter_string: str = "") -> list[ModelVersion]:
        raise NotImplementedError(f"{type(self).__name__} has no model registry")

    def update_model_version(
        self,
        name: str,
        version: str,
        *,
        stage: str | None = None,
        description: str | None = None,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        raise NotImplementedError(f"{type(self).__name__} has no model registry")

    def delete_model_version(self, name: str, version: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no model registry")

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no model registry")

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no model registry")

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        raise NotImplementedError(f"{type(self).__name__} has no model registry")

    # -- lifecycle -----------------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional hook, deliberately empty
        """Release connections. The backend may be used again afterwards (reopens)."""
