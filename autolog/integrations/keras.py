"""Keras 3 / TensorFlow autologging (``autolog.keras``, also reachable as ``autolog.tensorflow``).

One outermost ``Model.fit`` (Sequential, functional or subclassed; any Keras 3 backend)
records into one run:

* params: the fit arguments ``batch_size``, ``validation_split``, ``shuffle``,
  ``initial_epoch``, ``class_weight`` (positional or keyword alike), ``epochs`` and
  ``steps_per_epoch`` as Keras runs them; the optimizer (``opt_name`` and ``opt_<key>`` for
  its config, a learning-rate schedule as ``opt_learning_rate`` = its class and
  ``opt_learning_rate_<key>``); ``loss``; ``trainable_params`` and
  ``non_trainable_params``; the data (``dataset_type``, ``dataset_shape`` or
  ``dataset_element_spec``, ``dataset_batches`` when cheap to know); EarlyStopping's
  ``monitor``, ``patience``, ``min_delta``, ``restore_best_weights``.
* metrics: every numeric key of Keras's epoch ``logs`` (``loss``, ``accuracy``,
  ``val_loss``, custom metrics) at step = epoch; with ``log_every_n_steps=N`` the
  training batch logs as ``batch_<key>`` every N batches (step = batches done so far).
  EarlyStopping: ``stopped_epoch``, ``restored_epoch`` and, when the best weights were
  restored, that epoch's metrics once more at the step after the last epoch.
* artifacts: ``model_summary.txt``; the model (``keras`` flavor, ``.keras`` format).
* ``model.evaluate(...)`` on a model autologged by ``fit``: ``eval_<metric>`` into the run
  it was trained in (step = how many evaluations of that model came before).

The callback the patch injects is `AutologCallback`, which users can also pass to ``fit``
themselves (inside ``autolog.start_run()``) without turning autologging on.

Batch logs: Keras dispatches ``on_train_batch_end`` to a worker thread and converts the
logs to floats there; `AutologCallback` declares itself ``async_safe`` so that stays so,
and it never reads a tensor itself. Nothing here forces a device synchronisation.

Keras is not imported here: the patches are applied when the user imports ``keras``
(``tf.keras`` imports it too), and `AutologCallback` is created on first use.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any

from autolog.core.config import AutologConfig
from autolog.core.patching import Call, Patch, guard
from autolog.core.patching.integration import Integration
from autolog.core.patching.registry import integration_autolog
from autolog.core.tracking.recorder import RunRecorder
from autolog.core.tracking.sessions import recorder_for_model, remember_model
from autolog.integrations import _models
from autolog.integrations._datasets import input_params, is_plain_data

__all__ = ["AutologCallback", "KerasConfig", "KerasIntegration", "autolog"]  # noqa: F822

INTEGRATION = "keras"
SUMMARY_FILE = "model_summary.txt"
FIT_PARAMS = ("batch_size", "validation_split", "shuffle", "initial_epoch")
EARLY_STOPPING_PARAMS = ("monitor", "patience", "min_delta", "restore_best_weights")
MAX_INPUT_EXAMPLE_ROWS = 5


@dataclass
class KerasConfig(AutologConfig):
    """The common options; ``log_every_n_steps`` adds batch-level training metrics."""


# -- the callback ---------------------------------------------------------------------------

_callback_class: type | None = None


def _get_callback_class() -> type:
    global _callback_class
    if _callback_class is None:
        _callback_class = _make_callback_class()
    return _callback_class


def __getattr__(name: str) -> Any:
    if name == "AutologCallback":  # defined on first use: it subclasses keras's Callback
        return _get_callback_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _make_callback_class() -> type:
    import keras

    class AutologCallback(keras.callbacks.Callback):
        """Logs one ``fit`` into a run: params, per-epoch metrics, summary (and the model).

        Pass it to ``fit`` yourself, inside ``autolog.start_run()`` (without an active run
        one is started at train begin and ended at train end)::

            with autolog.start_run():
                model.fit(X, y, epochs=5, callbacks=[autolog.keras.AutologCallback()])

        With autologging on, the patched ``fit`` injects one (or uses yours) and logs the
        fit arguments and the model besides.
        """

        # Our batch hook only appends floats Keras already converted to a thread-safe
        # buffer, so Keras may keep dispatching batch ends to its worker thread.
        async_safe = True

        def __init__(self, log_every_n_steps: int | None = None, log_models: bool = True):
            super().__init__()
            if log_every_n_steps is not None and (
                    not isinstance(log_every_n_steps, int) or log_every_n_steps < 1):
                raise ValueError(
                    f"log_every_n_steps must be a positive integer or None, got "
                    f"{log_every_n_steps!r}"
                )
            self.log_every_n_steps = log_every_n_steps
            self.log_models = log_models
            self._session: RunRecorder | None = None  # set by the patched fit
            self._recorder: RunRecorder | None = None
            self._own_every = log_every_n_steps
            self._owned_run: Any = None
            self._reset()

        def _reset(self) -> None:
            self.epoch_logs: dict[int, dict[str, float]] = {}
            self._base = 0  # training batches before the current epoch
            self._last_batch = -1
            self._per_call = 1  # batches per train-function call (steps_per_execution)
            self._model_info_logged = False

        # -- attached by the patched fit ------------------------------------------------
        def _attach(self, session: RunRecorder, log_every_n_steps: int | None) -> None:
            self._session = session
            self._own_every = self.log_every_n_steps
            if log_every_n_steps is not None:
                self.log_every_n_steps = log_every_n_steps

        def _detach(self) -> None:
            if self._session is not None:
                self._session = None
                self.log_every_n_steps = self._own_every

        # -- Keras hooks -----------------------------------------------------------------
        def on_train_begin(self, logs=None):
            self._reset()
            self._recorder = None
            with guard("keras: AutologCallback.on_train_begin"):
                session = self._session
                self._recorder = session if session is not None else self._explicit_recorder()
                per_call = getattr(self.model, "steps_per_execution", 1)
                self._per_call = per_call if isinstance(per_call, int) and per_call > 0 else 1
                params = self.params or {}
                recorded = {"epochs": params.get("epochs"),
                            "steps_per_epoch": params.get("steps")}
                recorded.update(_optimizer_params(self.model))
                recorded.update(_loss_params(self.model))
                self._recorder.log_params(recorded)

        def on_epoch_begin(self, epoch, logs=None):
            steps = (self.params or {}).get("steps")
            if isinstance(steps, int):
                self._base = epoch * steps
            self._last_batch = -1

        def on_epoch_end(self, epoch, logs=None):
            if not isinstance((self.params or {}).get("steps"), int):
                self._base += self._last_batch + 1  # (all batch ends have run by now)
            recorder = self._recorder
            if recorder is None:
                return
            with guard("keras: AutologCallback.on_epoch_end"):
                metrics = _numeric(logs)
                self.epoch_logs[epoch] = metrics
                recorder.log_metrics(metrics, step=epoch)
                if not self._model_info_logged:  # the model is built after one epoch
                    self._log_model_info()

        def on_train_batch_end(self, batch, logs=None):
            # May run on Keras's dispatch thread: reads only its arguments and values the
            # main thread set before this epoch's batches started.
            every = self.log_every_n_steps
            if not every or self._recorder is None:
                return
            self._last_batch = batch
            step = self._base + batch + 1  # batches done, counting from the first epoch
            if step // every == (step - self._per_call) // every:
                return  # no multiple of N reached by this call's batches
            with guard("keras: AutologCallback.on_train_batch_end"):
                self._recorder.log_metrics(
                    {f"batch_{key}": value for key, value in _numeric(logs).items()},
                    step=step,
                )

        def on_train_end(self, logs=None):
            recorder = self._recorder
            if recorder is None:
                return
            with guard("keras: AutologCallback.on_train_end"):
                if not self._model_info_logged:
                    self._log_model_info()
                if self._session is None:  # explicit use: the patched fit logs its model
                    try:
                        if self.log_models:
                            from autolog import models

                            models.log_model(self.model, "keras", run_id=recorder.run_id,
                                             tracking_uri=recorder.uri,
                                             signature=_signature(self.model, None))
                    finally:
                        self._end_owned_run()

        # -- helpers ---------------------------------------------------------------------
        def _explicit_recorder(self) -> RunRecorder:
            from autolog.core.tracking.runs import active_run, start_run

            run = active_run()
            if run is None:
                run = self._owned_run = start_run()
            return RunRecorder(run.info.run_id, run.uri, run.params_logged)

        def _end_owned_run(self) -> None:
            run, self._owned_run = self._owned_run, None
            if run is not None:
                from autolog.core.tracking.runs import end_run

                end_run(run_id=run.info.run_id)

        def _log_model_info(self) -> None:
            self._model_info_logged = True
            model = self.model
            self._recorder.log_params(_weight_counts(model))
            self._recorder.log_text(_summary(model), SUMMARY_FILE)

        def last_epoch(self) -> int | None:
            return max(self.epoch_logs) if self.epoch_logs else None

    AutologCallback.__module__ = __name__
    AutologCallback.__qualname__ = "AutologCallback"
    return AutologCallback


# -- what the hooks read ----------------------------------------------------------------------


def _numeric(logs: Any) -> dict[str, float]:
    """The numeric entries of Keras's (already pythonified) logs."""
    result: dict[str, float] = {}
    for key, value in (logs or {}).items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            try:  # a NumPy or an eager scalar; a string or a non-scalar is skipped
                if len(tuple(getattr(value, "shape", ()))) != 0:
                    continue
                value = float(value)
            except (TypeError, ValueError):
                continue
        result[str(key)] = float(value)
    return result


def _describe(obj: Any) -> str:
    """A short name for a loss / metric / schedule object, a function or a string."""
    if obj is None or isinstance(obj, str):
        return str(obj)
    name = getattr(obj, "name", None)
    if isinstance(name, str) and name:
        return name
    return getattr(obj, "__name__", None) or type(obj).__name__


def _flatten_config(prefix: str, config: Any, out: dict[str, Any]) -> None:
    if isinstance(config, dict) and "class_name" in config and "config" in config:
        out[prefix] = config["class_name"]  # a serialized Keras object (an LR schedule)
        _flatten_config(prefix, config["config"], out)
        return
    if isinstance(config, dict):
        for key, value in config.items():
            if key == "name":  # the object's own name (the class is logged)
                continue
            _flatten_config(f"{prefix}_{key}", value, out)
        return
    out[prefix] = _float32_text(config) if isinstance(config, float) else config


def _float32_text(value: float) -> float:
    """A float read back from a float32 variable (a learning rate) in its shortest float32
    spelling: 0.0010000000474974513 -> 0.001. Other floats are returned as they are."""
    import struct

    try:
        packed = struct.pack("<f", value)
    except (OverflowError, struct.error):
        return value
    if struct.unpack("<f", packed)[0] != value or not math.isfinite(value):
        return value
    for digits in range(1, 10):
        short = float(f"{value:.{digits}g}")
        if struct.pack("<f", short) == packed:
            return short
    return value


def _optimizer_params(model: Any) -> dict[str, Any]:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return {}
    params: dict[str, Any] = {"opt_name": type(optimizer).__name__}
    _flatten_config("opt", optimizer.get_config(), params)
    return params


def _loss_params(model: Any) -> dict[str, Any]:
    loss = getattr(model, "loss", None)
    if loss is None:
        return {}
    if isinstance(loss, dict):
        text = ", ".join(f"{key}: {_describe(value)}" for key, value in loss.items())
    elif isinstance(loss, (list, tuple)):
        text = ", ".join(_describe(value) for value in loss)
    else:
        text = _describe(loss)
    return {"loss": text}


def _weight_counts(model: Any) -> dict[str, int]:
    def count(weights: Any) -> int:
        return sum(math.prod(int(d) for d in w.shape) for w in weights)

    return {"trainable_params": count(model.trainable_weights),
            "non_trainable_params": count(model.non_trainable_weights)}


def _summary(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda text, *args, **kwargs: lines.append(str(text)))
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"


def _dataset_inputs(x: Any, y: Any, validation_data: Any) -> list[Any]:
    """Arrays given to ``fit`` as the run's dataset inputs: ``x`` (with ``y``) "train",
    ``validation_data`` "validation". Datasets, generators and tensors are not read."""
    from autolog.core.tracking.datasets import dataset_input

    inputs = []
    if is_plain_data(x):
        inputs.append(dataset_input(x, "train", targets=y if is_plain_data(y) else None,
                                    context="training"))
    if isinstance(validation_data, (tuple, list)) and validation_data and \
            is_plain_data(validation_data[0]):
        targets = validation_data[1] if len(validation_data) > 1 else None
        inputs.append(dataset_input(validation_data[0], "validation",
                                    targets=targets if is_plain_data(targets) else None,
                                    context="validation"))
    return inputs


def _tensor_spec(value: Any, name: str | None = None):
    from autolog.models.signature import TensorSpec

    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is None or dtype is None:
        return None
    dtype = getattr(dtype, "name", None) or str(dtype)
    try:
        dims = [-1] + [-1 if d is None else int(d) for d in tuple(shape)[1:]]
    except TypeError:
        return None
    return TensorSpec(dtype, dims, name)


def _signature(model: Any, x: Any):
    """A tensor signature from the model's symbolic inputs/outputs (functional and built
    Sequential models), else the inputs from the training array; never runs the model."""
    from autolog.models.signature import ModelSignature, Schema

    def specs(tensors: Any) -> list | None:
        if tensors is None:
            return None
        items = list(tensors.values()) if isinstance(tensors, dict) else (
            list(tensors) if isinstance(tensors, (list, tuple)) else [tensors])
        named = len(items) > 1
        result = [_tensor_spec(t, getattr(t, "name", None) if named else None) for t in items]
        return None if not result or any(s is None for s in result) else result

    def symbolic(attribute: str) -> Any:
        try:
            return getattr(model, attribute)
        except (AttributeError, ValueError):  # a subclassed or an unbuilt model
            return None

    inputs = specs(symbolic("inputs"))
    if inputs is None and x is not None and hasattr(x, "shape") and hasattr(x, "dtype"):
        inputs = specs(x)
    if inputs is None:
        return None
    outputs = specs(symbolic("outputs"))
    return ModelSignature(Schema(inputs), Schema(outputs) if outputs else None)


def _flat_callbacks(callbacks: Any) -> list[Any]:
    if callbacks is None:
        return []
    if isinstance(callbacks, (list, tuple)):
        result = []
        for item in callbacks:
            result.extend(_flat_callbacks(item))
        return result
    return [callbacks]


# -- hooks -----------------------------------------------------------------------------------


def on_fit(session, call: Call) -> Any:
    """``Model.fit``: log the fit arguments, inject the callback, log the fitted model."""
    import keras

    config = session.config
    model = call.instance
    params = {name: call.argument(name) for name in FIT_PARAMS}
    params["class_weight"] = call.argument("class_weight")
    x = call.argument("x")
    user_callbacks = call.argument("callbacks")
    early_stopping = [cb for cb in _flat_callbacks(user_callbacks)
                      if isinstance(cb, keras.callbacks.EarlyStopping)]
    if early_stopping:
        stopper = early_stopping[0]
        params.update({name: getattr(stopper, name, None) for name in EARLY_STOPPING_PARAMS})
        params["min_delta"] = abs(params["min_delta"]) if params["min_delta"] is not None \
            else None
    session.log_params(params)
    if config.log_datasets:  # a record of its own: describing odd data costs only itself
        session.log_params(lambda: input_params(x))
        session.log_inputs(lambda: _dataset_inputs(x, call.argument("y"),
                                                   call.argument("validation_data")))

    callback = None
    if not isinstance(user_callbacks, keras.callbacks.CallbackList):
        # (A CallbackList passed by the user is used by Keras as is: nothing is injected.)
        callback = call.add_callback(_get_callback_class()())
        callback._attach(session, config.log_every_n_steps)
    try:
        result = call.proceed()
    finally:
        if callback is not None:
            callback._detach()

    remember_model(model, session)
    if early_stopping and callback is not None:
        _log_early_stopping(session, early_stopping[0], callback)
    if config.log_models:
        example = None
        if config.log_input_examples and hasattr(x, "shape") and hasattr(x, "__getitem__"):
            example = x[:MAX_INPUT_EXAMPLE_ROWS]
        signature = _signature(model, x) if config.log_model_signatures else None
        _models.log_model(session, model, "keras", input_example=example, signature=signature,
                          registered_model_name=config.registered_model_name)
    return result


def _log_early_stopping(session, stopper: Any, callback: Any) -> None:
    session.log_metric("stopped_epoch", stopper.stopped_epoch)
    restored = bool(stopper.restore_best_weights and stopper.best_weights is not None)
    if not restored:
        return
    best = stopper.best_epoch
    session.log_metric("restored_epoch", best)
    last = callback.last_epoch()
    metrics = callback.epoch_logs.get(best)
    if metrics and last is not None:
        session.log_metrics(metrics, step=last + 1)


_evaluations: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def on_evaluate(call: Call) -> Any:
    """``Model.evaluate`` on a model autologged by ``fit``: ``eval_<metric>`` into its run."""
    result = call.proceed()
    model = call.instance
    recorder = recorder_for_model(model)
    if recorder is None:
        return result
    if isinstance(result, dict):
        metrics = result
    else:  # the list/scalar form: the metric values evaluate just computed, by name
        metrics = model.get_metrics_result()
    step = _evaluations.get(model, 0)
    _evaluations[model] = step + 1
    recorder.log_metrics({f"eval_{key}": value for key, value in _numeric(metrics).items()},
                         step=step)
    return result


class KerasIntegration(Integration):
    name = INTEGRATION
    module = "keras"
    distributions = ("keras",)
    supported = ">=3.0,<4"
    config_class = KerasConfig

    def patches(self) -> list[Patch]:
        return [
            Patch("keras:Model.fit", on_fit),
            Patch("keras:Model.evaluate", on_evaluate, training=False),
        ]


autolog = integration_autolog(INTEGRATION)
