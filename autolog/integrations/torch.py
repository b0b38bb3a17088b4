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
* Run lifetime: the user's active run when there is one; else a managed run opened at the
  first optimizer step, ended by ``autolog.end_run()``, at exit (FINISHED, or FAILED after
  an uncaught exception) or on SIGTERM (KILLED). A ``start_run()`` of the user's while it
  is open starts a child run of it.
* Distributed: only rank 0 logs (``RANK`` / ``torch.distributed``); the other ranks get
  no patches at all. ``log_all_ranks=True`` gives each rank its own run tagged
  ``autolog.rank``. ``TORCHELASTIC_RUN_ID``, ``SLURM_JOB_ID``, ... become tag
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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autolog.core.config import AutologConfig
from autolog.core.patching import Patch, SubclassPatch, framework_hook, guard
from autolog.core.patching.integration import Integration
from autolog.core.patching.registry import integration_autolog
from autolog.core.tracking import context
from autolog.integrations import _models
from autolog.integrations._torch_steps import COMPACT_EVERY, StepLosses, device_sum, to_floats

__all__ = ["TorchConfig", "TorchIntegration", "autolog"]

INTEGRATION = "torch"
FLAVOR = "pytorch"
#: ``log_every_n_steps=None`` in a loop of steps (no DataLoader epochs): one ``train_loss``
#: point per 10 steps (the mean of those steps' losses): 500 points for 5,000 steps.
DEFAULT_EVERY_N_STEPS = 10
#: Per-step losses are turned into numbers about every this many steps (one sync each).
FLUSH_STEPS = 100
#: A DataLoader pass this long never ends as an epoch (``RandomSampler(num_samples=1e10)``,
#: the "infinite loader" of makemore-style loops): its steps are a loop of steps.
LONG_PASS_BATCHES = 1_000_000
#: Steps held undecided in a pass of unknown length before they count as a loop of steps.
HOLD_UNKNOWN_PASS_STEPS = 1_000
STEPS, EPOCHS = "steps", "epochs"  # what a run's training loop turned out to be
LOSS_FUNCTIONS = (
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
    "cross_entropy", "ctc_loss", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss",
    "kl_div", "l1_loss", "margin_ranking_loss", "mse_loss", "multi_margin_loss",
    "multilabel_margin_loss", "multilabel_soft_margin_loss", "nll_loss", "poisson_nll_loss",
    "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
)
JOB_ID_VARIABLES = ("TORCHELASTIC_RUN_ID", "SLURM_JOB_ID", "LSB_JOBID", "PBS_JOBID",
                    "JOB_ID", "FLUX_JOB_ID")
_WRAPPER_CLASSES = ("DistributedDataParallel", "DataParallel", "OptimizedModule",
                    "FullyShardedDataParallel")


@dataclass
class TorchConfig(AutologConfig):
    """The common options plus: ``log_checkpoints`` (files written with ``torch.save``
    during the run become artifacts), ``checkpoint_max_mb`` (larger ones are skipped),
    ``log_all_ranks`` (every distributed rank logs into a run of its own)."""

    log_checkpoints: bool = True
    checkpoint_max_mb: float = 512.0
    log_all_ranks: bool = False


def _env_rank() -> int | None:
    for name in ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK"):
        value = os.environ.get(name)
        if value:
            try:
                return int(value)
            except ValueError:
                continue
    return None


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
        rank = _env_rank()
        return rank not in (None, 0) and not getattr(self.config, "log_all_ranks", False)

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


# -- what one training loop accumulates ------------------------------------------------------


class _OptimizerState:
    __slots__ = ("index", "prefix", "steps", "losses", "loss_count", "lrs", "optimizer_ref")

    def __init__(self, index: int, optimizer: Any) -> None:
        self.optimizer_ref = weakref.ref(optimizer)
        self.index = index
        self.prefix = "" if index == 0 else f"optimizer{index}_"
        self.steps = 0
        self.losses: list[Any] = []  # detached 0-d tensors on their devices, summed lazily
        self.loss_count = 0
        self.lrs: list[Any] = []


class _Pass:
    """One iteration over a DataLoader: from ``iter(loader)`` until its iterator is released
    (the ``for`` loop ended) or, for an iterator still held, until it has yielded all."""

    __slots__ = ("order", "backward_at_start", "steps_at_start", "backward_at_end",
                 "steps_at_end", "seen_exhausted", "dataset_key", "length", "val_losses",
                 "val_count", "attributes", "yielded", "over", "iterator_ref")

    def __init__(self, order: int, backward_at_start: int, steps_at_start: int,
                 dataset_key: int, length: int | None, attributes: dict | None) -> None:
        self.order = order
        self.backward_at_start = backward_at_start
        self.steps_at_start = steps_at_start
        # Counters when the pass ended (its iterator released, or found exhausted): what
        # the loop does after a pass, before it is accounted for, is not part of it.
        self.backward_at_end: int | None = None
        self.steps_at_end: int | None = None
        self.seen_exhausted = False  # found exhausted, still live, at a window's close
        self.dataset_key = dataset_key
        self.length = length  # batches, when the loader knows
        self.val_losses: list[Any] = []
        self.val_count = 0
        self.attributes = attributes  # the iterator's __dict__, while it lives
        self.yielded: int | None = None  # batches yielded, read when the iterator died
        self.over = False
        self.iterator_ref: Any = None  # its weakref (with the callback), while it matters

    def end(self, backward_calls: int, global_step: int) -> None:
        if self.backward_at_end is None:
            self.backward_at_end = backward_calls
            self.steps_at_end = global_step

    def trained(self) -> bool:
        """Whether ``backward`` was called while the pass lasted."""
        return (self.backward_at_end or 0) > self.backward_at_start

    def stepped_past_its_end(self, optimizers: int) -> bool:
        """More optimizer steps while it lasted than it had batches (each optimizer once per
        batch): an exhausted iterator the user kept while training went on without it."""
        if self.length is None or self.steps_at_end is None:
            return False
        return self.steps_at_end - self.steps_at_start > self.length * max(1, optimizers)

    def batches_yielded(self) -> int | None:
        if self.attributes is not None:
            return self.attributes.get("_num_yielded")
        return self.yielded

    def exhausted(self) -> bool:
        """Yielded all its batches; a loader of unknown length counts as exhausted."""
        if self.length is None:
            return True
        yielded = self.batches_yielded()
        return yielded is not None and yielded >= self.length


def _true() -> bool:
    return True


def _nothing() -> None:
    return None


class _Tracker:
    """The state of the hand-written loop being recorded (one per process)."""

    def __init__(self) -> None:
        self.integration: TorchIntegration | None = None
        self.torch: Any = None
        self.session: Any = None
        self.off = False  # a distributed rank that does not log
        self.candidates: weakref.WeakSet = weakref.WeakSet()
        self.passes_started = 0
        self.loop_thread: int | None = None  # the thread that last started a pass
        self.live_passes: list[_Pass] = []  # started, iterator not yet released
        self.released: list[_Pass] = []  # iterator released, not yet accounted for
        self.current_pass: _Pass | None = None  # the last started of the live passes
        self.scaled: Any = None
        self.unscaled: Any = None
        self.pending: list[Any] = []  # detached losses since the last optimizer step
        self.folded = 0  # losses summed into one entry of `pending` beyond the first
        self.backward_calls = 0
        self.is_grad_enabled: Any = _true
        self.explicit_every: int | None = None  # log_every_n_steps, read once per run
        self.every = DEFAULT_EVERY_N_STEPS  # steps per window: explicit, else the default
        self._reset_run()

    def bind(self, integration: TorchIntegration, torch: Any) -> None:
        self.integration = integration
        self.torch = torch
        self.is_grad_enabled = torch.is_grad_enabled

    def _reset_run(self) -> None:
        self.optimizers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        # Strong, so that losses outlive an optimizer that dies before its epoch is logged.
        self.states: list[_OptimizerState] = []
        self.last_optimizer: Callable[[], Any] = _nothing  # a weak ref to the last stepped
        self.last_state: _OptimizerState | None = None
        self.models: list[Any] = []
        self.epochs = 0
        self.global_step = 0
        # None until the loop shows what it is: EPOCHS (a DataLoader pass with backward
        # calls ended: train_loss per epoch) or STEPS (train_loss per window of steps).
        self.mode: str | None = None
        self.series: StepLosses | None = None  # per-window losses; None when not wanted
        self.eval_names: dict[int, str] = {}

    # -- the run ---------------------------------------------------------------------------
    def open_session(self) -> Any:
        from autolog.core.tracking import runs
        from autolog.core.tracking.sessions import TrainingSession

        integration = self.integration
        if integration is None:
            return None
        config = integration.config
        rank = self._rank()
        if rank not in (None, 0) and not getattr(config, "log_all_ranks", False):
            self.off = True
            return None
        run_name = None
        if rank not in (None, 0):
            run_name = f"{os.environ.get('AUTOLOG_RUN_NAME') or 'torch'}-rank{rank}"
        session = TrainingSession.open(INTEGRATION, config, integration.framework_version,
                                       run_name=run_name)
        self.session = session
        self._reset_run()
        self.explicit_every = config.log_every_n_steps  # read once per run: hooks are hot
        self.every = max(1, int(self.explicit_every or DEFAULT_EVERY_N_STEPS))
        self.series = StepLosses(self.torch, self.every, FLUSH_STEPS)
        self.loop_thread = threading.get_ident()  # the first optimizer step's thread
        runs.on_run_end(session.run_id, lambda status, s=session: self.end_run(s, status))
        if session.owns_run:
            # A start_run() of the user's while this long-lived run is open becomes its
            # child instead of failing, as inside the `autolog run` launcher's run.
            session.run.ambient = True
            runs.install_signal_handlers()
        tags = {"autolog.torch.loop": "vanilla"}
        for variable in JOB_ID_VARIABLES:
            if os.environ.get(variable):
                tags["autolog.job_id"] = os.environ[variable]
                break
        if rank is not None:
            tags["autolog.rank"] = str(rank)
            world = os.environ.get("WORLD_SIZE")
            if world:
                tags["autolog.world_size"] = world
        session.set_tags(tags)
        return session

    def _rank(self) -> int | None:
        dist = sys.modules.get("torch.distributed")
        try:
            if dist is not None and dist.is_available() and dist.is_initialized():
                return int(dist.get_rank())
        except Exception:  # noqa: BLE001 - not initialised in this process after all
            pass
        return _env_rank()

    def end_run(self, session: Any, status: str) -> None:
        """The run ends (end_run, exit, SIGTERM): log what is still held, then forget it."""
        if self.session is not session:
            return
        self.session = None  # ended: nothing below is logged into it twice
        try:
            self.account_passes(session, run_end=True)
            self._flush_open_epoch(session)
            self._log_models(session)
            session.record_resources()
        finally:
            self._reset_run()
            self.pending = []
            self.folded = 0
            for current in self.live_passes:
                current.over = True
                current.iterator_ref = None
            self.live_passes, self.released = [], []
            self.current_pass = None

    # -- optimizer steps -------------------------------------------------------------------
    def first_step(self, optimizer: Any) -> _OptimizerState | None:
        if self.off:
            return None
        session = self.session
        if session is None:
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

    # -- per-step losses -------------------------------------------------------------------
    def close_window(self) -> None:
        """Every ``every`` steps: the window's losses become one point, logged in batches."""
        series = self.series
        series.close()
        if self.mode is None:
            self._decide_from_steps()
        if self.mode is not None and len(series) >= series.flush_windows:
            self.flush_steps(self.session)

    def _decide_from_steps(self) -> None:
        """Steps that no DataLoader pass can end as an epoch make the loop one of steps:
        none is live (hand-made batches), the live one never ends (an "infinite" sampler,
        an unknown length held too long) or it yielded all its batches and is still held."""
        current = self.current_pass
        if current is None:
            self.decide(STEPS)
        elif current.length is None:
            if self.global_step - current.steps_at_start > HOLD_UNKNOWN_PASS_STEPS:
                self.decide(STEPS)
        elif current.length >= LONG_PASS_BATCHES:
            self.decide(STEPS)
        elif current.exhausted():
            if current.seen_exhausted:  # at the previous window's close too: a stale pass
                self.decide(STEPS)
            current.seen_exhausted = True

    def decide(self, mode: str) -> None:
        """What the loop is, once for the run: the epoch means or the windows are dropped."""
        self.mode = mode
        if mode == STEPS:
            for state in self.states:
                state.losses, state.loss_count = [], 0
        elif not self.explicit_every:
            self.series = None  # epochs only; the windows held so far are in the epoch

    def flush_steps(self, session: Any, *, close: bool = False) -> None:
        """Log the closed windows (``close``: the open one too), converted together (one
        synchronisation): ``train_loss`` in a loop of steps, ``train_loss_step`` beside
        epochs. Undecided, they are held."""
        series = self.series
        if series is None:
            return
        if close:
            series.close()
        if self.mode is None or not len(series) or session is None:
            return
        key = "train_loss" if self.mode == STEPS else "train_loss_step"
        for step, value in series.take():
            session.log_metric(key, value, step=step)

    # -- epochs ----------------------------------------------------------------------------
    def start_pass(self, iterator: Any) -> None:
        """``iter(loader)`` returned ``iterator``: a pass begins (the batches come later)."""
        try:
            length: int | None = len(iterator)
        except Exception:  # noqa: BLE001 - an IterableDataset without a length
            length = None
        attributes = getattr(iterator, "__dict__", None)
        self.passes_started += 1
        current = _Pass(self.passes_started, self.backward_calls, self.global_step,
                        id(getattr(iterator, "_dataset", iterator)), length,
                        attributes if isinstance(attributes, dict) else None)
        try:
            current.iterator_ref = weakref.ref(iterator, _released_callback(current))
        except TypeError:  # not weakly referenceable: over once it yielded all its batches
            pass
        self.live_passes.append(current)
        self.current_pass = current
        self.loop_thread = threading.get_ident()

    def release(self, current: _Pass) -> None:
        """The iterator of ``current`` was released (any thread, from a weakref callback):
        only bookkeeping here; `account_passes` logs, from a hook, later."""
        attributes = current.attributes
        current.yielded = attributes.get("_num_yielded") if attributes is not None else None
        current.attributes = None  # hold none of the dead iterator's state
        current.iterator_ref = None
        if current.over:
            return
        current.end(self.backward_calls, self.global_step)
        live = self.live_passes
        try:
            live.remove(current)
        except ValueError:  # already taken off by `account_passes`
            pass
        self.current_pass = live[-1] if live else None
        self.released.append(current)

    def account_passes(self, session: Any, *, run_end: bool = False) -> None:
        """Log the passes that are over: released iterators, and live ones that yielded
        all their batches (an iterator the user still holds, persistent workers); at
        ``run_end`` also the live ones of unknown length."""
        over, self.released = self.released, []
        keep = []
        for current in self.live_passes:
            if run_end if current.length is None else current.exhausted():
                over.append(current)
            else:
                keep.append(current)
        self.live_passes = keep
        self.current_pass = keep[-1] if keep else None
        over.sort(key=lambda current: current.order)
        # A pass can be in both lists when its iterator is released meanwhile: `over` marks
        # the first visit.
        for current in over:
            if not current.over:
                current.over = True
                current.iterator_ref = None  # no callback once accounted for
                current.end(self.backward_calls, self.global_step)  # if still live
                if current.exhausted():
                    self._end_pass(current, session)

    def _end_pass(self, current: _Pass, session: Any) -> None:
        if session is None:
            return
        if current.trained():
            if current.stepped_past_its_end(len(self.states)):
                if self.mode is None:
                    self.decide(STEPS)
                return
            if self.mode is None:
                self.decide(EPOCHS)
                self.flush_steps(session)  # the windows held so far: train_loss_step
            if self.mode == EPOCHS:
                self._end_epoch(session)
            # (in a loop of steps, a pass with backward calls is no epoch: steps go on)
        elif current.val_count:
            name = self.eval_names.get(current.dataset_key)
            if name is None:
                number = len(self.eval_names) + 1
                name = "val_loss" if number == 1 else f"val{number}_loss"
                self.eval_names[current.dataset_key] = name
            (total,) = _to_floats([_sum(current.val_losses)])
            step = max(self.epochs - 1, 0) if self.mode == EPOCHS else current.steps_at_end
            session.log_metric(name, total / current.val_count, step=step)

    def _end_epoch(self, session: Any) -> None:
        self.flush_steps(session)
        states = [s for s in self.states if s.loss_count]
        tensors = [_sum(s.losses) for s in states]
        counts = [s.loss_count for s in states]
        if self.pending:  # backward calls after the last step
            tensors.append(_sum(self.pending))
            counts.append(len(self.pending) + self.folded)
            self.pending = []
            self.folded = 0
        for state in states:
            state.losses, state.loss_count = [], 0
        self.states = [s for s in self.states if s.optimizer_ref() is not None]
        epoch = self.epochs
        self.epochs += 1
        if not tensors:
            return
        values = _to_floats(tensors)
        metrics = {"train_loss": sum(values) / sum(counts)}
        if len(states) > 1:
            for state, value, count in zip(states, values, counts):
                metrics[f"train_loss_optimizer{state.index}"] = value / count
        session.log_metrics(metrics, step=epoch)

    def _flush_open_epoch(self, session: Any) -> None:
        """At run end: the windows not logged yet (a loop that never ended an epoch is a loop
        of steps), and an epoch that did not reach its end."""
        if self.mode is None:
            self.decide(STEPS)
        self.flush_steps(session, close=True)
        if self.mode == EPOCHS and any(s.loss_count for s in self.states):
            self._end_epoch(session)

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
    """The float32 sum of detached 0-d tensors, on their device (no synchronisation)."""
    return device_sum(_tracker.torch, losses)


def _to_floats(tensors: list[Any]) -> list[float]:
    """Python floats of 0-d tensors: one stacked transfer when they share a device."""
    return to_floats(_tracker.torch, tensors)


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


def _released_callback(current: _Pass) -> Callable[[Any], None]:
    def released(_ref: Any) -> None:
        _tracker.release(current)

    return released


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
    session = tracker.session or tracker.open_session()
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
