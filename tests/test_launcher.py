"""`autolog run`: in-process scripts and modules, and the subprocess bootstrap.

Each case runs ``python -m autolog run ...`` as a real subprocess in ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import autolog
from autolog import launcher

REPO = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path, pythonpath: list[str] | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("AUTOLOG_"):
            del env[name]
    # autolog importable from tmp_path even when not installed (a source checkout)
    env["PYTHONPATH"] = os.pathsep.join([*(pythonpath or []), str(REPO)])
    env["AUTOLOG_TRACKING_URI"] = str(tmp_path / "runs")
    env["AUTOLOG_STRICT"] = "1"
    env.update(extra)
    return env


def autolog_run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout=60, quiet=True
):
    """``python -m autolog run [--quiet] ARGS`` (quiet: stderr is the script's alone)."""
    return subprocess.run(
        [sys.executable, "-m", "autolog", "run", *(["--quiet"] if quiet else []), *args],
        cwd=tmp_path,
        env=env or _env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def isolated_registry(monkeypatch):
    """For run_script in this process: the integrations it registers go with the test."""
    from autolog.core.patching import integration, registry

    monkeypatch.setattr(registry, "_specs", dict(registry._specs))
    monkeypatch.setattr(integration, "_instances", dict(integration._instances))


def write(path: Path, *sources: str) -> Path:
    """Each part dedented on its own, then joined."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(textwrap.dedent(s) for s in sources))
    return path


def runs_in(tmp_path: Path, experiment: str = "Default"):
    client = autolog.Client(tracking_uri=str(tmp_path / "runs"))
    exp = client.get_experiment_by_name(experiment)
    return [] if exp is None else client.search_runs([exp.experiment_id])


REPORT = """
    import json, os, sys
    import autolog
    run = autolog.active_run()
    report = {
        "argv": sys.argv, "name": __name__, "path0": sys.path[0],
        "run_id": run.info.run_id if run else None,
    }
    with open(os.path.join(os.environ.get("REPORT_DIR", "."), "report.json"), "w") as f:
        json.dump(report, f)
"""


def test_script_argv_name_path_and_finished_run(tmp_path):
    write(tmp_path / "sub" / "train.py", REPORT, "autolog.log_metric('loss', 0.5)\n")
    result = autolog_run(tmp_path, "sub/train.py", "a", "--b", "c", "--", "d")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["argv"] == ["sub/train.py", "a", "--b", "c", "--", "d"]
    assert report["name"] == "__main__"
    assert report["path0"] == os.path.realpath(tmp_path / "sub")
    [run] = runs_in(tmp_path)
    assert run.info.run_id == report["run_id"]
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "train"
    assert run.data.tags["autolog.launcher"] == "run"
    assert run.data.tags["autolog.entry_point"] == "sub/train.py"
    assert run.data.metrics["loss"] == 0.5


@pytest.mark.parametrize(
    ("tail", "code", "status"),
    [
        ("", 0, "FINISHED"),
        ("sys.exit(0)", 0, "FINISHED"),
        ("sys.exit(None)", 0, "FINISHED"),
        ("sys.exit(3)", 3, "FAILED"),
        ("sys.exit('bad input')", 1, "FAILED"),
    ],
)
def test_exit_codes(tmp_path, tail, code, status):
    write(tmp_path / "train.py", f"import sys\nprint('out')\n{tail}\n")
    result = autolog_run(tmp_path, "train.py")
    assert result.returncode == code, result.stderr
    assert result.stdout == "out\n"
    if "bad input" in tail:
        assert result.stderr.strip().endswith("bad input")
    [run] = runs_in(tmp_path)
    assert run.info.status == status


def test_run_ends_after_the_scripts_non_daemon_threads(tmp_path):
    write(
        tmp_path / "train.py",
        """
        import threading, time
        def work():
            time.sleep(0.3)
            open("done", "w").write(repr(time.time()))
        threading.Thread(target=work).start()
        """,
    )
    result = autolog_run(tmp_path, "train.py")
    assert result.returncode == 0, result.stderr
    [run] = runs_in(tmp_path)
    assert run.info.end_time >= float((tmp_path / "done").read_text()) * 1000 - 1


def test_uncaught_exception_traceback_without_launcher_frames(tmp_path):
    write(
        tmp_path / "train.py",
        """
        def fit():
            raise ValueError("boom")

        fit()
        """,
    )
    result = autolog_run(tmp_path, "train.py")
    assert result.returncode == 1
    err = result.stderr
    assert err.startswith("Traceback (most recent call last):"), err
    assert 'train.py", line 5, in <module>' in err
    assert "in fit" in err
    assert err.rstrip().endswith("ValueError: boom")
    assert "launcher.py" not in err and "runpy" not in err and "click" not in err
    [run] = runs_in(tmp_path)
    assert run.info.status == "FAILED"


def test_syntax_error_in_the_script(tmp_path):
    write(tmp_path / "train.py", "x = (\n")
    result = autolog_run(tmp_path, "train.py")
    assert result.returncode == 1
    assert "SyntaxError" in result.stderr and "Traceback" not in result.stderr
    [run] = runs_in(tmp_path)
    assert run.info.status == "FAILED"


def test_module_form(tmp_path):
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "train.py", REPORT)
    result = autolog_run(tmp_path, "--run-name", "r1", "-m", "pkg.train", "x", "--run-name", "y")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["argv"] == [str(tmp_path / "pkg" / "train.py"), "x", "--run-name", "y"]
    assert report["name"] == "__main__"
    assert report["path0"] == str(tmp_path)
    [run] = runs_in(tmp_path)
    assert run.info.run_name == "r1"
    assert run.data.tags["autolog.entry_point"] == "-m pkg.train"
    assert run.info.status == "FINISHED"


def test_experiment_tracking_uri_and_no_run_options(tmp_path):
    write(tmp_path / "train.py", REPORT)
    other = tmp_path / "elsewhere"
    result = autolog_run(
        tmp_path, "--experiment", "exp-a", "--tracking-uri", str(other), "train.py"
    )
    assert result.returncode == 0, result.stderr
    client = autolog.Client(tracking_uri=str(other))
    exp = client.get_experiment_by_name("exp-a")
    [run] = client.search_runs([exp.experiment_id])
    assert run.info.run_name == "train"
    assert runs_in(tmp_path) == []

    result = autolog_run(tmp_path, "--no-run", "train.py")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "report.json").read_text())["run_id"] is None
    assert runs_in(tmp_path) == []


def test_system_metrics_option_samples_into_the_wrapping_run(tmp_path):
    write(tmp_path / "train.py", "import time\ntime.sleep(0.4)\n")
    env = _env(tmp_path, AUTOLOG_SYSTEM_METRICS_SAMPLING_INTERVAL="0.05")
    result = autolog_run(tmp_path, "--system-metrics", "train.py", env=env)
    assert result.returncode == 0, result.stderr
    [run] = runs_in(tmp_path)
    assert "system/cpu_utilization_percentage" in run.data.metrics
    assert "system/process_memory_rss_megabytes" in run.data.metrics


def test_missing_script_or_module(tmp_path):
    result = autolog_run(tmp_path, "nope.py")
    assert result.returncode == 2
    assert "can't open file" in result.stderr and "Traceback" not in result.stderr
    result = autolog_run(tmp_path, "-m", "no_such_module_xyz")
    assert result.returncode == 1
    assert "No module named no_such_module_xyz" in result.stderr
    assert "Traceback" not in result.stderr
    assert runs_in(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_marks_the_run_killed(tmp_path):
    write(
        tmp_path / "train.py",
        """
        import time
        open("ready", "w").close()
        time.sleep(30)
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "autolog", "run", "train.py"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "ready").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    [run] = runs_in(tmp_path)
    assert run.info.status == "KILLED"


def test_keyboard_interrupt_marks_the_run_killed(tmp_path):
    write(tmp_path / "train.py", "raise KeyboardInterrupt\n")
    result = autolog_run(tmp_path, "train.py")
    assert result.returncode == 130
    assert "KeyboardInterrupt" in result.stderr
    [run] = runs_in(tmp_path)
    assert run.info.status == "KILLED"


# -- subprocess mode: `autolog run -- COMMAND` -----------------------------------------

CHILD = """
    import json, os, sys
    import autolog
    from autolog import launcher

    def report(tag):
        data = {
            "pid": os.getpid(),
            "marker": os.environ.get("AUTOLOG_BOOTSTRAPPED"),
            "bootstrapped": launcher.bootstrap_count(),
            "options": json.loads(os.environ.get("AUTOLOG_BOOTSTRAP_OPTIONS", "null")),
            "experiment": os.environ.get("AUTOLOG_EXPERIMENT_NAME"),
            "uri": os.environ.get("AUTOLOG_TRACKING_URI"),
            "status": [[s.name, s.state] for s in autolog.status()],
            "sitecustomize": getattr(sys.modules.get("sitecustomize"), "__file__", None),
            "user_site_ran": os.environ.get("USER_SITECUSTOMIZE_RAN"),
            "argv": sys.argv,
        }
        with open(f"report-{tag}.json", "w") as f:
            json.dump(data, f)
"""


def test_command_mode_bootstraps_child_and_grandchild_once(tmp_path):
    write(
        tmp_path / "child.py",
        CHILD,
        """
        # the bootstrap asked again, and sitecustomize run again: no second autolog()
        calls = []
        autolog.autolog = lambda **kw: calls.append(kw)
        assert launcher.bootstrap_from_env() is False
        import runpy
        runpy.run_path(os.path.join(launcher.BOOTSTRAP_DIR, "sitecustomize.py"),
                       run_name="sitecustomize")
        assert calls == [], calls
        report(sys.argv[1])
        if sys.argv[1] == "child":
            import subprocess
            assert subprocess.run([sys.executable, "child.py", "grandchild"]).returncode == 7
        sys.exit(7)
        """,
    )
    result = autolog_run(
        tmp_path, "--no-models", "--experiment", "exp-b", "--", sys.executable, "child.py", "child"
    )
    assert result.returncode == 7, result.stderr
    assert "autolog:" not in result.stderr
    child = json.loads((tmp_path / "report-child.json").read_text())
    grandchild = json.loads((tmp_path / "report-grandchild.json").read_text())
    for report in (child, grandchild):
        assert report["bootstrapped"] == 1
        assert report["marker"] == str(report["pid"])
        assert report["options"] == {"log_models": False}
        assert report["experiment"] == "exp-b"
        assert report["uri"] == str(tmp_path / "runs")
        # autolog() ran: every integration that exists is on or waits for its framework
        assert report["status"]
        states = {state for _, state in report["status"]} - {"skipped"}
        assert states <= {"enabled", "waiting"}, report["status"]
    assert child["pid"] != grandchild["pid"]
    assert child["argv"] == ["child.py", "child"]


def test_command_mode_keeps_a_user_sitecustomize(tmp_path):
    write(
        tmp_path / "usersite" / "sitecustomize.py",
        "import os\nos.environ['USER_SITECUSTOMIZE_RAN'] = str(os.getpid())\n",
    )
    write(tmp_path / "child.py", CHILD, "report('child')\n")
    env = _env(tmp_path, pythonpath=[str(tmp_path / "usersite")])
    result = autolog_run(tmp_path, "--", sys.executable, "child.py", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report-child.json").read_text())
    assert report["bootstrapped"] == 1
    assert report["user_site_ran"] == str(report["pid"])
    assert report["sitecustomize"] == str(tmp_path / "usersite" / "sitecustomize.py")


def test_nested_launchers_do_not_loop(tmp_path):
    write(tmp_path / "child.py", CHILD, "report('child')\n")
    result = autolog_run(
        tmp_path,
        "--",
        sys.executable,
        "-m",
        "autolog",
        "run",
        "--system-metrics",
        "--",
        sys.executable,
        "child.py",
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report-child.json").read_text())
    assert report["bootstrapped"] == 1
    assert report["options"] == {"log_system_metrics": True}


def test_command_mode_exit_status_and_missing_command(tmp_path):
    result = autolog_run(tmp_path, "--", sys.executable, "-c", "import sys; sys.exit(5)")
    assert result.returncode == 5, result.stderr
    result = autolog_run(tmp_path, "--", "no-such-command-xyz")
    assert result.returncode == 127
    assert "no-such-command-xyz" in result.stderr
    result = autolog_run(tmp_path, "--tracking-uri", "bogus+x://h", "--", sys.executable, "-V")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Unknown tracking URI scheme 'bogus+x'")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_broken_bootstrap_never_breaks_the_child(tmp_path):
    env = _env(tmp_path, pythonpath=[launcher.BOOTSTRAP_DIR], AUTOLOG_BOOTSTRAP_OPTIONS="{oops")
    result = subprocess.run(
        [sys.executable, "-c", "print('still here')"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout == "still here\n"
    assert result.stderr.startswith("autolog: could not enable autologging")
    assert len(result.stderr.splitlines()) == 1


def test_child_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    options = launcher.LaunchOptions(
        tracking_uri="rel/store", experiment="e", run_name="n", log_system_metrics=True
    )
    env = launcher.child_environment(
        options,
        {
            "PYTHONPATH": os.pathsep.join([launcher.BOOTSTRAP_DIR, "/x"]),
            "AUTOLOG_BOOTSTRAPPED": "1",
        },
    )
    assert env["PYTHONPATH"].split(os.pathsep) == [launcher.BOOTSTRAP_DIR, "/x"]
    assert env["AUTOLOG_TRACKING_URI"] == str(tmp_path / "rel" / "store")
    assert env["AUTOLOG_EXPERIMENT_NAME"] == "e"
    assert env["AUTOLOG_RUN_NAME"] == "n"
    assert json.loads(env["AUTOLOG_BOOTSTRAP_OPTIONS"]) == {"log_system_metrics": True}
    assert env["AUTOLOG_ENABLE_SYSTEM_METRICS"] == "true"
    assert "AUTOLOG_BOOTSTRAPPED" not in env
    env = launcher.child_environment(launcher.LaunchOptions(tracking_uri="memory:x"), {})
    assert env["AUTOLOG_TRACKING_URI"] == "memory:x"
    assert env["PYTHONPATH"] == launcher.BOOTSTRAP_DIR


def test_a_script_that_starts_its_own_run_gets_a_child_run(tmp_path):
    write(
        tmp_path / "own_run.py",
        """
        import autolog
        with autolog.start_run(run_name="mine") as run:
            autolog.log_metric("m", 1.0)
        """,
    )
    result = autolog_run(tmp_path, "own_run.py")
    assert result.returncode == 0, result.stderr
    runs = {r.info.run_name: r for r in runs_in(tmp_path)}
    assert set(runs) == {"own_run", "mine"}
    assert runs["mine"].data.tags["mlflow.parentRunId"] == runs["own_run"].info.run_id
    assert runs["mine"].data.metrics == {"m": 1.0}
