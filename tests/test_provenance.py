"""What produced a run (core.provenance, the seeds integration, `autolog run -P`).

Real git repositories in tmp_path; each case runs real `python` subprocesses there.
"""

from __future__ import annotations

import json
import re
import textwrap
import time

import pytest
from _git_support import (
    argv,
    artifacts,
    autolog_cli,
    client,
    git,
    make_repo,
    python,
    root_runs,
    runs,
    write,
)
from click.testing import CliRunner

from autolog import launcher

TRAIN = """
    import argparse
    import autolog

    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--n-iter", type=int, default=3)
    args = parser.parse_args()
    autolog.log_metric("score", args.lr * args.n_iter)
"""


def test_clean_tree_records_commit_and_no_diff(tmp_path):
    repo = make_repo(tmp_path, {"train.py": TRAIN})
    result = autolog_cli(tmp_path, repo, "run", "train.py", "--lr", "0.25")
    assert result.returncode == 0, result.stderr
    (run,) = runs(tmp_path)
    tags = run.data.tags
    assert tags["mlflow.source.git.commit"] == git(repo, "rev-parse", "HEAD")
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["mlflow.source.git.repoURL"] == "https://example.com/team/project.git"
    assert tags["autolog.source.git.dirty"] == "false"
    assert tags["autolog.source.entry_point"] == "train.py"
    assert argv(run) == ["train.py", "--lr", "0.25"]
    assert tags["autolog.source.cwd"] == str(repo)
    assert tags["mlflow.source.name"] == str(repo / "train.py")
    assert tags["mlflow.source.type"] == "LOCAL"
    for key in ("autolog.python_version", "autolog.platform", "autolog.host", "mlflow.user"):
        assert tags[key], key
    files = artifacts(tmp_path, run.info.run_id)
    assert "code/diff.patch" not in files
    assert {"environment/requirements.txt", "environment/python_env.yaml"} <= files
    requirements = client(tmp_path).download_artifacts(
        run.info.run_id, "environment/requirements.txt", str(tmp_path / "dl"))
    lines = open(requirements).read().splitlines()
    names = [re.sub(r"[-_.]+", "-", line.split("==")[0]).lower() for line in lines]
    assert names == sorted(names) and any(x.startswith("click==") for x in lines)


def test_dirty_tree_records_the_diff(tmp_path):
    repo = make_repo(tmp_path, {"train.py": TRAIN, "sub/notes.txt": "a\n"})
    write(repo / "train.py", textwrap.dedent(TRAIN) + "autolog.log_metric('extra', 1)\n")
    (repo / "sub").mkdir(exist_ok=True)
    result = autolog_cli(tmp_path, repo / "sub", "run", "../train.py")
    assert result.returncode == 0, result.stderr
    (run,) = runs(tmp_path)
    assert run.data.tags["autolog.source.git.dirty"] == "true"
    assert run.data.tags["autolog.source.cwd"] == str(repo / "sub")
    path = client(tmp_path).download_artifacts(run.info.run_id, "code/diff.patch",
                                               str(tmp_path / "dl"))
    patch = open(path).read()
    assert "+autolog.log_metric('extra', 1)" in patch and "a/train.py" in patch
    # the diff reproduces the tree: it applies in reverse on the dirty tree
    check = git(repo, "apply", "--check", "-R", path)
    assert check == ""


def test_argv_and_overrides_become_params(tmp_path):
    repo = make_repo(tmp_path, {"train.py": TRAIN})
    result = autolog_cli(tmp_path, repo, "run", "-P", "lr=0.1", "-P", "n_iter=5",
                         "train.py", "--lr", "0.3")
    assert result.returncode == 0, result.stderr
    (run,) = runs(tmp_path)
    assert run.data.params == {"lr": "0.1", "n_iter": "5"}
    assert argv(run) == ["train.py", "--lr", "0.1", "--n-iter", "5"]
    assert run.data.metrics["score"] == pytest.approx(0.5)
    assert json.loads(run.data.tags["autolog.source.overrides"]) == {"lr": "0.1", "n_iter": "5"}
    bad = autolog_cli(tmp_path, repo, "run", "-P", "novalue", "train.py")
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr


def test_apply_overrides(tmp_path):
    script = write(tmp_path / "s.py", """
        import click
        @click.option("--learning-rate")
        def main(learning_rate): ...
    """)
    apply = launcher.apply_overrides
    assert apply(str(script), ["--lr", "1", "x"], {"lr": "2"}) == ["--lr", "2", "x"]
    assert apply(str(script), ["--lr=1"], {"lr": "2"}) == ["--lr=2"]
    assert apply(str(script), [], {"learning_rate": "3"}) == ["--learning-rate", "3"]
    assert apply(str(script), ["a"], {"epochs": "4"}) == ["a", "--epochs", "4"]


def test_outside_git_records_no_git_data(tmp_path):
    folder = tmp_path / "plain"
    write(folder / "train.py", TRAIN)
    result = autolog_cli(tmp_path, folder, "run", "train.py")
    assert result.returncode == 0, result.stderr
    (run,) = runs(tmp_path)
    assert not [k for k in run.data.tags if ".git." in k]
    assert run.data.tags["autolog.source.entry_point"] == "train.py"
    assert "environment/requirements.txt" in artifacts(tmp_path, run.info.run_id)


SEEDS = """
    import random, sys
    import numpy as np
    import autolog

    autolog.autolog(log_models=False)
    random.seed(11)
    np.random.seed(12)
    with autolog.start_run() as run:
        np.random.seed(14)  # set while the run is active: tagged at once
    print(run.info.run_id)
"""


def test_seeds_recorded(tmp_path):
    repo = make_repo(tmp_path, {"seeds.py": SEEDS})
    result = python(tmp_path, repo, "seeds.py")
    assert result.returncode == 0, result.stderr
    run = client(tmp_path).get_run(result.stdout.split()[-1])
    tags = run.data.tags
    assert tags["autolog.seed.random"] == "11"
    assert tags["autolog.seed.numpy"] == "14"
    assert not [k for k in tags if k.startswith("autolog.framework.")]  # none imported
    assert argv(run) == ["seeds.py"]  # a plain `python seeds.py` with autolog() inside


OPTIONS = """
    import sys
    import autolog

    autolog.autolog(**{k: v == "1" for k, v in (a.split("=") for a in sys.argv[1:])})
    with autolog.start_run() as run:
        autolog.log_metric("m", 1)
    print(run.info.run_id)
"""


@pytest.mark.parametrize("option", ["log_code", "log_environment"])
def test_each_piece_can_be_turned_off(tmp_path, option):
    repo = make_repo(tmp_path, {"opt.py": OPTIONS})
    write(repo / "opt.py", textwrap.dedent(OPTIONS) + "# dirty\n")
    result = python(tmp_path, repo, "opt.py", f"{option}=0")
    assert result.returncode == 0, result.stderr
    run = client(tmp_path).get_run(result.stdout.split()[-1])
    tags, files = run.data.tags, artifacts(tmp_path, run.info.run_id)
    code = "autolog.source.argv" in tags or "mlflow.source.git.commit" in tags
    environment = "autolog.platform" in tags
    assert code == (option != "log_code")
    assert ("code/diff.patch" in files) == (option != "log_code")
    assert environment == (option != "log_environment")
    assert ("environment/requirements.txt" in files) == (option != "log_environment")


def test_user_runs_without_autolog_get_no_provenance(tmp_path):
    repo = make_repo(tmp_path, {"plain.py": """
        import autolog
        with autolog.start_run() as run:
            pass
        print(run.info.run_id)
    """})
    result = python(tmp_path, repo, "plain.py")
    assert result.returncode == 0, result.stderr
    run = client(tmp_path).get_run(result.stdout.split()[-1])
    assert not [k for k in run.data.tags if "source" in k]


def test_runs_show_prints_the_source_section(tmp_path):
    from autolog.cli import cli

    repo = make_repo(tmp_path, {"train.py": TRAIN})
    assert autolog_cli(tmp_path, repo, "run", "train.py", "--lr", "2").returncode == 0
    (run,) = root_runs(tmp_path)
    result = CliRunner().invoke(
        cli, ["--tracking-uri", str(tmp_path / "runs"), "runs", "show", run.info.run_id])
    assert result.exit_code == 0, result.output
    section = result.output.split("Source")[1].split("Tags")[0]
    assert "command     train.py --lr 2" in section
    assert f"commit      {git(repo, 'rev-parse', 'HEAD')} (main)" in section
    assert "python" in section


def test_managed_run_open_close_stays_cheap(tmp_path, monkeypatch):
    """Budget: <= 3 ms median (benchmarks/bench_provenance.py); loose here against noise."""
    import autolog
    from autolog.core.config import AutologConfig
    from autolog.core.tracking import provenance
    from autolog.core.tracking.sessions import TrainingSession

    repo = make_repo(tmp_path, {"x.py": "x = 1\n"})
    monkeypatch.chdir(repo)
    autolog.set_tracking_uri(str(tmp_path / "runs"))
    provenance.reset_cache()
    try:
        config = AutologConfig(log_models=False)
        times = []
        for _ in range(31):
            start = time.perf_counter()
            TrainingSession.open("bench", config).close()
            times.append(time.perf_counter() - start)
        provenance.wait()
        assert len(times) == 31  # cost: benchmarks/bench_provenance.py, not a timed test
        last = autolog.get_run(autolog.last_active_run().info.run_id)
        assert last.data.tags["mlflow.source.git.commit"] == git(repo, "rev-parse", "HEAD")
    finally:
        provenance.reset_cache()
        autolog.set_tracking_uri(None)


def test_an_installed_tool_is_not_the_users_code(tmp_path, monkeypatch):
    """``python -m pytest`` or ``jupyter``: the code lives in the cwd, not beside the tool."""
    from autolog.core.tracking import git

    tool = pytest.__file__  # a file of an installed distribution
    script = tmp_path / "train.py"
    script.write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    assert git._git_directory(tool) == str(tmp_path)
    assert git._git_directory(str(script)) == str(tmp_path)
    assert git._git_directory(None) == str(tmp_path)
    elsewhere = tmp_path / "src"
    elsewhere.mkdir()
    (elsewhere / "main.py").write_text("x = 1\n")
    assert git._git_directory(str(elsewhere / "main.py")) == str(elsewhere)
