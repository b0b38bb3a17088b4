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
    Experiment,
    FileInfo,
    Metric,
    ModelVersion,
    Param,
    RegisteredModel,
    Run,
    RunInfo,
    RunTag,
)

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


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
