"""`autolog run` exits exactly as ``python script.py`` does, and then says where the run went.

Each script runs twice as a real process, bare (``python script.py``) and under ``python -m
autolog run``; exit status and stdout must match. Every run has a timeout, so a launcher
that hangs at exit (it once did after any joblib process pool) fails fast.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_launcher import _env, autolog_run, isolated_registry, runs_in, write  # noqa: F401

import autolog
from autolog import launcher

TIMEOUT = 60  # generous for a loaded machine; each case takes about a second alone


def bare_python(tmp_path: Path, script: str):
    return subprocess.run(
        [sys.executable, script], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
        text=True, timeout=TIMEOUT,
    )


def same_as_python(tmp_path: Path, script: str, *options: str):
    """Run ``script`` bare and under ``autolog run``; both exit alike; the latter's result."""
    bare = bare_python(tmp_path, script)
    launched = autolog_run(tmp_path, *options, script, timeout=TIMEOUT)
    assert launched.returncode == bare.returncode, (bare.stderr, launched.stderr)
    assert launched.stdout == bare.stdout, launched.stderr
    return launched


def test_joblib_process_pool_exits_at_once(tmp_path):
    pytest.importorskip("joblib")
    write(
        tmp_path / "train.py",
        """
        from joblib import Parallel, delayed
        print(sum(Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(4))))
        """,
    )
    result = same_as_python(tmp_path, "train.py")
    assert result.stdout == "6\n"
    [run] = runs_in(tmp_path)
    assert run.info.status == "FINISHED"


@pytest.mark.parametrize("executor", ["ProcessPoolExecutor", "ThreadPoolExecutor"])
def test_executor_left_without_shutdown(tmp_path, executor):
    write(
        tmp_path / "train.py",
        f"""
        import time
        from concurrent.futures import {executor}

        def slow_square(x):
            time.sleep(0.2)
            return x * x

        if __name__ == "__main__":
            pool = {executor}(max_workers=2)
            futures = [pool.submit(slow_square, i) for i in range(4)]
            print(futures[1].result())
            # no shutdown: the interpreter's exit hook waits for the queued work
        """,
    )
    result = same_as_python(tmp_path, "train.py")
    assert result.stdout == "1\n"
    [run] = runs_in(tmp_path)
    assert run.info.status == "FINISHED"


def test_a_thread_still_logging_when_the_script_ends(tmp_path):
    write(
        tmp_path / "train.py",
        """
        import threading, time
        import autolog

        run_id = autolog.active_run().info.run_id
        client = autolog.Client()

        def keep_logging():
            for step in range(5):
                time.sleep(0.1)
                client.log_metric(run_id, "late", float(step), step=step)
            open("done", "w").write(repr(time.time()))

        threading.Thread(target=keep_logging).start()
        print("main done")
        """,
    )
    result = autolog_run(tmp_path, "train.py", timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "main done\n"
    [run] = runs_in(tmp_path)
    assert run.info.status == "FINISHED"
    history = autolog.Client(tracking_uri=str(tmp_path / "runs")).get_metric_history(
        run.info.run_id, "late")
    assert [m.step for m in history] == [0, 1, 2, 3, 4]
    assert run.info.end_time >= float((tmp_path / "done").read_text()) * 1000 - 1


ORDER = """
    import atexit, threading, time
    import autolog

    def note(what):
        with open("order.txt", "a") as f:
            f.write(what + "\\n")

    def worker():
        time.sleep(0.3)
        note("thread")

    threading.Thread(target=worker).start()
    threading._register_atexit(note, "threading hook")
    atexit.register(note, "atexit 1")
    atexit.register(note, "atexit 2")
    run = autolog.active_run()
    if run is not None:  # under autolog run: the run is still open in the script's handler
        atexit.register(lambda: autolog.log_metric("at_exit", 1.0))
    note("main")
"""


@pytest.mark.parametrize(("tail", "code"), [("", 0), ("raise SystemExit(3)", 3)])
def test_exit_order_is_the_interpreters(tmp_path, tail, code):
    write(tmp_path / "train.py", ORDER, tail + "\n")
    bare = bare_python(tmp_path, "train.py")
    assert bare.returncode == code
    expected = (tmp_path / "order.txt").read_text()
    assert expected == "main\nthreading hook\nthread\natexit 2\natexit 1\n"
    (tmp_path / "order.txt").unlink()
    result = autolog_run(tmp_path, "train.py", timeout=TIMEOUT)
    assert result.returncode == code, result.stderr
    assert (tmp_path / "order.txt").read_text() == expected
    [run] = runs_in(tmp_path)
    assert run.info.status == ("FINISHED" if code == 0 else "FAILED")
    assert run.data.metrics["at_exit"] == 1.0  # the script's atexit handler ran first


def test_an_exception_with_a_thread_pool_open(tmp_path):
    write(
        tmp_path / "train.py",
        """
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(2)
        pool.submit(print, "from the pool").result()
        raise ValueError("boom")
        """,
    )
    result = same_as_python(tmp_path, "train.py")
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith("ValueError: boom")
    [run] = runs_in(tmp_path)
    assert run.info.status == "FAILED"


WAITS_FOR_A_THREAD = """
    import threading, time

    def work():
        time.sleep(60)

    threading.Thread(target=work).start()
    open("ready", "w").close()
    print("main done", flush=True)
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_while_waiting_for_a_thread(tmp_path, signum, code):
    write(tmp_path / "train.py", WAITS_FOR_A_THREAD)
    proc = subprocess.Popen(
        [sys.executable, "-m", "autolog", "run", "train.py"],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + TIMEOUT
    while not (tmp_path / "ready").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # the script's code has returned: the launcher waits for the thread
    started = time.monotonic()
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert time.monotonic() - started < 30  # it did not wait for the 60 s thread
    assert proc.returncode == code, err
    assert out == "main done\n"
    [run] = runs_in(tmp_path)
    assert run.info.status == "KILLED"
    assert f"runs show {run.info.run_id}" in err.splitlines()[-1]


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_in_the_scripts_atexit_handler(tmp_path):
    write(
        tmp_path / "train.py",
        """
        import atexit, time
        def slow_cleanup():
            open("ready", "w").close()
            time.sleep(60)
        atexit.register(slow_cleanup)
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "autolog", "run", "--quiet", "train.py"],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + TIMEOUT
    while not (tmp_path / "ready").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 143, err
    [run] = runs_in(tmp_path)
    assert run.info.status == "KILLED"


@pytest.mark.usefixtures("isolated_registry")
def test_in_process_callers_get_the_status_and_an_ended_run(tmp_path, monkeypatch):
    """run_script without owns_process: the caller's interpreter is left alone."""
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path / "train.py",
        """
        import threading
        from concurrent.futures import ThreadPoolExecutor
        ThreadPoolExecutor(1).submit(print, "pooled").result()
        threading.Thread(target=print, args=("threaded",)).start()
        raise SystemExit(4)
        """,
    )
    uri = str(tmp_path / "runs")
    options = launcher.LaunchOptions(tracking_uri=uri, quiet=True)
    try:
        code = launcher.run_script("train.py", [], options)
    finally:
        autolog.autolog(disable=True)
        autolog.set_tracking_uri(None)
    assert code == 4
    [run] = runs_in(tmp_path)
    assert run.info.status == "FAILED"
    from concurrent.futures import ThreadPoolExecutor

    assert ThreadPoolExecutor(1).submit(abs, -2).result() == 2  # not shut down here


# -- the closing line ----------------------------------------------------------------------


def test_closing_line_names_the_run_and_how_to_show_it(tmp_path):
    write(tmp_path / "train.py", "print('hi')\n")
    env = _env(tmp_path)
    del env["AUTOLOG_TRACKING_URI"]  # the default store, ./autolog-runs
    result = autolog_run(tmp_path, "train.py", env=env, quiet=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\n"
    client = autolog.Client(tracking_uri=str(tmp_path / "autolog-runs"))
    [run] = client.search_runs([client.get_experiment_by_name("Default").experiment_id])
    run_id = run.info.run_id
    assert result.stderr == (f"autolog: run {run_id} FINISHED in {tmp_path / 'autolog-runs'}; "
                             f"see: autolog runs show {run_id}\n")
    hint = result.stderr.split("see: ")[1].split()
    shown = subprocess.run([sys.executable, "-m", *hint], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert shown.returncode == 0 and run_id in shown.stdout, shown.stderr


def test_closing_line_names_another_store_in_the_hint(tmp_path):
    write(tmp_path / "train.py", "raise SystemExit(2)\n")
    store = tmp_path / "my store"
    env = _env(tmp_path)
    del env["AUTOLOG_TRACKING_URI"]
    result = autolog_run(tmp_path, "--tracking-uri", str(store), "train.py", env=env,
                         quiet=False)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert " FAILED in " in line
    hint = shlex.split(line.split("see: ")[1])
    assert hint[:3] == ["autolog", "--tracking-uri", str(store)]
    shown = subprocess.run([sys.executable, "-m", *hint], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert shown.returncode == 0 and "FAILED" in shown.stdout, shown.stderr


def test_quiet_and_command_mode_print_no_closing_line(tmp_path):
    write(tmp_path / "train.py", "print('hi')\n")
    result = autolog_run(tmp_path, "--quiet", "train.py", quiet=False)
    assert result.returncode == 0 and result.stderr == ""
    result = autolog_run(tmp_path, "--", sys.executable, "train.py", quiet=False)
    assert result.returncode == 0 and result.stderr == ""
    result = autolog_run(tmp_path, "--no-run", "train.py", quiet=False)
    assert result.stderr.startswith("autolog: runs in ")
    assert result.stderr.rstrip().endswith("runs list")


def test_a_failing_threading_exit_hook_is_reported_once_as_by_python(tmp_path):
    write(
        tmp_path / "train.py",
        """
        import threading
        def failing_hook():
            raise RuntimeError("hook failed")
        threading._register_atexit(failing_hook)
        """,
    )
    bare = bare_python(tmp_path, "train.py")
    result = same_as_python(tmp_path, "train.py")
    assert bare.stderr.count("RuntimeError: hook failed") == 1
    assert result.stderr.count("RuntimeError: hook failed") == 1, result.stderr
    [run] = runs_in(tmp_path)
    assert run.info.status == "FINISHED"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_a_forked_child_leaving_through_sys_exit_ends_nothing(tmp_path):
    write(
        tmp_path / "train.py",
        """
        import os, sys
        pid = os.fork()
        if pid == 0:
            sys.exit(0)
        os.waitpid(pid, 0)
        print("parent")
        """,
    )
    result = autolog_run(tmp_path, "train.py", quiet=False, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    [line] = result.stderr.splitlines()  # the parent's closing line only
    [run] = runs_in(tmp_path)
    assert run.info.status == "FINISHED" and run.info.run_id in line
