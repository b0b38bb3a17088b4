"""The fluent tracking API: module-level functions acting on this thread's active run.

Names and arguments follow MLflow's fluent API so MLflow users feel at home. Writes are
validated here, on the caller's thread, then buffered (`core.logger`); reads flush first,
so a value logged is a value read back.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from autolog.core import validation
from autolog.core.entities import Experiment, Metric, Run
from autolog.core.errors import InvalidInputError, RunStateError
from autolog.core.tracking import context
from autolog.core.tracking.runs import active_run, now_ms, start_run

__all__ = [
    "flush",
    "get_metric_history",
    "get_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
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
    run = _run_for_logging()
    accepted = []
    seen = run.params_logged
    for key, value in params.items():
        validation.validate_key(key, "param")
        text = validation.param_value(key, value)
        previous = seen.get(key)
        if previous is not None and previous != text:
            raise InvalidInputError(
                f"Param {key!r} was already logged with value {previous!r} for run "
                f"{run.info.run_id}; it cannot be changed to {text!r}. Params are immutable: "
                "log a metric or a tag for values that change."
            )
        if previous is None:
            accepted.append((key, text))
    for key, text in accepted:
        seen[key] = text
    context.get_logger(run.uri).log_params(run.info.run_id, accepted)


def log_metric(key: str, value: Any, step: int | None = None, timestamp: int | None = None) -> None:
    """Log one metric value. The hot path: a few microseconds, no I/O."""
    stack_top = active_run()
    run = stack_top if stack_top is not None else _run_for_logging()
    validation.validate_key(key, "metric")
    context.get_logger(run.uri).log_metric(
        run.info.run_id,
        key,
        validation.metric_value(key, value),
        now_ms() if timestamp is None else int(timestamp),
        validation.metric_step(key, step),
    )


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    run = _run_for_logging()
    run_logger = context.get_logger(run.uri)
    timestamp = now_ms()
    run_id = run.info.run_id
    for key, value in metrics.items():
        validation.validate_key(key, "metric")
        run_logger.log_metric(
            run_id, key, validation.metric_value(key, value), timestamp,
            validation.metric_step(key, step),
        )


def set_tag(key: str, value: Any) -> None:
    set_tags({key: value})


def set_tags(tags: Mapping[str, Any]) -> None:
    run = _run_for_logging()
    pairs = []
    for key, value in tags.items():
        validation.validate_key(key, "tag")
        pairs.append((key, validation.tag_value(key, value)))
    context.get_logger(run.uri).set_tags(run.info.run_id, pairs)


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


@contextlib.contextmanager
def _scratch_directory() -> Iterator[str]:
    """A temporary directory removed when the block ends, and only then.

    Not `tempfile.TemporaryDirectory`: its finalizer runs among the atexit handlers, so
    while the deferred worker writes a plot during interpreter exit, the directory could be
    removed under it (seen with a script that ends right after its one fit).
    """
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="autolog-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_artifact_text(uri: str, run_id: str, text: str, artifact_file: str) -> None:
    """Write ``text`` as the artifact file ``artifact_file`` of ``run_id``."""
    relative = validation.artifact_path(artifact_file)
    if not relative:
        raise InvalidInputError(f"Invalid artifact file {artifact_file!r}: a file name is needed.")
    directory, name = os.path.split(relative)
    with _scratch_directory() as tmp:
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        context.get_store(uri).log_artifact(run_id, path, directory)


def log_text(text: str, artifact_file: str) -> None:
    """Store ``text`` as an artifact file, e.g. ``log_text(notes, "notes/readme.txt")``."""
    run = _run_for_logging()
    write_artifact_text(run.uri, run.info.run_id, text, artifact_file)


def serialize_dict(dictionary: Mapping[str, Any], artifact_file: str) -> str:
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_dump(dict(dictionary), default_flow_style=False, sort_keys=False)
    import json

    return json.dumps(dictionary, indent=2, default=str)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> None:
    """Store a dict as JSON, or YAML when ``artifact_file`` ends in .yaml/.yml."""
    log_text(serialize_dict(dictionary, artifact_file), artifact_file)


def write_artifact_figure(uri: str, run_id: str, figure: Any, artifact_file: str) -> None:
    """Save a matplotlib (or plotly) figure as the artifact file ``artifact_file``."""
    relative = validation.artifact_path(artifact_file)
    directory, name = os.path.split(relative)
    if not name:
        raise InvalidInputError(f"Invalid artifact file {artifact_file!r}: a file name is needed.")
    with _scratch_directory() as tmp:
        path = os.path.join(tmp, name)
        if hasattr(figure, "savefig"):
            figure.savefig(path)
        elif hasattr(figure, "write_html") and name.endswith(".html"):
            figure.write_html(path)
        elif hasattr(figure, "write_image"):
            figure.write_image(path)
        else:
            raise InvalidInputError(
                f"log_figure: unsupported figure type {type(figure).__name__}; expected a "
                "matplotlib Figure or a plotly Figure."
            )
        context.get_store(uri).log_artifact(run_id, path, directory)


def log_figure(figure: Any, artifact_file: str) -> None:
    """Store a matplotlib (or plotly, as .html) figure as an image artifact."""
    run = _run_for_logging()
    write_artifact_figure(run.uri, run.info.run_id, figure, artifact_file)


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
