"""Logging the trained model into a session's run: what every integration does after a fit.

The model files are `autolog.models`' (called with the run id: models never look up the
active run). What autologging adds is the policy: the record is isolated like any session
record, a signature is inferred only when ``log_model_signatures`` is on, and a model
that cannot be pickled is the user's design, not an autolog failure -- one warning per
model class says so.
"""

from __future__ import annotations

from typing import Any

from autolog.core.reporting import warn_once

__all__ = ["log_model"]


def log_model(session: Any, model: Any, flavor: str, name: str = "model", **kwargs: Any) -> Any:
    """Log ``model`` as the artifact directory ``name`` of the session's run; the
    `ModelInfo`, or None when the record failed (reported as the session's)."""
    kwargs.setdefault("infer_signature", session.config.log_model_signatures)

    def log() -> Any:
        from autolog import models

        try:
            return models.log_model(model, flavor, name=name, run_id=session.run_id,
                                    tracking_uri=session.uri, **kwargs)
        except Exception as exc:
            import pickle

            if not isinstance(exc, (pickle.PicklingError, AttributeError, TypeError)) \
                    or "pickle" not in str(exc).lower():
                raise
            warn_once(f"unpicklable:{type(model).__qualname__}",
                      f"autolog: the {type(model).__name__} model was not logged: it "
                      f"cannot be pickled ({exc}).")
            return None

    return session.record("log_model", log)
