"""Shared fixtures. The suite runs with AUTOLOG_STRICT=1: an internal error fails a test."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("AUTOLOG_STRICT", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def tracking_uri(tmp_path, monkeypatch):
    """A fresh embedded store in tmp_path, current for the test; runs left open are ended."""
    import autolog
    from autolog.core.tracking import context

    uri = str(tmp_path / "autolog-runs")
    monkeypatch.setenv("AUTOLOG_TRACKING_URI", uri)
    autolog.set_tracking_uri(uri)
    yield uri
    while autolog.active_run() is not None:
        autolog.end_run()
    autolog.flush()
    autolog.set_tracking_uri(None)
    context._experiment_id = None


@pytest.fixture
def memory_uri(tmp_path):
    """A fresh in-process store (a distinct named memory store per test)."""
    import autolog
    from autolog.core.tracking import context

    uri = f"memory:{tmp_path.name}"
    autolog.set_tracking_uri(uri)
    yield uri
    while autolog.active_run() is not None:
        autolog.end_run()
    autolog.flush()
    autolog.set_tracking_uri(None)
    context._experiment_id = None


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` (sqlite store, served artifacts) for the whole session.

    Its logs are in ``<tmp>/server-<n>.log``. Spooled data goes to ``<tmp>/spool``.
    """
    pytest.importorskip("mlflow")
    from _mlflow_server import MlflowServer

    root = tmp_path_factory.mktemp("mlflow-server")
    os.environ["AUTOLOG_SPOOL_DIR"] = str(root / "spool")
    server = MlflowServer(str(root))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def lenient(monkeypatch):
    """Internal errors warn instead of raising (AUTOLOG_STRICT unset), warnings counted
    afresh: for the tests of the lenient mode."""
    from autolog.core import reporting

    monkeypatch.delenv("AUTOLOG_STRICT", raising=False)
    reporting._warned_causes.clear()
    yield
    reporting._warned_causes.clear()
