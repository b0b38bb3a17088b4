"""Run real training scripts from the frameworks' example galleries, bare and under autolog.

    .venv/bin/python compat/corpus/run_corpus.py              # the whole corpus (make corpus)
    .venv/bin/python compat/corpus/run_corpus.py --fast       # the CI subset (make corpus-fast)
    .venv/bin/python compat/corpus/run_corpus.py -k digits --strict

Each manifest in ``scripts/*.yaml`` names a script inside a registry archive (see
fetch.py and sources.yaml), its sha256, the run settings it needs (environment,
arguments it takes, a timeout) and what autolog should capture from it (expect.py).
For each script, in a fresh temporary folder: ``python script.py [args]``, then
``autolog run script.py [args]`` into a fresh store in that folder. A script is

- **broken** when the two exit codes differ, the normalised stdouts differ
  (normalise.py), or the autolog run does not finish within the timeout (a hang);
- **under-captured** when the store lacks something its expectation names;
- **passed** otherwise.

A script whose source is a ``git`` one not filled on this machine (see fetch.py) is
listed as not available, and neither run nor counted.

A table is printed, then ``N passed, N failed``. Exit status 1 when any script is
broken or fewer than 95 % are captured as expected. The table is also written to
``.corpus-work/last-run.md`` (for the README) with the details in ``last-run.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import expect  # noqa: E402  (siblings: compat/corpus is no package)
import fetch  # noqa: E402
from normalise import normalise  # noqa: E402

CAPTURE_TARGET = 0.95
#: Set for every run, bare or not: no window, no GPU, the same hash seed.
BASE_ENV = {"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": "",
            "PYTHONUNBUFFERED": "1"}


@dataclasses.dataclass
class Manifest:
    id: str
    source: str
    path: str
    sha256: str
    framework: str
    expect: str
    fast: bool = False
    timeout: int = 120
    #: ``{source}`` in an argument is replaced by the source's folder (a data file the
    #: script reads by a path it is given).
    args: list[str] = dataclasses.field(default_factory=list)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    setup: list[str] = dataclasses.field(default_factory=list)
    stdout: str = "compare"
    #: Regular expressions: what they match in stdout is left out of the comparison
    #: (values the script itself leaves unseeded or ties to timings; ``why`` says which);
    #: a line matched whole is dropped.
    mask: list[str] = dataclasses.field(default_factory=list)
    why: str = ""


@dataclasses.dataclass
class Outcome:
    id: str
    framework: str
    bare_s: float = 0.0
    autolog_s: float = 0.0
    bare_rc: int | None = None
    autolog_rc: int | None = None
    broken: list[str] = dataclasses.field(default_factory=list)
    gaps: list[str] = dataclasses.field(default_factory=list)
    captured: str = ""
    captured_keys: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    warnings: int = 0
    detail: str = ""

    @property
    def result(self) -> str:
        if self.broken:
            return "BROKEN"
        return "under-captured" if self.gaps else "ok"


def load_manifests(keyword: str = "", fast: bool = False) -> list[Manifest]:
    manifests = []
    for path in sorted(glob.glob(os.path.join(HERE, "scripts", "*.yaml"))):
        with open(path) as handle:
            data = yaml.safe_load(handle)
        manifest = Manifest(id=os.path.splitext(os.path.basename(path))[0], **data)
        expect.parse(manifest.expect)  # a typo fails here, not after an hour
        if keyword and not any(k in manifest.id for k in keyword.split(",")):
            continue
        if fast and not manifest.fast:
            continue
        manifests.append(manifest)
    return manifests


def autolog_command() -> list[str]:
    console = os.path.join(os.path.dirname(sys.executable), "autolog")
    return [console] if os.path.exists(console) else [sys.executable, "-m", "autolog"]


def run_one(manifest: Manifest, folder: str, strict: bool) -> Outcome:
    outcome = Outcome(manifest.id, manifest.framework)
    script = os.path.join(folder, manifest.path)
    actual = fetch.sha256_of(script)
    if actual != manifest.sha256:
        outcome.broken.append("script hash")
        outcome.detail = f"{manifest.path}: sha256 {actual}, manifest pins {manifest.sha256}"
        return outcome
    with tempfile.TemporaryDirectory(prefix=f"corpus-{manifest.id}-") as tmp:
        bare_dir, logged_dir = os.path.join(tmp, "bare"), os.path.join(tmp, "autolog")
        store = os.path.join(tmp, "store")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOLOG_")}
        env.update(BASE_ENV)
        env.update(manifest.env)
        logged_env = dict(env, AUTOLOG_TRACKING_URI=store)
        if strict:
            logged_env["AUTOLOG_STRICT"] = "1"
        args = [arg.replace("{source}", folder) for arg in manifest.args]
        bare = _run([sys.executable, script, *args], bare_dir, env, manifest, folder)
        logged = _run([*autolog_command(), "run", script, *args], logged_dir,
                      logged_env, manifest, folder)
        outcome.bare_s, outcome.autolog_s = bare["seconds"], logged["seconds"]
        outcome.bare_rc, outcome.autolog_rc = bare["rc"], logged["rc"]
        outcome.warnings = logged["stderr"].count("AutologWarning")
        if bare["rc"] is None:
            outcome.broken.append("bare run timed out (corpus entry too slow)")
        elif bare["rc"] != 0:
            outcome.broken.append(f"bare run failed (exit {bare['rc']})")
            outcome.detail = bare["stderr"][-1500:]
        if logged["rc"] is None:
            outcome.broken.append(f"HANG: no exit within {manifest.timeout} s")
            outcome.detail = logged["stderr"][-1500:]
        elif bare["rc"] is not None and logged["rc"] != bare["rc"]:
            outcome.broken.append(f"exit {bare['rc']} -> {logged['rc']}")
            outcome.detail = logged["stderr"][-3000:]
        if manifest.stdout == "compare" and not outcome.broken:
            before = _masked(normalise(bare["stdout"], bare_dir), manifest.mask)
            after = _masked(normalise(logged["stdout"], logged_dir), manifest.mask)
            if before != after:
                outcome.broken.append("stdout changed")
                diff = difflib.unified_diff(before, after, "bare", "autolog", lineterm="", n=1)
                outcome.detail = "\n".join(list(diff)[:40])
        if logged["rc"] is not None and os.path.exists(store):
            captured = expect.read_store(store)
            outcome.captured = captured.summary()
            outcome.captured_keys = {"params": sorted(captured.params),
                                     "metrics": sorted(captured.metrics),
                                     "flavors": sorted(captured.flavors)}
            outcome.gaps = expect.missing(expect.parse(manifest.expect), captured)
            if outcome.gaps and not outcome.detail:
                outcome.detail = (f"captured: {outcome.captured}\nparams: "
                                  f"{sorted(captured.params)}\nmetrics: "
                                  f"{sorted(captured.metrics)}\nstderr tail:\n"
                                  f"{logged['stderr'][-1500:]}")
        elif logged["rc"] is not None:
            outcome.gaps = ["no store written"]
            outcome.detail = outcome.detail or logged["stderr"][-1500:]
    return outcome


def _masked(lines: list[str], patterns: list[str]) -> list[str]:
    """What the patterns match becomes ``<masked>``; a line they cover whole is left out
    (a message a library prints one run and not the other, e.g. LightGBM's timed choice)."""
    for pattern in patterns:
        lines = [re.sub(pattern, "<masked>", line) for line in lines]
    return [line for line in lines if line != "<masked>"]


def _run(command: list[str], cwd: str, env: dict, manifest: Manifest, folder: str) -> dict:
    """One run in ``cwd`` (after the manifest's setup scripts); rc None on timeout."""
    os.makedirs(cwd)
    for setup in manifest.setup:
        subprocess.run([sys.executable, os.path.join(folder, setup)], cwd=cwd, env=env,
                       capture_output=True, timeout=manifest.timeout)
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace",
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=manifest.timeout)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the script and any worker it started
        stdout, stderr = proc.communicate()
        rc = None
    return {"rc": rc, "stdout": stdout, "stderr": stderr,
            "seconds": time.perf_counter() - started}


def table(outcomes: list[Outcome]) -> list[str]:
    lines = ["| script | framework | bare s | autolog s | result | captured / what broke |",
             "| --- | --- | ---: | ---: | --- | --- |"]
    for o in outcomes:
        what = "; ".join(o.broken + o.gaps) or o.captured
        if o.warnings:
            what += f" ({o.warnings} AutologWarning)"
        lines.append(f"| {o.id} | {o.framework} | {o.bare_s:.1f} | {o.autolog_s:.1f} | "
                     f"{o.result} | {what} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="only the manifests marked fast")
    parser.add_argument("-k", default="",
                        help="only manifests whose id contains this (comma: any of these)")
    parser.add_argument("--strict", action="store_true",
                        help="AUTOLOG_STRICT=1 in the autolog runs (internal errors raise)")
    parser.add_argument("--out", default="last-run",
                        help="name of the .md/.json results in .corpus-work/ (default last-run)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print what broke or is missing for each failing script")
    args = parser.parse_args()

    manifests = load_manifests(args.k, args.fast)
    missing: dict[str, str] = {}  # git sources not on this machine (CI has none)
    folders = fetch.fetch_all(sorted({m.source for m in manifests}), missing=missing)
    absent = [m.id for m in manifests if m.source in missing]
    manifests = [m for m in manifests if m.source not in missing]
    outcomes = []
    started = time.perf_counter()
    for manifest in manifests:
        outcome = run_one(manifest, folders[manifest.source], args.strict)
        outcomes.append(outcome)
        what = "; ".join(outcome.broken + outcome.gaps) or outcome.captured
        print(f"{outcome.result:>14}  {manifest.id:<48} {outcome.bare_s:6.1f}s "
              f"{outcome.autolog_s:6.1f}s  {what}", flush=True)
        if args.verbose and outcome.detail and outcome.result != "ok":
            print("    " + outcome.detail.replace("\n", "\n    "), flush=True)
    elapsed = time.perf_counter() - started

    broken = [o for o in outcomes if o.broken]
    captured = [o for o in outcomes if not o.gaps and not o.broken]
    rate = len(captured) / len(outcomes) if outcomes else 1.0
    lines = table(outcomes)
    print("\n" + "\n".join(lines))
    summary = (f"{len(outcomes)} scripts in {elapsed:.0f} s: {len(broken)} broken, "
               f"{len(captured)} captured as expected ({rate:.0%}; target "
               f"{CAPTURE_TARGET:.0%}){', AUTOLOG_STRICT=1' if args.strict else ''}")
    if absent:
        summary += (f"; {len(absent)} not available here, neither run nor counted "
                    f"({', '.join(absent)}: their sources are not on this machine, "
                    "see compat/corpus/vendor/README.md)")
    print(summary)
    os.makedirs(fetch.WORK, exist_ok=True)
    with open(os.path.join(fetch.WORK, args.out + ".md"), "w") as handle:
        handle.write("\n".join(lines) + "\n\n" + summary + "\n")
    with open(os.path.join(fetch.WORK, args.out + ".json"), "w") as handle:
        json.dump([dataclasses.asdict(o) | {"result": o.result} for o in outcomes], handle,
                  indent=1)
    passed = sum(o.result == "ok" for o in outcomes)
    print(f"{passed} passed, {len(outcomes) - passed} failed")
    return 1 if broken or rate < CAPTURE_TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
