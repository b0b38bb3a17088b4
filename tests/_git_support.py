"""Temporary git repositories and `python -m autolog` subprocesses for the provenance
and rerun tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import autolog

REPO = Path(__file__).resolve().parent.parent


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    result = {k: v for k, v in os.environ.items()
              if not k.startswith(("AUTOLOG_", "GIT_"))}
    result["PYTHONPATH"] = str(REPO)
    result["AUTOLOG_TRACKING_URI"] = str(tmp_path / "runs")
    result["AUTOLOG_STRICT"] = "1"
    result["GIT_CEILING_DIRECTORIES"] = str(tmp_path)  # never find a repository above
    for name in ("AUTHOR", "COMMITTER"):
        result[f"GIT_{name}_NAME"] = "Test"
        result[f"GIT_{name}_EMAIL"] = "test@example.com"
    result.update(extra)
    return result


def git(repo: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                            env=env(repo.parent), check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


def make_repo(tmp_path: Path, files: dict[str, str], name: str = "project") -> Path:
    repo = tmp_path / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "https://example.com/team/project.git")
    for path, text in files.items():
        write(repo / path, text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def autolog_cli(tmp_path: Path, cwd: Path, *args: str, timeout: float = 120, **extra: str):
    return subprocess.run([sys.executable, "-m", "autolog", *args], cwd=cwd,
                          env=env(tmp_path, **extra), capture_output=True, text=True,
                          timeout=timeout)


def python(tmp_path: Path, cwd: Path, *args: str, timeout: float = 120):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env(tmp_path),
                          capture_output=True, text=True, timeout=timeout)


def client(tmp_path: Path) -> autolog.Client:
    return autolog.Client(tracking_uri=str(tmp_path / "runs"))


def runs(tmp_path: Path, experiment: str = "Default"):
    c = client(tmp_path)
    exp = c.get_experiment_by_name(experiment)
    return [] if exp is None else c.search_runs([exp.experiment_id])


def root_runs(tmp_path: Path):
    return [r for r in runs(tmp_path) if "mlflow.parentRunId" not in r.data.tags]


def artifacts(tmp_path: Path, run_id: str) -> set[str]:
    c = client(tmp_path)
    found, pending = set(), [""]
    while pending:
        for info in c.list_artifacts(run_id, pending.pop()):
            (pending.append(info.path) if info.is_dir else found.add(info.path))
    return found


def argv(run) -> list[str]:
    return json.loads(run.data.tags["autolog.source.argv"])
