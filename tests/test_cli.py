"""The `autolog` command line: listing commands through click's CliRunner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import autolog
from autolog.cli import cli, format_duration, format_table

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tracking_uri, tmp_path):
    """Two experiments with three runs between them."""
    with autolog.start_run(run_name="first", tags={"team": "ds"}) as first:
        autolog.log_params({"C": 1.0, "penalty": "l2"})
        for step in range(3):
            autolog.log_metric("loss", 1 / (step + 1), step=step)
        autolog.log_metric("acc", 0.9)
        autolog.log_text("some notes", "notes.txt")
        autolog.log_dict({"lr": 0.1}, "config/params.json")
    autolog.set_experiment("exp-a")
    with autolog.start_run(run_name="second") as second:
        autolog.log_metric("acc", 0.7)
    failed = autolog.start_run(run_name="third-" + "x" * 80)
    autolog.end_run("FAILED")
    autolog.flush()
    return {
        "uri": tracking_uri,
        "first": first.info.run_id,
        "second": second.info.run_id,
        "failed": failed.info.run_id,
    }


def invoke(store, *args):
    result = CliRunner().invoke(cli, ["--tracking-uri", store["uri"], *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_experiments(store):
    result = invoke(store, "experiments")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["id", "name"]
    assert any(" Default " in f" {line} " for line in lines[2:])
    assert any("exp-a" in line for line in lines[2:])


def test_runs_list_all_and_by_experiment(store):
    result = invoke(store, "runs", "list")
    assert result.exit_code == 0, result.output
    out = result.output
    for key in ("first", "second", "failed"):
        assert store[key] in out
    assert "FINISHED" in out and "FAILED" in out
    header = out.splitlines()[0]
    for column in ("run id", "name", "experiment", "status", "start", "duration", "acc"):
        assert column in header
    assert "third-xxx" in out and "…" in out  # a long name is cut, not wrapped
    assert "0.9" in out and "0.7" in out

    result = invoke(store, "runs", "list", "--experiment", "exp-a")
    assert result.exit_code == 0, result.output
    assert store["second"] in result.output and store["first"] not in result.output

    result = invoke(store, "runs", "list", "--filter", "metrics.acc > 0.8")
    assert store["first"] in result.output and store["second"] not in result.output

    result = invoke(store, "runs", "list", "--max", "1")
    assert len(result.output.splitlines()) == 3  # header, rule, one run


def test_runs_list_unknown_experiment(store):
    result = invoke(store, "runs", "list", "--experiment", "nope")
    assert result.exit_code == 1
    assert result.output == "Error: experiment 'nope' not found\n"


def test_runs_show(store):
    result = invoke(store, "runs", "show", store["first"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert store["first"] in out and "FINISHED" in out and "Default" in out
    for section in ("Params", "Metrics (latest)", "Tags", "Artifacts"):
        assert section in out
    assert "penalty" in out and "l2" in out
    assert "loss" in out and "0.333333" in out
    assert "team" in out
    assert "notes.txt" in out and "config/params.json" in out


def test_missing_run_is_a_one_line_error(store):
    for args in (("runs", "show", "abc"), ("runs", "metric", "abc", "loss")):
        result = invoke(store, *args)
        assert result.exit_code == 1
        assert result.output == "Error: run 'abc' not found\n"


def test_runs_metric(store):
    result = invoke(store, "runs", "metric", store["first"], "loss")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["step", "value", "timestamp"]
    assert [line.split()[:2] for line in lines[2:]] == [["0", "1"], ["1", "0.5"], ["2", "0.333333"]]
    result = invoke(store, "runs", "metric", store["first"], "nope")
    assert result.exit_code == 1
    assert "metric 'nope' not found" in result.output


def test_status(store):
    result = invoke(store, "status")
    assert result.exit_code == 0, result.output
    assert "tracking URI:" in result.output
    assert "integration" in result.output


def test_version_and_lazy_models_group():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and autolog.__version__ in result.output
    result = CliRunner().invoke(cli, ["--help"])
    assert "models" in result.output


def test_run_usage_errors():
    runner = CliRunner()
    result = runner.invoke(cli, ["run"])
    assert result.exit_code == 2 and "give a script" in result.output
    result = runner.invoke(cli, ["run", "--"])
    assert result.exit_code == 2 and "after '--'" in result.output


def test_format_table_truncates_and_fits():
    table = format_table(["a", "long"], [["x" * 100, 1.5], ["y", None]], max_width=200)
    lines = table.splitlines()
    assert lines[0].startswith("a ")
    assert "…" in lines[2] and len(lines[2]) <= 48 + 2 + 4
    narrow = format_table(["k", "v"], [["k" * 30, "v" * 30]], max_width=30)
    assert all(len(line) <= 30 for line in narrow.splitlines())
    assert format_duration(1000, 2500) == "1.5s"
    assert format_duration(0, 3_725_000) == ""
    assert format_duration(1, 3_725_001) == "1h02m"
    assert format_duration(1000, None) == "running"


def test_help_is_fast_and_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from autolog.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('numpy', 'sqlite3', 'psutil', 'autolog.launcher', "
        "'autolog.backends.sqlite', 'wrapt') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Commands:" in result.stdout
    assert "HEAVY []" in result.stdout
