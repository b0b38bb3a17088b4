"""The short soak CI runs: high-rate logging stays bounded in memory and loses nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"


@pytest.mark.slow
def test_short_soak(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SOAK), "--seconds", "12", "--threads", "2",
         "--store", str(tmp_path / "store"), "--max-growth-mb", "150"],
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
