"""Plain data records shared by the fluent API, the logger and every backend.

They hold values only (no backend handles), so backends can build them from rows and
the fluent API can hand them to users. Field names follow MLflow's entities.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


def now_ms() -> int:
    """Timestamps in every entity are milliseconds since the epoch (MLflow's unit)."""
    return int(time.time() * 1000)


class RunStatus:
    """The lifecycle states of a run, as strings (MLflow's names)."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    ALL = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
    TERMINAL = (FINISHED, FAILED, KILLED)


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int  # milliseconds since the epoch
    step: int = 0

    def __eq__(self, other: object) -> bool:  # NaN == NaN for round-trip comparisons
        if not isinstance(other, Metric):
            return NotImplemented
        same_value = self.value == other.value or (
            math.isnan(self.value) and math.isnan(other.value)
        )
        return (self.key, self.timestamp, self.step) == (
            other.key,
            other.timestamp,
            other.step,
        ) and same_value

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    key: str
    value: str


@dataclass
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None


@dataclass
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str = LifecycleStage.ACTIVE

    @property
    def run_uuid(self) -> str:  # MLflow's older name
        return self.run_id


@dataclass
class RunData:
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # latest value per key
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    info: RunInfo
    data: RunData
    #: The datasets the run used (MLflow's ``run.inputs.dataset_inputs``); filled by
    #: ``get_run``, empty in search results.
    inputs: RunInputs = field(default_factory=lambda: RunInputs())


@dataclass(frozen=True)
class FileInfo:
    """An artifact: a path relative to the run's artifact root."""

    path: str
    is_dir: bool
    file_size: int | None


@dataclass
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> version
    latest_versions: list[ModelVersion] = field(default_factory=list)


@dataclass
class ModelVersion:
    name: str
    version: str
    source: str
    run_id: str | None
    current_stage: str = "None"
    creation_timestamp: int = 0
    last_updated_timestamp: int = 0
    description: str = ""
    status: str = "READY"
    aliases: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


# -- MLflow 3 entities: dataset inputs and logged models ----------------------------------

#: The input tag MLflow keeps a dataset's context in ("training", "validation", ...).
DATASET_CONTEXT_TAG = "mlflow.data.context"


class DatasetContext:
    TRAINING = "training"
    VALIDATION = "validation"
    EVALUATION = "evaluation"


@dataclass
class DatasetInput:
    """A dataset a run used (MLflow's ``Dataset`` plus its ``DatasetInput`` context).

    ``source_type``/``source``: where the data came from (MLflow's names: "code" with a
    JSON source for data made in the script, "local", "http", ...); ``schema`` and
    ``profile``: JSON text or None; ``context``: "training", "validation", "evaluation"
    (MLflow's ``mlflow.data.context`` input tag); ``tags``: further input tags.
    """

    name: str
    digest: str
    source_type: str = "code"
    source: str = "{}"
    schema: str | None = None
    profile: str | None = None
    context: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two inputs of one run the same input: name, digest, context."""
        return (self.name, self.digest, self.context or "")


@dataclass
class RunInputs:
    """MLflow's ``run.inputs``: the datasets the run used."""

    dataset_inputs: list[DatasetInput] = field(default_factory=list)


class LoggedModelStatus:
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"

    ALL = (PENDING, READY, FAILED)


@dataclass(frozen=True)
class ModelMetric:
    """A metric value linked to a logged model (and the dataset it was measured on)."""

    key: str
    value: float
    timestamp: int
    step: int = 0
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None


@dataclass
class LoggedModel:
    """MLflow 3's ``LoggedModel``: a model logged by a run, with an id of its own.

    ``artifact_path`` is the model's directory among the source run's artifacts
    (``runs:/<source_run_id>/<artifact_path>``); ``artifact_location`` is where the store
    keeps the model's own copy (MLflow 3), or the run artifact's location.
    """

    model_id: str
    experiment_id: str
    name: str
    source_run_id: str | None
    artifact_path: str | None
    artifact_location: str = ""
    status: str = LoggedModelStatus.PENDING
    creation_timestamp: int = 0
    last_updated_timestamp: int = 0
    model_type: str | None = None
    flavor: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[ModelMetric] = field(default_factory=list)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"


#: What a training session measures of the process, not of a dataset.
_RESOURCE_METRICS = frozenset({"training_duration_seconds", "training_cpu_seconds",
                               "training_peak_rss_growth_mb"})


def dataset_for_metric(key: str, datasets: list[DatasetInput]) -> DatasetInput | None:
    """The dataset a metric was measured on, by its key; None when the key does not say.

    ``<name>-rmse``, ``<name>_loss``, ``<name>.auc`` or ``<name>/acc`` name the dataset
    ``<name>``, and so do scikit-learn's post-training ``<metric>_<name>`` (``-2``, ...
    after it: MLflow's repeat numbering): the longest name that fits wins. Else
    ``training_``/``train_`` keys belong to the run's one training dataset,
    ``val_``/``validation_`` to its one validation dataset, ``test_``/``eval_`` to its
    one evaluation dataset.
    """
    best: DatasetInput | None = None
    bare = key.rsplit("-", 1)[0] if key.rsplit("-", 1)[-1].isdigit() else key
    for dataset in datasets:
        name = dataset.name
        fits = (key.startswith(name) and len(key) > len(name) and key[len(name)] in "-_./") \
            or (bare.endswith("_" + name) and len(bare) > len(name) + 1)
        if fits and (best is None or len(name) > len(best.name)):
            best = dataset
    if best is not None:
        return best
    if key in _RESOURCE_METRICS:
        return None
    for prefixes, wanted in ((("training_", "train_"), DatasetContext.TRAINING),
                             (("validation_", "val_"), DatasetContext.VALIDATION),
                             (("test_", "eval_"), DatasetContext.EVALUATION)):
        if key.startswith(prefixes):
            found = [d for d in datasets if d.context == wanted]
            if len({d.key for d in found}) == 1:
                return found[0]
    return None
