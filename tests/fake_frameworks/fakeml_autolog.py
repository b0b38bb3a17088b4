"""Integrations for the fake frameworks, written as a real integration would be.

`EVENTS` records what the hooks saw. `BEHAVIOUR` lets a test make a hook misbehave:
``BEHAVIOUR["train"] = "raise_before" | "raise_after" | "no_proceed" | "proceed_twice" |
"swallow" | "replace_result"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from autolog.core.config import AutologConfig
from autolog.core.patching import Patch, SubclassPatch, in_training_call
from autolog.core.patching.integration import Integration

EVENTS: list[tuple] = []
BEHAVIOUR: dict[str, str] = {}


class HookBug(Exception):
    """An error in the integration's own code."""


class AutologCallback:
    """The callback the train hook injects (callbacks are called with the params)."""

    def __init__(self, session=None):
        self.session = session
        self.seen = []

    def __call__(self, params):
        self.seen.append(params)


def _misbehave(key, call, run):
    mode = BEHAVIOUR.get(key)
    if mode == "raise_before":
        raise HookBug(f"{key} before proceed")
    if mode == "no_proceed":
        return None
    if mode == "swallow":
        try:
            return run()
        except Exception:
            return "swallowed"
    result = run()
    if mode == "proceed_twice":
        call.proceed()
    if mode == "raise_after":
        raise HookBug(f"{key} after proceed")
    if mode == "replace_result":
        return "not the user's result"
    return result


@dataclass
class FakeMLConfig(AutologConfig):
    log_fake_extras: bool = True


def on_train(session, call):
    EVENTS.append(("train", dict(call.arguments), in_training_call(), session.config))
    params = call.argument("params") or {}
    session.log_params({k: v for k, v in params.items()} if isinstance(params, dict) else {})
    call.add_callback(AutologCallback(session))
    return _misbehave("train", call, call.proceed)


def on_fit(session, call):
    EVENTS.append(("fit", type(call.instance).__name__, dict(call.arguments)))
    session.log_params({"estimator": type(call.instance).__name__})
    return _misbehave("fit", call, call.proceed)


def on_from_params(session, call):
    EVENTS.append(("from_params", call.instance.__name__, dict(call.arguments)))
    return call.proceed()


def on_default_alpha(call):
    EVENTS.append(("default_alpha", dict(call.arguments)))
    return call.proceed()


def on_score(call):
    EVENTS.append(("score", call.function.__name__, dict(call.arguments)))
    return _misbehave("score", call, call.proceed)


def on_recall_returned(result, instance, args, kwargs):
    """A return observer: no Call, just what went in and what came out."""
    if BEHAVIOUR.get("recall") == "raise":
        raise HookBug("recall observer")
    EVENTS.append(("recall", result, args, kwargs, in_training_call()))


def estimator_run_name(call):
    return f"fit-{type(call.instance).__name__}"


class FakeMLIntegration(Integration):
    name = "fakeml"
    module = "fakeml"
    distributions = ("fakeml",)
    supported = ">=1.0,<2"
    config_class = FakeMLConfig

    def patches(self):
        return [
            Patch("fakeml:train", on_train, run_name=lambda call: "fake-train"),
            SubclassPatch("fakeml.estimators:Estimator", ("fit",), on_fit,
                          run_name=estimator_run_name),
            Patch("fakeml.estimators:Estimator.from_params", on_from_params),
            Patch("fakeml.estimators:Estimator.default_alpha", on_default_alpha,
                  training=False),
            Patch("fakeml.metrics:score", on_score, training=False),
            Patch("fakeml.metrics:f1", on_score, training=False),
            Patch("fakeml.metrics:recall", on_recall_returned, training=False,
                  on_return=True),
        ]


def on_extra_train(session, call):
    EVENTS.append(("extra-train", dict(call.arguments)))
    return call.proceed()


def on_extra_score(call):
    EVENTS.append(("extra-score", call.function.__name__))
    return call.proceed()


class ExtraIntegration(Integration):
    """A second integration wrapping the same attributes (stacking)."""

    name = "fakeml_extra"
    module = "fakeml"
    distributions = ("fakeml",)
    supported = ">=1.0"

    def patches(self):
        return [Patch("fakeml:train", on_extra_train),
                Patch("fakeml.metrics:score", on_extra_score, training=False)]


def on_old_train(session, call):
    EVENTS.append(("oldml-train", dict(call.arguments)))
    return call.proceed()


class OldMLIntegration(Integration):
    name = "oldml"
    module = "oldml"
    distributions = ("oldml",)
    supported = ">=1.0,<2"

    def patches(self):
        return [Patch("oldml:train", on_old_train)]
