"""Hugging Face Transformers autologging (``autolog.transformers``): ``Trainer.train``.

One run per outermost ``Trainer.train`` (subclasses such as ``Seq2SeqTrainer`` and TRL's
trainers included: they reach ``Trainer.train``). Inside it the torch integration's loop
hooks stay silent, so the optimizer steps and backward calls the Trainer makes are not
logged a second time.

* params: the ``TrainingArguments`` (``args.to_dict()``, nested dicts flattened with
  ``.``) and the model's config prefixed ``model_config.`` (``model_config.hidden_size``,
  ...), like the flattened parameters MLflow's and W&B's Trainer callbacks record, but with
  a prefix, so that a config key never hides an argument of the same name; plus
  ``model_num_params`` and ``model_num_trainable_params``. Secrets are never logged: a
  key ending in ``token`` (``hub_token``), or naming a password, secret, API key,
  access key or credential, is dropped, and so is any value that looks like a Hugging
  Face token (``hf_...``). A value longer than a param may hold is dropped from the
  params (the whole config is in the logged model's ``config.json``).
* metrics: everything numeric the Trainer logs (``on_log``), at step = ``global_step``:
  per logging step ``loss``, ``learning_rate``, ``grad_norm``, ``epoch``; each evaluation's
  ``eval_loss`` and ``eval_<metric>``; at the end the summary ``train_runtime``,
  ``train_samples_per_second``, ``train_steps_per_second``, ``total_flos``,
  ``train_loss``. When a best checkpoint is tracked (``metric_for_best_model``, set by
  ``load_best_model_at_end``): ``best_metric``, ``best_global_step`` and the evaluation
  metrics of that step as ``best_eval_<name>``; tag ``autolog.best_model_checkpoint``.
* the model (``log_models=True``): the trained model as it is at the end of training
  (the best one with ``load_best_model_at_end``) with the ``transformers`` flavor --
  ``save_pretrained`` (safetensors) plus the Trainer's tokenizer or processor, in
  MLflow's layout -- as artifact ``model``, and its architecture as
  ``model_summary.txt``. A model that is not a ``PreTrainedModel`` (a plain
  ``nn.Module``) goes through the ``pytorch`` flavor instead.
* ``Trainer.evaluate()`` called after ``train()`` logs its metrics into the run of that
  trainer's last ``train()`` (step = ``global_step``).

How: the patch adds `AutologCallback` to the trainer (``trainer.add_callback``) for the
duration of ``train()`` and removes it after; the user's ``callbacks`` list is never
touched, and ``report_to`` is left as it is (Transformers 5 defaults it to ``"none"``). With
``report_to="mlflow"`` MLflow's own callback still writes its own run through the
``mlflow`` module, separate from ours: nothing of it reaches our run.

Only the main process (``state.is_world_process_zero``) logs. Pass
``autolog.transformers.AutologCallback()`` in ``Trainer(callbacks=[...])`` to log without
patching: it opens its run at ``on_train_begin`` and ends it at ``on_train_end``.
transformers is not imported here; the callback class is made on first use.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Any

from autolog.core.config import AutologConfig
from autolog.core.patching import Patch, guard
from autolog.core.patching.integration import Integration
from autolog.core.patching.registry import integration_autolog

__all__ = ["AutologCallback", "TransformersConfig", "TransformersIntegration",  # noqa: F822
           "autolog"]  # + the flavor's log/load/save_model (autolog._frameworks)

INTEGRATION = "transformers"
MODEL_CONFIG_PREFIX = "model_config."
#: The longest param value kept; longer ones (an id2label of 1,000 classes) are dropped.
MAX_PARAM_CHARS = 500
_SECRET_WORDS = ("password", "passwd", "secret", "api_key", "apikey", "access_key",
                 "private_key", "credential")
_HF_TOKEN = re.compile(r"^hf_[A-Za-z0-9]{20,}$")
_METRIC_KEY = re.compile(r"[^\w\-./: ]")
_SPEED_KEYS = ("_runtime", "_per_second")  # an evaluation's timing, not its quality


@dataclass
class TransformersConfig(AutologConfig):
    """The common options."""


class TransformersIntegration(Integration):
    name = INTEGRATION
    module = "transformers"
    distributions = ("transformers",)
    supported = ">=4.40,<6"
    config_class = TransformersConfig

    def patches(self) -> list[Patch]:
        return [
            Patch("transformers.trainer:Trainer.train", on_train, run_name=_run_name,
                  when=_main_process),
            Patch("transformers.trainer:Trainer.evaluate", on_evaluate, training=False,
                  when=_has_run),
        ]


# -- the patches ----------------------------------------------------------------------------

#: trainer -> the run of its last train() (for a later evaluate()); weak: never keeps one.
_trainer_runs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _main_process(trainer: Any) -> bool:
    """Only the main process of a distributed job opens a run (the others train unlogged).
    Read from the state the Trainer filled in at construction: attribute reads only, as a
    gate asked before any isolation must never raise."""
    state = getattr(trainer, "state", None)
    return getattr(state, "is_world_process_zero", True) is not False


def _run_name(call: Any) -> str | None:
    name = getattr(getattr(call.instance, "args", None), "run_name", None)
    return name if isinstance(name, str) and name else None


def on_train(session: Any, call: Any) -> None:
    """``Trainer.train``: our callback joins the trainer's for this call, then leaves."""
    trainer = call.instance
    handler = trainer.callback_handler
    existing = next((c for c in handler.callbacks if _is_ours(c)), None)
    added = None
    if existing is None:
        added = _callback_class()(session=session)
        trainer.add_callback(added)
    else:
        if existing._owns_session:  # its own run of a train() that raised: end it
            existing._close(RuntimeError("the previous train() did not finish"))
        if existing._session is None:
            existing._session = session  # the user's own callback logs into this run
    _remember(trainer, session)
    try:
        call.proceed()
    finally:
        if added is not None and added in handler.callbacks:
            trainer.remove_callback(added)
        if existing is not None and existing._session is session:
            existing._session = None


def _is_ours(callback: Any) -> bool:
    cls = type(callback)
    return cls.__name__ == "AutologCallback" and cls.__module__ == __name__


def _remember(trainer: Any, session: Any) -> None:
    from autolog.core.tracking.recorder import RunRecorder

    try:
        _trainer_runs[trainer] = RunRecorder(session.run_id, session.uri, session._params)
    except TypeError:  # not weak-referenceable: no evaluate() link
        pass


def _has_run(trainer: Any) -> bool:
    try:
        return trainer in _trainer_runs
    except TypeError:
        return False


def on_evaluate(call: Any) -> None:
    """``Trainer.evaluate()`` after ``train()``: its metrics go into that train's run."""
    metrics = call.proceed()
    trainer = call.instance
    recorder = _trainer_runs.get(trainer)
    state = getattr(trainer, "state", None)
    if recorder is None or not isinstance(metrics, dict) or state is None \
            or not state.is_world_process_zero:
        return
    with guard(f"{INTEGRATION}: logging evaluate() metrics"):
        recorder.log_metrics(_numbers(metrics), step=state.global_step)


# -- the callback -----------------------------------------------------------------------------

_classes: list[type] = []


def _callback_class() -> type:
    if not _classes:
        _classes.append(_make_callback_class())
    return _classes[0]


def __getattr__(name: str) -> Any:
    if name == "AutologCallback":
        return _callback_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _make_callback_class() -> type:
    from transformers import TrainerCallback

    class AutologCallback(TrainerCallback):
        """Logs a ``Trainer.train`` (see `autolog.integrations.transformers`)."""

        def __init__(self, session: Any = None) -> None:
            self._session = session
            self._owns_session = False
            self._epoch_step: int | None = None

        # -- the session (explicit use: no patch opened one) -------------------------------
        def _open(self, args: Any) -> None:
            from autolog.core.patching.registry import get_integration
            from autolog.core.tracking.sessions import TrainingSession

            if self._owns_session and self._session is not None:
                # The last train() raised (a Trainer has no exception event): end its run.
                self._close(RuntimeError("the previous train() did not finish"))
            import transformers

            integration = get_integration(INTEGRATION)
            name = getattr(args, "run_name", None)
            version = integration.framework_version or transformers.__version__
            self._session = TrainingSession.open(INTEGRATION, integration.config, version,
                                                 run_name=name if name else None)
            self._owns_session = True

        def _close(self, error: BaseException | None) -> None:
            if self._owns_session and self._session is not None:
                session, self._session = self._session, None
                self._owns_session = False
                with guard(f"{INTEGRATION}: AutologCallback close"):
                    session.close(error=error)

        # -- what is logged ----------------------------------------------------------------
        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                           **kwargs: Any) -> None:
            if not state.is_world_process_zero:
                return
            self._epoch_step = None
            if self._session is None or self._owns_session:
                with guard(f"{INTEGRATION}: AutologCallback.on_train_begin"):
                    self._open(args)
            session = self._session
            if session is None:
                return
            session.log_params(lambda: training_params(args))
            if model is not None:
                session.log_params(lambda: model_params(model))

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kwargs: Any) -> None:
            session = self._session
            if session is None or not logs or not state.is_world_process_zero:
                return
            step = state.global_step
            # Every log of a step repeats its epoch (training, evaluation, summary): once.
            skip = ("epoch",) if step == self._epoch_step else ()
            self._epoch_step = step
            session.log_metrics(lambda: _numbers(logs, skip), step=step)

        def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None,
                         processing_class: Any = None, **kwargs: Any) -> None:
            session = self._session
            if session is None or not state.is_world_process_zero:
                return
            if state.total_flos:  # the printer callbacks pop it from the summary log
                session.log_metrics({"total_flos": float(state.total_flos)},
                                    step=state.global_step)
            if state.best_metric is not None:
                session.log_metrics(lambda: _best_metrics(state))
                if state.best_model_checkpoint:
                    session.set_tags({"autolog.best_model_checkpoint":
                                      str(state.best_model_checkpoint)})
            if model is not None:
                with guard(f"{INTEGRATION}: logging the model"):
                    _log_model(session, model, processing_class)
            self._close(None)

    AutologCallback.__module__ = __name__
    AutologCallback.__qualname__ = "AutologCallback"
    return AutologCallback


# -- what is recorded -----------------------------------------------------------------------


def is_secret(key: str, value: Any = None) -> bool:
    """A param that must never be logged: its name says secret, or its value is an HF
    token. ``hub_token``/``token`` end in "token"; ``pad_token_id`` or
    ``include_tokens_per_second`` do not and are kept."""
    name = key.rsplit(".", 1)[-1].lower()
    if name.endswith("token") or any(word in name for word in _SECRET_WORDS):
        return True
    return isinstance(value, str) and _HF_TOKEN.match(value.strip()) is not None


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            result.update(_flatten(value, f"{name}."))
        else:
            result[name] = value
    return result


def _params(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    result = {}
    for key, value in _flatten(values, prefix).items():
        if is_secret(key, value):
            continue
        if len(str(value)) > MAX_PARAM_CHARS:
            continue
        result[_METRIC_KEY.sub("_", key)] = value
    return result


def training_params(args: Any) -> dict[str, Any]:
    """The TrainingArguments as params, flattened, secrets dropped."""
    return _params(args.to_dict())


def model_params(model: Any) -> dict[str, Any]:
    """The model config (prefixed ``model_config.``) and the parameter counts."""
    model = _unwrap(model)
    result: dict[str, Any] = {}
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "to_dict"):
        values = config.to_dict()
        values.pop("transformers_version", None)  # a tag already says it
        result.update(_params(values, MODEL_CONFIG_PREFIX))
    parameters = list(model.parameters()) if hasattr(model, "parameters") else []
    if parameters:
        result["model_num_params"] = sum(p.numel() for p in parameters)
        result["model_num_trainable_params"] = sum(p.numel() for p in parameters
                                                   if p.requires_grad)
    return result


def _numbers(logs: Any, skip: tuple[str, ...] = ()) -> dict[str, float]:
    """The numeric values of a Trainer log dict (a one-element tensor is a number)."""
    result = {}
    for key, value in dict(logs).items():
        if isinstance(value, bool) or key in skip:
            continue
        if hasattr(value, "numel"):
            if value.numel() != 1:
                continue
            value = value.item()
        if isinstance(value, (int, float)):
            result[_METRIC_KEY.sub("_", str(key))] = float(value)
    return result


def _best_metrics(state: Any) -> dict[str, float]:
    result = {"best_metric": float(state.best_metric)}
    step = getattr(state, "best_global_step", None)
    if step:
        result["best_global_step"] = float(step)
        for entry in state.log_history:
            if entry.get("step") == step and any(k.startswith("eval_") for k in entry):
                result.update({f"best_{k}": v for k, v in _numbers(entry).items()
                               if k.startswith("eval_") and not k.endswith(_SPEED_KEYS)})
    return result


def _unwrap(model: Any) -> Any:
    for _ in range(4):
        inner = getattr(model, "module", None)
        if inner is None or type(model).__name__ not in ("DistributedDataParallel",
                                                         "DataParallel"):
            break
        model = inner
    return model


def _log_model(session: Any, model: Any, processing_class: Any) -> None:
    from autolog.core.tracking.sessions import remember_model
    from autolog.integrations import _models

    model = _unwrap(model)
    remember_model(model, session)
    session.log_text(lambda: f"{model}\n", "model_summary.txt")
    if not session.config.log_models:
        return
    name = session.config.registered_model_name
    if hasattr(model, "save_pretrained") and _is_pretrained(model):
        _models.log_model(session, model, "transformers", name="model",
                          registered_model_name=name, processing_class=processing_class)
    else:
        _models.log_model(session, model, "pytorch", name="model", registered_model_name=name)


def _is_pretrained(model: Any) -> bool:
    import transformers

    return isinstance(model, transformers.PreTrainedModel)


autolog = integration_autolog(INTEGRATION)

