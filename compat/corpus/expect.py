"""The expected-capture line of a manifest, and its check against a store.

    runs>=1; params: C, max_iter; metrics: training_accuracy_score; model: sklearn

Clauses are separated by ``;``:

- ``runs>=N`` / ``runs==N`` / ``runs<=N``: training runs, i.e. runs that hold a metric
  or a model. The run ``autolog run`` opens around the script counts when a training
  was recorded into it (a script with one fit), not for its arguments alone.
- ``params: a, b``: each key is logged as a param on some run (the wrapping run
  included: a script's argparse arguments are logged there).
- ``metrics: a, b``: each key is logged as a metric on some run.
- ``model: flavor``: some run logged a model with that flavor (its
  ``mlflow.log-model.history`` tag names it).

A key may end in ``*`` to match any key with that prefix (``metrics: validation_0-*``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

MODEL_HISTORY_TAG = "mlflow.log-model.history"
_RUNS = re.compile(r"runs\s*(>=|==|<=)\s*(\d+)$")


@dataclass
class Expectation:
    runs: tuple[str, int] = (">=", 1)
    params: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    model: str | None = None


@dataclass
class Captured:
    """What one store holds, reduced to what expectations talk about."""

    training_runs: int = 0
    params: set[str] = field(default_factory=set)
    metrics: set[str] = field(default_factory=set)
    flavors: set[str] = field(default_factory=set)

    def summary(self) -> str:
        return (f"{self.training_runs} runs, {len(self.params)} params, "
                f"{len(self.metrics)} metrics, model: {','.join(sorted(self.flavors)) or '-'}")


def parse(line: str) -> Expectation:
    expectation = Expectation()
    for clause in (c.strip() for c in line.split(";")):
        if not clause:
            continue
        match = _RUNS.match(clause)
        if match:
            expectation.runs = (match.group(1), int(match.group(2)))
            continue
        name, colon, rest = clause.partition(":")
        values = [v.strip() for v in rest.split(",") if v.strip()]
        if not colon or name.strip() not in ("params", "metrics", "model"):
            raise ValueError(f"unknown expectation clause {clause!r}")
        if name.strip() == "model":
            expectation.model = values[0] if values else None
        else:
            getattr(expectation, name.strip()).extend(values)
    return expectation


def read_store(tracking_uri: str) -> Captured:
    """Everything of every experiment in the store at ``tracking_uri``."""
    import autolog

    client = autolog.Client(tracking_uri=tracking_uri)
    captured = Captured()
    experiment_ids = [e.experiment_id for e in client.search_experiments()]
    if not experiment_ids:
        return captured
    for run in client.search_runs(experiment_ids, max_results=100000):
        captured.params.update(run.data.params)
        captured.metrics.update(run.data.metrics)
        try:
            history = json.loads(run.data.tags.get(MODEL_HISTORY_TAG, "[]"))
        except ValueError:
            history = []
        history = history if isinstance(history, list) else []
        for entry in history:
            captured.flavors.update(entry.get("flavors", {}))
        if run.data.metrics or history:
            captured.training_runs += 1
    return captured


def missing(expectation: Expectation, captured: Captured) -> list[str]:
    """What of ``expectation`` the store lacks (empty when all of it is there)."""
    gaps = []
    op, count = expectation.runs
    ok = {">=": captured.training_runs >= count, "==": captured.training_runs == count,
          "<=": captured.training_runs <= count}[op]
    if not ok:
        gaps.append(f"runs {captured.training_runs} (want {op}{count})")
    for kind in ("params", "metrics"):
        have = getattr(captured, kind)
        for key in getattr(expectation, kind):
            if not _has(have, key):
                gaps.append(f"{kind[:-1]} {key}")
    if expectation.model and expectation.model not in captured.flavors:
        gaps.append(f"model {expectation.model}")
    return gaps


def _has(keys: set[str], wanted: str) -> bool:
    if wanted.endswith("*"):
        return any(k.startswith(wanted[:-1]) for k in keys)
    return wanted in keys
