"""What of a script's stdout must not change under autolog, and what may.

Two runs of the same script differ in more than autolog could cause: wall-clock
timings, object addresses, temporary paths, progress bars redrawn with carriage
returns, and the last digits of floats that multithreaded BLAS sums leave unsettled.
``normalise`` removes exactly those, so what is compared is what the script computed:

- ANSI escape sequences are dropped; of a line redrawn with ``\\r`` only the last
  drawing is kept; Keras progress-bar lines (``━``, ``ms/step``) are dropped whole.
- Durations (a number followed by s, sec, seconds, ms, us, µs, min, minutes, or a
  number after "time"/"took"/"elapsed"/"in") become ``<time>``; clock times
  ``12:34:56`` become ``<clock>``.
- ``0x`` addresses become ``0x?``; the run's temporary folder becomes ``<tmp>``.
- Every float becomes 3 significant digits (``0.93456`` -> ``0.935``,
  ``1.2345e-05`` -> ``1.23e-05``); integers stay as they are.
- Trailing blanks and blank lines are dropped.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_PROGRESS = re.compile(r"━|\d+m?s/step|it/s\]|s/it\]")
_DURATION = re.compile(
    r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*"
    r"(?:s|sec|secs|seconds?|ms|us|µs|min|mins|minutes?)\b")
_AFTER_TIME_WORD = re.compile(
    r"(?i)\b(time|took|elapsed|duration|in)(\s*[:=]?\s*)[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_FLOAT = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?(?![\w.])")


def normalise(text: str, tmp_dir: str | None = None) -> list[str]:
    """The lines of ``text`` with run-to-run noise removed (see the module docstring)."""
    if tmp_dir:
        text = text.replace(tmp_dir, "<tmp>")
    lines = []
    for raw in text.split("\n"):  # not splitlines(): a lone \r redraws, it ends no line
        line = _ANSI.sub("", raw).rstrip("\r").split("\r")[-1]
        if _PROGRESS.search(line):
            continue
        line = _CLOCK.sub("<clock>", line)
        line = _DURATION.sub("<time>", line)
        line = _AFTER_TIME_WORD.sub(lambda m: m.group(1) + m.group(2) + "<time>", line)
        line = _ADDRESS.sub("0x?", line)
        line = _FLOAT.sub(_round_float, line).rstrip()
        if line:
            lines.append(line)
    return lines


def _round_float(match: re.Match) -> str:
    try:
        value = float(match.group(0))
    except ValueError:
        return match.group(0)
    rounded = f"{value:.3g}"
    return "0" if rounded == "-0" else rounded
