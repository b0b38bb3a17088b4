"""PyTorch autologging for hand-written training loops (``autolog.torch``, ``autolog.pytorch``).

A plain loop -- ``for x, y in loader: loss = f(model(x), y); loss.backward(); opt.step()``
-- is recorded with no change to the script, from the entry points every loop passes:

* ``Optimizer.step`` (every optimizer, user-defined subclasses included; through torch's
  own ``register_optimizer_step_post_hook``): counts steps. At an optimizer's first step
  it logs ``optimizer_name`` and each param group's hyperparameters (``lr``,
  ``momentum``, ``betas``, ``eps``, ``weight_decay``, ...; group k > 0 as
  ``<key>_group<k>``; a second optimizer's as ``optimizer1_<key>``), and the learning
  rate as metric ``lr`` (``lr_group<k>``, ``optimizer1_lr``) then and whenever it
  changes (a scheduler), step = that optimizer's step index.
* ``Tensor.backward`` / ``torch.autograd.backward`` (a return observer: no ``Call`` per
  step): the tensor is the training loss. ``loss.detach()`` is kept on its own device --
  no ``.item()``, no kernel, no host-device synchronisation per step -- and the kept
  values are summed on the device every 256 steps and turned into numbers once per epoch;
  through ``GradScaler.scale(loss).backward()`` the unscaled loss is used.
* Epochs or steps: what the loop is shows once per run. A ``DataLoader`` pass that
  yielded all its batches while backward calls happened makes it a loop of epochs: metric
  ``train_loss`` (mean over the epoch's backward calls, one synchronisation per epoch),
  step = epoch (0-based); with two or more optimizers also ``train_loss_optimizer<j>``.
  Steps that no pass can end as an epoch make it a loop of steps (nanoGPT, makemore):
  hand-made batches with no pass live, an "infinite" loader (>= `LONG_PASS_BATCHES`
  batches), a loader of unknown length read for over `HOLD_UNKNOWN_PASS_STEPS` steps, an
  iterator the user keeps after it ran out, or a run that ends before any epoch did.
  There ``train_loss`` is logged per window of ``log_every_n_steps`` optimizer steps
  (default `DEFAULT_EVERY_N_STEPS` = 10): the mean of the window's losses, step =
  the window's last step index; windows are summed on the device and turned into numbers
  about every `FLUSH_STEPS` steps (one synchronisation each) and at ``autolog.flush()``.
  Beside epochs, ``log_every_n_steps=N`` adds ``train_loss_step``, the same windows.
  A loader exhausted while gradients are off, during which ``torch.nn.functional``
  losses or loss modules are called, is an evaluation pass: metric ``val_loss`` (the mean
  of those losses; a second evaluation loader is ``val2_loss``), step = the current
  epoch, or in a loop of steps the number of steps done. Nothing is hooked per batch: a
  pass starts at ``iter(loader)`` (``DataLoader.__iter__``) and is over when its iterator
  is released (the ``for`` loop ended; a weak reference tells) or, for an iterator that
  is still held (manual ``next``, ``persistent_workers=True``), when the next pass
  starts; it counts when it yielded all its batches (a ``break`` does not; a loader of
  unknown length counts), with no more optimizer steps than batches. Its metrics are
  logged when the next pass starts, at ``autolog.flush()`` (from the loop's thread) or
  when the run ends. Outside epochs the lr is sampled at each window's end.
* The model: the ``nn.Module``(s) whose parameters the stepped optimizer holds, found
  among the modules whose ``parameters()``/``named_parameters()`` were called (as
  ``Optimizer(model.parameters())`` does) -- never by scanning the heap. At run end:
  params ``<name>_num_params`` and ``<name>_num_trainable_params``, the architecture as
  ``<name>_summary.txt``, and (``log_models=True``) the module through the ``pytorch``
  flavor (state dict loadable with ``weights_only=True``, plus the pickled module when it
  pickles) as artifact ``model`` (``model_0``, ``model_1``... for several).
* ``torch.save(obj, path)`` during the run: the file is logged under ``checkpoints/``
  (``log_checkpoints=True``, files up to ``checkpoint_max_mb``).
* ``SummaryWriter.add_scalar``/``add_scalars``/``add_hparams`` are forwarded as metrics
  (step = ``global_step``) and params.
* Run lifetime (the core's `LongLivedSession`, opened at the first optimizer step): the
  user's active run when there is one; else a managed run, ended by ``autolog.end_run()``,
  at exit (FINISHED, or FAILED after an uncaught exception) or on SIGTERM (KILLED). A
  ``start_run()`` of the user's while it is open starts a child run of it. A forked child
  never writes into it.
* Distributed: rank 0 logs (``torch.distributed``, else the launchers' variables, read
  by `autolog.core.tracking.ranks`); other ranks get no patches unless
  ``log_system_metrics`` or ``log_all_ranks``. With an initialised process group the job
  has one run: rank 0 publishes its id through the group's store, and rank k adds its
  system metrics (``system/rank<k>/...``) and, with ``log_all_ranks``, its own metrics as
  ``rank<k>/<key>`` (the core's `RankSession`). Without one, ``log_all_ranks=True`` gives
  each rank its own run. ``TORCHELASTIC_RUN_ID``, ``SLURM_JOB_ID``, ... become tag
  ``autolog.job_id``.
* Calls inside another autologged training call (Lightning's ``Trainer.fit``) and
  inference (``model.eval()``, ``torch.no_grad()`` forwards outside an evaluation loader)
  log nothing.

torch is not imported here: the patches are applied when the user imports it.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from autolog.core.config import AutologConfig
from autolog.core.patching import Patch, SubclassPatch, framework_hook, guard
from autolog.core.patching.integration import Integration
from autolog.core.patching.registry import integration_autolog
from autolog.core.tracking import context, ranks
from autolog.core.tracking.longlived import LongLivedSession
from autolog.integrations import _models
from autolog.integrations._torch_loop import (  # noqa: F401 - the tests read the constants
    DEFAULT_EVERY_N_STEPS,
    EPOCHS,
    FLUSH_STEPS,
    HOLD_UNKNOWN_PASS_STEPS,
    STEPS,
    Loop,
    _OptimizerState,
)
from autolog.integrations._torch_steps import COMPACT_EVERY

__all__ = ["TorchConfig", "TorchIntegration", "autolog"]

INTEGRATION = "torch"
FLAVOR = "pytorch"
LOSS_FUNCTIONS = (
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
    "cross_entropy", "ctc_loss", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss",
    "kl_div", "l1_loss", "margin_ranking_loss", "mse_loss", "multi_margin_loss",
    "multilabel_margin_loss", "multilabel_soft_margin_loss", "nll_loss", "poisson_nll_loss",
    "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
)
_WRAPPER_CLASSES = ("DistributedDataParallel", "DataParallel", "OptimizedModule",
                    "FullyShardedDataParallel")


@dataclass
class TorchConfig(AutologConfig):
    """The common options plus: ``log_checkpoints`` (files written with ``torch.save``
    during the run become artifacts), ``checkpoint_max_mb`` (larger ones are skipped),
    ``log_all_ranks`` (every distributed rank logs its own metrics: ``rank<k>/<key>`` in
    the job's one run, or a run of its own without a process group)."""

    log_checkpoints: bool = True
    checkpoint_max_mb: float = 512.0
    log_all_ranks: bool = False


class TorchIntegration(Integration):
    name = INTEGRATION
    module = "torch"
    distributions = ("torch",)
    supported = ">=2.1,<3"
    config_class = TorchConfig

    def __init__(self) -> None:
        super().__init__()
        self._step_hook_handle: Any = None

    def _other_rank(self) -> bool:
        """A rank other than 0 with nothing to record: no patches at all. (With
        ``log_system_metrics`` it joins the job's run for its system metrics.)"""
        config = self.config
        return not ranks.records(getattr(config, "log_all_ranks", False)
                                 or getattr(config, "log_system_metrics", False))

    def patches(self) -> list[Patch | SubclassPatch]:
        if self._other_rank():
            return []  # ranks other than 0 pay nothing
        patches: list[Patch | SubclassPatch] = [
            # Tensor.backward calls torch.autograd.backward: one patch sees both.
            Patch("torch.autograd:backward", on_backward, training=False, on_return=True),
            # Once per pass, not per batch: the pass ends when its iterator is released.
            Patch("torch.utils.data.dataloader:DataLoader.__iter__", on_loader_iter,
                  training=False),
            Patch("torch.amp.grad_scaler:GradScaler.scale", on_scale, training=False,
                  on_return=True),
            Patch("torch.nn.modules.module:Module.parameters", on_parameters, training=False,
                  when=_new_candidate),
            Patch("torch.nn.modules.module:Module.named_parameters", on_parameters,
                  training=False, when=_new_candidate),
            # Built-in loss modules call the torch.nn.functional losses patched below.
            SubclassPatch("torch.nn.modules.loss:_Loss", "forward", on_loss, training=False,
                          include_base=False, skip_class=_builtin_loss, when=_in_eval_pass),
            Patch("torch:save", on_save, training=False),
        ]
        patches += [Patch(f"torch.nn.functional:{name}", on_loss, training=False,
                          when=_in_eval_pass)
                    for name in LOSS_FUNCTIONS]
        patches += [Patch(f"torch.utils.tensorboard.writer:SummaryWriter.{method}",
                          on_summary_writer, training=False)
                    for method in ("add_scalar", "add_scalars", "add_hparams")]
        return patches

    def framework_hooks(self) -> list:
        return [on_optimizer_step]

    def on_module_imported(self, module: Any) -> None:
        if getattr(module, "__name__", None) != "torch" or self._step_hook_handle is not None:
            return
        if self._other_rank():
            return
        from torch.optim.optimizer import register_optimizer_step_post_hook

        _tracker.bind(self, module)
        self._step_hook_handle = register_optimizer_step_post_hook(
            framework_hook(self, on_optimizer_step))

    def on_disable(self) -> None:
        handle, self._step_hook_handle = self._step_hook_handle, None
        if handle is not None:
            handle.remove()
        # Losses held for a step that never came (no run open) are no loss of a later run.
        _tracker.pending, _tracker.folded = [], 0
        _tracker.scaled = _tracker.unscaled = None


class _Tracker(Loop):
    """The hand-written loop being recorded (one per process) and its run."""

    def __init__(self) -> None:
        super().__init__()
        self.integration: TorchIntegration | None = None
        self.off = False  # a distributed rank that does not log
        self.candidates: weakref.WeakSet = weakref.WeakSet()

    def bind(self, integration: TorchIntegration, torch: Any) -> None:
        self.integration = integration
        self.torch = torch
        self.is_grad_enabled = torch.is_grad_enabled

    # -- the run ---------------------------------------------------------------------------
    def open_session(self) -> Any:
        """The run, at the first optimizer step (or SummaryWriter record): the core's
        long-lived session, None on a rank that does not record."""
        integration = self.integration
        if integration is None:
            return None
        config = integration.config
        session = LongLivedSession.start(INTEGRATION, config, integration.framework_version,
                                         rank_source=_distributed_rank,
                                         tags={"autolog.torch.loop": "vanilla"},
                                         job=_job_share())
        if session is None:
            self.off = True
            return None
        self.begin_run(session, config.log_every_n_steps)
        session.on_end(lambda status, s=session: self.last_records(s))
        return session

    def last_records(self, session: Any) -> None:
        """The run ends (end_run, exit, SIGTERM): log what is still held, then forget it."""
        if self.session is not session:
            return
        self.session = None  # ended: nothing below is logged into it twice
        try:
            self.end_run(session)
            self._log_models(session)
        finally:
            self.forget_run()

    # -- optimizer steps -------------------------------------------------------------------
    def first_step(self, optimizer: Any) -> _OptimizerState | None:
        if self.off:
            return None
        session = self.session
        if session is None or not session.alive:
            session = self.open_session()
            if session is None:
                return None
        state = _OptimizerState(len(self.optimizers), optimizer)
        self.optimizers[optimizer] = state
        self.states.append(state)
        session.log_params(optimizer_params(optimizer, state.prefix))
        self._find_models(optimizer, session)
        return state

    def _find_models(self, optimizer: Any, session: Any) -> None:
        from autolog.core.tracking.sessions import remember_model

        wanted = {id(p) for group in optimizer.param_groups for p in group["params"]}
        hits = []
        for module in list(self.candidates):
            ids = {id(p) for p in module.parameters()}
            if ids & wanted:
                hits.append((len(ids), ids, module))
        hits.sort(key=lambda hit: -hit[0])
        kept: list[tuple[set, Any]] = []
        for _size, ids, module in hits:
            if any(ids <= other for other, _m in kept):
                continue
            kept.append((ids, module))
        for _ids, module in kept:
            module = _unwrap(module)
            if all(module is not known for known in self.models):
                self.models.append(module)
                remember_model(module, session)

    def log_lrs(self, optimizer: Any, state: _OptimizerState) -> None:
        session = self.session
        lrs = state.lrs
        for k, group in enumerate(optimizer.param_groups):
            raw = group.get("lr")
            if k < len(lrs):
                if not _lr_changed(raw, lrs[k]):
                    continue
                lrs[k] = raw
            else:
                lrs.append(raw)
            lr = _number(raw)
            if lr is not None and session is not None:
                key = f"{state.prefix}lr" if k == 0 else f"{state.prefix}lr_group{k}"
                session.log_metric(key, lr, step=state.steps - 1)

    # -- the model -------------------------------------------------------------------------
    def _log_models(self, session: Any) -> None:
        models = self.models
        config = session.config
        for index, model in enumerate(models):
            log_module(session, model, "model" if len(models) == 1 else f"model_{index}",
                       config.registered_model_name if len(models) == 1 else None)


_tracker = _Tracker()


def log_module(session: Any, module: Any, name: str, registered_model_name: str | None) -> None:
    """Parameter counts, the architecture as ``<name>_summary.txt`` and (``log_models``)
    the module through the ``pytorch`` flavor; shared with the Lightning integration."""
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    session.log_params({f"{name}_num_params": total, f"{name}_num_trainable_params": trainable})
    session.log_text(f"{module}\n\nparameters: {total}\ntrainable parameters: {trainable}\n",
                     f"{name}_summary.txt")
    if session.config.log_models:
        _models.log_model(session, module, FLAVOR, name=name,
                          registered_model_name=registered_model_name)


def _unwrap(module: Any) -> Any:
    for _ in range(4):
        name = type(module).__name__
        if name in _WRAPPER_CLASSES:
            inner = getattr(module, "module", None) or getattr(module, "_orig_mod", None)
            if inner is not None:
                module = inner
                continue
        break
    return module


def _number(value: Any) -> float | None:
    """A plain number for an lr; a tensor only when on the CPU (never a device sync)."""
    if isinstance(value, (int, float)):
        return float(value)
    device = getattr(value, "device", None)
    if device is not None and getattr(device, "type", None) == "cpu" and value.numel() == 1:
        return float(value)
    return None


def optimizer_params(optimizer: Any, prefix: str = "") -> dict[str, Any]:
    """``optimizer_name`` and each param group's hyperparameters (group k > 0 as
    ``<key>_group<k>``), a tensor value as its number; shared with the Lightning
    integration."""
    params: dict[str, Any] = {f"{prefix}optimizer_name": type(optimizer).__name__}
    for k, group in enumerate(optimizer.param_groups):
        suffix = "" if k == 0 else f"_group{k}"
        for key, value in group.items():
            if key != "params" and not key.startswith("_"):
                params[f"{prefix}{key}{suffix}"] = _param_value(value)
    return params


def _param_value(value: Any) -> Any:
    number = _number(value) if hasattr(value, "numel") else None
    return number if number is not None else value

def _sum(losses: list[Any]) -> Any:
    return _tracker.sum(losses)


def _distributed_rank() -> int | None:
    """torch.distributed's rank once initialised (it wins over the environment)."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    return None


#: How long a rank waits at its first step for rank 0's run id (ranks step together).
JOIN_TIMEOUT_S = 60.0


class _DistributedStore:
    """The process group's key-value store: rank 0 publishes its run's id to the job."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def publish(self, key: str, run_id: str) -> None:
        self.store.set(key, run_id)

    def receive(self, key: str) -> str | None:
        from datetime import timedelta

        try:
            self.store.wait([key], timedelta(seconds=JOIN_TIMEOUT_S))
        except RuntimeError:  # DistStoreError: rank 0 opened no run (autolog off there)
            return None
        return self.store.get(key).decode()


def _job_share() -> _DistributedStore | None:
    """One run per job: the initialised process group's store, when there are ranks."""
    dist = sys.modules.get("torch.distributed")
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    if dist.get_world_size() < 2:
        return None
    from torch.distributed.distributed_c10d import _get_default_store

    return _DistributedStore(_get_default_store())



# -- the gates: asked before a hook on hot paths; cheap, and never raise ----------------------


def _in_eval_pass(instance: Any) -> bool:
    return _tracker.current_pass is not None and not _tracker.is_grad_enabled()


def _new_candidate(module: Any) -> bool:
    try:
        return module not in _tracker.candidates
    except TypeError:
        return False


def _builtin_loss(cls: type) -> bool:
    return cls.__module__ == "torch.nn.modules.loss"


# -- the hooks ---------------------------------------------------------------------------------


def on_optimizer_step(optimizer: Any, args: Any, kwargs: Any) -> None:
    """Every optimizer's step, through torch's global post hook (framework_hook).

    Runs once per training step: the common case (the same optimizer as last time, no
    learning-rate change) is kept to attribute reads, without a weak-dict lookup.
    """
    tracker = _tracker
    if tracker.last_optimizer() is optimizer:
        state = tracker.last_state
    else:
        state = tracker.optimizers.get(optimizer)
        if state is None:
            if tracker.off:
                return
            state = tracker.first_step(optimizer)
            if state is None:
                return
        tracker.last_optimizer = weakref.ref(optimizer)
        tracker.last_state = state
    step = tracker.global_step
    tracker.global_step = step + 1
    state.steps += 1
    pending = tracker.pending
    series = tracker.series
    if pending:
        count = len(pending) + tracker.folded
        tracker.folded = 0
        if tracker.mode != STEPS:  # the epoch's mean
            losses = state.losses
            losses += pending
            state.loss_count += count
            if len(losses) >= COMPACT_EVERY:  # bounded memory, still no synchronisation
                state.losses = [_sum(losses)]
        if series is not None:
            series.add(step, pending, count)
        pending.clear()
    every = tracker.every
    if series is not None and series.window_count and (step + 1) % every == 0:
        tracker.close_window()
    lrs = state.lrs
    if tracker.mode != EPOCHS and lrs and state.steps % every:
        return  # outside epochs the lr is sampled once per window: an lr set by hand per step
    groups = optimizer.param_groups
    if len(lrs) != len(groups):
        tracker.log_lrs(optimizer, state)
        return
    for group, before in zip(groups, lrs):
        if _lr_changed(group.get("lr"), before):
            tracker.log_lrs(optimizer, state)
            return


def _lr_changed(now: Any, before: Any) -> bool:
    """Floats by value; anything else (a tensor lr) by identity: never a device sync."""
    if now is before:
        return False
    return type(now) is not float or type(before) is not float or now != before


def on_backward(result: Any, instance: Any, args: tuple, kwargs: dict) -> None:
    """``loss.backward()`` / ``torch.autograd.backward(loss)``: accumulate the loss.

    A return observer: it runs once per training step, after backward returned.
    """
    tracker = _tracker
    if tracker.off:
        return
    tensor = args[0] if args else kwargs.get("tensors")
    if isinstance(tensor, (list, tuple)):
        if len(tensor) != 1:
            return
        tensor = tensor[0]
    if tensor is tracker.scaled:
        tensor = tracker.unscaled
        tracker.scaled = tracker.unscaled = None
    numel = getattr(tensor, "numel", None)
    if numel is None or numel() != 1:
        return
    value = tensor.detach()
    if value.dim():
        value = value.reshape(())
    pending = tracker.pending
    pending.append(value)
    tracker.backward_calls += 1
    if len(pending) >= COMPACT_EVERY:  # backward after backward, no optimizer step: bounded
        tracker.folded += len(pending) - 1
        tracker.pending = [_sum(pending)]


def on_scale(result: Any, scaler: Any, args: tuple, kwargs: dict) -> None:
    """``GradScaler.scale(loss)``: remember the unscaled loss of the tensor returned."""
    outputs = args[0] if args else kwargs.get("outputs")
    if getattr(outputs, "numel", None) is not None:
        _tracker.scaled = result
        _tracker.unscaled = outputs


def on_loader_iter(call: Any) -> None:
    """``iter(loader)``: the passes that are over are logged, then a new one starts."""
    tracker = _tracker
    tracker.account_passes(tracker.session)  # before a persistent iterator is reset
    iterator = call.proceed()
    tracker.start_pass(iterator)


def log_finished_passes() -> None:
    """Log the passes that are over now, not at the next pass, and the closed windows of
    steps: `autolog.flush()` (and the reads that settle first) bring the run up to date.
    Only from the loop's own thread."""
    tracker = _tracker
    session = tracker.session
    if session is None or tracker.loop_thread != threading.get_ident():
        return
    if tracker.released or tracker.live_passes:
        with guard(f"{INTEGRATION}: passes over at flush"):
            tracker.account_passes(session)
    if tracker.series is not None and len(tracker.series):
        with guard(f"{INTEGRATION}: steps at flush"):
            tracker.flush_steps(session)


def on_loss(call: Any) -> None:
    """A loss function or loss module: with gradients off in a loader pass, a val loss."""
    result = call.proceed()
    current = _tracker.current_pass
    if current is None:
        return
    numel = getattr(result, "numel", None)
    if numel is None or numel() != 1:
        return
    value = result.detach()
    losses = current.val_losses
    losses.append(value.reshape(()) if value.dim() else value)
    current.val_count += 1
    if len(losses) >= COMPACT_EVERY:
        current.val_losses = [_sum(losses)]


def on_parameters(call: Any) -> None:
    """``module.parameters()``: the module is a candidate for the model an optimizer trains."""
    _tracker.candidates.add(call.instance)
    call.proceed()


def on_save(call: Any) -> None:
    """``torch.save(obj, path)`` during the run: log the file as a checkpoint."""
    call.proceed()
    session = _tracker.session
    if session is None or not getattr(session.config, "log_checkpoints", False):
        return
    target = call.argument("f")
    if not isinstance(target, (str, os.PathLike)):
        return
    path = os.fspath(target)
    if not os.path.isfile(path):
        return
    limit = float(getattr(session.config, "checkpoint_max_mb", 0) or 0) * 2**20
    if os.path.getsize(path) > limit:
        import logging

        logging.getLogger("autolog").info(
            "autolog: checkpoint %s not logged: larger than checkpoint_max_mb", path)
        return
    session.log_artifact(path, "checkpoints")


def on_summary_writer(call: Any) -> None:
    """SummaryWriter.add_scalar / add_scalars / add_hparams: forward to the run."""
    call.proceed()
    tracker = _tracker
    if tracker.off:
        return
    session = tracker.session
    if session is None or not session.alive:
        session = tracker.open_session()
    if session is None:
        return
    method = getattr(call.function, "__name__", "")
    if method == "add_scalar":
        step = call.argument("global_step")
        session.log_metric(_key(call.argument("tag")), _scalar(call.argument("scalar_value")),
                           step=int(step) if step is not None else None)
    elif method == "add_scalars":
        step = call.argument("global_step")
        main = call.argument("main_tag")
        values = call.argument("tag_scalar_dict") or {}
        session.log_metrics({_key(f"{main}/{k}"): _scalar(v) for k, v in values.items()},
                            step=int(step) if step is not None else None)
    elif method == "add_hparams":
        session.log_params(dict(call.argument("hparam_dict") or {}))
        metrics = call.argument("metric_dict") or {}
        session.log_metrics({_key(k): _scalar(v) for k, v in metrics.items()})


def _key(tag: Any) -> str:
    text = str(tag)
    return "".join(c if c.isalnum() or c in "_-./: " else "_" for c in text)


def _scalar(value: Any) -> float:
    if hasattr(value, "item"):
        return float(value.item())  # what SummaryWriter itself does with a tensor
    return float(value)


# -- the public face -------------------------------------------------------------------------------

autolog = integration_autolog(INTEGRATION)
context.register_pending_work(log_finished_passes)
