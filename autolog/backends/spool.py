"""The local spool: where the MLflow backend keeps what it could not send.

A spool is an ordinary embedded store (`SQLiteBackend`), one per MLflow server, under
``$AUTOLOG_SPOOL_DIR/<host_port>/`` or ``~/.autolog/spool/<host_port>/``. `autolog sync
--from <spool dir> --to mlflow+http://host:port` sends its contents later.

Two kinds of runs live in a spool:

- a run that could not even be created on the server (the server was down at
  `start_run`): a complete run under autolog's own run id, synced like any other run;
- the unsent part of a run that exists on the server: it keeps the server's run id and
  carries the tag ``autolog.spool.mlflow_run_id``, so `autolog.sync` appends its metric
  values, params, tags and final status to that very run instead of creating a new one.
"""

from __future__ import annotations

import os
import re
import threading
from urllib.parse import urlparse

from autolog.core.entities import Metric, Param, RunInfo, RunTag

ENV_SPOOL_DIR = "AUTOLOG_SPOOL_DIR"
TAG_SPOOLED_FOR = "autolog.spool.mlflow_run_id"  # the run on the server this data belongs to


def spool_root() -> str:
    return os.path.abspath(
        os.path.expanduser(os.environ.get(ENV_SPOOL_DIR) or os.path.join("~", ".autolog", "spool"))
    )


def spool_dir_for(mlflow_uri: str) -> str:
    """``<spool root>/<host_port>`` for a server URI (a readable, filesystem-safe name)."""
    parsed = urlparse(mlflow_uri)
    name = parsed.netloc or (parsed.scheme + "_" + parsed.path)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name.replace(":", "_")).strip("_") or "mlflow"
    return os.path.join(spool_root(), name)


class Spool:
    """A lazily opened `SQLiteBackend` plus the bookkeeping to copy runs into it."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._store = None
        self._lock = threading.RLock()
        self.values_written = 0

    @property
    def store(self):
        with self._lock:
            if self._store is None:
                from autolog.backends.sqlite import SQLiteBackend

                self._store = SQLiteBackend(self.directory)
            return self._store

    def experiment_id(self, name: str) -> str:
        from autolog.core.errors import ResourceAlreadyExistsError

        with self._lock:
            found = self.store.get_experiment_by_name(name)
            if found is not None:
                return found.experiment_id
            try:
                return self.store.create_experiment(name)
            except ResourceAlreadyExistsError:
                return self.store.get_experiment_by_name(name).experiment_id

    def ensure_run(self, info: RunInfo, experiment_name: str, tags: dict[str, str],
                   *, partial: bool) -> None:
        """Create ``info.run_id`` in the spool unless it is there already."""
        from autolog.core.errors import ResourceNotFoundError

        with self._lock:
            try:
                self.store.get_run(info.run_id)
                return
            except ResourceNotFoundError:
                pass
            all_tags = dict(tags)
            if partial:
                all_tags[TAG_SPOOLED_FOR] = info.run_id
            self.store.create_run(self.experiment_id(experiment_name), info.run_name,
                                  info.start_time, all_tags, run_id=info.run_id)

    def log_batch(self, run_id: str, metrics: list[Metric], params: list[Param],
                  tags: list[RunTag]) -> None:
        with self._lock:
            # A param spooled twice (retried batch) with the same value is fine; with
            # another value the store refuses it, as the server would have.
            self.store.log_batch(run_id, metrics=metrics, params=params, tags=tags)
            self.values_written += len(metrics) + len(params) + len(tags)

    def set_status(self, run_id: str, status: str, end_time: int | None) -> None:
        with self._lock:
            self.store.update_run_info(run_id, status, end_time)
            self.values_written += 1
