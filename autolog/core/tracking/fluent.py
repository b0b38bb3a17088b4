"""The fluent tracking API: module-level functions acting on this thread's active run.

Names and arguments follow MLflow's fluent API so MLflow users feel at home. Writes go
through the active run's strict `RunRecorder` (the one validation path: checked on the
caller's thread, then buffered by `core.tracking.logger`); reads flush first, so a value
logged is a value read back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from autolog.core import validation
from autolog.core.entities import Experiment, Metric, Run
from autolog.core.errors import InvalidInputError, RunStateError
from autolog.core.tracking import context
from autolog.core.tracking.runs import active_run, start_run

__all__ = [
    "flush",
    "get_metric_history",
    "get_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "search_runs",
    "set_tag",
    "set_tags",
]


def _run_for_logging():
    """The active run; with none, start one (as MLflow does) so a lone call is kept."""
    run = active_run()
    if run is None:
        run = start_run()
    return run


# -- params, metrics, tags ------------------------------------------------------------


def log_param(key: str, value: Any) -> Any:
    """Log one param. Params are immutable: another value for the same key is an error."""
    log_params({key: value})
    return value


def log_params(params: Mapping[str, Any]) -> None:
    """Log several params (checked strictly: `RunRecorder`)."""
    _run_for_logging().recorder.log_params(params)


def log_metric(key: str, value: Any, step: int | None = None, timestamp: int | None = None) -> None:
    """Log one metric value. The hot path: a few microseconds, no I/O."""
    _run_for_logging().recorder.log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    _run_for_logging().recorder.log_metrics(metrics, step)


def set_tag(key: str, value: Any) -> None:
    set_tags({key: value})


def set_tags(tags: Mapping[str, Any]) -> None:
    _run_for_logging().recorder.set_tags(tags)


def log_input(dataset: Any, context: str | None = None, tags: Mapping[str, Any] | None = None,
              *, name: str | None = None, targets: Any = None) -> None:
    """Record a dataset the active run used (MLflow's ``mlflow.log_input``).

    ``dataset``: a `DatasetInput` (`autolog.dataset_input` makes one), an MLflow
    ``mlflow.data`` dataset, or the data itself (a NumPy array, a pandas DataFrame, ...;
    ``name`` defaults to "dataset", ``targets`` are the labels). ``context``: "training",
    "validation", "evaluation". Shown in MLflow's Datasets tab; kept by the embedded store.
    """
    from autolog.core.tracking.datasets import as_dataset_input

    run = _run_for_logging()
    tag_texts = {}
    for key, value in (tags or {}).items():
        tag_texts[str(key)] = validation.tag_value(str(key), value)
    run.recorder.log_inputs(as_dataset_input(dataset, context, tag_texts, name, targets))


def flush() -> None:
    """Block until everything logged so far is stored."""
    context.flush_all()


# -- artifacts --------------------------------------------------------------------------


def log_artifact(local_path: str | os.PathLike, artifact_path: str | None = None) -> None:
    """Copy a local file into the run's artifacts, under ``artifact_path`` if given."""
    run = _run_for_logging()
    local = os.fspath(local_path)
    if not os.path.isfile(local):
        raise InvalidInputError(f"log_artifact: {local!r} is not a file (use log_artifacts "
                                "for a directory).")
    context.get_store(run.uri).log_artifact(
        run.info.run_id, local, validation.artifact_path(artifact_path)
    )


def log_artifacts(local_dir: str | os.PathLike, artifact_path: str | None = None) -> None:
    """Copy the contents of a local directory into the run's artifacts."""
    run = _run_for_logging()
    local = os.fspath(local_dir)
    if not os.path.isdir(local):
        raise InvalidInputError(f"log_artifacts: {local!r} is not a directory.")
    context.get_store(run.uri).log_artifact(
        run.info.run_id, local, validation.artifact_path(artifact_path)
    )


def log_text(text: str, artifact_file: str) -> None:
    """Store ``text`` as an artifact file, e.g. ``log_text(notes, "notes/readme.txt")``."""
    run = _run_for_logging()
    run.recorder.log_text(text, artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> None:
    """Store a dict as JSON, or YAML when ``artifact_file`` ends in .yaml/.yml."""
    _run_for_logging().recorder.log_dict(dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    """Store a matplotlib (or plotly, as .html) figure as an image artifact."""
    run = _run_for_logging()
    run.recorder.log_figure(figure, artifact_file)


# -- reads --------------------------------------------------------------------------------


def get_run(run_id: str) -> Run:
    """The run with this id, with everything logged so far (flushes first)."""
    context.flush_all()
    return context.get_store().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    context.flush_all()
    return context.get_store().get_metric_history(run_id, key)


def get_experiment_by_name(name: str) -> Experiment | None:
    return context.get_store().get_experiment_by_name(name)


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    experiment_names: Sequence[str] | None = None,
) -> list[Run]:
    """Runs matching ``filter_string`` (e.g. ``"metrics.acc > 0.9 and params.C = '1'"``).

    With neither ids nor names, searches the current experiment.
    """
    context.flush_all()
    backend = context.get_store()
    ids = [str(i) for i in (experiment_ids or [])]
    for name in experiment_names or []:
        experiment = backend.get_experiment_by_name(name)
        if experiment is None:
            from autolog.core.errors import ResourceNotFoundError

            raise ResourceNotFoundError(f"Experiment {name!r} does not exist.")
        ids.append(experiment.experiment_id)
    if not ids:
        ids = [context.current_experiment_id()]
    return backend.search_runs(ids, filter_string=filter_string, order_by=order_by,
                               max_results=max_results)


def require_active_run():
    run = active_run()
    if run is None:
        raise RunStateError("No active run: call autolog.start_run() first.")
    return run
