"""Run scikit-learn's own tests twice -- plainly and with autologging on -- and compare.

    .venv/bin/python compat/run_sklearn.py            # the default subset (< 10 minutes)
    .venv/bin/python compat/run_sklearn.py -k "LogisticRegression or RandomForest"

The tests ship inside the installed package: the estimator checks of
``sklearn/tests/test_common.py`` (narrowed with ``-k`` to keep the run short) and
``sklearn/model_selection/tests/test_search.py`` (whole). The second run loads
``compat/autolog_sklearn_plugin.py``. Exit status 1 when a test that passes without
autolog fails with it; the two pass counts are printed either way.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: A cross-section of estimator families for test_common's per-estimator checks.
DEFAULT_K = ("LogisticRegression or Ridge or RandomForestClassifier or "
             "GradientBoostingRegressor or KMeans or PCA or StandardScaler or Pipeline or "
             "MLPClassifier or ColumnTransformer")
TARGETS = ["sklearn.tests.test_common", "sklearn.model_selection.tests.test_search"]


def run_suite(with_autolog: bool, keyword: str, extra: list[str]) -> tuple[dict, float]:
    """test_common (narrowed with ``-k``) then test_search (whole), one pytest each."""
    results: dict[str, str] = {}
    started = time.perf_counter()
    for target, selection in ((TARGETS[0], keyword), (TARGETS[1], "")):
        results.update(_pytest(with_autolog, target, selection, extra))
    return results, time.perf_counter() - started


def _pytest(with_autolog: bool, target: str, keyword: str, extra: list[str],
            plugin: str = "compat.autolog_sklearn_plugin") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "junit.xml")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "--junitxml", report, "-o", "junit_family=xunit2", "--pyargs", target]
        if keyword:
            command += ["-k", keyword]
        if with_autolog:
            command[3:3] = ["-p", plugin]
        env = dict(os.environ)
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("MPLBACKEND", "Agg")
        env.pop("AUTOLOG_DISABLE", None)
        proc = subprocess.run(command + extra, cwd=tmp, env=env, capture_output=True,
                              text=True)
        summary = [line for line in proc.stdout.strip().splitlines()
                   if " passed" in line or " failed" in line or "autolog compat" in line]
        label = "autolog" if with_autolog else "plain  "
        print(f"  {label} {target}: {' | '.join(summary[-2:])}", flush=True)
        if not os.path.exists(report):
            print(proc.stdout[-5000:], proc.stderr[-5000:])
            raise SystemExit("pytest wrote no report")
        return outcomes(report)


def outcomes(path: str) -> dict[str, str]:
    result = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                status = "failed"
                break
            if child.tag == "skipped":
                status = "skipped"
        result[name] = status
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-k", default=DEFAULT_K, help="the test_common selection")
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest")
    args = parser.parse_args(argv)
    print("scikit-learn's own tests, plain and with autolog.sklearn.autolog():")
    plain, plain_s = run_suite(False, args.k, args.pytest_args)
    logged, logged_s = run_suite(True, args.k, args.pytest_args)
    passed_plain = {t for t, s in plain.items() if s == "passed"}
    passed_logged = {t for t, s in logged.items() if s == "passed"}
    broken = sorted(t for t in passed_plain if logged.get(t) != "passed")
    print(f"passed without autolog: {len(passed_plain)} of {len(plain)} ({plain_s:.0f} s)")
    print(f"passed with autolog:    {len(passed_logged)} of {len(logged)} ({logged_s:.0f} s)")
    print(f"pass without autolog, fail with it: {len(broken)}")
    for name in broken[:50]:
        print(f"  {name}: {logged.get(name, 'missing')}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
