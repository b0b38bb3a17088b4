"""The run filter language and ordering (autolog.core.search)."""

from __future__ import annotations

import math

import pytest

from autolog.core.entities import Run, RunData, RunInfo
from autolog.core.errors import InvalidInputError
from autolog.core.search import (
    Comparison,
    matches,
    parse_field_filter,
    parse_filter,
    parse_order_by,
    search_runs,
    sort_runs,
)


def make_run(run_id, start_time=0, metrics=None, params=None, tags=None, **info):
    fields = dict(
        run_id=run_id,
        experiment_id="0",
        run_name=f"name-{run_id}",
        status="FINISHED",
        start_time=start_time,
        end_time=None,
        artifact_uri=f"/tmp/{run_id}",
    )
    fields.update(info)
    return Run(RunInfo(**fields), RunData(params or {}, metrics or {}, tags or {}))


RUN = make_run(
    "r1",
    start_time=100,
    metrics={"acc": 0.9, "my key": 2.0, "val/loss": 0.25},
    params={"C": "1.0", "model": "RandomForest"},
    tags={"mlflow.runName": "first", "team": "Vision"},
    end_time=200,
)


def hit(filter_string):
    return matches(RUN, parse_filter(filter_string))


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        ("metrics.acc = 0.9", True),
        ("metrics.acc != 0.9", False),
        ("metrics.acc < 0.95", True),
        ("metrics.acc <= 0.9", True),
        ("metrics.acc > 0.9", False),
        ("metrics.acc >= 0.9", True),
        ("metric.acc > 1e-3", True),
        ("metrics.acc > -1", True),
        ("metrics.val/loss < .5", True),
        ("metrics.`my key` = 2", True),
        ('metrics."my key" = 2', True),
        ("params.C = '1.0'", True),
        ('param.C = "1.0"', True),
        ("params.C != '1.0'", False),
        ("params.model LIKE 'Random%'", True),
        ("params.model LIKE 'random%'", False),
        ("params.model ILIKE 'random%'", True),
        ("params.model LIKE 'RandomFores_'", True),
        ("params.model LIKE 'Random_'", False),
        ("params.model IN ('SVC', 'RandomForest')", True),
        ("params.model NOT IN ('SVC', 'RandomForest')", False),
        ("params.model not in ('SVC')", True),
        ("tags.mlflow.runName = 'first'", True),
        ("tag.team ILIKE 'vis%'", True),
        ("attributes.status = 'FINISHED'", True),
        ("attribute.status IN ('FAILED', 'KILLED')", False),
        ("attr.run_name LIKE 'name-%'", True),
        ("status = 'FINISHED'", True),
        ("attributes.start_time >= 100", True),
        ("attributes.end_time < 150", False),
        ("attributes.run_id = 'r1'", True),
        ("attributes.experiment_id = '0'", True),
        ("attributes.artifact_uri LIKE '%r1'", True),
        ("metrics.acc > 0.5 and params.C = '1.0' AND tags.team = 'Vision'", True),
        ("metrics.acc > 0.5 And params.C = '2.0'", False),
        ("  ", True),
        ("", True),
    ],
)
def test_operators(filter_string, expected):
    assert hit(filter_string) is expected


def test_missing_key_never_matches():
    assert not hit("metrics.missing != 1")
    assert not hit("params.missing != 'x'")
    assert not hit("params.missing NOT IN ('x')")
    assert not hit("tags.missing LIKE '%'")
    assert not matches(make_run("r2"), parse_filter("attributes.end_time < 1"))


def test_like_escapes_regex_characters():
    run = make_run("r", params={"p": "a.b*c"})
    assert matches(run, parse_filter("params.p LIKE 'a.b*c'"))
    assert not matches(run, parse_filter("params.p LIKE 'aXb*c'"))


def test_nan_and_inf_metrics():
    run = make_run("r", metrics={"n": math.nan, "i": math.inf})
    assert not matches(run, parse_filter("metrics.n > 0"))
    assert not matches(run, parse_filter("metrics.n = 0"))
    assert matches(run, parse_filter("metrics.i > 1e300"))


def test_parsed_structure():
    assert parse_filter("metrics.`a b` >= 2 and params.x IN ('1', \"2\")") == [
        Comparison("metrics", "a b", ">=", 2.0),
        Comparison("params", "x", "IN", ("1", "2")),
    ]
    assert parse_filter(None) == []


@pytest.mark.parametrize(
    "filter_string, fragments",
    [
        ("metrics.acc > 'x'", ["metrics.acc > 'x'", "expected a number"]),
        ("params.C > '1'", ["'>'", "=, !=, LIKE, ILIKE, IN, NOT IN"]),
        ("metrics.acc LIKE '1'", ["LIKE", "=, !=, <, <=, >, >="]),
        ("params.C = 1", ["single or double quotes"]),
        ("metrics.a > 1 or params.b = 'c'", ["OR is not supported"]),
        ("foo.a = 1", ["unknown entity 'foo'", "metrics"]),
        ("attributes.color = 'x'", ["unknown attribute 'color'", "run_name"]),
        ("acc > 1", ["metrics.<key>"]),
        ("metrics.acc", ["ends where an operator was expected"]),
        ("metrics.acc > 1 and", ["AND must be followed"]),
        ("metrics.acc > 1 params.C = '1'", ["expected AND", "params.C"]),
        ("params.C IN '1'", ["parenthesised list"]),
        ("params.C IN ('1' '2')", ["',' or ')'"]),
        ("params.C = 'unterminated", ["unterminated quote"]),
        ("metrics.a = 1abc", ["cannot read '1abc'"]),
        ("metrics.a = #", ["cannot read '#'"]),
        ("metrics. = 1", ["expected a key"]),
        ("metrics.`` = 1", ["key is empty"]),
    ],
)
def test_malformed_filters_raise_clear_errors(filter_string, fragments):
    with pytest.raises(InvalidInputError) as caught:
        parse_filter(filter_string)
    message = str(caught.value)
    assert filter_string.strip() in message
    for fragment in fragments:
        assert fragment in message


def test_order_by_parsing():
    assert parse_order_by(["metrics.acc DESC", "params.C", "attributes.start_time ASC"]) == [
        ("metrics", "acc", True),
        ("params", "C", False),
        ("attributes", "start_time", False),
    ]
    assert parse_order_by("start_time desc") == [("attributes", "start_time", True)]
    assert parse_order_by(["metrics.`my key` asc"]) == [("metrics", "my key", False)]
    for bad, fragment in [
        ("metrics.acc DOWN", "expected ASC or DESC"),
        ("metrics.acc DESC x", "nothing after"),
        ("acc", "metrics.<key>"),
        ("", "expected '<entity>.<key> [ASC|DESC]'"),
    ]:
        with pytest.raises(InvalidInputError, match="order_by") as caught:
            parse_order_by([bad])
        assert fragment in str(caught.value)


def ids(runs):
    return [run.info.run_id for run in runs]


def test_sort_default_is_start_time_desc_then_run_id():
    runs = [make_run("b", 1), make_run("a", 1), make_run("c", 5)]
    assert ids(sort_runs(runs)) == ["c", "a", "b"]
    assert ids(sort_runs(runs, ["start_time ASC"])) == ["a", "b", "c"]


def test_sort_missing_keys_go_last_in_both_directions():
    runs = [
        make_run("none", 9),
        make_run("low", 1, metrics={"acc": 0.1}, params={"C": "b"}),
        make_run("high", 2, metrics={"acc": 0.9}, params={"C": "a"}),
        make_run("nan", 3, metrics={"acc": math.nan}),
    ]
    assert ids(sort_runs(runs, ["metrics.acc DESC"])) == ["nan", "high", "low", "none"]
    assert ids(sort_runs(runs, ["metrics.acc"])) == ["low", "high", "nan", "none"]
    # both lack C: start_time DESC breaks the tie
    assert ids(sort_runs(runs, ["params.C"])) == ["high", "low", "none", "nan"]
    assert ids(sort_runs(runs, ["params.C DESC"])) == ["low", "high", "none", "nan"]


def test_sort_by_several_keys():
    runs = [
        make_run("x", 1, params={"g": "1"}, metrics={"m": 3}),
        make_run("y", 2, params={"g": "2"}, metrics={"m": 1}),
        make_run("z", 3, params={"g": "1"}, metrics={"m": 5}),
    ]
    assert ids(sort_runs(runs, ["params.g", "metrics.m DESC"])) == ["z", "x", "y"]
    assert ids(sort_runs(runs, ["params.g DESC", "start_time ASC"])) == ["y", "x", "z"]


def test_search_runs_helper_filters_sorts_and_truncates():
    runs = [make_run(str(i), i, metrics={"m": i}) for i in range(10)]
    found = search_runs(runs, "metrics.m >= 3", ["metrics.m ASC"], max_results=2)
    assert ids(found) == ["3", "4"]
    with pytest.raises(InvalidInputError, match="max_results"):
        search_runs(runs, "", None, max_results=0)


def test_field_filter_for_the_registry():
    comparisons = parse_field_filter("name = 'm1' and run_id LIKE 'ab%'", ("name", "run_id"))
    from autolog.core.search import matches_fields

    assert matches_fields({"name": "m1", "run_id": "abc"}, comparisons)
    assert not matches_fields({"name": "m1", "run_id": None}, comparisons)
    assert parse_field_filter("", ("name",)) == []
    with pytest.raises(InvalidInputError, match="unknown field 'stage'; accepted: name, run_id"):
        parse_field_filter("stage = 'x'", ("name", "run_id"))
    with pytest.raises(InvalidInputError, match="operator '>'"):
        parse_field_filter("name > 'x'", ("name",))
