"""The git facts of the work tree holding the user's code (commit, branch, remote, diff),
found once per process per directory, with git's own CLI and a timeout."""

from __future__ import annotations

import functools
import os
import threading

__all__ = ["GitState", "cached_for", "git", "git_for", "git_state", "reset_cache"]

TAG_GIT_COMMIT = "mlflow.source.git.commit"
TAG_GIT_BRANCH = "mlflow.source.git.branch"
TAG_GIT_REPO_URL = "mlflow.source.git.repoURL"
TAG_GIT_ROOT = "autolog.source.git.root"
TAG_GIT_DIRTY = "autolog.source.git.dirty"
TAG_DIFF_TRUNCATED = "autolog.source.git.diff_truncated"
DIFF_LIMIT = 1 << 20  # bytes of diff kept
GIT_TIMEOUT = 5.0  # seconds per git command


class GitState:
    """The git facts of one work tree, as found once per process."""

    __slots__ = ("root", "commit", "branch", "remote", "diff", "diff_size")

    def __init__(self, root: str, commit: str, branch: str | None, remote: str | None,
                 diff: bytes, diff_size: int) -> None:
        self.root = root
        self.commit = commit
        self.branch = branch
        self.remote = remote
        self.diff = diff
        self.diff_size = diff_size

    @property
    def dirty(self) -> bool:
        return self.diff_size > 0

    @property
    def truncated(self) -> bool:
        return self.diff_size > len(self.diff)

    def tags(self) -> dict[str, str]:
        tags = {TAG_GIT_COMMIT: self.commit, TAG_GIT_ROOT: self.root,
                TAG_GIT_DIRTY: "true" if self.dirty else "false"}
        if self.branch:
            tags[TAG_GIT_BRANCH] = self.branch
        if self.remote:
            tags[TAG_GIT_REPO_URL] = self.remote
        if self.truncated:
            tags[TAG_DIFF_TRUNCATED] = "true"
        return tags

    def patch_bytes(self) -> bytes:
        if not self.truncated:
            return self.diff
        note = (f"\n# autolog: diff truncated: {self.diff_size} bytes in all, the first "
                f"{len(self.diff)} kept; it cannot be applied.\n")
        return self.diff + note.encode()


def git(directory: str, *args: str, timeout: float = GIT_TIMEOUT) -> bytes | None:
    """``git -C directory args...``'s stdout, or None (no git, not a repo, error, timeout)."""
    import subprocess

    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"  # never rewrite the user's index while reading
    env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        result = subprocess.run(
            ["git", "-C", directory, *args], capture_output=True, timeout=timeout, env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def git_state(directory: str) -> GitState | None:
    """The git state of the work tree holding ``directory``, or None outside one."""
    out = git(directory, "rev-parse", "--show-toplevel", "HEAD", "--abbrev-ref", "HEAD")
    if out is None:
        return None
    lines = out.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) < 3:
        return None
    root, commit, branch = lines[0], lines[1], lines[2]
    remote = None
    remotes = git(root, "config", "--get-regexp", r"^remote\..*\.url$")
    if remotes:
        urls = {}
        for line in remotes.decode("utf-8", "replace").splitlines():
            key, _, url = line.partition(" ")
            urls[key[len("remote."):-len(".url")]] = url
        remote = urls.get("origin") or next(iter(urls.values()), None)
    diff = git(root, "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff",
               "--no-textconv") or b""
    return GitState(root, commit, None if branch == "HEAD" else branch, remote,
                    diff[:DIFF_LIMIT], len(diff))


_git_cache: dict[str, GitState | None] = {}
_cache_lock = threading.Lock()


def _git_directory(script: str | None) -> str:
    """The directory whose repository describes the user's code.

    A script installed with the interpreter (``python -m pytest``, a console script such
    as ``jupyter``) is a tool, not the user's code: the code it runs is in the cwd.
    """
    if not script or not os.path.isfile(script) or _is_installed(script):
        return os.getcwd()
    return os.path.dirname(script)


@functools.lru_cache(maxsize=8)  # asked at every run's start, always for sys.argv[0]
def _is_installed(path: str) -> bool:
    import sysconfig

    real = os.path.realpath(path)
    for key in ("purelib", "platlib", "scripts"):
        root = sysconfig.get_path(key)
        if root and _is_within(real, os.path.realpath(root)):
            return True
    return False


def _is_within(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives on Windows
        return False


def git_for(script: str | None) -> GitState | None:
    directory = _git_directory(script)
    with _cache_lock:
        if directory in _git_cache:
            return _git_cache[directory]
    state = git_state(directory)
    with _cache_lock:
        _git_cache[directory] = state
    return state


def cached_for(script: str | None) -> tuple[bool, GitState | None]:
    """``(known, state)``: whether the state for ``script``'s directory is cached (no git
    subprocess needed), and that state."""
    directory = _git_directory(script)
    with _cache_lock:
        if directory in _git_cache:
            return True, _git_cache[directory]
    return False, None


def reset_cache() -> None:
    with _cache_lock:
        _git_cache.clear()


def _after_fork_in_child() -> None:
    global _cache_lock
    _cache_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
