"""`RunRecorder`: the one path every value takes into a run -- checked here, on the caller's
thread, then handed to the run's asynchronous `RunLogger`.

One path, two policies. The fluent API (`autolog.log_param`, ...) records strictly: a bad
key, an over-long param or a param logged again with another value raises
`InvalidInputError`, as MLflow does. Autologging records leniently: the same check costs
one warning per cause and a skip (an over-long param is truncated), never an error for
the user's training. The checks themselves are `autolog.core.validation`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autolog.core import validation
from autolog.core.entities import now_ms
from autolog.core.errors import InvalidInputError
from autolog.core.reporting import warn_once
from autolog.core.tracking import artifacts, context

__all__ = ["RunRecorder", "check_key", "check_tags"]


def check_key(key: Any, kind: str, *, strict: bool) -> bool:
    """Is ``key`` a valid name? Strict: raise if not; lenient: warn once, skip."""
    try:
        validation.validate_key(key, kind)
        return True
    except InvalidInputError as exc:
        if strict:
            raise
        warn_once(f"bad-key:{key}", f"autolog: skipped {kind} {key!r}: {exc}")
        return False


def check_tags(tags: Mapping[str, Any], *, strict: bool) -> list[tuple[str, str]]:
    """The ``(key, text)`` pairs of ``tags`` to write (also a new run's tags)."""
    return [(key, validation.tag_value(key, value))
            for key, value in tags.items() if check_key(key, "tag", strict=strict)]


class RunRecorder:
    """Logging into one run by id.

    ``strict``: invalid input raises (the fluent API); otherwise it is one warning per
    cause and a skip (autologging). Works on finished runs too (post-training metrics,
    ``evaluate`` after ``fit``). ``params_logged`` is the run's record of params already
    logged (shared with the `ActiveRun`), so a conflicting value is caught without a read.
    """

    __slots__ = ("run_id", "uri", "strict", "_params", "_logger")

    def __init__(self, run_id: str, uri: str, params_logged: dict[str, str] | None = None,
                 *, strict: bool = False) -> None:
        self.run_id = run_id
        self.uri = uri
        self.strict = strict
        self._params = params_logged if params_logged is not None else {}
        self._logger = context.get_logger(uri)

    # -- the checks ----------------------------------------------------------------------
    def _key(self, key: Any, kind: str) -> bool:
        return check_key(key, kind, strict=self.strict)

    def _param_text(self, key: str, value: Any) -> str:
        if self.strict:
            return validation.param_value(key, value)
        text = str(value)
        if len(text) > validation.MAX_PARAM_VALUE_LENGTH:
            text = text[: validation.MAX_PARAM_VALUE_LENGTH - 3] + "..."
            warn_once(f"param-truncated:{key}", f"autolog: param {key!r} truncated to "
                      f"{validation.MAX_PARAM_VALUE_LENGTH} characters.")
        return text

    def _param_conflict(self, key: str, previous: str, text: str) -> None:
        if self.strict:
            raise InvalidInputError(
                f"Param {key!r} was already logged with value {previous!r} for run "
                f"{self.run_id}; it cannot be changed to {text!r}. Params are immutable: "
                "log a metric or a tag for values that change."
            )
        warn_once(f"param-conflict:{key}",
                  f"autolog: param {key!r} already logged as {previous!r} in run "
                  f"{self.run_id}; skipped the new value {text!r}.")

    # -- values: each check returns what may be written; `log_*` hands it to the logger --
    def checked_params(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The ``(key, text)`` pairs of ``params`` to write, remembered as logged. Params are
        immutable: the same value again is dropped, another value refused."""
        seen = self._params
        accepted: dict[str, str] = {}
        for key, value in params.items():
            if not self.strict:
                key = str(key)
            if not self._key(key, "param"):
                continue
            text = self._param_text(key, value)
            previous = seen.get(key, accepted.get(key))
            if previous is not None:
                if previous != text:
                    self._param_conflict(key, previous, text)
                continue
            accepted[key] = text
        seen.update(accepted)
        return list(accepted.items())

    def checked_metric(self, key: str, value: Any, step: Any = None) -> tuple[float, int] | None:
        """``(value, step)`` as stored, or None for a skipped key (lenient). A value that
        is not a number raises in both policies: the session isolates it as its record's."""
        if not self._key(key, "metric"):
            return None
        return validation.metric_value(key, value), validation.metric_step(key, step)

    def checked_tags(self, tags: Mapping[str, Any]) -> list[tuple[str, str]]:
        return check_tags(tags, strict=self.strict)

    def log_params(self, params: Mapping[str, Any]) -> None:
        accepted = self.checked_params(params)
        if accepted:
            self._logger.log_params(self.run_id, accepted)

    def log_metric(self, key: str, value: Any, step: int | None = None,
                   timestamp: int | None = None) -> None:
        """One value (the hot path: a few microseconds, no I/O): `checked_metric`'s checks,
        inlined for a key already seen."""
        if key not in validation.KNOWN_KEYS and not self._key(key, "metric"):
            return
        self._logger.log_metric(self.run_id, key, validation.metric_value(key, value),
                                now_ms() if timestamp is None else int(timestamp),
                                validation.metric_step(key, step))

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None,
                    timestamp: int | None = None) -> None:
        """Several values with one timestamp and step."""
        timestamp = now_ms() if timestamp is None else int(timestamp)
        run_id, run_logger = self.run_id, self._logger
        for key, value in metrics.items():
            checked = self.checked_metric(key, value, step)
            if checked is not None:
                run_logger.log_metric(run_id, key, checked[0], timestamp, checked[1])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        pairs = self.checked_tags(tags)
        if pairs:
            self._logger.set_tags(self.run_id, pairs)

    def log_inputs(self, datasets: Any) -> None:
        """Record the datasets the run used: `DatasetInput` s (or one), on the writer."""
        from autolog.core.entities import DatasetInput

        if isinstance(datasets, DatasetInput):
            datasets = [datasets]
        datasets = [d for d in datasets or () if d is not None]
        for dataset in datasets:
            if not isinstance(dataset, DatasetInput):
                raise InvalidInputError(f"Invalid dataset input {dataset!r}: expected a "
                                        "DatasetInput (see autolog.dataset_input).")
        if datasets:
            self._logger.log_inputs(self.run_id, datasets)

    # -- files ------------------------------------------------------------------------------
    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> None:
        """A local file or directory, copied under ``artifact_path`` of the run."""
        context.get_store(self.uri).log_artifact(
            self.run_id, local_path, validation.artifact_path(artifact_path)
        )

    def log_text(self, text: str, artifact_file: str) -> None:
        artifacts.write_text(self.uri, self.run_id, text, artifact_file)

    def log_dict(self, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        """JSON, or YAML when ``artifact_file`` ends in .yaml/.yml."""
        self.log_text(artifacts.serialize_dict(dictionary, artifact_file), artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        artifacts.write_figure(self.uri, self.run_id, figure, artifact_file)
