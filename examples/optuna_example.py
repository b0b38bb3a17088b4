"""Optuna autologging: a study is a run, each trial a child run, unchanged code.

    python examples/optuna_example.py              # enables autologging itself
    autolog run examples/optuna_example.py         # the same, unchanged, under the launcher

The study tunes an SGD classifier on the breast-cancer data, epoch by epoch
(``partial_fit``), with a pruner fed by ``trial.report`` and two worker threads. Each
trial's run holds the trial's params, value, state and intermediate values
(``intermediate_value`` per epoch), and -- because it is the active run while the
objective runs -- scikit-learn's own autologging of the ``partial_fit`` calls (the
estimator's params, training metrics per epoch).
The study's run holds the sampler and pruner settings, the best value and params, the
trial counts by state and ``trials.json`` (one row per trial). Records go to
./autolog-runs (or $AUTOLOG_TRACKING_URI); then try ``autolog runs list``.
"""

import autolog


def main() -> None:
    if not any(s.name == "optuna" and s.state in ("enabled", "waiting")
               for s in autolog.status()):
        autolog.autolog(log_models=False)  # not already on (as under `autolog run`)

    import numpy as np
    import optuna
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import scale

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_valid, y_train, y_valid = train_test_split(scale(X), y, random_state=0)
    classes = np.unique(y)

    def objective(trial: optuna.Trial) -> float:
        model = SGDClassifier(
            loss=trial.suggest_categorical("loss", ["hinge", "log_loss", "modified_huber"]),
            alpha=trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
            random_state=0)
        for step in range(15):  # Optuna's pruning pattern: report each epoch
            model.partial_fit(X_train, y_train, classes=classes)  # into the trial's run
            accuracy = float((model.predict(X_valid) == y_valid).mean())
            trial.report(accuracy, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return accuracy

    study = optuna.create_study(
        study_name="breast-cancer-sgd", direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    study.optimize(objective, n_trials=12, n_jobs=2)

    print(f"best accuracy {study.best_value:.4f} with {study.best_params}")
    run = autolog.search_runs(filter_string="params.study_name = 'breast-cancer-sgd'",
                              order_by=["start_time DESC"])[0]
    trials = autolog.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    states = sorted(t.data.tags.get("optuna.trial_state", "?") for t in trials)
    print(f"study run {run.info.run_id}: best_value {run.data.metrics['best_value']:.4f}, "
          f"{len(trials)} trial runs ({', '.join(states)})")


if __name__ == "__main__":
    main()
