"""The run filter language and run ordering, shared by every backend that filters in Python.

The language is MLflow's::

    metrics.acc > 0.9 and params.model = 'rf' and tags.`my tag` LIKE 'exp-%'
    attributes.status IN ('FINISHED', 'FAILED') and attributes.start_time >= 1700000000000

Clauses are joined by ``and`` (any case). A clause is ``<entity>.<key> <op> <value>``:

- entity: ``metrics``/``metric``, ``params``/``param``, ``tags``/``tag`` or
  ``attributes``/``attribute``/``attr`` (a bare attribute name such as ``status`` works too);
- key: a plain name (``metrics.val/loss``, ``tags.mlflow.runName``) or quoted with
  backquotes or double quotes (``metrics.`my key```);
- metrics and the numeric attributes (``start_time``, ``end_time``) take a number and
  ``= != < <= > >=``; params, tags and the other attributes take a quoted string and
  ``= != LIKE ILIKE`` (``%`` and ``_`` wildcards) or ``IN (...)`` / ``NOT IN (...)``.

A run that lacks the key does not match the clause. ``order_by`` items read
``<entity>.<key> [ASC|DESC]``; see `sort_runs`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from autolog.core.entities import Run
from autolog.core.errors import InvalidInputError

ENTITY_ALIASES = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
}
NUMERIC_ATTRIBUTES = ("start_time", "end_time")
STRING_ATTRIBUTES = ("status", "run_name", "run_id", "experiment_id", "artifact_uri")
ATTRIBUTES = NUMERIC_ATTRIBUTES + STRING_ATTRIBUTES

NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<backquoted>`[^`]*`)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w.]))
    | (?P<op><=|>=|!=|<>|==|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][\w.\-/:]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # backquoted | string | number | op | punct | word
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    def unquoted(self) -> str:
        return self.text[1:-1]


@dataclass(frozen=True)
class Comparison:
    """One clause: ``entity.key op value``. ``entity`` is "" for registry fields."""

    entity: str
    key: str
    op: str
    value: float | str | tuple[str, ...]
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in ("LIKE", "ILIKE"):
            regex = "".join(
                ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in str(self.value)
            )
            flags = re.DOTALL | (re.IGNORECASE if self.op == "ILIKE" else 0)
            object.__setattr__(self, "_pattern", re.compile(regex, flags))

    def test(self, actual: object) -> bool:
        """Whether ``actual`` (None when the run lacks the key) satisfies this clause."""
        if actual is None:
            return False
        op, value = self.op, self.value
        if op == "=":
            return actual == value
        if op == "!=":
            return actual != value
        if op == "<":
            return actual < value  # type: ignore[operator]
        if op == "<=":
            return actual <= value  # type: ignore[operator]
        if op == ">":
            return actual > value  # type: ignore[operator]
        if op == ">=":
            return actual >= value  # type: ignore[operator]
        if op == "IN":
            return actual in value  # type: ignore[operator]
        if op == "NOT IN":
            return actual not in value  # type: ignore[operator]
        assert self._pattern is not None  # LIKE / ILIKE
        return self._pattern.fullmatch(str(actual)) is not None


# -- tokenizer and parser --------------------------------------------------------------


def _tokenize(text: str, what: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            bad = text[pos:].strip()
            if bad[:1] in ("'", '"', "`"):
                raise InvalidInputError(
                    f"Invalid {what} {text!r}: unterminated quote in {bad[:40]!r}."
                )
            raise InvalidInputError(
                f"Invalid {what} {text!r}: cannot read {bad[:40]!r}. Strings must be quoted "
                "with ' or \", keys with spaces or symbols quoted with backquotes."
            )
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.tokens = _tokenize(text, what)
        self.i = 0
        self.clause_start = 0

    def error(self, message: str) -> InvalidInputError:
        # The fragment runs from the start of the clause through the last token read.
        last = self.tokens[self.i - 1] if self.i > 0 else None
        end = last.pos + len(last.text) if last is not None else len(self.text)
        fragment = self.text[self.clause_start : end].strip() or self.text
        return InvalidInputError(f"Invalid {self.what} {self.text!r} at {fragment!r}: {message}")

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expected: str) -> _Token:
        token = self.peek()
        if token is None:
            raise self.error(f"it ends where {expected} was expected.")
        self.i += 1
        return token

    def at_end(self) -> bool:
        return self.i >= len(self.tokens)

    # -- pieces ------------------------------------------------------------------------

    def run_identifier(self) -> tuple[str, str]:
        """``entity.key`` (key plain, backquoted or double-quoted) or a bare attribute."""
        token = self.take("<entity>.<key>")
        accepted = (
            "metrics.<key>, params.<key>, tags.<key> or attributes.<name> "
            f"(attributes: {', '.join(ATTRIBUTES)})"
        )
        if token.kind != "word":
            raise self.error(f"expected {accepted}, got {token.text!r}.")
        if "." not in token.text:
            if token.text.lower() in ATTRIBUTES:
                return "attributes", token.text.lower()
            raise self.error(f"expected {accepted}, got {token.text!r}.")
        prefix, key = token.text.split(".", 1)
        entity = ENTITY_ALIASES.get(prefix.lower())
        if entity is None:
            raise self.error(
                f"unknown entity {prefix!r}; accepted: {', '.join(sorted(ENTITY_ALIASES))}."
            )
        if not key:
            quoted = self.take("a key after '.'")
            if quoted.kind != "backquoted" and not quoted.text.startswith('"'):
                raise self.error("expected a key after '.', plain or quoted with ` or \".")
            key = quoted.unquoted()
        if not key:
            raise self.error("the key is empty.")
        if entity == "attributes":
            if key.lower() not in ATTRIBUTES:
                raise self.error(f"unknown attribute {key!r}; accepted: {', '.join(ATTRIBUTES)}.")
            key = key.lower()
        return entity, key

    def operator(self, numeric: bool) -> str:
        token = self.take("an operator")
        op = token.text if token.kind == "op" else token.upper
        if op == "NOT":
            nxt = self.peek()
            if nxt is not None and nxt.upper == "IN":
                self.i += 1
                op = "NOT IN"
        op = {"==": "=", "<>": "!="}.get(op, op)
        accepted = NUMERIC_OPS if numeric else STRING_OPS
        if op not in accepted:
            kind = "a number (metrics, start_time, end_time)" if numeric else "a string"
            raise self.error(
                f"operator {token.text!r} is not accepted for {kind}; accepted: "
                f"{', '.join(accepted)}."
            )
        return op

    def number(self) -> float:
        token = self.take("a number")
        if token.kind != "number":
            raise self.error(f"expected a number, got {token.text!r}.")
        return float(token.text)

    def string(self) -> str:
        token = self.take("a quoted string")
        if token.kind != "string":
            raise self.error(f"expected a string in single or double quotes, got {token.text!r}.")
        return token.unquoted()

    def string_list(self) -> tuple[str, ...]:
        if self.take("'('").text != "(":
            raise self.error("expected a parenthesised list like ('a', 'b') after IN.")
        values = [self.string()]
        while True:
            token = self.take("',' or ')'")
            if token.text == ")":
                return tuple(values)
            if token.text != ",":
                raise self.error(f"expected ',' or ')' in the IN list, got {token.text!r}.")
            values.append(self.string())

    def comparison(self, entity: str, key: str, numeric: bool) -> Comparison:
        op = self.operator(numeric)
        if numeric:
            value: float | str | tuple[str, ...] = self.number()
        elif op in ("IN", "NOT IN"):
            value = self.string_list()
        else:
            value = self.string()
        return Comparison(entity, key, op, value)

    def clauses(self, clause: Callable[[], Comparison]) -> list[Comparison]:
        result: list[Comparison] = []
        while True:
            self.clause_start = self.tokens[self.i].pos if not self.at_end() else len(self.text)
            result.append(clause())
            if self.at_end():
                return result
            token = self.take("AND")
            if token.upper == "OR":
                raise self.error("OR is not supported; clauses can only be joined by AND.")
            if token.upper != "AND":
                raise self.error(f"expected AND between clauses, got {token.text!r}.")
            if self.at_end():
                raise self.error("AND must be followed by another clause.")


def _is_numeric(entity: str, key: str) -> bool:
    return entity == "metrics" or (entity == "attributes" and key in NUMERIC_ATTRIBUTES)


def parse_filter(filter_string: str | None) -> list[Comparison]:
    """Parse a run filter into comparisons (all must hold). Empty or None: no filter."""
    if filter_string is None or not filter_string.strip():
        return []
    if not isinstance(filter_string, str):
        raise InvalidInputError(f"Invalid filter {filter_string!r}: expected a string.")
    parser = _Parser(filter_string, "filter")

    def clause() -> Comparison:
        entity, key = parser.run_identifier()
        return parser.comparison(entity, key, _is_numeric(entity, key))

    return parser.clauses(clause)


def parse_field_filter(
    filter_string: str | None, fields: Sequence[str], what: str = "filter"
) -> list[Comparison]:
    """Parse ``<field> <op> '<string>'`` clauses joined by AND over a fixed set of fields.

    Used by the model registry searches (``name = 'x'``, ``name LIKE 'x%'``,
    ``run_id = '...'``). Comparisons have ``entity == ""``; test them with `matches_fields`.
    """
    if filter_string is None or not filter_string.strip():
        return []
    parser = _Parser(filter_string, what)

    def clause() -> Comparison:
        token = parser.take("a field name")
        name = token.text.lower() if token.kind == "word" else token.unquoted()
        if token.kind not in ("word", "backquoted") or name not in fields:
            raise parser.error(f"unknown field {token.text!r}; accepted: {', '.join(fields)}.")
        return parser.comparison("", name, numeric=False)

    return parser.clauses(clause)


def matches_fields(values: Mapping[str, object], comparisons: Iterable[Comparison]) -> bool:
    """Whether a record (field -> value) satisfies every comparison."""
    return all(c.test(values.get(c.key)) for c in comparisons)


# -- evaluation ------------------------------------------------------------------------


def _value(run: Run, entity: str, key: str) -> object:
    if entity == "metrics":
        return run.data.metrics.get(key)
    if entity == "params":
        return run.data.params.get(key)
    if entity == "tags":
        return run.data.tags.get(key)
    return getattr(run.info, key, None)


def matches(run: Run, comparisons: Iterable[Comparison]) -> bool:
    """Whether ``run`` satisfies every comparison (a run lacking a key never does)."""
    return all(c.test(_value(run, c.entity, c.key)) for c in comparisons)


# -- ordering --------------------------------------------------------------------------

OrderKey = tuple[str, str, bool]  # entity, key, descending


def parse_order_by(order_by: Sequence[str] | str | None) -> list[OrderKey]:
    """Parse items like ``metrics.acc DESC``, ``params.C``, ``start_time ASC``."""
    if order_by is None:
        return []
    if isinstance(order_by, str):
        order_by = [order_by]
    keys: list[OrderKey] = []
    for item in order_by:
        if not isinstance(item, str) or not item.strip():
            raise InvalidInputError(
                f"Invalid order_by item {item!r}: expected '<entity>.<key> [ASC|DESC]'."
            )
        parser = _Parser(item, "order_by item")
        entity, key = parser.run_identifier()
        descending = False
        if not parser.at_end():
            token = parser.take("ASC or DESC")
            if token.upper not in ("ASC", "DESC"):
                raise parser.error(f"expected ASC or DESC, got {token.text!r}.")
            descending = token.upper == "DESC"
            if not parser.at_end():
                parser.i += 1
                raise parser.error("expected nothing after ASC/DESC.")
        keys.append((entity, key, descending))
    return keys


def _sort_value(run: Run, entity: str, key: str) -> object:
    value = _value(run, entity, key)
    if entity == "metrics" and value is not None:
        # NaN sorts above +inf, as in MLflow; a plain float would break the ordering.
        return (1, 0.0) if math.isnan(value) else (0, value)  # type: ignore[arg-type]
    return value


def sort_runs(runs: Iterable[Run], order_by: Sequence[str] | str | None = None) -> list[Run]:
    """Sort runs by ``order_by`` and then start_time DESC, run_id ASC.

    Runs missing a sort key come after the runs that have it, in either direction.
    """
    keys = parse_order_by(order_by)
    named = {(entity, key) for entity, key, _ in keys}
    if ("attributes", "start_time") not in named:
        keys.append(("attributes", "start_time", True))
    if ("attributes", "run_id") not in named:
        keys.append(("attributes", "run_id", False))
    result = list(runs)
    # Stable sorts from the least significant key to the most significant one.
    for entity, key, descending in reversed(keys):
        present, missing = (1, 0) if descending else (0, 1)

        def sort_key(
            run: Run,
            entity: str = entity,
            key: str = key,
            present: int = present,
            missing: int = missing,
        ) -> tuple:
            value = _sort_value(run, entity, key)
            return (missing,) if value is None else (present, value)

        result.sort(key=sort_key, reverse=descending)
    return result


def search_runs(
    runs: Iterable[Run],
    filter_string: str | None = "",
    order_by: Sequence[str] | str | None = None,
    max_results: int | None = None,
) -> list[Run]:
    """Filter, sort and truncate: what a backend's ``search_runs`` does after loading."""
    comparisons = parse_filter(filter_string)
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
    ):
        raise InvalidInputError(
            f"Invalid max_results {max_results!r}: expected a positive integer."
        )
    selected = [run for run in runs if matches(run, comparisons)] if comparisons else runs
    ordered = sort_runs(selected, order_by)
    return ordered if max_results is None else ordered[:max_results]
