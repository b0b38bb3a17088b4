"""Copy experiments, runs, artifacts and registered models from one store to another.

The main case is an embedded store (or an MLflow backend's spool) sent to an MLflow
server: ``autolog sync --from ./autolog-runs --to mlflow+http://host:5000``. Any backend
to any backend works (both are plain `TrackingBackend` s).

What is copied, per run: run name, start and end time, status, every param, every tag
(``mlflow.parentRunId`` rewritten to the parent's destination id), the FULL history of
every metric (values, steps, timestamps) and the whole artifact tree (model directories
included).

Idempotent: each destination run carries the tag ``autolog.sync.source_run_id``; a run
already copied is looked up by it and not copied again. A second sync copies nothing new.
A destination run is brought up to date (metric values it lacks appended, params and tags
added, missing artifact files uploaded, status and end time updated) when its source run
is still RUNNING or its status/end time changed since the last sync -- so a run synced
while it was running is completed by a later sync.

Spooled runs (`autolog.backends.spool`) that carry ``autolog.spool.mlflow_run_id`` hold
the unsent part of a run that exists on the destination: that run is brought up to date
the same way instead of a new run being created.

Dataset inputs (MLflow's ``log_inputs``; `core.entities.DatasetInput`): every input of a
run that the destination run lacks (same name, digest and context) is logged there.

Logged models (MLflow 3's ``LoggedModel``; where both stores keep them): each logged
model whose source run was synced is created at the destination, produced by the
destination run, with its params, tags (plus ``autolog.sync.source_model_id``, by which
a later sync finds it and copies it no more), metrics (dataset links kept), status and,
for an MLflow destination, its files in the model's own location. A model MLflow logged
by itself (its files only in the model's location, none among the run's artifacts) gets
its files copied into the destination run's artifacts under its name. Model files
(``MLmodel``) are copied byte for byte: their ``model_id`` still names the source model.

Registered models (best effort): each model is created at the destination when missing
(description and tags); each version whose source is ``runs:/<run>/<path>`` of a run that
was synced is registered with the source rewritten to the destination run, unless a
version with that source exists already; its stage and description follow, and aliases
are pointed at the matching destination versions. Versions whose run was not synced, or
whose source is not a ``runs:/`` URI, are reported as skipped. Model files (``MLmodel``)
are copied byte for byte: their ``run_id`` field still names the source run.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field

from autolog.backends.spool import TAG_SPOOLED_FOR
from autolog.core.entities import Metric, ModelVersion, Param, Run, RunStatus, RunTag
from autolog.core.errors import (
    InvalidInputError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
)

TAG_SOURCE_RUN_ID = "autolog.sync.source_run_id"
TAG_SOURCE_MODEL_ID = "autolog.sync.source_model_id"
TAG_PARENT_RUN_ID = "mlflow.parentRunId"
_METRIC_CHUNK = 5000
_NOT_COPIED_TAGS = (TAG_SPOOLED_FOR,)

__all__ = ["TAG_SOURCE_MODEL_ID", "TAG_SOURCE_RUN_ID", "SyncReport", "sync"]


@dataclass
class SyncReport:
    """What one `sync` did. ``copied_anything`` is False for a sync that found nothing new."""

    experiments_created: int = 0
    runs_created: int = 0
    runs_updated: int = 0
    runs_unchanged: int = 0
    params_copied: int = 0
    tags_copied: int = 0
    metric_values_copied: int = 0
    artifact_files_copied: int = 0
    dataset_inputs_copied: int = 0
    logged_models_created: int = 0
    logged_models_skipped: list[str] = field(default_factory=list)
    registered_models_created: int = 0
    model_versions_created: int = 0
    model_versions_skipped: list[str] = field(default_factory=list)
    run_ids: dict[str, str] = field(default_factory=dict)  # source run id -> destination
    warnings: list[str] = field(default_factory=list)

    @property
    def copied_anything(self) -> bool:
        return bool(
            self.experiments_created or self.runs_created or self.runs_updated
            or self.registered_models_created or self.model_versions_created
            or self.logged_models_created
        )

    def summary(self) -> str:
        return (
            f"experiments created: {self.experiments_created}; runs created: "
            f"{self.runs_created}, updated: {self.runs_updated}, unchanged: "
            f"{self.runs_unchanged}; params: {self.params_copied}, tags: {self.tags_copied}, "
            f"metric values: {self.metric_values_copied}, artifact files: "
            f"{self.artifact_files_copied}, dataset inputs: {self.dataset_inputs_copied}; "
            f"logged models created: {self.logged_models_created}; registered models created: "
            f"{self.registered_models_created}, model versions created: "
            f"{self.model_versions_created}"
            + (f", skipped: {len(self.model_versions_skipped)}"
               if self.model_versions_skipped else "")
        )


def _metric_key(metric: Metric) -> tuple:
    value = float(metric.value)
    return (metric.step, metric.timestamp, "nan" if math.isnan(value) else value)


def _parents_first(runs: list[Run]) -> list[Run]:
    by_id = {run.info.run_id: run for run in runs}
    ordered: list[Run] = []
    seen: set[str] = set()

    def visit(run: Run, depth: int = 0) -> None:
        if run.info.run_id in seen:
            return
        seen.add(run.info.run_id)
        parent = by_id.get(run.data.tags.get(TAG_PARENT_RUN_ID, ""))
        if parent is not None and depth < 100:
            visit(parent, depth + 1)
        ordered.append(run)

    for run in sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id)):
        visit(run)
    return ordered


class _Syncer:
    def __init__(self, source, dest, report: SyncReport) -> None:
        self.source = source
        self.dest = dest
        self.report = report
        self.dest_index: dict[str, str] = {}  # source run id -> dest run id

    # -- experiments and the index of runs already copied ---------------------------------
    def dest_experiment(self, experiment) -> str:
        found = self.dest.get_experiment_by_name(experiment.name)
        if found is not None:
            return found.experiment_id
        try:
            experiment_id = self.dest.create_experiment(experiment.name,
                                                        tags=dict(experiment.tags or {}))
        except ResourceAlreadyExistsError:
            return self.dest.get_experiment_by_name(experiment.name).experiment_id
        self.report.experiments_created += 1
        return experiment_id

    def index(self, dest_experiment_id: str) -> None:
        for run in self.dest.search_runs([dest_experiment_id], max_results=1_000_000):
            source_id = run.data.tags.get(TAG_SOURCE_RUN_ID)
            if source_id:
                self.dest_index[source_id] = run.info.run_id

    # -- runs -------------------------------------------------------------------------------
    def sync_run(self, run: Run, dest_experiment_id: str) -> None:
        source_id = run.info.run_id
        target = None
        spooled_for = run.data.tags.get(TAG_SPOOLED_FOR)
        if spooled_for:
            try:
                target = self.dest.get_run(spooled_for)
            except ResourceNotFoundError:
                target = None
        if target is None and source_id in self.dest_index:
            try:
                target = self.dest.get_run(self.dest_index[source_id])
            except ResourceNotFoundError:
                target = None
        if target is None:
            self.create(run, dest_experiment_id)
            return
        self.report.run_ids[source_id] = target.info.run_id
        if not spooled_for and run.info.status in RunStatus.TERMINAL and (
            target.info.status == run.info.status and target.info.end_time == run.info.end_time
        ):
            self.report.runs_unchanged += 1
            return
        if self.update(run, target):
            self.report.runs_updated += 1
        else:
            self.report.runs_unchanged += 1

    def _tags(self, run: Run) -> dict[str, str]:
        tags = {k: v for k, v in run.data.tags.items() if k not in _NOT_COPIED_TAGS}
        parent = tags.get(TAG_PARENT_RUN_ID)
        if parent:
            tags[TAG_PARENT_RUN_ID] = self.report.run_ids.get(
                parent, self.dest_index.get(parent, parent))
        return tags

    def create(self, run: Run, dest_experiment_id: str) -> None:
        info = run.info
        tags = self._tags(run)
        tags[TAG_SOURCE_RUN_ID] = info.run_id
        try:
            created = self.dest.create_run(dest_experiment_id, info.run_name, info.start_time,
                                           tags, run_id=info.run_id)
        except (ResourceAlreadyExistsError, InvalidInputError):  # taken there, or unusable
            import uuid

            created = self.dest.create_run(dest_experiment_id, info.run_name, info.start_time,
                                           tags, run_id=uuid.uuid4().hex)
        dest_id = created.run_id
        self.report.run_ids[info.run_id] = dest_id
        self.dest_index[info.run_id] = dest_id
        self.report.runs_created += 1
        self.report.tags_copied += len(tags)
        params = [Param(k, v) for k, v in run.data.params.items()]
        if params:
            self.dest.log_batch(dest_id, params=params)
            self.report.params_copied += len(params)
        for key in sorted(run.data.metrics):
            self._send_metrics(dest_id, self.source.get_metric_history(info.run_id, key))
        self.copy_artifacts(info.run_id, dest_id, existing=None)
        self.copy_inputs(run, dest_id, existing=[])
        if info.status != RunStatus.RUNNING or info.end_time is not None:
            self.dest.update_run_info(dest_id, info.status, info.end_time)

    def _send_metrics(self, dest_id: str, metrics: list[Metric]) -> None:
        for i in range(0, len(metrics), _METRIC_CHUNK):
            chunk = metrics[i:i + _METRIC_CHUNK]
            self.dest.log_batch(dest_id, metrics=chunk)
            self.report.metric_values_copied += len(chunk)

    def update(self, run: Run, target: Run) -> bool:
        """Bring ``target`` up to date with ``run``; True when anything was sent."""
        changed = False
        dest_id = target.info.run_id
        self.report.run_ids[run.info.run_id] = dest_id
        params = []
        for key, value in run.data.params.items():
            existing = target.data.params.get(key)
            if existing is None:
                params.append(Param(key, value))
            elif existing != value:
                self.report.warnings.append(
                    f"run {dest_id}: param {key!r} is {existing!r} at the destination and "
                    f"{value!r} at the source; kept {existing!r}."
                )
        tags = [RunTag(k, v) for k, v in self._tags(run).items()
                if target.data.tags.get(k) != v and k != "mlflow.runName"]
        if params or tags:
            self.dest.log_batch(dest_id, params=params, tags=tags)
            self.report.params_copied += len(params)
            self.report.tags_copied += len(tags)
            changed = True
        for key in sorted(run.data.metrics):
            history = self.source.get_metric_history(run.info.run_id, key)
            have = Counter(_metric_key(m) for m in self.dest.get_metric_history(dest_id, key))
            missing = []
            for metric in history:
                mark = _metric_key(metric)
                if have[mark]:
                    have[mark] -= 1
                else:
                    missing.append(metric)
            if missing:
                self._send_metrics(dest_id, missing)
                changed = True
        existing = {f.path: f.file_size for f in self._walk(self.dest, dest_id)}
        if self.copy_artifacts(run.info.run_id, dest_id, existing=existing):
            changed = True
        if self.copy_inputs(run, dest_id, existing=None):
            changed = True
        status, end_time = run.info.status, run.info.end_time
        if status in RunStatus.TERMINAL and (
            status != target.info.status or end_time != target.info.end_time
        ):
            self.dest.update_run_info(dest_id, status, end_time)
            changed = True
        return changed

    # -- dataset inputs -------------------------------------------------------------------
    def copy_inputs(self, run: Run, dest_id: str, existing: list | None) -> int:
        """The source run's dataset inputs that the destination run lacks (``existing``:
        the destination's, None to read them)."""
        inputs = run.inputs.dataset_inputs
        if not inputs:
            inputs = self.source.get_inputs(run.info.run_id)
        if not inputs:
            return 0
        if existing is None:
            existing = self.dest.get_inputs(dest_id)
        have = {d.key for d in existing}
        missing = [d for d in inputs if d.key not in have]
        if missing:
            self.dest.log_inputs(dest_id, missing)
            self.report.dataset_inputs_copied += len(missing)
        return len(missing)

    # -- logged models ----------------------------------------------------------------------
    def sync_logged_models(self, experiments: list) -> None:
        for experiment in experiments:
            try:
                models = self.source.search_logged_models([experiment.experiment_id])
            except NotImplementedError:
                return
            if not models:
                continue
            dest_experiment_id = self.dest_experiment(experiment)
            try:
                existing = self.dest.search_logged_models([dest_experiment_id])
            except NotImplementedError:
                self.report.warnings.append("the destination keeps no logged models")
                return
            copied = {m.tags.get(TAG_SOURCE_MODEL_ID) for m in existing}
            for model in models:
                if model.model_id in copied:
                    continue
                dest_run = self.report.run_ids.get(model.source_run_id or "") or \
                    self.dest_index.get(model.source_run_id or "")
                if dest_run is None:
                    self.report.logged_models_skipped.append(
                        f"{model.name} ({model.model_id}): its run was not synced")
                    continue
                self.copy_logged_model(model, dest_run, dest_experiment_id)

    def copy_logged_model(self, model, dest_run: str, dest_experiment_id: str) -> None:
        from dataclasses import replace

        with tempfile.TemporaryDirectory(prefix="autolog-sync-model-") as tmp:
            local, artifact_path = self._model_files(model, dest_run, tmp)
            tags = dict(model.tags)
            tags[TAG_SOURCE_MODEL_ID] = model.model_id
            created = self.dest.create_logged_model(
                dest_run, model.name, artifact_path, flavor=model.flavor,
                model_type=model.model_type, params=dict(model.params), tags=tags,
                experiment_id=dest_experiment_id)
            if created is None:
                raise ResourceNotFoundError(f"{self.dest.uri} did not create the logged model")
            if local is not None:
                self.dest.log_model_artifacts(created.model_id, local)
        if model.metrics:
            self.dest.log_model_metrics(created.model_id, [
                replace(m, run_id=self.report.run_ids.get(m.run_id or "", dest_run))
                for m in model.metrics])
        if model.status in ("READY", "FAILED"):
            self.dest.finalize_logged_model(created.model_id, model.status)
        self.report.logged_models_created += 1

    def _model_files(self, model, dest_run: str, tmp: str) -> tuple[str | None, str | None]:
        """A local copy of the model's files, and its directory in the destination run
        (files that only the model's own location held are copied into the run)."""
        if model.artifact_path and model.source_run_id:
            local = self.source.artifact_local_path(model.source_run_id, model.artifact_path)
            if local is None or not os.path.isdir(local):
                try:
                    local = self.source.download_artifacts(model.source_run_id,
                                                           model.artifact_path, tmp)
                except (ResourceNotFoundError, FileNotFoundError):
                    local = None
            return local, model.artifact_path
        download = getattr(self.source, "download_logged_model_artifacts", None)
        if download is None:
            return None, None
        local = download(model.model_id, os.path.join(tmp, "files"))
        taken = {f.path for f in self._walk(self.dest, dest_run)}
        path = model.name
        if any(p == path or p.startswith(path + "/") for p in taken):
            path = f"{model.name}-{model.model_id}"
        self.dest.log_artifact(dest_run, local, path)
        return local, path

    # -- artifacts ------------------------------------------------------------------------
    @staticmethod
    def _walk(backend, run_id: str, path: str = ""):
        try:
            entries = backend.list_artifacts(run_id, path)
        except (ResourceNotFoundError, FileNotFoundError):
            return
        for entry in entries:
            if entry.is_dir:
                yield from _Syncer._walk(backend, run_id, entry.path)
            else:
                yield entry

    def copy_artifacts(self, source_id: str, dest_id: str, existing: dict | None) -> int:
        files = list(self._walk(self.source, source_id))
        if existing is not None:
            files = [f for f in files if f.path not in existing]
        if not files:
            return 0
        with tempfile.TemporaryDirectory(prefix="autolog-sync-") as tmp:
            root = self.source.artifact_local_path(source_id, "")
            if root is None or not os.path.isdir(root):
                root = os.path.join(tmp, "all")
                self.source.download_artifacts(source_id, "", root)
            if existing is None:
                self.dest.log_artifact(dest_id, root, "")
            else:
                for entry in files:
                    local = os.path.join(root, *entry.path.split("/"))
                    self.dest.log_artifact(dest_id, local, entry.path.rpartition("/")[0])
        self.report.artifact_files_copied += len(files)
        return len(files)

    # -- registered models (best effort) ----------------------------------------------
    def sync_registry(self) -> None:
        try:
            models = self.source.search_registered_models()
        except NotImplementedError:
            return
        # All versions at once, grouped here: one query (not one per model), and a model
        # name holding a quote needs no escaping in a filter string.
        source_versions = _by_name(self.source.search_model_versions())
        dest_by_name: dict[str, list[ModelVersion]] | None = None
        for model in models:
            versions = source_versions.get(model.name, [])
            wanted = []
            for version in sorted(versions, key=lambda v: int(v.version)):
                source_run, path = _runs_uri(version.source)
                dest_run = self.report.run_ids.get(source_run or "") or self.dest_index.get(
                    source_run or "")
                if dest_run is None:
                    self.report.model_versions_skipped.append(
                        f"{model.name} v{version.version} ({version.source}): its run was not "
                        "synced" if source_run else f"{model.name} v{version.version} "
                        f"({version.source}): not a runs:/ source")
                    continue
                wanted.append((version, f"runs:/{dest_run}/{path}", dest_run))
            if not wanted:
                continue
            try:
                dest_model = self.dest.get_registered_model(model.name)
            except ResourceNotFoundError:
                dest_model = self.dest.create_registered_model(
                    model.name, model.description, dict(model.tags))
                self.report.registered_models_created += 1
            except NotImplementedError:
                self.report.warnings.append("the destination has no model registry")
                return
            if dest_by_name is None:
                dest_by_name = _by_name(self.dest.search_model_versions())
            dest_versions = {v.source: v for v in dest_by_name.get(model.name, [])}
            number_map: dict[str, str] = {}
            for version, source, dest_run in wanted:
                found = dest_versions.get(source)
                if found is None:
                    found = self.dest.create_model_version(model.name, source, dest_run,
                                                           version.description)
                    self.report.model_versions_created += 1
                number_map[version.version] = found.version
                if version.current_stage not in ("None", found.current_stage):
                    self.dest.update_model_version(model.name, found.version,
                                                   stage=version.current_stage)
                if version.description and version.description != found.description:
                    self.dest.update_model_version(model.name, found.version,
                                                   description=version.description)
            for alias, number in model.aliases.items():
                target = number_map.get(str(number))
                if target is not None and dest_model.aliases.get(alias) != target:
                    self.dest.set_registered_model_alias(model.name, alias, target)


def _runs_uri(source: str) -> tuple[str | None, str]:
    if not source.startswith("runs:/"):
        return None, ""
    run_id, _, path = source[len("runs:/"):].lstrip("/").partition("/")
    return run_id, path.strip("/")


def sync(source_uri: str, dest_uri: str, experiment: str | None = None,
         progress: bool = True) -> SyncReport:
    """Copy everything (or one experiment, by name) from ``source_uri`` to ``dest_uri``.

    Returns a `SyncReport`; a second call with the same arguments copies nothing new.
    """
    from autolog.backends import get_backend

    source = get_backend(source_uri)
    require_existing = getattr(source, "require_existing", None)
    if require_existing is not None:  # the source is only read: a mistyped one is an error
        require_existing()
    dest = get_backend(dest_uri)
    if hasattr(dest, "resilient"):
        dest.resilient = False  # an unreachable destination fails the sync (run it again)
    report = SyncReport()
    syncer = _Syncer(source, dest, report)
    experiments = source.search_experiments()
    if experiment is not None:
        experiments = [e for e in experiments if e.name == experiment]
        if not experiments:
            raise ResourceNotFoundError(
                f"No experiment named {experiment!r} in {source_uri!r}."
            )
    work: list[tuple[Run, str]] = []
    for source_experiment in experiments:
        runs = source.search_runs([source_experiment.experiment_id], max_results=1_000_000)
        if not runs:
            continue
        dest_experiment_id = syncer.dest_experiment(source_experiment)
        syncer.index(dest_experiment_id)
        work.extend((run, dest_experiment_id) for run in _parents_first(runs))
    if progress and work:
        import click

        with click.progressbar(work, label="autolog sync", file=sys.stderr,
                               item_show_func=lambda item: item[0].info.run_name if item
                               else None) as bar:
            for run, dest_experiment_id in bar:
                syncer.sync_run(run, dest_experiment_id)
    else:
        for run, dest_experiment_id in work:
            syncer.sync_run(run, dest_experiment_id)
    syncer.sync_logged_models(experiments)
    syncer.sync_registry()
    return report


def _by_name(versions: list[ModelVersion]) -> dict[str, list[ModelVersion]]:
    grouped: dict[str, list[ModelVersion]] = {}
    for version in versions:
        grouped.setdefault(version.name, []).append(version)
    return grouped
