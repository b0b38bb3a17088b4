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


# -- read commands never create a store (issue 15, defect 10) ----------------------------

READ_COMMANDS = [
    ("experiments",),
    ("runs", "list"),
    ("runs", "show", "abc"),
    ("runs", "metric", "abc", "loss"),
    ("models", "list"),
    ("models", "show", "some-model"),
]


def _listing(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


@pytest.fixture
def empty_folder(tmp_path, monkeypatch):
    """The working directory is an empty folder; no tracking URI is set anywhere."""
    from autolog.core.tracking import context

    monkeypatch.delenv("AUTOLOG_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    autolog.set_tracking_uri(None)
    yield tmp_path
    autolog.set_tracking_uri(None)
    for relative in ("autolog-rusn", "typo", "sqlite:///nothere.db"):  # resolved in tmp_path
        context.remove_store(relative)


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_read_command_in_an_empty_folder_says_no_store_and_creates_nothing(empty_folder, command):
    result = CliRunner().invoke(cli, list(command))
    assert result.exit_code == 1, result.output
    default = empty_folder / "autolog-runs"
    assert result.output.startswith(f"Error: no store at {default} ")
    assert f"autolog looked for {default / 'runs.db'}" in result.output
    assert "the default store" in result.output
    assert "--tracking-uri" in result.output and "AUTOLOG_TRACKING_URI" in result.output
    assert "Traceback" not in result.output
    assert _listing(empty_folder) == []


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("given_by", ["option", "environment"])
def test_read_command_with_a_mistyped_store_says_no_store_and_creates_nothing(
    empty_folder, monkeypatch, command, given_by
):
    (empty_folder / "autolog-runs").mkdir()  # the right store's folder is elsewhere
    before = _listing(empty_folder)
    if given_by == "option":
        args = ["--tracking-uri", "autolog-rusn", *command]
    else:
        monkeypatch.setenv("AUTOLOG_TRACKING_URI", "autolog-rusn")
        args = list(command)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: no store at {empty_folder / 'autolog-rusn'} ")
    source = "--tracking-uri" if given_by == "option" else "AUTOLOG_TRACKING_URI"
    assert f"The store came from {source} 'autolog-rusn'" in result.output
    assert _listing(empty_folder) == before


def test_models_group_option_names_itself_in_the_hint(empty_folder):
    result = CliRunner().invoke(cli, ["models", "--tracking-uri", "typo", "list"])
    assert result.exit_code == 1
    assert "The store came from models --tracking-uri 'typo'" in result.output
    assert _listing(empty_folder) == []


def test_sqlite_uri_to_a_missing_file_creates_nothing(empty_folder):
    result = CliRunner().invoke(cli, ["--tracking-uri", "sqlite:///nothere.db", "runs", "list"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: no store at {empty_folder / 'nothere.db'}. ")
    assert _listing(empty_folder) == []


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_read_command_on_a_file_that_is_not_a_database(empty_folder, command):
    store = empty_folder / "store"
    store.mkdir()
    garbage = b"these bytes are no SQLite database, whatever their name says\n" * 4
    (store / "runs.db").write_bytes(garbage)
    before = _listing(empty_folder)
    result = CliRunner().invoke(cli, ["--tracking-uri", str(store), *command])
    assert result.exit_code == 1, result.output
    assert result.output == (
        f"Error: cannot use the tracking store at {store}: {store / 'runs.db'} is not a "
        "SQLite database\n"
    )
    assert _listing(empty_folder) == before  # no artifacts/ folder, no -wal or -shm file
    assert (store / "runs.db").read_bytes() == garbage


def test_sync_source_is_never_created(empty_folder):
    from autolog.cli_sync import sync_command

    result = CliRunner().invoke(
        sync_command, ["--from", "autolog-rusn", "--to", str(empty_folder / "dest")]
    )
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: no store at {empty_folder / 'autolog-rusn'} ")
    assert "--from 'autolog-rusn'" in result.output
    assert _listing(empty_folder) == []


def test_status_says_the_store_does_not_exist_yet_and_creates_nothing(empty_folder):
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 0, result.output
    assert f"tracking URI: {empty_folder / 'autolog-runs'}  (no store there yet" in result.output
    assert _listing(empty_folder) == []


def _autolog_process(args, cwd, timeout=60, **env):
    environment = {k: v for k, v in os.environ.items() if k != "AUTOLOG_TRACKING_URI"}
    environment.update(PYTHONPATH=str(REPO), **env)
    return subprocess.run([sys.executable, "-m", "autolog", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def test_ui_refuses_to_start_on_a_missing_store(tmp_path):
    result = _autolog_process(["ui", "--port", "0"], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Error: no store at {tmp_path / 'autolog-runs'} " in result.stderr
    assert "autolog ui:" not in result.stdout  # it never served
    result = _autolog_process(["ui", "--port", "0", "--tracking-uri", "typo"], tmp_path)
    assert result.returncode == 1
    assert "The store came from ui --tracking-uri 'typo'" in result.stderr
    assert _listing(tmp_path) == []


WRITER = """
import sys, time
import autolog
with autolog.start_run(run_name="busy") as run:
    print(run.info.run_id, flush=True)
    step = 0
    while True:
        autolog.log_metric("loss", 1.0 / (step + 1), step=step)
        step += 1
        if step % 50 == 0:
            autolog.flush()
            print("flushed", step, flush=True)
        time.sleep(0.001)
"""


def test_read_commands_work_while_another_process_writes(tmp_path):
    uri = str(tmp_path / "store")
    environment = dict(os.environ, PYTHONPATH=str(REPO), AUTOLOG_TRACKING_URI=uri)
    writer = subprocess.Popen([sys.executable, "-c", WRITER], env=environment,
                              stdout=subprocess.PIPE, text=True)
    try:
        run_id = writer.stdout.readline().strip()
        assert writer.stdout.readline().startswith("flushed")
        runner = CliRunner()
        for _ in range(5):  # WAL: each read sees the latest commit, none waits for the writer
            listed = runner.invoke(cli, ["--tracking-uri", uri, "runs", "list"])
            assert listed.exit_code == 0, listed.output
            assert run_id in listed.output and "RUNNING" in listed.output
            history = runner.invoke(cli, ["--tracking-uri", uri, "runs", "metric", run_id, "loss"])
            assert history.exit_code == 0, history.output
        assert writer.poll() is None  # the writer was never stopped by a reader
    finally:
        writer.kill()
        writer.wait(30)
