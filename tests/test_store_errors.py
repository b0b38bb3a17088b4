"""A tracking store that cannot be used: one warning per store and reason, naming both,
whichever path reached it; the script's output and exit status unchanged (issue 15,
defect 9). Scripts run as real processes, as a user runs them."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import autolog
from autolog.backends import sqlite as sqlite_module
from autolog.core import patching, reporting
from autolog.core.errors import AutologWarning, StoreUnavailableError
from autolog.core.tracking import context, logger

REPO = Path(__file__).resolve().parent.parent

SCRIPT = """\
import autolog
autolog.autolog()
from sklearn.linear_model import LogisticRegression

X = [[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]] * 5
y = [0, 1, 0, 1] * 5
model = LogisticRegression().fit(X, y)
LogisticRegression(C=0.5).fit(X, y)  # a second fit: the same cause, no second warning
print("predictions", list(model.predict(X[:4])))
raise SystemExit(3)
"""


def _run(tmp_path: Path, store: Path, *, launcher: bool, strict: bool = False):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "AUTOLOG_STRICT"}
    env.update(PYTHONPATH=str(REPO), AUTOLOG_TRACKING_URI=str(store))
    if strict:
        env["AUTOLOG_STRICT"] = "1"
    command = [sys.executable, "-m", "autolog", "run", str(script)] if launcher else [
        sys.executable, str(script)]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180)


def _under_a_file(tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "f").write_text("")
    return tmp_path / "f" / "runs", f"{tmp_path / 'f'} is not a directory"


def _not_a_database(tmp_path: Path) -> tuple[Path, str]:
    store = tmp_path / "store"
    store.mkdir()
    (store / "runs.db").write_bytes(b"a text file that happens to be called runs.db\n" * 3)
    return store, f"{store / 'runs.db'} is not a SQLite database"


@pytest.mark.parametrize("launcher", [False, True], ids=["python", "autolog run"])
@pytest.mark.parametrize("broken", [_under_a_file, _not_a_database])
def test_one_line_naming_store_and_reason_and_the_script_is_unchanged(tmp_path, launcher,
                                                                      broken):
    good = _run(tmp_path, tmp_path / "good-store", launcher=launcher)
    assert good.returncode == 3, good.stderr
    store, reason = broken(tmp_path)
    contents = sorted(str(p) for p in tmp_path.rglob("*"))
    result = _run(tmp_path, store, launcher=launcher)
    assert result.returncode == 3, result.stderr
    assert result.stdout == good.stdout
    warning_lines = [line for line in result.stderr.splitlines() if "AutologWarning" in line]
    expected = (f"AutologWarning: autolog: cannot use the tracking store at {store}: {reason}; "
                "training goes on without logging.")
    assert len(warning_lines) == 1, result.stderr
    assert warning_lines[0].endswith(expected), result.stderr
    if not launcher:
        assert warning_lines[0].startswith(f"{tmp_path / 'train.py'}:7: ")  # the user's fit
    assert "autolog: runs in" not in result.stderr  # no closing line pointing at it
    assert "Traceback" not in result.stderr
    assert sorted(str(p) for p in tmp_path.rglob("*")) == contents  # nothing made, not even
    # an artifacts/ folder next to the broken database


def test_strict_raises_the_clear_error(tmp_path):
    store, reason = _under_a_file(tmp_path)
    result = _run(tmp_path, store, launcher=False, strict=True)
    assert result.returncode == 1
    assert result.stderr.rstrip().splitlines()[-1] == (
        f"autolog.core.errors.StoreUnavailableError: cannot use the tracking store at "
        f"{store}: {reason}"
    )


def test_the_traceback_is_at_debug(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("AUTOLOG_STRICT", raising=False)
    reporting._warned_causes.clear()
    exc = StoreUnavailableError("/somewhere", "it is broken")
    try:
        raise exc
    except StoreUnavailableError:
        pass
    with caplog.at_level("DEBUG", logger="autolog"), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for cause in ("sklearn: TrainingSession.open", "deferred plot", "flushing at exit"):
            patching.report_internal_error(exc, cause)
    reporting._warned_causes.clear()
    assert [str(x.message) for x in w] == [
        "autolog: cannot use the tracking store at /somewhere: it is broken; training goes "
        "on without logging."
    ]
    assert all(record.levelname == "DEBUG" for record in caplog.records)
    assert caplog.records[0].exc_info is not None


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.delenv("AUTOLOG_STRICT", raising=False)
    reporting._warned_causes.clear()
    yield
    reporting._warned_causes.clear()


@pytest.fixture
def locked_store(tracking_uri, monkeypatch):
    """The current store, with its write lock held by another connection (as another
    process would); SQLite's lock wait is cut to 0.2 s."""
    monkeypatch.setattr(sqlite_module, "BUSY_TIMEOUT_S", 0.2)
    context.get_store().create_experiment("made before the lock")
    holder = sqlite3.connect(os.path.join(tracking_uri, "runs.db"), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield tracking_uri
    holder.close()


def test_a_locked_store_during_autologged_fits(locked_store, lenient):
    from sklearn.linear_model import LogisticRegression

    X, y = [[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]] * 5, [0, 1, 0, 1] * 5
    autolog.sklearn.autolog()
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            first = LogisticRegression().fit(X, y)
            LogisticRegression().fit(X, y)
    finally:
        autolog.autolog(disable=True)
    assert list(first.predict(X[:4])) == [0, 1, 0, 1]
    messages = [str(x.message) for x in w if issubclass(x.category, AutologWarning)]
    assert messages == [
        f"autolog: cannot use the tracking store at {locked_store}: "
        f"{os.path.join(locked_store, 'runs.db')} is locked by another process (waited 0.2 s); "
        "training goes on without logging."
    ]


def test_a_store_locked_mid_run_is_reported_once_at_the_exit_flush(tracking_uri, lenient,
                                                                   monkeypatch):
    monkeypatch.setattr(sqlite_module, "BUSY_TIMEOUT_S", 0.2)
    run = autolog.start_run()
    holder = sqlite3.connect(os.path.join(tracking_uri, "runs.db"), isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        autolog.log_metric("loss", 0.5)
        with pytest.raises(StoreUnavailableError, match="is locked by another process"):
            context.get_logger().flush()  # its own error, not a wrapped one
        autolog.log_metric("loss", 0.4)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            logger._flush_all_at_exit()
            logger._flush_all_at_exit()  # another path to the same cause: no second line
        assert [str(x.message) for x in w] == [
            f"autolog: cannot use the tracking store at {tracking_uri}: "
            f"{os.path.join(tracking_uri, 'runs.db')} is locked by another process "
            "(waited 0.2 s); training goes on without logging."
        ]
    finally:
        holder.close()
    autolog.end_run(run_id=run.info.run_id)


def test_artifacts_that_cannot_be_written_are_one_cause_for_every_path(tmp_path):
    """The model, the deferred plots and the source artifacts all meet the same blocked
    artifact directory: one line, and the run itself (params, metrics) is still logged."""
    store = tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if k != "AUTOLOG_STRICT"}
    env.update(PYTHONPATH=str(REPO), AUTOLOG_TRACKING_URI=str(store))
    subprocess.run([sys.executable, "-c", "import autolog\nwith autolog.start_run(): pass"],
                   env=env, check=True, timeout=60)
    blocked = store / "artifacts" / "0"
    if blocked.exists():
        shutil.rmtree(blocked)
    blocked.write_text("")  # where the runs' artifact folders should go
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    result = subprocess.run([sys.executable, "-m", "autolog", "run", str(script)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 3, result.stderr
    warning_lines = [line for line in result.stderr.splitlines() if "AutologWarning" in line]
    assert len(warning_lines) == 1, result.stderr
    assert warning_lines[0].endswith(
        f"cannot use the tracking store at {store}: {blocked} is not a directory; training "
        "goes on without logging."
    )
    assert "Traceback" not in result.stderr
    runs = autolog.Client(str(store)).search_runs(["0"])
    assert any(run.data.params.get("C") == "0.5" for run in runs)  # the fits were logged
    context.remove_store(str(store))
