"""`autolog rerun`: the recorded commit and diff, the same argv, the same metrics.

Real git repositories in tmp_path, real scikit-learn and torch trainings in subprocesses.
"""

from __future__ import annotations

import textwrap

import pytest
from _git_support import autolog_cli, client, git, make_repo, root_runs, write

SKLEARN = """
    import argparse
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    import autolog

    parser = argparse.ArgumentParser()
    parser.add_argument("--C", type=float, default=1.0)
    args = parser.parse_args()
    np.random.seed(0)
    X, y = load_digits(return_X_y=True)
    X = X + np.random.normal(scale=2.0, size=X.shape)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = LogisticRegression(C=args.C, max_iter=200).fit(X_train / 16, y_train)
    autolog.log_metric("accuracy", model.score(X_test / 16, y_test))
"""

TORCH = """
    import importlib.util, os
    import numpy as np
    import torch
    import autolog

    torch.manual_seed(0)
    # sklearn's digits, read without importing sklearn (seconds saved per process)
    folder = importlib.util.find_spec("sklearn").submodule_search_locations[0]
    digits = np.loadtxt(os.path.join(folder, "datasets", "data", "digits.csv.gz"),
                        delimiter=",")
    X, y = digits[:, :-1], digits[:, -1].astype("int64")
    X = torch.tensor(X[:600], dtype=torch.float32) / 16
    y = torch.tensor(y[:600])
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for epoch in range(5):
        order = torch.randperm(len(X))
        for start in range(0, len(X), 100):
            batch = order[start:start + 100]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X[batch]), y[batch])
            loss.backward()
            optimizer.step()
        autolog.log_metric("loss", loss.item(), step=epoch)
"""


def _rerun(tmp_path, cwd, *args):
    return autolog_cli(tmp_path, cwd, "--tracking-uri", str(tmp_path / "runs"), "rerun", *args)


def _only_new(tmp_path, before):
    (new,) = [r for r in root_runs(tmp_path) if r.info.run_id not in before]
    return new


@pytest.mark.slow
def test_rerun_reproduces_a_seeded_sklearn_training_from_a_dirty_tree(tmp_path):
    repo = make_repo(tmp_path, {"train.py": SKLEARN})
    # uncommitted change: the rerun must apply the recorded diff to get the same numbers
    write(repo / "train.py", textwrap.dedent(SKLEARN).replace("max_iter=200", "max_iter=50"))
    first = autolog_cli(tmp_path, repo, "run", "--no-models", "-P", "C=0.5", "train.py")
    assert first.returncode == 0, first.stderr
    (original,) = root_runs(tmp_path)
    assert original.data.tags["autolog.source.git.dirty"] == "true"
    assert original.data.tags["autolog.framework.sklearn"]
    git(repo, "checkout", "train.py")  # the tree is clean (and different) now

    result = _rerun(tmp_path, repo, original.info.run_id)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "environment: the installed packages match" in result.stdout
    new = _only_new(tmp_path, {original.info.run_id})
    assert new.data.tags["autolog.rerun_of"] == original.info.run_id
    assert new.data.params["C"] == "0.5"
    assert new.data.metrics["accuracy"] == original.data.metrics["accuracy"]
    assert git(repo, "worktree", "list").count("\n") == 0  # the temporary worktree is gone
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.slow
def test_rerun_reproduces_a_seeded_torch_training(tmp_path):
    repo = make_repo(tmp_path, {"nets/train_torch.py": TORCH})
    first = autolog_cli(tmp_path, repo / "nets", "run", "train_torch.py")
    assert first.returncode == 0, first.stderr
    (original,) = root_runs(tmp_path)
    assert original.data.tags["autolog.seed.torch"] == "0"
    assert original.data.tags["autolog.framework.torch"]
    keep = tmp_path / "kept"
    result = _rerun(tmp_path, repo, original.info.run_id, "--worktree", str(keep))
    assert result.returncode == 0, result.stderr + result.stdout
    new = _only_new(tmp_path, {original.info.run_id})
    assert new.data.tags["autolog.source.cwd"] == str(keep / "nets")
    c = client(tmp_path)
    losses = [m.value for m in c.get_metric_history(original.info.run_id, "loss")]
    assert len(losses) == 5
    assert [m.value for m in c.get_metric_history(new.info.run_id, "loss")] == losses
    assert (keep / "nets" / "train_torch.py").exists()  # --worktree DIR is kept


def test_rerun_of_a_commit_that_is_gone_is_a_clear_error(tmp_path):
    repo = make_repo(tmp_path, {"train.py": "import autolog\nautolog.log_metric('m', 1)\n"})
    assert autolog_cli(tmp_path, repo, "run", "train.py").returncode == 0
    (run,) = root_runs(tmp_path)
    commit = run.data.tags["mlflow.source.git.commit"]
    # rewrite history and collect the old commit
    git(repo, "commit", "-q", "--amend", "-m", "rewritten")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    assert git(repo, "cat-file", "-t", commit, check=False) == ""
    result = _rerun(tmp_path, repo, run.info.run_id)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"Error: commit {commit} recorded by run {run.info.run_id} is not in" in result.stderr

    client(tmp_path).set_tag(run.info.run_id, "mlflow.source.git.commit", "f" * 40)
    result = _rerun(tmp_path, repo, run.info.run_id)
    assert result.returncode == 1 and "Error: commit ffff" in result.stderr


def test_rerun_in_place_checks_the_commit(tmp_path):
    repo = make_repo(tmp_path, {"train.py": "import sys\nprint(sys.argv)\n"})
    assert autolog_cli(tmp_path, repo, "run", "train.py").returncode == 0
    (run,) = root_runs(tmp_path)
    write(repo / "other.txt", "x\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-q", "-m", "next")
    refused = _rerun(tmp_path, repo, run.info.run_id, "--in-place")
    assert refused.returncode == 1 and "--in-place: HEAD is" in refused.stderr
    forced = _rerun(tmp_path, repo, run.info.run_id, "--in-place", "--force", "-P", "lr=3")
    assert forced.returncode == 0, forced.stderr
    new = _only_new(tmp_path, {run.info.run_id})
    assert new.data.tags["autolog.rerun_of"] == run.info.run_id
    assert new.data.params == {"lr": "3"}  # -P on rerun: passed on to autolog run
    assert new.data.tags["autolog.source.cwd"] == str(repo)


def test_rerun_without_git_data_is_a_clear_error(tmp_path):
    folder = tmp_path / "plain"
    write(folder / "train.py", "import autolog\nautolog.log_metric('m', 1)\n")
    assert autolog_cli(tmp_path, folder, "run", "train.py").returncode == 0
    (run,) = root_runs(tmp_path)
    result = _rerun(tmp_path, folder, run.info.run_id)
    assert result.returncode == 1 and "recorded no git commit" in result.stderr
    missing = _rerun(tmp_path, folder, "nope")
    assert missing.returncode == 1 and "run 'nope' not found" in missing.stderr
