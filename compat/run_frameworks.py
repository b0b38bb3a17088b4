"""Run the other frameworks' own shipped tests twice -- plainly and with autologging on.

    .venv/bin/python compat/run_frameworks.py            # every framework (~2 minutes)
    .venv/bin/python compat/run_frameworks.py keras      # one framework

The scikit-learn counterpart is ``compat/run_sklearn.py`` (whose helpers this reuses).
Of the installed packages, keras ships test modules (its saving tests are run here) and
torch a few (those that run cleanly without autolog); xgboost, lightgbm and lightning ship
none (``xgboost/testing`` holds helpers, no test modules). The second run loads
``compat/autolog_plugin.py`` (``autolog.autolog()``, every integration on). Prints the
table ``framework | tests | pass plain | pass with autolog | regressions`` and exits 1
when a test that passes without autolog fails with it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from compat import peer_suites  # noqa: E402
from compat.run_sklearn import _pytest  # noqa: E402

PLUGIN = "compat.autolog_plugin"

#: framework -> the test modules its installed package ships that are run here (none: it
#: ships no tests). One pytest per module, so test names of different modules can't mix.
SUITES: dict[str, list[str]] = {
    "keras": ["keras.src.saving.saving_lib_test",
              "keras.src.saving.object_registration_test",
              "keras.src.saving.file_editor_test"],
    "torch": ["torch.fx.passes.tests.test_pass_manager"],
    "xgboost": [],  # their own repository's tests: compat/peer_suites.py
    "lightgbm": [],
    "lightning": [],
    "optuna": [],
}


def run_framework(name: str, with_autolog: bool, extra: list[str]) -> dict[str, str]:
    results: dict[str, str] = {}
    for target in SUITES[name]:
        for test, status in _pytest(with_autolog, target, "", extra, plugin=PLUGIN).items():
            results[f"{target}::{test}"] = status
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("frameworks", nargs="*",
                        help=f"which of {', '.join(SUITES)} (default: all)")
    parser.add_argument("--pytest-arg", action="append", default=[], dest="extra",
                        help="passed on to pytest (repeatable)")
    parser.add_argument("--side-by-side", action="store_true",
                        help="xgboost/lightgbm: run bare, autolog and strict at once")
    args = parser.parse_args(argv)
    names = args.frameworks or list(SUITES)
    unknown = sorted(set(names) - set(SUITES))
    if unknown:
        parser.error(f"unknown framework(s) {', '.join(unknown)}; known: {', '.join(SUITES)}")
    started = time.perf_counter()
    rows, broken_all, peers = [], [], []
    print("the frameworks' own tests, plain and with autolog.autolog():")
    for name in names:
        if name in peer_suites.SELECTION:
            why = peer_suites.missing(name)
            if why is not None:
                print(f"  {name}: not fetched -- {why}")
                rows.append((name, "not fetched", "-", "-", "-"))
                continue
            outcome = peer_suites.run(name, args.extra, args.side_by_side)
            peers.append(outcome)
            broken_all += [(t, "fails with autolog") for t in outcome.pass_only_bare]
            broken_all += [(t, "fails under AUTOLOG_STRICT=1") for t in outcome.strict_errors
                           if t not in outcome.pass_only_bare]
            rows.append((name, str(outcome.tests), str(outcome.pass_both
                                                       + len(outcome.pass_only_bare)),
                         str(outcome.pass_both + len(outcome.pass_only_autolog)),
                         str(len(outcome.pass_only_bare))))
            continue
        if not SUITES[name]:
            print(f"  {name}: the installed package ships no tests")
            rows.append((name, "none shipped", "-", "-", "-"))
            continue
        plain = run_framework(name, False, args.extra)
        logged = run_framework(name, True, args.extra)
        passed_plain = {t for t, s in plain.items() if s == "passed"}
        passed_logged = {t for t, s in logged.items() if s == "passed"}
        broken = sorted(t for t in passed_plain if logged.get(t) != "passed")
        broken_all += [(t, logged.get(t, "missing")) for t in broken]
        rows.append((name, str(len(plain)), str(len(passed_plain)),
                     str(len(passed_logged)), str(len(broken))))
    header = ("framework", "tests", "pass plain", "pass with autolog", "regressions")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    if peers:
        print("\nTheir own repositories' tests (bare, with autolog, with autolog strict):")
        print("\n".join(peer_suites.table(peers)))
    print(f"\n({time.perf_counter() - started:.0f} s)")
    if broken_all:
        print("pass without autolog, fail with it:")
        for test, status in broken_all[:50]:
            print(f"  {test}: {status}")
    return 1 if broken_all else 0


if __name__ == "__main__":
    sys.exit(main())
