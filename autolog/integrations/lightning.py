"""Lightning autologging (``autolog.lightning``): ``lightning`` and ``pytorch_lightning``.

One run per outermost ``Trainer.fit`` (the torch integration's loop hooks stay silent
inside it):

* params: the LightningModule's ``hparams``; trainer settings (``max_epochs``,
  ``min_epochs``, ``max_steps``, ``accumulate_grad_batches``, ``gradient_clip_val``,
  ``precision``, ``num_devices``); each optimizer's class and param-group hyperparameters
  (as the torch integration names them: ``optimizer_name``, ``lr``, ...).
* metrics: ``trainer.callback_metrics`` at each training epoch end (step = epoch) -- the
  values ``self.log`` produced, validation included; with ``log_every_n_steps=N`` the
  trainer's logged metrics every N global steps (step = global step). The
  tensor-to-number conversion happens only there, never per step otherwise.
* EarlyStopping: params ``early_stopping_monitor``, ``early_stopping_patience``,
  ``early_stopping_mode``; metrics ``stopped_epoch``, ``wait_count``, ``best_score``.
  ModelCheckpoint: metric ``best_model_score``, the best checkpoint file as an artifact
  under ``checkpoints/``.
* the model: ``model_summary.txt`` and (``log_models=True``) the LightningModule through
  the ``pytorch`` flavor (state dict, plus the pickled module when it pickles).

Only global rank 0 logs (`autolog.core.tracking.ranks`: the trainer's rank, else the
launchers' variables); other ranks' fits open no run. `AutologCallback` is the callback
the patch adds to the trainer for the duration of ``fit``; pass
``autolog.lightning.AutologCallback()`` to a Trainer yourself to log without patching: it
logs through the core's long-lived session, opened at fit setup and ended at teardown (or
by end_run, at exit, on SIGTERM, whichever comes first).
Lightning is not imported here; the callback class is made on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from autolog.core.config import AutologConfig
from autolog.core.patching import Patch, guard
from autolog.core.patching.integration import Integration
from autolog.core.patching.registry import integration_autolog
from autolog.core.tracking import ranks

__all__ = ["AutologCallback", "LightningConfig", "LightningIntegration", "autolog"]  # noqa: F822

INTEGRATION = "lightning"
TRAINER_SETTINGS = ("max_epochs", "min_epochs", "max_steps", "accumulate_grad_batches",
                    "gradient_clip_val", "precision", "num_devices")


@dataclass
class LightningConfig(AutologConfig):
    """The common options (``log_every_n_steps`` adds step-level metrics)."""


class LightningIntegration(Integration):
    name = INTEGRATION
    module = "lightning"
    distributions = ("lightning", "pytorch_lightning")
    supported = ">=2.0,<3"
    config_class = LightningConfig

    def patches(self) -> list[Patch]:
        return [
            Patch("lightning.pytorch.trainer.trainer:Trainer.fit", on_fit, when=_records),
            Patch("pytorch_lightning.trainer.trainer:Trainer.fit", on_fit, when=_records),
        ]


def _records(trainer: Any) -> bool:
    """Only global rank 0 opens a run (the gate of the fit patch: other ranks' fits run
    unrecorded, with no run of their own)."""
    return ranks.records(rank_source=lambda: getattr(trainer, "global_rank", None))


def on_fit(session: Any, call: Any) -> None:
    """``Trainer.fit``: our callback joins the trainer's for this fit, then leaves."""
    trainer = call.instance
    callbacks = trainer.callbacks
    existing = next((c for c in callbacks if type(c).__name__ == "AutologCallback"
                     and type(c).__module__ == __name__), None)
    added = None
    if existing is None:
        added = _callback_class_for(trainer)(session=session)
        callbacks.append(added)
    elif existing._session is None:
        existing._session = session  # the user's own callback logs into this fit's run
    try:
        call.proceed()
    finally:
        if added is not None and added in trainer.callbacks:
            trainer.callbacks.remove(added)
        if existing is not None and existing._session is session:
            existing._session = None


# -- the callback -----------------------------------------------------------------------------

_classes: dict[str, type] = {}


def _callback_class_for(trainer: Any) -> type:
    package = "pytorch_lightning" if type(trainer).__module__.startswith(
        "pytorch_lightning") else "lightning.pytorch"
    return _callback_class(package)


def _callback_class(package: str = "lightning.pytorch") -> type:
    cls = _classes.get(package)
    if cls is None:
        cls = _classes[package] = _make_callback_class(package)
    return cls


def __getattr__(name: str) -> Any:
    if name == "AutologCallback":
        try:
            return _callback_class("lightning.pytorch")
        except ImportError:
            return _callback_class("pytorch_lightning")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _make_callback_class(package: str) -> type:
    import importlib

    base = importlib.import_module(package).Callback

    class AutologCallback(base):  # type: ignore[misc, valid-type]
        """Logs a Lightning fit (see `autolog.integrations.lightning`)."""

        def __init__(self, session: Any = None) -> None:
            super().__init__()
            self._session = session
            self._owns_session = False

        # -- the session (explicit use: no patch opened one) -------------------------------
        def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
            """The core's long-lived session, from setup to teardown (or the run's end by
            end_run, exit or SIGTERM, whichever comes first); None on other ranks."""
            if stage != "fit" or self._session is not None:
                return
            with guard(f"{INTEGRATION}: AutologCallback.setup"):
                from autolog.core.patching.registry import get_integration
                from autolog.core.tracking.longlived import LongLivedSession

                integration = get_integration(INTEGRATION)
                self._session = LongLivedSession.start(
                    INTEGRATION, integration.config, _version(),
                    rank_source=lambda: trainer.global_rank)
                self._owns_session = self._session is not None

        def _close(self, error: BaseException | None) -> None:
            if self._owns_session and self._session is not None:
                session, self._session = self._session, None
                self._owns_session = False
                with guard(f"{INTEGRATION}: AutologCallback close"):
                    session.end(error)

        def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
            self._close(exception)

        def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
            if stage == "fit":
                self._close(None)

        # -- what is logged ----------------------------------------------------------------
        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            session = self._session
            if session is None or not trainer.is_global_zero:
                return
            with guard(f"{INTEGRATION}: AutologCallback.on_train_start"):
                params: dict[str, Any] = {}
                hparams = getattr(pl_module, "hparams", None)
                if hparams:
                    params.update(_flatten(dict(hparams)))
                for key in TRAINER_SETTINGS:
                    value = getattr(trainer, key, None)
                    if value is not None:
                        params[key] = value
                for index, optimizer in enumerate(trainer.optimizers):
                    params.update(_optimizer_params(optimizer, index))
                session.log_params(params)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                               batch_idx: int) -> None:
            session = self._session
            every = session.config.log_every_n_steps if session is not None else None
            if not every or not trainer.is_global_zero or trainer.global_step % every:
                return
            with guard(f"{INTEGRATION}: AutologCallback.on_train_batch_end"):
                session.log_metrics(_numbers(trainer.logged_metrics), step=trainer.global_step)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            session = self._session
            if session is None or not trainer.is_global_zero or trainer.sanity_checking:
                return
            with guard(f"{INTEGRATION}: AutologCallback.on_train_epoch_end"):
                session.log_metrics(_numbers(trainer.callback_metrics),
                                    step=trainer.current_epoch)

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            session = self._session
            if session is None or not trainer.is_global_zero:
                return
            with guard(f"{INTEGRATION}: AutologCallback.on_train_end"):
                _log_callback_state(session, trainer)
            with guard(f"{INTEGRATION}: logging the model"):
                _log_model(session, pl_module)

    AutologCallback.__module__ = __name__
    AutologCallback.__qualname__ = "AutologCallback"
    return AutologCallback


def _version() -> str | None:
    from autolog.core.patching.registry import get_integration

    return get_integration(INTEGRATION).framework_version


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            result.update(_flatten(value, f"{name}."))
        else:
            result[name] = value
    return result


def _optimizer_params(optimizer: Any, index: int) -> dict[str, Any]:
    from autolog.integrations.torch import optimizer_params

    inner = getattr(optimizer, "optimizer", optimizer)  # LightningOptimizer wraps one
    return optimizer_params(inner, "" if index == 0 else f"optimizer{index}_")


def _numbers(metrics: Any) -> dict[str, float]:
    """Scalar values of a Lightning metrics dict (one conversion per value, here only)."""
    result = {}
    for key, value in dict(metrics).items():
        try:
            if hasattr(value, "numel"):
                if value.numel() != 1:
                    continue
                value = value.item()
            result[str(key)] = float(value)
        except (TypeError, ValueError):
            continue
    return result


def _log_callback_state(session: Any, trainer: Any) -> None:
    stopper = getattr(trainer, "early_stopping_callback", None)
    if stopper is not None:
        session.log_params({"early_stopping_monitor": stopper.monitor,
                            "early_stopping_patience": stopper.patience,
                            "early_stopping_mode": stopper.mode})
        session.log_metrics(_numbers({"stopped_epoch": stopper.stopped_epoch,
                                      "wait_count": stopper.wait_count,
                                      "best_score": stopper.best_score}))
    checkpoint = getattr(trainer, "checkpoint_callback", None)
    if checkpoint is not None:
        score = getattr(checkpoint, "best_model_score", None)
        if score is not None:
            session.log_metrics(_numbers({"best_model_score": score}))
        path = getattr(checkpoint, "best_model_path", None)
        if path and os.path.isfile(path):
            session.log_artifact(path, "checkpoints")


def _log_model(session: Any, pl_module: Any) -> None:
    from autolog.core.tracking.sessions import remember_model
    from autolog.integrations.torch import log_module

    remember_model(pl_module, session)
    log_module(session, pl_module, "model", session.config.registered_model_name)


autolog = integration_autolog(INTEGRATION)
