"""Optuna: a study is a run, each trial a child run in which the objective's own
autologging lands; pruned and failed trials marked; threads and RDB storage."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading

import pytest

import autolog

optuna = pytest.importorskip("optuna")
pytest.importorskip("sklearn")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)


@pytest.fixture(autouse=True)
def optuna_autolog(tracking_uri):
    autolog.optuna.autolog()
    yield tracking_uri
    autolog.autolog(disable=True)


def all_runs():
    return autolog.search_runs(experiment_names=["Default"])


def children_of(run_id):
    return sorted((r for r in all_runs() if r.data.tags.get("mlflow.parentRunId") == run_id),
                  key=lambda r: int(r.data.tags["optuna.trial_number"]))


def study_run(name):
    [run] = [r for r in all_runs() if r.info.run_name == name]
    return run


def quadratic(trial):
    x = trial.suggest_float("x", -10, 10)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 2) ** 2 + (kind == "b")


def sampler():
    return optuna.samplers.RandomSampler(seed=0)


def test_study_is_a_run_and_each_trial_a_child_with_its_params_and_value():
    study = optuna.create_study(study_name="quad", sampler=sampler())
    study.optimize(quadratic, n_trials=5)

    parent = study_run("quad")
    params, metrics = parent.data.params, parent.data.metrics
    assert params["study_name"] == "quad" and params["direction"] == "minimize"
    assert params["sampler"] == "RandomSampler" and params["pruner"] == "MedianPruner"
    assert params["pruner_n_startup_trials"] == "5" and params["n_trials"] == "5"
    assert params["storage"] == "InMemoryStorage" and params["n_jobs"] == "1"
    assert params["best_x"] == str(study.best_params["x"])
    assert params["best_kind"] == study.best_params["kind"]
    assert metrics["best_value"] == pytest.approx(study.best_value)
    assert metrics["best_trial_number"] == study.best_trial.number
    assert metrics["trials_complete"] == 5 and metrics["trials_total"] == 5
    assert metrics["trials_pruned"] == 0 and metrics["trials_fail"] == 0
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlflow.autologging"] == "optuna"
    history = autolog.get_metric_history(parent.info.run_id, "trial_value")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
        (t.number, pytest.approx(t.value)) for t in study.trials]

    children = children_of(parent.info.run_id)
    assert [c.info.run_name for c in children] == [f"trial-{i}" for i in range(5)]
    for child, trial in zip(children, study.trials):
        assert child.info.status == "FINISHED"
        assert child.data.params == {"x": str(trial.params["x"]), "kind": trial.params["kind"]}
        assert child.data.metrics["value"] == pytest.approx(trial.value)
        assert child.data.metrics["trial_duration_seconds"] == pytest.approx(
            trial.duration.total_seconds())
        assert child.data.tags["optuna.trial_state"] == "COMPLETE"
        assert child.data.tags["optuna.study_name"] == "quad"

    path = autolog.Client().download_artifacts(parent.info.run_id, "trials.json")
    with open(path) as handle:
        table = json.load(handle)
    assert table["columns"] == ["number", "state", "value", "params_x", "params_kind",
                                "duration_seconds"]
    assert [row[:5] for row in table["data"]] == [
        [t.number, "COMPLETE", pytest.approx(t.value), pytest.approx(t.params["x"]),
         t.params["kind"]] for t in study.trials]


def test_pruned_and_failed_trials_are_marked_and_intermediate_values_stepped():
    def objective(trial):
        x = trial.suggest_int("x", 0, 100)
        for step in range(3):
            trial.report(x + step, step)
        if trial.number == 1:
            raise optuna.TrialPruned()
        if trial.number == 2:
            raise ValueError("caught by optuna")
        if trial.number == 3:
            return float("nan")  # optuna fails it
        return float(x)

    study = optuna.create_study(study_name="states", sampler=sampler())
    study.optimize(objective, n_trials=4, catch=(ValueError,))
    parent = study_run("states")
    trials = children_of(parent.info.run_id)
    states = [(c.data.tags["optuna.trial_state"], c.info.status) for c in trials]
    assert states == [("COMPLETE", "FINISHED"), ("PRUNED", "FINISHED"), ("FAIL", "FAILED"),
                      ("FAIL", "FAILED")]
    for child, trial in zip(trials, study.trials):
        history = autolog.get_metric_history(child.info.run_id, "intermediate_value")
        assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == sorted(
            trial.intermediate_values.items())
        assert child.data.params["x"] == str(trial.params["x"])
    # a pruned trial's value is its last intermediate value (Optuna's own record)
    assert trials[1].data.metrics["value"] == study.trials[1].value
    assert "value" not in trials[2].data.metrics
    metrics = parent.data.metrics
    assert (metrics["trials_complete"], metrics["trials_pruned"], metrics["trials_fail"]) == (
        1, 1, 2)
    assert parent.info.status == "FINISHED"


def test_a_trial_that_stops_the_study_fails_its_run_and_the_study_run():
    error = RuntimeError("boom")

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.report(x, 0)
        if trial.number == 1:
            raise error
        return x

    study = optuna.create_study(study_name="stops", sampler=sampler())
    with pytest.raises(RuntimeError) as raised:
        study.optimize(objective, n_trials=5)
    assert raised.value is error  # the user's exception, unchanged
    parent = study_run("stops")
    assert parent.info.status == "FAILED"
    assert parent.data.metrics["trials_total"] == 2 and parent.data.metrics["trials_fail"] == 1
    first, second = children_of(parent.info.run_id)
    assert first.info.status == "FINISHED"
    assert second.info.status == "FAILED" and second.data.tags["optuna.trial_state"] == "FAIL"
    assert second.data.params["x"] == str(study.trials[1].params["x"])
    assert [m.value for m in autolog.get_metric_history(second.info.run_id,
                                                        "intermediate_value")] == [
        study.trials[1].params["x"]]
    assert autolog.active_run() is None


def test_sklearn_autologging_inside_the_objective_lands_in_the_trial_run():
    autolog.sklearn.autolog(log_models=False, log_plots=False)
    X, y = load_iris(return_X_y=True)

    def objective(trial):
        c = trial.suggest_float("C", 0.1, 10, log=True)
        return LogisticRegression(C=c, max_iter=300).fit(X, y).score(X, y)

    study = optuna.create_study(study_name="sk", direction="maximize", sampler=sampler())
    study.optimize(objective, n_trials=2)
    parent = study_run("sk")
    children = children_of(parent.info.run_id)
    assert len(all_runs()) == 3  # the study and its trials: no run of the fits' own
    for child, trial in zip(children, study.trials):
        assert child.data.params["C"] == str(trial.params["C"])
        assert child.data.params["max_iter"] == "300"  # the estimator's, from sklearn
        assert "training_accuracy_score" in child.data.metrics
        assert child.data.metrics["value"] == pytest.approx(trial.value)
    assert "max_iter" not in parent.data.params


def test_n_jobs_2_each_trial_is_active_in_its_own_thread():
    autolog.sklearn.autolog(log_models=False, log_plots=False, log_training_metrics=False)
    X, y = load_iris(return_X_y=True)
    seen = {}

    def objective(trial):
        seen[trial.number] = (autolog.active_run().info.run_name, threading.get_ident())
        c = trial.suggest_float("C", 0.1, 10, log=True)
        return LogisticRegression(C=c, max_iter=300).fit(X, y).score(X, y)

    study = optuna.create_study(study_name="threads", direction="maximize", sampler=sampler())
    study.optimize(objective, n_trials=4, n_jobs=2)
    assert {n: name for n, (name, _) in seen.items()} == {n: f"trial-{n}" for n in range(4)}
    assert all(thread != threading.get_ident() for _, thread in seen.values())
    parent = study_run("threads")
    assert parent.data.params["n_jobs"] == "2"
    children = children_of(parent.info.run_id)
    assert len(children) == 4 and len(all_runs()) == 5
    for child, trial in zip(children, sorted(study.trials, key=lambda t: t.number)):
        assert child.data.params["C"] == str(trial.params["C"])
        assert child.data.params["max_iter"] == "300"  # the fit's, in the trial's run
        assert child.data.tags["mlflow.autologging"] == "sklearn"
        assert child.info.status == "FINISHED"


def test_rdb_storage_and_a_resumed_study(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    for _ in range(2):
        study = optuna.create_study(study_name="rdb", storage=storage, load_if_exists=True,
                                    sampler=sampler())
        study.optimize(quadratic, n_trials=3)
    first, second = sorted((r for r in all_runs() if r.info.run_name == "rdb"),
                           key=lambda r: r.info.start_time)
    assert second.data.params["storage"] == "RDBStorage"
    assert "sqlite" not in json.dumps(second.data.params)  # never the URL
    assert first.data.metrics["trials_total"] == 3
    assert second.data.metrics["trials_total"] == 6  # the whole study
    assert [c.info.run_name for c in children_of(second.info.run_id)] == [
        "trial-3", "trial-4", "trial-5"]
    assert second.data.metrics["best_value"] == pytest.approx(study.best_value)


def test_inside_a_users_run_the_study_is_a_child_of_it():
    with autolog.start_run(run_name="mine") as mine:
        study = optuna.create_study(study_name="inner", sampler=sampler())
        study.optimize(quadratic, n_trials=2)
        assert autolog.active_run() is mine
    parent = study_run("inner")
    assert parent.data.tags["mlflow.parentRunId"] == mine.info.run_id
    assert len(children_of(parent.info.run_id)) == 2
    user = autolog.get_run(mine.info.run_id)
    assert "study_name" not in user.data.params and "mlflow.autologging" not in user.data.tags


def test_the_objectives_own_start_run_and_callbacks_are_the_users():
    calls = []
    callbacks = [lambda study, trial: calls.append(trial.number)]
    original = list(callbacks)

    def objective(trial):
        with autolog.start_run(run_name=f"mine-{trial.number}") as mine:  # no nested=True
            autolog.log_metric("mine", 1.0)
            return mine.info.run_id and trial.suggest_float("x", 0, 1)

    study = optuna.create_study(study_name="own", sampler=sampler())
    study.optimize(objective, n_trials=2, callbacks=callbacks)
    assert callbacks == original and calls == [0, 1]
    trials = children_of(study_run("own").info.run_id)
    for trial in trials:
        [mine] = [r for r in all_runs()
                  if r.data.tags.get("mlflow.parentRunId") == trial.info.run_id]
        assert mine.info.run_name == f"mine-{trial.data.tags['optuna.trial_number']}"


def test_several_objectives():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        return x, 1 - x

    study = optuna.create_study(study_name="multi", directions=["minimize", "minimize"],
                                sampler=sampler())
    study.optimize(objective, n_trials=3)
    parent = study_run("multi")
    assert parent.data.params["directions"] == "minimize,minimize"
    assert parent.data.metrics["best_trials"] == len(study.best_trials)
    assert not any(k.startswith("best_x") for k in parent.data.params)
    for child, trial in zip(children_of(parent.info.run_id), study.trials):
        assert child.data.metrics["value_0"] == pytest.approx(trial.values[0])
        assert child.data.metrics["value_1"] == pytest.approx(trial.values[1])


def _study_results(seed=0):
    def objective(trial):
        x = trial.suggest_float("x", -5, 5)
        trial.report(x, 0)
        if trial.number == 2:
            raise optuna.TrialPruned()
        return x ** 2

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=6)
    return [(t.number, t.state.name, t.values, t.params) for t in study.trials]


def test_lenient_faults_leave_the_study_results_identical(lenient):
    autolog.autolog(disable=True)
    baseline = _study_results()
    autolog.optuna.autolog()
    with pytest.warns(autolog.AutologWarning):
        with autolog.testing.inject_hook_faults():
            assert _study_results() == baseline
    with pytest.warns(autolog.AutologWarning):
        with autolog.testing.inject_record_faults():
            assert _study_results() == baseline
    assert _study_results() == baseline
    assert autolog.active_run() is None


def test_explicit_callback_logs_trials_without_patching():
    autolog.autolog(disable=True)
    study = optuna.create_study(study_name="cb", sampler=sampler())
    with autolog.start_run(run_name="explicit") as mine:
        callback = autolog.optuna.AutologCallback()
        study.optimize(quadratic, n_trials=3, n_jobs=2, callbacks=[callback])
    children = children_of(mine.info.run_id)
    assert [c.info.run_name for c in children] == ["trial-0", "trial-1", "trial-2"]
    for child, trial in zip(children, study.trials):
        assert child.data.metrics["value"] == pytest.approx(trial.value)
        assert child.data.tags["optuna.trial_state"] == "COMPLETE"
    # no parent: a run per trial
    study.optimize(quadratic, n_trials=1, callbacks=[autolog.optuna.AutologCallback()])
    [alone] = [r for r in all_runs() if r.info.run_name == "trial-3"]
    assert "mlflow.parentRunId" not in alone.data.tags
    # under the patch the callback stands aside: each trial logged once
    autolog.optuna.autolog()
    study.optimize(quadratic, n_trials=1, callbacks=[autolog.optuna.AutologCallback()])
    assert len([r for r in all_runs() if r.info.run_name == "trial-4"]) == 1


def test_autolog_imports_no_optuna():
    code = ("import sys, autolog; autolog.autolog(); "
            "print('optuna' in sys.modules, 'autolog.integrations.optuna' in sys.modules, "
            "{s.name: s.state for s in autolog.status()}['optuna'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={**__import__("os").environ,
                                           "AUTOLOG_TRACKING_URI": "memory:"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "waiting"]


def test_nan_values_stay_out_of_the_table_as_null():
    study = optuna.create_study(study_name="nan", sampler=sampler())
    study.optimize(lambda t: t.suggest_float("x", 0, 1) * float("nan"), n_trials=1)
    path = autolog.Client().download_artifacts(study_run("nan").info.run_id, "trials.json")
    with open(path) as handle:
        [row] = json.load(handle)["data"]
    assert row[1] == "FAIL" and row[2] is None and not math.isnan(row[3])


def test_a_torch_loop_inside_the_objective_lands_in_the_trial_run():
    torch = pytest.importorskip("torch")
    autolog.torch.autolog(log_models=False)
    torch.manual_seed(0)
    X = torch.randn(32, 3)
    data = torch.utils.data.TensorDataset(X, X.sum(1, keepdim=True))

    def objective(trial):
        model = torch.nn.Linear(3, 1)
        optimizer = torch.optim.SGD(model.parameters(),
                                    lr=trial.suggest_float("lr", 1e-3, 1e-1, log=True))
        for epoch in range(2):
            for xb, yb in torch.utils.data.DataLoader(data, batch_size=16):
                optimizer.zero_grad()
                loss = torch.nn.functional.mse_loss(model(xb), yb)
                loss.backward()
                optimizer.step()
            trial.report(loss.item(), epoch)
        return loss.item()

    study = optuna.create_study(study_name="torch", sampler=sampler())
    study.optimize(objective, n_trials=2)
    autolog.flush()
    children = children_of(study_run("torch").info.run_id)
    assert len(all_runs()) == 3
    for child, trial in zip(children, study.trials):
        assert child.data.params["optimizer_name"] == "SGD"
        assert child.data.params["lr"] == str(trial.params["lr"])
        assert [m.step for m in autolog.get_metric_history(child.info.run_id,
                                                           "train_loss")] == [0, 1]
        assert child.info.status == "FINISHED"


def test_a_users_callback_that_raises_leaves_no_trial_run_open():
    error = KeyError("stop")

    def stop(study, trial):
        raise error

    study = optuna.create_study(study_name="cb-raises", sampler=sampler())
    with pytest.raises(KeyError) as raised:
        study.optimize(quadratic, n_trials=3, n_jobs=2, callbacks=[stop])
    assert raised.value is error
    parent = study_run("cb-raises")
    assert parent.info.status == "FAILED"
    children = children_of(parent.info.run_id)
    assert children and all(c.info.status == "FINISHED" for c in children)
    assert all(c.data.tags["optuna.trial_state"] == "COMPLETE" for c in children)
    assert autolog.active_run() is None
