"""Every benchmark, one command: prints the tables and writes BENCHMARKS.md.

    make bench            # installs mlflow into .venv first (the benchmarks' own set-up)
    .venv/bin/python benchmarks/run_all.py [--skip NAME ...] [--output BENCHMARKS.md]

Measures here: the import time of autolog versus mlflow, the cost of `autolog()` versus
`mlflow.autolog()`, and peak memory of a small training with and without autolog. Then
runs each `benchmarks/bench_*.py` (tracking, patching, one per integration) in its own
process and copies its table. Each figure is a median of repeated, interleaved runs in
fresh processes; ratios compare against the bare run and against MLflow.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENV = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", MLFLOW_ALLOW_FILE_STORE="true",
           PYTHONWARNINGS="ignore")


def _timed(code: str, repeats: int) -> float:
    """Median seconds of the timed part of ``code`` (it prints one float) in fresh processes."""
    samples = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=ENV, cwd=ROOT, timeout=300)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def _has(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                          env=ENV).returncode == 0


IMPORT = "import time; t=time.perf_counter(); import {m}; print(time.perf_counter()-t)"
ENABLE = ("import time, {m}; t=time.perf_counter(); {call}; "
          "import sys; print(time.perf_counter()-t)")
MEMORY = """
import resource, sys, tempfile, os
mode = sys.argv[1]
if mode == "autolog":
    import autolog; autolog.set_tracking_uri(tempfile.mkdtemp()); autolog.autolog(log_models=True)
elif mode == "mlflow":
    import mlflow; mlflow.set_tracking_uri("sqlite:///" + tempfile.mkdtemp() + "/m.db")
    mlflow.autolog(log_models=True)
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
X, y = load_digits(return_X_y=True)
for _ in range(3):
    RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def core_table(repeats: int) -> list[tuple[str, str, str]]:
    rows = []
    t_autolog = _timed(IMPORT.format(m="autolog"), repeats)
    t_enable = _timed(ENABLE.format(m="autolog", call="autolog.autolog()"), repeats)
    mlflow = _has("mlflow")
    t_mlflow = _timed(IMPORT.format(m="mlflow"), max(3, repeats // 2)) if mlflow else None
    t_mlflow_enable = (_timed(ENABLE.format(m="mlflow", call="mlflow.autolog()"), 3)
                       if mlflow else None)

    def ratio(ours, theirs):
        if not theirs:
            return "mlflow not installed"
        if theirs >= ours:
            return f"autolog {theirs / ours:.1f}x lighter"
        return f"mlflow {ours / theirs:.1f}x lighter"

    rows.append(("import (fresh process)", f"{t_autolog * 1e3:.0f} ms",
                 f"{t_mlflow * 1e3:.0f} ms" if t_mlflow else "-", ratio(t_autolog, t_mlflow)))
    rows.append(("autolog() / mlflow.autolog()", f"{t_enable * 1e3:.1f} ms",
                 f"{t_mlflow_enable * 1e3:.1f} ms" if t_mlflow_enable else "-",
                 ratio(t_enable, t_mlflow_enable)))
    memory = {}
    for mode in ("bare", "autolog") + (("mlflow",) if mlflow else ()):
        memory[mode] = _timed(MEMORY.replace("sys.argv[1]", repr(mode)), 3)
    rows.append(("peak RSS, 3 RandomForest fits (MB)",
                 f"{memory['autolog']:.0f} (bare {memory['bare']:.0f})",
                 f"{memory['mlflow']:.0f}" if "mlflow" in memory else "-",
                 f"+{memory['autolog'] - memory['bare']:.0f} MB over bare"))
    return rows


def run_script(path: Path, timeout: int) -> str:
    started = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                             env=ENV, cwd=ROOT, timeout=timeout)
        text = out.stdout.strip() or out.stderr.strip()
        if out.returncode != 0:
            text += f"\n(exit code {out.returncode}: {out.stderr.strip()[-500:]})"
    except subprocess.TimeoutExpired:
        text = f"(timed out after {timeout} s)"
    return f"{text}\n\n(took {time.perf_counter() - started:.0f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--skip", nargs="*", default=[], help="bench_<NAME>.py to skip")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per script")
    args = parser.parse_args()

    sections = []
    header = "| measure | autolog | mlflow 3.x | ratio |\n| --- | --- | --- | --- |"
    rows = core_table(args.repeats)
    table = header + "\n" + "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
    print(table, flush=True)
    sections.append(("Import, enable and memory", table))
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if name in args.skip:
            continue
        print(f"\n## {name}\n", flush=True)
        output = run_script(script, args.timeout)
        print(output, flush=True)
        sections.append((name, "```\n" + output + "\n```"))

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        "# autolog benchmarks",
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine}, with "
        "`make bench` (`benchmarks/run_all.py`). Medians of repeated, interleaved runs in fresh "
        "processes; MLflow's figures are from the same machine and run.",
        "",
    ]
    for title, body in sections:
        lines += [f"## {title}", "", body, ""]
    Path(args.output).write_text("\n".join(lines))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
