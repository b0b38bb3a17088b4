"""What produced a run: the command, the code, the environment and the random seeds.

`runs.start_run` calls `record` for every new run that autologging opens (managed runs),
that ``autolog run`` opens, and that the user starts while `autolog.autolog()` is on.
What it records (MLflow's tag names where MLflow has them):

- ``log_code``: ``autolog.source.entry_point`` (script path as given, or ``-m module``),
  ``autolog.source.argv`` (JSON list, as the script sees ``sys.argv``),
  ``autolog.source.cwd``, ``mlflow.source.name``, ``mlflow.source.type`` (LOCAL); when
  the script's directory is inside a git work tree (the cwd instead when there is no
  script, or when it belongs to an installed tool such as ``pytest`` or ``jupyter``),
  ``mlflow.source.git.commit``, ``mlflow.source.git.branch``,
  ``mlflow.source.git.repoURL``, ``autolog.source.git.root``, ``autolog.source.git.dirty``
  and, when dirty, the artifact ``code/diff.patch`` (``git diff HEAD`` of tracked files,
  capped at `DIFF_LIMIT` bytes, ``autolog.source.git.diff_truncated`` when cut).
- ``log_environment``: ``autolog.python_version``, ``autolog.platform``,
  ``autolog.host``, ``autolog.framework.<name>`` for the ML frameworks imported (at run
  start and again at run end), the artifacts ``environment/requirements.txt`` (from the
  installed distributions' metadata; pip is never run) and
  ``environment/python_env.yaml``.
- always: ``autolog.seed.<source>`` for the seeds set so far (`note_seed`, fed by the
  ``seeds`` integration) and ``autolog.rerun_of`` when ``AUTOLOG_RERUN_OF`` is set (the
  root run of an ``autolog rerun``).

Cost: the cheap tags (a few microseconds) are buffered at once. Git (three ``git``
subprocesses with a short timeout) and the package list are computed once per process on
a background worker thread -- neither changes within a process. The worker logs each
run's git and framework tags, and the run's end waits for those (the first run of a
process may wait for git; later ones hardly at all). Then it copies the artifacts,
staged once per process in a temporary directory, into the run -- after the run may have
ended, so that ending a run never waits on file writes; `wait` waits for them, and so
does interpreter exit. For a managed run (one fit) whose git state is already known, the
copy is queued when the run ends, so the worker never competes with the fit itself.
Child runs get the tags only; the artifacts go to root runs.
Capture reads nothing outside the git work tree: git reads the repository, the package
list reads installed metadata.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

from autolog.core.tracking import git
from autolog.core.tracking.git import GitState
from autolog.core.tracking.recorder import RunRecorder
from autolog.core.tracking.runs import active_run, on_run_end, on_run_start

ENV_RERUN_OF = "AUTOLOG_RERUN_OF"

TAG_ENTRY_POINT = "autolog.source.entry_point"
TAG_ARGV = "autolog.source.argv"
TAG_CWD = "autolog.source.cwd"
TAG_OVERRIDES = "autolog.source.overrides"
TAG_SOURCE_NAME = "mlflow.source.name"
TAG_SOURCE_TYPE = "mlflow.source.type"
TAG_PYTHON_VERSION = "autolog.python_version"
TAG_PLATFORM = "autolog.platform"
TAG_HOST = "autolog.host"
TAG_RERUN_OF = "autolog.rerun_of"
TAG_PARENT = "mlflow.parentRunId"
SEED_PREFIX = "autolog.seed."
FRAMEWORK_PREFIX = "autolog.framework."

DIFF_ARTIFACT = "code/diff.patch"
REQUIREMENTS_ARTIFACT = "environment/requirements.txt"
PYTHON_ENV_ARTIFACT = "environment/python_env.yaml"
END_WAIT = 30.0  # seconds a run end waits for its capture job

#: module in sys.modules -> distributions that may provide it (first installed wins)
FRAMEWORKS: dict[str, tuple[str, ...]] = {
    "sklearn": ("scikit-learn",),
    "xgboost": ("xgboost",),
    "lightgbm": ("lightgbm",),
    "catboost": ("catboost",),
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly"),
    "keras": ("keras",),
    "torch": ("torch",),
}

# -- settings: set by autolog() ---------------------------------------------------------

_user_runs = False  # autolog.autolog() is on: runs the user starts get provenance too
_log_code = True
_log_environment = True


def configure(options: Mapping[str, Any], *, user_runs: bool | None) -> None:
    """Take ``log_code`` / ``log_environment`` from autolog() options (when given);
    ``user_runs``: whether user-started runs are recorded (None: unchanged)."""
    global _user_runs, _log_code, _log_environment
    if "log_code" in options:
        _log_code = bool(options["log_code"])
    if "log_environment" in options:
        _log_environment = bool(options["log_environment"])
    if user_runs is not None:
        _user_runs = user_runs
        if user_runs:  # a fresh autolog() call: defaults for the options not given
            _log_code = bool(options.get("log_code", True))
            _log_environment = bool(options.get("log_environment", True))


# -- seeds ------------------------------------------------------------------------------

_seeds: dict[str, str] = {}  # source ("random", "numpy", ...) -> last seed set


def note_seed(source: str, value: Any) -> None:
    """A seed was set (by the ``seeds`` integration): remember it, tag the active run."""
    text = _seed_text(value)
    _seeds[source] = text

    run = active_run()
    if run is not None and run.owner_pid == os.getpid():
        RunRecorder(run.info.run_id, run.uri).set_tags({SEED_PREFIX + source: text})


def _seed_text(value: Any) -> str:
    try:
        if hasattr(value, "tolist"):  # a numpy array or scalar
            value = value.tolist()
    except Exception:  # noqa: BLE001
        pass
    text = str(value)
    return text if len(text) <= 250 else text[:247] + "..."


# -- recording a run --------------------------------------------------------------------


def record(run: Any, *, managed: bool) -> None:
    """Capture what produced ``run`` (a new `ActiveRun`), if this run should get it."""
    if not (managed or _user_runs):
        return
    existing = run.data.tags
    is_child = TAG_PARENT in existing
    tags: dict[str, str] = {SEED_PREFIX + k: v for k, v in _seeds.items()}
    rerun_of = os.environ.get(ENV_RERUN_OF)
    if rerun_of and not is_child:
        tags[TAG_RERUN_OF] = rerun_of
    script = existing.get(TAG_SOURCE_NAME)
    if _log_code:
        source = _source_tags()
        script = script or source.get(TAG_SOURCE_NAME)
        tags.update(source)
    if _log_environment:
        tags.update(_environment_tags())
    recorder = RunRecorder(run.info.run_id, run.uri)
    recorder.set_tags({k: v for k, v in tags.items() if k not in existing})
    if not (_log_code or _log_environment):
        return
    job = _Job(recorder, script, _log_code, _log_environment, artifacts=not is_child)
    if job.tag_now():  # git state known (cached): only the artifacts are left
        # A managed run's artifacts are copied once its training has ended: the worker
        # does not compete with the user's fit for the GIL (the copy is off the user's
        # thread either way). Other runs, which may be long, get them at once.
        if job.artifacts and managed:
            job.submit_at_end = True
        elif job.artifacts:
            _submit(job)
    else:
        _submit(job)
    on_run_end(run.info.run_id, job.at_run_end)


def _source_tags() -> dict[str, str]:
    argv = list(sys.argv)
    first = argv[0] if argv else ""
    tags = {
        TAG_ARGV: _json(argv),
        TAG_CWD: os.getcwd(),
        TAG_SOURCE_TYPE: "LOCAL",
        TAG_ENTRY_POINT: first or "<interactive>",
    }
    if first and first not in ("-c", "-m") and os.path.isfile(first):
        tags[TAG_SOURCE_NAME] = os.path.abspath(first)
    return tags


def launch_tags(
    target: str, args: list[str], *, module: bool, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Source tags for a run that ``autolog run`` opens before it sets the script's argv."""
    tags = {
        TAG_ENTRY_POINT: f"-m {target}" if module else target,
        TAG_ARGV: _json(["-m", target, *args] if module else [target, *args]),
        TAG_CWD: os.getcwd(),
        TAG_SOURCE_TYPE: "LOCAL",
    }
    if not module:
        tags[TAG_SOURCE_NAME] = os.path.abspath(target)
    if overrides:
        tags[TAG_OVERRIDES] = _json(dict(overrides))
    return tags


_env_tags: dict[str, str] | None = None


def _json(value: Any) -> str:
    import json  # at the first run, not at autolog()

    return json.dumps(value)


def _environment_tags() -> dict[str, str]:
    global _env_tags
    if _env_tags is None:
        import platform
        import socket

        _env_tags = {
            TAG_PYTHON_VERSION: platform.python_version(),
            TAG_PLATFORM: platform.platform(),
            TAG_HOST: socket.gethostname(),
        }
    return _env_tags


# -- framework versions -----------------------------------------------------------------

_framework_versions: dict[str, str | None] = {}


def framework_tags() -> dict[str, str]:
    """``autolog.framework.<name>: version`` for the frameworks imported now (cached)."""
    tags = {}
    for name, dists in FRAMEWORKS.items():
        module = sys.modules.get(name)
        if module is None:
            continue
        if name not in _framework_versions:
            _framework_versions[name] = _version_of(module, dists)
        version = _framework_versions[name]
        if version:
            tags[FRAMEWORK_PREFIX + name] = version
    return tags


def _version_of(module: Any, dists: tuple[str, ...]) -> str | None:
    from importlib import metadata

    for dist in dists:
        try:
            return metadata.version(dist)
        except Exception:  # noqa: BLE001 - not installed, or broken metadata
            continue
    version = getattr(module, "__version__", None)
    return version if isinstance(version, str) else None


# -- installed packages -------------------------------------------------------------------

_requirements: str | None = None


def requirements() -> str:
    """``name==version`` of every installed distribution, sorted (first on sys.path wins)."""
    global _requirements
    if _requirements is None:
        from importlib import metadata

        found: dict[str, str] = {}
        for dist in metadata.distributions():
            try:
                name = dist.metadata["Name"]
                version = dist.version
            except Exception:  # noqa: BLE001 - broken metadata: skip that one
                continue
            if not name or not version:
                continue
            key = name.lower().replace("_", "-").replace(".", "-")
            found.setdefault(key, f"{name}=={version}")
        _requirements = "".join(f"{found[k]}\n" for k in sorted(found))
    return _requirements


def python_env_yaml() -> str:
    import platform

    return (f"python: {platform.python_version()}\n"
            "build_dependencies:\n- pip\n"
            "dependencies:\n- -r requirements.txt\n")


def reset_cache() -> None:
    """Forget the cached git state and package list (tests change them in one process)."""
    global _requirements
    git.reset_cache()
    _requirements = None
    _staging.clear()
    _framework_versions.clear()


# -- the background job per run -----------------------------------------------------------


class _Job:
    """One run's capture on the worker thread: tags first (the run's end waits for them),
    then the artifacts (written after, even when the run has ended; `wait` waits)."""

    __slots__ = ("recorder", "script", "log_code", "log_environment", "artifacts", "tagged",
                 "error", "state", "submit_at_end")

    def __init__(self, recorder: Any, script: str | None, log_code: bool,
                 log_environment: bool, artifacts: bool) -> None:
        self.recorder = recorder
        self.script = script
        self.log_code = log_code
        self.log_environment = log_environment
        self.artifacts = artifacts
        self.tagged = threading.Event()
        self.error: BaseException | None = None
        self.state: GitState | None = None
        self.submit_at_end = False

    def tag_now(self) -> bool:
        """Log the tags on the caller's thread when git needs no subprocess (cached)."""
        if self.log_code:
            known, self.state = git.cached_for(self.script)
            if not known:
                return False
        self._log_tags()
        self.tagged.set()
        return True

    def _log_tags(self) -> None:
        if self.log_environment:
            self.recorder.set_tags(framework_tags())
        if self.state is not None:
            self.recorder.set_tags(self.state.tags())

    def run(self) -> None:
        if not self.tagged.is_set():
            try:
                self.state = git.git_for(self.script) if self.log_code else None
                self._log_tags()
            except BaseException as exc:  # noqa: BLE001 - reported at run end, on its thread
                self.error = exc
                return
            finally:
                self.tagged.set()
        if not self.artifacts:
            return
        state = self.state
        try:
            staged = _staged_files(state, self.log_environment)
            if staged is not None:
                from autolog.core.tracking import context

                context.get_store(self.recorder.uri).log_artifact(
                    self.recorder.run_id, staged, "")
        except BaseException as exc:  # noqa: BLE001 - reported by wait() or at exit
            _late_errors.append(exc)

    def at_run_end(self, status: str) -> None:
        if self.submit_at_end:
            self.submit_at_end = False
            from autolog.core.tracking import deferred, scope

            if scope.in_training_call():
                # The fit's session is closing: the deferred worker, woken once the
                # session has closed, copies them (waking this module's worker here
                # had it take the GIL from the session's last steps).
                deferred.submit("provenance: copying the run's artifacts", self.run)
            else:
                _submit(self)
        if self.log_environment:  # frameworks imported since the run started
            self.recorder.set_tags(framework_tags())
        if not self.tagged.wait(END_WAIT):
            raise TimeoutError(f"capturing the source of run {self.recorder.run_id} took more "
                               f"than {END_WAIT:.0f} s; it goes on in the background")
        if self.error is not None:
            error, self.error = self.error, None
            raise error


_late_errors: list[BaseException] = []


def wait(timeout: float = END_WAIT) -> None:
    """Block until every capture queued so far (artifacts included) is written.

    Artifacts are written after a run's tags, on the worker thread, so that ending a run
    does not wait on file writes; reading them back at once needs this first. An error
    met while writing them is reported here (raised under ``AUTOLOG_STRICT``).
    """
    worker = _worker
    if worker is threading.current_thread():
        return  # a job that reads the store must not wait for itself
    if worker is not None and worker.is_alive():
        marker = threading.Event()
        _queue.put(marker)
        marker.wait(timeout)
    _report_late_errors(strict=None)


def _report_late_errors(strict: bool | None) -> None:
    from autolog.core.reporting import report_internal_error

    while _late_errors:
        report_internal_error(_late_errors.pop(0), "writing the run's source and "
                              "environment artifacts", strict=strict)


_staging: dict[tuple[str | None, bool], str | None] = {}


def _staged_files(state: GitState | None, environment: bool) -> str | None:
    """A directory holding this process's artifacts (``code/diff.patch``,
    ``environment/...``), written once and copied into each root run with one call."""
    key = (state.root if state is not None and state.dirty else None, environment)
    if key in _staging:
        return _staging[key]
    import tempfile

    files: dict[str, bytes] = {}
    if key[0] is not None:
        files[DIFF_ARTIFACT] = state.patch_bytes()  # type: ignore[union-attr]
    if environment:
        files[REQUIREMENTS_ARTIFACT] = requirements().encode()
        files[PYTHON_ENV_ARTIFACT] = python_env_yaml().encode()
    directory = None
    if files:
        directory = tempfile.mkdtemp(prefix="autolog-provenance-")  # removed at exit
        for name, data in files.items():
            path = os.path.join(directory, *name.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
    _staging[key] = directory
    return directory


def _remove_staging() -> None:
    import shutil

    for directory in list(_staging.values()):
        if directory:
            shutil.rmtree(directory, ignore_errors=True)
    _staging.clear()


_queue: Any = None  # a queue.SimpleQueue, made with the first job (autolog() stays light)
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()


def _submit(job: _Job) -> None:
    global _worker, _queue
    if _queue is None:
        import queue

        with _worker_lock:
            if _queue is None:
                _queue = queue.SimpleQueue()
    _queue.put(job)
    if _worker is None or not _worker.is_alive():
        with _worker_lock:
            if _worker is None or not _worker.is_alive():
                _worker = threading.Thread(target=_work, name="autolog-provenance",
                                           daemon=True)
                _worker.start()


def _work() -> None:
    while True:
        job = _queue.get()
        if job is None:
            return
        if isinstance(job, threading.Event):  # wait()'s marker
            job.set()
            continue
        job.run()


def _drain_at_exit() -> None:
    """At exit, finish the jobs still queued (runs ended at exit wait for theirs anyway)."""
    worker = _worker
    if worker is not None and worker.is_alive():
        _queue.put(None)
        worker.join(END_WAIT)
    _report_late_errors(strict=False)
    _remove_staging()


def _after_fork_in_child() -> None:
    global _queue, _worker, _worker_lock
    _queue = None
    _worker = None
    _worker_lock = threading.Lock()
    _staging.clear()  # the parent's directories: the child's exit must not remove them
    _late_errors.clear()


atexit.register(_drain_at_exit)
on_run_start(lambda run, managed: record(run, managed=managed))
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
