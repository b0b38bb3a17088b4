"""Imports run one way (docs/DESIGN.md, "Who may import whom"), checked with import-linter:
the contracts live in pyproject.toml ([tool.importlinter]) and count every import,
those inside functions and under TYPE_CHECKING included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    pytest.importorskip("importlinter")
    lint_imports = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint_imports), "--no-cache"], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_a_backward_import_is_caught(tmp_path):
    """The contracts bite: a copy of the package with tracking importing patching inside
    a function fails them."""
    pytest.importorskip("importlinter")
    import shutil

    copy = tmp_path / "autolog"
    shutil.copytree(REPO / "autolog", copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    with open(copy / "core" / "tracking" / "scope.py", "a") as handle:
        handle.write("\n\ndef _backwards():\n    from autolog.core.patching import guard\n\n"
                     "    return guard\n")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    lint_imports = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint_imports), "--no-cache"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env={"PYTHONPATH": str(tmp_path),
                                                       "PATH": "/usr/bin:/bin"})
    assert out.returncode != 0, out.stdout + out.stderr
    assert "autolog.core.tracking.scope -> autolog.core.patching" in out.stdout
