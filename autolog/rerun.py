"""``autolog rerun RUN_ID``: run again what produced a run (see `autolog.core.tracking.provenance`).

    autolog rerun RUN_ID [--in-place | --worktree DIR] [--force] [-P key=value ...]

1. Reads the run's source: its root run's tags (command, cwd, git commit and work tree
   root, ``-P`` overrides) and artifacts (``code/diff.patch``,
   ``environment/requirements.txt``). A child run is rerun through its root run: the
   whole script runs again.
2. Prints the packages whose installed version differs from the recorded one.
3. Prepares the code: by default a temporary ``git worktree`` at the recorded commit
   (removed afterwards), with the recorded diff applied; ``--worktree DIR`` keeps it in
   DIR; ``--in-place`` uses the current work tree as it is, and refuses when its HEAD or
   its uncommitted changes differ from the recorded ones unless ``--force``.
4. Runs ``python -m autolog run [-P ...] SCRIPT ARGS`` in the recorded working directory
   (mapped into the work tree) with ``AUTOLOG_RERUN_OF=RUN_ID``, so the new root run is
   tagged ``autolog.rerun_of``, into the original run's experiment; exits with its status.

What is not reproduced: untracked files (they are not in the commit nor in the diff),
data outside the repository, absolute paths in the arguments, the interpreter itself
(the current ``sys.executable`` runs it; the package differences are printed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import click

from autolog.core.tracking import git
from autolog.core.tracking import provenance as p


class RerunError(Exception):
    """Why the run cannot be rerun (one line, exit status 1)."""


@dataclass
class Source:
    run_id: str  # the run asked for
    root_run_id: str  # the run whose tags and artifacts describe the command
    experiment_id: str
    argv: list[str]
    cwd: str
    commit: str | None = None
    git_root: str | None = None
    dirty: bool = False
    truncated: bool = False
    overrides: dict[str, str] = field(default_factory=dict)


def load_source(client: Any, run_id: str) -> Source:
    from autolog.core.errors import AutologException

    try:
        run = client.get_run(run_id)
    except AutologException:
        raise RerunError(f"run {run_id!r} not found") from None
    root, seen = run, {run.info.run_id}
    while p.TAG_PARENT in root.data.tags and len(seen) < 50:
        parent_id = root.data.tags[p.TAG_PARENT]
        if parent_id in seen:
            break
        seen.add(parent_id)
        try:
            root = client.get_run(parent_id)
        except AutologException:
            break
    tags = {**run.data.tags, **root.data.tags}
    if p.TAG_ARGV not in tags:
        raise RerunError(f"run {run_id} has no recorded command ({p.TAG_ARGV}); "
                         "it was not started with autologging on")
    try:
        argv = json.loads(tags[p.TAG_ARGV])
    except ValueError:
        raise RerunError(f"run {run_id}: unreadable {p.TAG_ARGV} tag") from None
    if not argv or argv[0] in ("", "-c") or (argv[0] == "-m" and len(argv) < 2):
        raise RerunError(f"run {run_id} was not started from a script or module; "
                         "there is no command to rerun")
    try:
        overrides = json.loads(tags.get(p.TAG_OVERRIDES) or "{}")
    except ValueError:
        overrides = {}
    return Source(
        run_id=run.info.run_id,
        root_run_id=root.info.run_id,
        experiment_id=run.info.experiment_id,
        argv=[str(a) for a in argv],
        cwd=tags.get(p.TAG_CWD) or os.getcwd(),
        commit=tags.get(git.TAG_GIT_COMMIT),
        git_root=tags.get(git.TAG_GIT_ROOT),
        dirty=tags.get(git.TAG_GIT_DIRTY) == "true",
        truncated=tags.get(git.TAG_DIFF_TRUNCATED) == "true",
        overrides={str(k): str(v) for k, v in overrides.items()},
    )


def _artifact_bytes(client: Any, run_id: str, path: str) -> bytes | None:
    try:
        with tempfile.TemporaryDirectory(prefix="autolog-rerun-") as tmp:
            local = client.download_artifacts(run_id, path, tmp)
            with open(local, "rb") as handle:
                return handle.read()
    except Exception:  # noqa: BLE001 - absent (or unreadable): treated as not recorded
        return None


def _parse_requirements(text: str) -> dict[str, tuple[str, str]]:
    result = {}
    for line in text.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            result[re.sub(r"[-_.]+", "-", name).lower()] = (name, version)
    return result


def environment_differences(recorded: str) -> list[tuple[str, str, str]]:
    """(package, recorded version, installed version or "not installed")."""
    installed = _parse_requirements(p.requirements())
    differences = []
    for key, (name, version) in sorted(_parse_requirements(recorded).items()):
        now = installed.get(key)
        if now is None:
            differences.append((name, version, "not installed"))
        elif now[1] != version:
            differences.append((name, version, now[1]))
    return differences


def _git(directory: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", directory, *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def _toplevel(directory: str) -> str | None:
    if not os.path.isdir(directory):
        return None
    try:
        result = _git(directory, "rev-parse", "--show-toplevel")
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


@dataclass
class Tree:
    root: str  # where the recorded git root now is
    cleanup: Callable[[], None] | None = None


def prepare_tree(source: Source, client: Any, *, in_place: bool, worktree: str | None,
                 force: bool, echo: Callable[[str], None]) -> Tree:
    """The work tree to run in: a worktree at the commit with the diff, or the current."""
    if source.commit is None:
        raise RerunError(f"run {source.run_id} recorded no git commit (its code was not in a "
                         "git repository); nothing to check out")
    here = _toplevel(os.getcwd())
    recorded = _toplevel(source.git_root) if source.git_root else None
    repository = here if in_place else (recorded or here)
    if repository is None:
        raise RerunError("not inside a git repository, and the recorded one "
                         f"({source.git_root}) is gone; run this from a clone of it")
    found = _git(repository, "cat-file", "-e", f"{source.commit}^{{commit}}")
    if found.returncode != 0:
        raise RerunError(f"commit {source.commit} recorded by run {source.run_id} is not in "
                         f"the repository {repository} (history rewritten, or not fetched?)")
    patch = None
    if source.dirty:
        if source.truncated and not force:
            raise RerunError(f"the diff recorded by run {source.root_run_id} was truncated; "
                             "the code cannot be restored (--force: rerun without it)")
        if not source.truncated:
            patch = _artifact_bytes(client, source.root_run_id, p.DIFF_ARTIFACT)
            if patch is None and not force:
                raise RerunError(f"run {source.root_run_id} was dirty but its "
                                 f"{p.DIFF_ARTIFACT} is missing (--force: rerun without it)")
    if in_place:
        return _check_in_place(source, repository, patch, force, echo)
    if worktree is not None:
        directory = os.path.abspath(worktree)
        if os.path.exists(directory) and os.listdir(directory):
            raise RerunError(f"--worktree {worktree}: the directory exists and is not empty")
    else:
        directory = os.path.join(tempfile.mkdtemp(prefix="autolog-rerun-"), "tree")
    added = _git(repository, "worktree", "add", "--detach", directory, source.commit)
    if added.returncode != 0:
        raise RerunError(f"git worktree add failed: {_first_line(added.stderr)}")

    def remove() -> None:
        _git(repository, "worktree", "remove", "--force", directory)
        _git(repository, "worktree", "prune")
        shutil.rmtree(os.path.dirname(directory), ignore_errors=True)

    cleanup = remove if worktree is None else None
    try:
        if patch:
            _apply(directory, patch)
    except BaseException:
        if cleanup is not None:
            cleanup()
        raise
    echo(f"code: commit {source.commit[:12]}{' + recorded diff' if patch else ''} in "
         f"{directory}{'' if cleanup else ' (kept)'}")
    return Tree(directory, cleanup)


def _apply(directory: str, patch: bytes) -> None:
    with tempfile.NamedTemporaryFile(prefix="autolog-", suffix=".patch", delete=False) as f:
        f.write(patch)
    try:
        applied = _git(directory, "apply", "--binary", "--whitespace=nowarn", f.name)
    finally:
        os.unlink(f.name)
    if applied.returncode != 0:
        raise RerunError(f"the recorded diff does not apply: {_first_line(applied.stderr)}")


def _check_in_place(source: Source, repository: str, patch: bytes | None, force: bool,
                    echo: Callable[[str], None]) -> Tree:
    head = _git(repository, "rev-parse", "HEAD").stdout.strip()
    current = subprocess.run(
        ["git", "-C", repository, "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff",
         "--no-textconv"], capture_output=True, stdin=subprocess.DEVNULL, timeout=120,
    ).stdout
    problems = []
    if head != source.commit:
        problems.append(f"HEAD is {head[:12]}, the run used {source.commit[:12]}")
    if current != (patch or b""):
        problems.append("the uncommitted changes differ from the recorded diff")
    if problems and not force:
        raise RerunError(f"--in-place: {'; '.join(problems)} (--force: run anyway)")
    for problem in problems:
        echo(f"warning: {problem}; running anyway (--force)")
    echo(f"code: the current work tree {repository}")
    return Tree(repository)


def _map_path(path: str, old_root: str | None, new_root: str) -> str:
    if old_root and os.path.isabs(path):
        relative = os.path.relpath(path, old_root)
        if not relative.startswith(".."):
            return os.path.join(new_root, relative)
    return path


def command_for(source: Source, tree: Tree | None, tracking_uri: str, experiment: str | None,
                overrides: Mapping[str, str]) -> tuple[list[str], str]:
    """The ``python -m autolog run ...`` command and the directory to run it in."""
    argv = list(source.argv)
    cwd = source.cwd
    if tree is not None:
        cwd = os.path.normpath(_map_path(source.cwd, source.git_root, tree.root))
        if not os.path.isabs(cwd):
            cwd = tree.root
        index = 1 if argv[0] == "-m" else 0
        argv[index] = _map_path(argv[index], source.git_root, tree.root)
    if not os.path.isdir(cwd):
        raise RerunError(f"the working directory {cwd} does not exist")
    if argv[0] != "-m" and not os.path.exists(os.path.join(cwd, argv[0])):
        raise RerunError(f"the script {argv[0]} is not in {cwd} (untracked when the run was "
                         "made? untracked files are not recorded)")
    command = [sys.executable, "-m", "autolog", "--tracking-uri", tracking_uri, "run"]
    if experiment:
        command += ["--experiment", experiment]
    for key, value in {**source.overrides, **overrides}.items():
        command += ["-P", f"{key}={value}"]
    return command + argv, cwd


def rerun(client: Any, run_id: str, *, tracking_uri: str, in_place: bool = False,
          worktree: str | None = None, force: bool = False,
          overrides: Mapping[str, str] | None = None,
          echo: Callable[[str], None] = print) -> int:
    """Rerun ``run_id``; return the exit status of the new run's process."""
    source = load_source(client, run_id)
    recorded = _artifact_bytes(client, source.root_run_id, p.REQUIREMENTS_ARTIFACT)
    if recorded is None:
        echo("environment: no requirements recorded")
    else:
        differences = environment_differences(recorded.decode("utf-8", "replace"))
        if not differences:
            echo("environment: the installed packages match the recorded ones")
        else:
            echo(f"environment: {len(differences)} package(s) differ from the recorded run:")
            for name, was, now in differences:
                echo(f"  {name}: recorded {was}, installed {now}")
    tree = prepare_tree(source, client, in_place=in_place, worktree=worktree, force=force,
                        echo=echo)
    try:
        try:
            experiment = client.get_experiment(source.experiment_id).name
        except Exception:  # noqa: BLE001 - the default experiment then
            experiment = None
        command, cwd = command_for(source, tree, tracking_uri, experiment, overrides or {})
        env = dict(os.environ)
        env[p.ENV_RERUN_OF] = source.run_id
        echo(f"running in {cwd}: autolog run {' '.join(command[6:])}")
        sys.stdout.flush()
        code = subprocess.run(command, cwd=cwd, env=env).returncode
    finally:
        if tree.cleanup is not None:
            tree.cleanup()
    found = client.search_runs([source.experiment_id],
                               filter_string=f"tags.`{p.TAG_RERUN_OF}` = '{source.run_id}'",
                               max_results=1)
    if found:
        echo(f"rerun of {source.run_id}: run {found[0].info.run_id} ({found[0].info.status})")
    return code


@click.command("rerun")
@click.argument("run_id")
@click.option("--in-place", is_flag=True,
              help="Run in the current work tree (refused when it is not at the recorded "
                   "commit and diff, unless --force).")
@click.option("--worktree", type=click.Path(file_okay=False), metavar="DIR",
              help="Check the recorded commit out into DIR and keep it.")
@click.option("--force", is_flag=True, help="Run even where the code cannot be matched.")
@click.option("-P", "overrides", multiple=True, metavar="KEY=VALUE",
              callback=lambda ctx, param, values: _parse(ctx, param, values),
              help="Override one of the script's options (as autolog run -P).")
@click.pass_context
def rerun_command(ctx: click.Context, run_id: str, in_place: bool, worktree: str | None,
                  force: bool, overrides: dict[str, str]) -> None:
    """Run again the command that produced RUN_ID, at its recorded commit and diff."""
    import autolog

    if in_place and worktree:
        raise click.UsageError("--in-place and --worktree do not go together", ctx)
    uri = (ctx.find_root().obj or {}).get("tracking_uri") or autolog.get_tracking_uri()
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", uri):
        uri = os.path.abspath(uri)  # the new run's process runs elsewhere
    try:
        client = autolog.Client(tracking_uri=uri)
        code = rerun(client, run_id, tracking_uri=uri, in_place=in_place, worktree=worktree,
                     force=force, overrides=overrides, echo=click.echo)
    except (RerunError, autolog.AutologException) as exc:
        raise click.ClickException(str(exc)) from None
    ctx.exit(code)


def _parse(ctx: click.Context, param: Any, values: Any) -> dict[str, str]:
    from autolog.cli import _parse_overrides

    return _parse_overrides(ctx, param, values)
