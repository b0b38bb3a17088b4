"""Put XGBoost's and LightGBM's own Python tests, at the installed versions, in the cache.

    .venv/bin/python compat/fetch_peer_tests.py                 # git clone (needs network)
    .venv/bin/python compat/fetch_peer_tests.py --git-dir xgboost=/path/to/xgboost/.git \\
        --git-dir lightgbm=/path/to/LightGBM/.git               # from local clones, offline
    .venv/bin/python compat/fetch_peer_tests.py --ref lightgbm=<commit>   # another ref

Neither wheel ships its tests, and this repository does not commit theirs: they are read
into ``compat/_work/peer/<framework>-<version>/`` (gitignored), where
``compat/run_frameworks.py`` finds them. Without ``--git-dir`` each is fetched with
``git clone --branch v<version> --depth 1`` (a machine with access to GitHub); with one,
the tag (or ``--ref``) is read from that local git directory (a bare mirror works too).
Only the test directory and the data files its tests read (XGBoost's ``demo/``,
LightGBM's ``examples/``) are copied (``git archive``), plus a ``SOURCE`` file that says
which repository and commit they came from.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(REPO, "compat", "_work", "peer")

#: framework -> (distribution, GitHub repository, the paths copied: the test directory and
#: the data files its tests read from the source tree)
PEERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "xgboost": ("xgboost", "https://github.com/dmlc/xgboost", ("tests/python", "demo")),
    "lightgbm": ("lightgbm", "https://github.com/lightgbm-org/LightGBM",
                 ("tests/python_package_test", "examples")),
    "optuna": ("optuna", "https://github.com/optuna/optuna", ("tests",)),
}


def cache_dir(framework: str, version: str | None = None) -> str:
    """Where the tests of ``framework`` at ``version`` (default: installed) are kept."""
    if version is None:
        version = metadata.version(PEERS[framework][0])
    return os.path.join(CACHE, f"{framework}-{version}")


def _git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True,
                          capture_output=True).stdout


def extract(framework: str, git_dir: str, ref: str) -> str:
    """Copy the test directory (and data) at ``ref`` of ``git_dir`` into the cache."""
    _, url, paths = PEERS[framework]
    target = cache_dir(framework)
    commit = _git(git_dir, "rev-parse", f"{ref}^{{commit}}").decode().strip()
    archive = _git(git_dir, "archive", "--format=tar", commit, *paths)
    os.makedirs(target, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    with open(os.path.join(target, "SOURCE"), "w", encoding="utf-8") as handle:
        handle.write(f"{url} {ref} {commit}\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("frameworks", nargs="*", default=list(PEERS),
                        help=f"which of {', '.join(PEERS)} (default: both)")
    parser.add_argument("--git-dir", action="append", default=[], metavar="NAME=DIR",
                        help="read NAME's tests from this local git directory")
    parser.add_argument("--ref", action="append", default=[], metavar="NAME=REF",
                        help="a ref instead of the tag v<installed version>")
    args = parser.parse_args(argv)
    git_dirs = dict(item.split("=", 1) for item in args.git_dir)
    refs = dict(item.split("=", 1) for item in args.ref)
    for framework in args.frameworks:
        version = metadata.version(PEERS[framework][0])
        ref = refs.get(framework, f"v{version}")
        git_dir = git_dirs.get(framework)
        if git_dir is None:
            with tempfile.TemporaryDirectory() as tmp:
                clone = os.path.join(tmp, framework)
                subprocess.run(["git", "clone", "--quiet", "--bare", "--depth", "1",
                                "--branch", ref, PEERS[framework][1], clone], check=True)
                target = extract(framework, clone, ref)
        else:
            target = extract(framework, git_dir, ref)
        print(f"{framework} {version}: tests at {ref} in {os.path.relpath(target, REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
