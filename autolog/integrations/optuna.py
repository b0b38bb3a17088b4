"""Optuna autologging (``autolog.optuna``): a study is a run, each trial a child run of it.

One run per outermost ``Study.optimize`` call, named after the study (a child of the
user's run when one is active, never the user's run itself):

* params: ``study_name``, ``direction`` (``directions`` for several objectives),
  ``sampler`` and ``pruner`` (class names) with their scalar settings
  (``sampler_n_startup_trials``, ``pruner_n_warmup_steps``, ...), ``n_trials``,
  ``timeout``, ``n_jobs``, ``storage`` (the storage's class; never its URL, which may
  hold a password).
* at the end (also when ``optimize`` raises): ``best_value`` and ``best_trial_number``,
  the best trial's params as ``best_<name>`` (one objective), ``best_trials`` (the size of
  the Pareto front, several objectives), the study's trials counted by state
  (``trials_complete``, ``trials_pruned``, ``trials_fail``, ...; ``trials_total``), and
  ``trials.json``: every trial's number, state, value(s), params and duration, in
  MLflow's table format (``{"columns": [...], "data": [...]}``), ready for a parallel
  coordinates plot. Counts and the table cover the whole study (an RDB study resumed
  with ``load_if_exists`` includes earlier trials); child runs are this call's trials.
* per completed trial, the metric ``trial_value`` at step = trial number (the
  optimization history; one objective).

Each trial is a child run ``trial-<number>``, ACTIVE in the thread that runs the
objective while it runs (``n_jobs>1``: each worker thread's trial in its own run), so
that the frameworks' own autologging inside the objective -- a scikit-learn ``fit``, an
XGBoost or LightGBM ``train``, a torch loop -- records into that trial's run. A plain
``autolog.start_run()`` in the objective opens a child of the trial instead of failing.
When the trial has finished (after Optuna has told the study its state), the run gets
the trial's params, its value(s) as ``value`` (``value_<i>``, or the study's metric
names), each ``trial.report(value, step)`` as the stepped metric
``intermediate_value``, ``trial_duration_seconds``, the tags ``optuna.trial_state``
(COMPLETE, PRUNED or FAIL), ``optuna.trial_number`` and the trial's user attributes
(``optuna.user_attr.<key>``), and ends FINISHED, or FAILED for a failed trial. A pruned
trial ends FINISHED with its state in the tag, as MLflow's ``MLflowCallback``
(optuna-integration) does (its trial runs all end FINISHED, with a ``state`` tag):
pruning is a normal outcome of a study, where MLflow's KILLED means the process was
stopped.

How: ``Study.optimize`` is patched; the hook passes Optuna a wrapper of the objective
(which starts the trial's run, then calls the user's objective once with the trial, its
value or exception unchanged) and puts a callback first in a copy of the callbacks
list (which logs the finished trial and ends its run). A trial whose exception stops
the study (not ``TrialPruned``, not in ``catch``) is ended by the wrapper and logged at
the study's end.

`AutologCallback` is the explicit twin, without patching: ``study.optimize(objective,
callbacks=[autolog.optuna.AutologCallback()])`` logs each finished trial as a run after
the fact -- a child of the run active where the callback was created (or, failing that,
when it was first called), else a run of its own. The frameworks' autologging inside
the objective then does not land in the trial's run (it is not open while the objective
runs). Under the patch, an `AutologCallback` the user passes does nothing: the patch
logs the trials.

Optuna is not imported here (only inside functions, once the user has imported it).
"""

from __future__ import annotations

import inspect
import math
import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from autolog.core.config import AutologConfig
from autolog.core.entities import RunStatus
from autolog.core.patching import Patch, guard, outermost
from autolog.core.patching.integration import Integration
from autolog.core.patching.registry import integration_autolog
from autolog.core.tracking import runs
from autolog.core.tracking.recorder import RunRecorder

__all__ = ["AutologCallback", "OptunaConfig", "OptunaIntegration", "autolog"]

INTEGRATION = "optuna"
TRIALS_TABLE = "trials.json"
TAG_STATE = "optuna.trial_state"
TAG_NUMBER = "optuna.trial_number"
TAG_STUDY = "optuna.study_name"
USER_ATTR_PREFIX = "optuna.user_attr."


@dataclass
class OptunaConfig(AutologConfig):
    """The common options (``log_models`` and the dataset options do not apply)."""


class OptunaIntegration(Integration):
    name = INTEGRATION
    module = "optuna"
    distributions = ("optuna",)
    supported = ">=3.6,<6"
    config_class = OptunaConfig

    def patches(self) -> list[Patch]:
        return [Patch("optuna.study.study:Study.optimize", on_optimize, run_name=study_run_name,
                      own_run=True)]


def study_run_name(call: Any) -> str:
    return str(call.instance.study_name)


# -- the patch ------------------------------------------------------------------------------

#: id(study) -> the `_StudyLog` of the patched ``optimize`` running on it (explicit
#: `AutologCallback`s stand aside for those studies)
_patched: dict[int, _StudyLog] = {}


def on_optimize(session: Any, call: Any) -> None:
    """``Study.optimize``: the study's params; our objective wrapper and callback for the
    trials; at the end (whatever happens) the results."""
    study = call.instance
    arguments = {name: call.argument(name) for name in ("n_trials", "timeout", "n_jobs")}
    session.set_tags(lambda: {TAG_STUDY: str(study.study_name)})
    session.log_params(lambda: study_params(study, arguments))
    func = call.argument("func")
    callbacks = call.argument("callbacks")
    if not callable(func) or not (callbacks is None or isinstance(callbacks, Collection)):
        # a call Optuna will refuse, or callbacks it can iterate only once: as they are
        call.proceed()
        return
    log = _StudyLog(session, study, call.argument("catch", ()))
    call.set_argument("func", _Objective(func, log))
    # ours first: a user's callback that raises cannot leave a trial's run open
    call.set_argument("callbacks", [_TrialCallback(log), *(callbacks or ())])
    run = session.run
    ambient = run.ambient
    # the objective and the callbacks are the user's code: a plain start_run() in them
    # (where our study run is active) opens a child, as it would have opened a run
    run.ambient = True
    _patched[id(study)] = log
    try:
        call.proceed()
    finally:
        _patched.pop(id(study), None)
        run.ambient = ambient
        session.record("study results", log.study_end)


class _Objective:
    """The user's objective, with each trial's run active while it runs."""

    __slots__ = ("func", "log")

    def __init__(self, func: Any, log: _StudyLog) -> None:
        self.func = func
        self.log = log

    def __call__(self, trial: Any) -> Any:
        log = self.log
        run = log.session.record("trial run", lambda: log.trial_start(trial))
        try:
            with outermost():  # the objective's fits are outermost calls, in the trial run
                return self.func(trial)
        except BaseException as exc:
            if run is not None:
                log.session.record("trial run",
                                   lambda e=exc: log.trial_raised(trial, run, e))
            raise


class _TrialCallback:
    """First of the study's callbacks: the finished trial into its run, which it ends."""

    __slots__ = ("log",)

    def __init__(self, log: _StudyLog) -> None:
        self.log = log

    def __call__(self, study: Any, trial: Any) -> None:
        log = self.log
        log.session.record("trial", lambda: log.trial_end(trial))


class _StudyLog:
    """One patched ``Study.optimize``: the study's run (the session) and its trials' runs."""

    def __init__(self, session: Any, study: Any, catch: tuple) -> None:
        self.session = session
        self.study = study
        self.catch = catch if isinstance(catch, tuple) else ()
        self.names = _value_names(study)
        self.open: dict[int, runs.ActiveRun] = {}  # trial number -> its run (active)
        self.ended: dict[int, runs.ActiveRun] = {}  # ended by the wrapper, logged at the end
        self.thread = threading.local()  # .run: the trial run this thread has open
        self.lock = threading.Lock()

    def trial_start(self, trial: Any) -> runs.ActiveRun:
        """In the objective's thread: the trial's run, active there."""
        left = getattr(self.thread, "run", None)
        if left is not None:  # the last trial's post-processing raised before its callback
            self._end(left, RunStatus.FAILED)
        number = trial.number
        run = runs.start_run(
            run_name=f"trial-{number}", parent_run_id=self.session.run_id,
            tags={runs.TAG_AUTOLOGGING: INTEGRATION, TAG_STUDY: str(self.study.study_name),
                  TAG_NUMBER: str(number)},
            _managed=True)
        run.ambient = True  # the objective's own start_run() opens a child, not an error
        self.thread.run = run
        with self.lock:
            self.open[number] = run
        return run

    def trial_raised(self, trial: Any, run: runs.ActiveRun, error: BaseException) -> None:
        """The objective raised: a pruned trial, or one failing in ``catch``, goes on to
        the callbacks; any other stops the study, so its run ends now (logged at the end)."""
        from optuna.exceptions import TrialPruned

        if isinstance(error, TrialPruned) or (isinstance(error, Exception)
                                              and isinstance(error, self.catch)):
            return
        RunRecorder(run.info.run_id, run.uri, run.params_logged).log_params(trial.params)
        with self.lock:
            self.ended[trial.number] = run
        self._end(run, runs.status_after(error))

    def trial_end(self, frozen: Any) -> None:
        """Our callback, in the trial's thread, after Optuna has told the study."""
        with self.lock:
            run = self.open.get(frozen.number)
        if run is None:
            return
        recorder = RunRecorder(run.info.run_id, run.uri, run.params_logged)
        try:
            log_trial(recorder, frozen, self.names, self.session.record)
            value = _single_value(frozen, self.names)
            if value is not None:
                self.session.log_metric("trial_value", value, step=frozen.number)
        finally:
            self._end(run, trial_status(frozen))

    def _end(self, run: runs.ActiveRun, status: str) -> None:
        with self.lock:
            for number, open_run in list(self.open.items()):
                if open_run is run:
                    del self.open[number]
        if getattr(self.thread, "run", None) is run:
            self.thread.run = None
        runs.end_run(status, run_id=run.info.run_id)

    def study_end(self) -> None:
        """After ``optimize`` (returned or raised): trials left unlogged, then the study."""
        trials = self.study.get_trials(deepcopy=False)
        by_number = {trial.number: trial for trial in trials}
        with self.lock:
            ended = dict(self.ended)
            left = list(self.open.items())
        for number, run in [*ended.items(), *left]:
            if number in by_number:
                log_trial(RunRecorder(run.info.run_id, run.uri, run.params_logged),
                          by_number[number], self.names, self.session.record)
        for _, run in left:  # Optuna's post-processing of the trial raised
            self._end(run, RunStatus.FAILED)  # (in this thread; a worker's: left to exit)
        session = self.session
        session.log_metrics(lambda: study_metrics(self.study, trials))
        session.log_params(lambda: best_params(self.study, trials))
        session.log_dict(lambda: trials_table(trials, self.names), TRIALS_TABLE)


# -- what is logged ---------------------------------------------------------------------------


def study_params(study: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    directions = [d.name.lower() for d in study.directions]
    params: dict[str, Any] = {"study_name": study.study_name}
    if len(directions) == 1:
        params["direction"] = directions[0]
    else:
        params["directions"] = ",".join(directions)
    for prefix, component in (("sampler", study.sampler), ("pruner", study.pruner)):
        params[prefix] = type(component).__name__
        params.update({f"{prefix}_{k}": v for k, v in settings(component).items()})
    params.update(arguments)
    storage = getattr(study, "_storage", None)
    backend = getattr(storage, "_backend", storage)  # RDB storages come cached
    if backend is not None:
        params["storage"] = type(backend).__name__
    return params


def settings(component: Any) -> dict[str, Any]:
    """A sampler's or pruner's constructor arguments it keeps as scalars (``_name`` or
    ``name`` in its ``__dict__``): its main settings, for any class, without calling it."""
    try:
        parameters = inspect.signature(type(component).__init__).parameters
        state = vars(component)
    except (TypeError, ValueError):
        return {}
    found: dict[str, Any] = {}
    for name, parameter in parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL,
                                                parameter.VAR_KEYWORD):
            continue
        for attribute in (f"_{name}", name):
            if attribute in state:
                value = state[attribute]
                if value is None or isinstance(value, (bool, int, float, str)):
                    found[name] = value
                break
    return found


def _value_names(study: Any) -> list[str]:
    """The metric names of the objective's values: the study's own, else ``value`` or
    ``value_<i>``."""
    count = len(study.directions)
    names = getattr(study, "metric_names", None)
    if names and len(names) == count:
        return [str(name) for name in names]
    return ["value"] if count == 1 else [f"value_{i}" for i in range(count)]


def trial_status(frozen: Any) -> str:
    return RunStatus.FAILED if frozen.state.name == "FAIL" else RunStatus.FINISHED


def _single_value(frozen: Any, names: list[str]) -> float | None:
    if len(names) != 1 or frozen.state.name != "COMPLETE" or not frozen.values:
        return None
    return frozen.values[0]


def log_trial(recorder: RunRecorder, frozen: Any, names: list[str], isolate: Any) -> None:
    """A finished trial (a `FrozenTrial`) into its run, each record isolated by
    ``isolate(what, function)``."""
    isolate("trial params", lambda: recorder.log_params(frozen.params))
    isolate("trial tags", lambda: recorder.set_tags(trial_tags(frozen)))
    isolate("trial metrics", lambda: recorder.log_metrics(trial_metrics(frozen, names)))
    isolate("trial intermediate values", lambda: _log_intermediate(recorder, frozen))


def trial_tags(frozen: Any) -> dict[str, Any]:
    tags = {TAG_STATE: frozen.state.name, TAG_NUMBER: str(frozen.number)}
    for key, value in frozen.user_attrs.items():
        tags[f"{USER_ATTR_PREFIX}{key}"] = value
    return tags


def trial_metrics(frozen: Any, names: list[str]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for name, value in zip(names, frozen.values or ()):
        metrics[name] = value
    duration = frozen.duration
    if duration is not None:
        metrics["trial_duration_seconds"] = duration.total_seconds()
    return metrics


def _log_intermediate(recorder: RunRecorder, frozen: Any) -> None:
    for step, value in sorted(frozen.intermediate_values.items()):
        recorder.log_metric("intermediate_value", value, step=step)


def _complete(trials: list[Any]) -> list[Any]:
    return [t for t in trials if t.state.name == "COMPLETE"]


def study_metrics(study: Any, trials: list[Any]) -> dict[str, float]:
    counts: dict[str, int] = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0}
    for trial in trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    metrics: dict[str, float] = {f"trials_{state.lower()}": n for state, n in counts.items()}
    metrics["trials_total"] = len(trials)
    if _complete(trials):
        if len(study.directions) == 1:
            best = study.best_trial
            metrics["best_value"] = best.value
            metrics["best_trial_number"] = best.number
        else:
            metrics["best_trials"] = len(study.best_trials)
    return metrics


def best_params(study: Any, trials: list[Any]) -> dict[str, Any]:
    if len(study.directions) != 1 or not _complete(trials):
        return {}
    return {f"best_{name}": value for name, value in study.best_trial.params.items()}


def trials_table(trials: list[Any], names: list[str]) -> dict[str, Any]:
    """MLflow's table format: one row per trial (parallel coordinates, sorting)."""
    param_names: list[str] = []
    for trial in trials:
        for name in trial.params:
            if name not in param_names:
                param_names.append(name)
    columns = ["number", "state", *names, *(f"params_{p}" for p in param_names),
               "duration_seconds"]
    data = []
    for trial in trials:
        values = list(trial.values or ())
        row: list[Any] = [trial.number, trial.state.name]
        row += [_json_number(values[i]) if i < len(values) else None for i in range(len(names))]
        row += [_json_value(trial.params.get(p)) for p in param_names]
        duration = trial.duration
        row.append(None if duration is None else duration.total_seconds())
        data.append(row)
    return {"columns": columns, "data": data}


def _json_number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _json_value(value: Any) -> Any:
    if isinstance(value, float):
        return _json_number(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


# -- the explicit callback --------------------------------------------------------------------


class AutologCallback:
    """An Optuna callback that logs each finished trial as a run, without patching.

    ``study.optimize(objective, callbacks=[autolog.optuna.AutologCallback()])``: each
    trial becomes a run (``trial-<number>``, with what the patch logs into a trial's run),
    a child of the run active where the callback was created, or else where it is first
    called; with none active, a run of its own. Logged after the trial has finished, so
    the frameworks' autologging inside the objective does not land in it (use
    ``autolog.optuna.autolog()`` for that). Under the patch it does nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parent: runs.ActiveRun | None = runs.active_run()
        self._asked = self._parent is not None
        self._session: Any = None

    def __call__(self, study: Any, trial: Any) -> None:
        if id(study) in _patched:
            return  # the patched optimize logs this study's trials
        with guard(f"{INTEGRATION}: AutologCallback", silent=_config().silent):
            self._log(study, trial)

    def _log(self, study: Any, frozen: Any) -> None:
        with self._lock:
            if not self._asked:
                self._asked = True
                self._parent = runs.active_run()
            parent = self._parent
            if parent is not None and self._session is None:
                from autolog.core.tracking.sessions import TrainingSession

                self._session = TrainingSession(parent, _config(), False, INTEGRATION)
        names = _value_names(study)
        tags = {TAG_STUDY: str(study.study_name)}
        run_name = f"trial-{frozen.number}"
        if self._session is not None:
            child = self._session.child_run(run_name, tags)
            try:
                log_trial(child, frozen, names, _isolate)
            finally:
                child.end(trial_status(frozen))
            return
        run = runs.start_run(run_name=run_name,
                             tags={**tags, runs.TAG_AUTOLOGGING: INTEGRATION},
                             _managed=True, _independent=True)
        try:
            log_trial(RunRecorder(run.info.run_id, run.uri, run.params_logged), frozen, names,
                      _isolate)
        finally:
            runs.end_run(trial_status(frozen), run_id=run.info.run_id)


def _isolate(what: str, function: Any) -> None:
    with guard(f"{INTEGRATION}: AutologCallback {what}", silent=_config().silent):
        function()


def _config() -> AutologConfig:
    from autolog.core.patching.registry import get_integration

    return get_integration(INTEGRATION).config


autolog = integration_autolog(INTEGRATION)
