"""Cost of the patch engine: a patched call that runs no hook, and autolog() itself.

    .venv/bin/python benchmarks/bench_patching.py

Budgets (issue 3): a patched call outside any training (disabled integration or nested
call) costs <= 2 us more than the bare call; ``autolog.autolog()`` takes <= 5 ms and
imports no framework and no NumPy.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import timeit
import types

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

from autolog.core import patching  # noqa: E402
from autolog.core.config import AutologConfig  # noqa: E402
from autolog.core.tracking import scope  # noqa: E402


def _per_call_ns(statement, number=200_000, repeat=7) -> float:
    return min(timeit.repeat(statement, number=number, repeat=repeat)) / number * 1e9


def call_overhead() -> dict[str, float]:
    module = types.ModuleType("bench_target")
    exec(
        "def f(x, y=1):\n    return x\n"
        "class Model:\n    def fit(self, x, y=None):\n        return self\n",
        module.__dict__,
    )
    sys.modules["bench_target"] = module
    bare_f = module.f
    model = module.Model()
    bare_fit = module.Model.__dict__["fit"]

    class Owner:
        name = "bench"
        config = AutologConfig()
        framework_version = None

    def hook(session, call):  # never reached here
        return call.proceed()

    results = {}
    results["bare function"] = _per_call_ns(lambda: bare_f(1))
    results["bare method"] = _per_call_ns(lambda: model.fit(1))

    applied_f = patching.apply_patch(patching.Patch("bench_target:f", hook), Owner(), module)
    applied_m = patching.apply_patch(patching.Patch("bench_target:Model.fit", hook), Owner(),
                                     module)
    patched_f = module.f
    state = scope._state
    state.depth = 1  # as inside an outer training call
    try:
        results["nested function"] = _per_call_ns(lambda: patched_f(1))
        results["nested method"] = _per_call_ns(lambda: model.fit(1))
    finally:
        state.depth = 0
    applied_f.active = False  # disabled integration, wrapper still reachable
    applied_m.active = False
    results["disabled function"] = _per_call_ns(lambda: patched_f(1))
    results["disabled method"] = _per_call_ns(lambda: model.fit(1))
    applied_f.revert()
    applied_m.revert()
    assert module.f is bare_f and module.Model.__dict__["fit"] is bare_fit
    for kind in ("function", "method"):
        for case in ("nested", "disabled"):
            results[f"{case} {kind} overhead"] = results[f"{case} {kind}"] - results[f"bare {kind}"]
    return results


_AUTOLOG_TIMER = """
import sys, time
import autolog
function = autolog.autolog          # resolves the lazy attribute (imports the core)
start = time.perf_counter()
function()
elapsed = time.perf_counter() - start
heavy = [m for m in ("numpy", "sklearn", "torch", "xgboost", "lightgbm", "tensorflow")
         if m in sys.modules]
print(elapsed * 1e3, ",".join(heavy))
"""


def autolog_time(runs: int = 11) -> dict[str, float | str]:
    times = []
    heavy = set()
    env = dict(os.environ, PYTHONPATH=REPO, AUTOLOG_TRACKING_URI="memory:")
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _AUTOLOG_TIMER], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        times.append(float(out[0]))
        if len(out) > 1:
            heavy.update(out[1].split(","))
    return {"autolog() median ms (fresh process)": statistics.median(times),
            "autolog() max ms": max(times), "heavy modules imported": ",".join(sorted(heavy))}


if __name__ == "__main__":
    report = {k: round(v, 1) for k, v in call_overhead().items()}
    report.update({k: (round(v, 2) if isinstance(v, float) else v)
                   for k, v in autolog_time().items()})
    print(json.dumps(report, indent=2))
