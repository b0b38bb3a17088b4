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
