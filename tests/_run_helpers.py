"""Reading back what a test's training recorded (shared by the framework test files)."""

from __future__ import annotations

import autolog
from autolog.core.tracking import context


def only_run():
    runs = autolog.search_runs()
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return runs[0]


def end_runs():
    while autolog.active_run() is not None:
        autolog.end_run()


def artifacts(run_id, path=None):
    return sorted(f.path for f in autolog.Client().list_artifacts(run_id, path))


def history(run_id, key):
    return [(m.step, m.value) for m in autolog.get_metric_history(run_id, key)]


def read_artifact(run_id, path):
    with open(context.get_store().artifact_local_path(run_id, path), encoding="utf-8") as f:
        return f.read()
