"""What a hand-written torch loop is, and its losses: passes over DataLoaders, epochs or
windows of optimizer steps, evaluation passes (the torch integration's bookkeeping).

`Loop` holds the state the integration's hooks update (losses ``backward`` saw, optimizer
steps, DataLoader passes) and turns it into metrics: ``train_loss`` per epoch once a pass
with backward calls ends, or per window of steps when no pass can end as an epoch;
``val_loss`` per evaluation pass. The integration (`autolog.integrations.torch`) says what
to capture and owns the run; this module decides what the loop is. Nothing here imports
torch: the integration binds the module.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from autolog.integrations._torch_steps import StepLosses, device_sum, to_floats

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


class Loop:
    """The state of the hand-written loop being recorded and what it makes of it."""

    def __init__(self) -> None:
        self.torch: Any = None
        self.session: Any = None
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

    def begin_run(self, session: Any, every: int | None) -> None:
        """A new run: nothing of an earlier one is held; ``every`` is the config's
        ``log_every_n_steps`` (read once per run: the hooks are hot)."""
        self.session = session
        self._reset_run()
        self.explicit_every = every
        self.every = max(1, int(every or DEFAULT_EVERY_N_STEPS))
        self.series = StepLosses(self.torch, self.every, FLUSH_STEPS)
        self.loop_thread = threading.get_ident()  # the first optimizer step's thread

    def end_run(self, session: Any) -> None:
        """What is still held at the run's end: the passes over, the open epoch or window."""
        self.account_passes(session, run_end=True)
        self._flush_open_epoch(session)

    def forget_run(self) -> None:
        """After the run's last records: nothing held is logged into a later run."""
        self._reset_run()
        self.pending = []
        self.folded = 0
        for current in self.live_passes:
            current.over = True
            current.iterator_ref = None
        self.live_passes, self.released = [], []
        self.current_pass = None

    def sum(self, losses: list[Any]) -> Any:
        """The float32 sum of detached 0-d tensors, on their device (no synchronisation)."""
        return device_sum(self.torch, losses)

    def to_floats(self, tensors: list[Any]) -> list[float]:
        """Python floats of 0-d tensors: one stacked transfer when they share a device."""
        return to_floats(self.torch, tensors)

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
            current.iterator_ref = weakref.ref(iterator, self._released_callback(current))
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
            (total,) = self.to_floats([self.sum(current.val_losses)])
            step = max(self.epochs - 1, 0) if self.mode == EPOCHS else current.steps_at_end
            session.log_metric(name, total / current.val_count, step=step)

    def _end_epoch(self, session: Any) -> None:
        self.flush_steps(session)
        states = [s for s in self.states if s.loss_count]
        tensors = [self.sum(s.losses) for s in states]
        counts = [s.loss_count for s in states]
        if self.pending:  # backward calls after the last step
            tensors.append(self.sum(self.pending))
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
        values = self.to_floats(tensors)
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

    def _released_callback(self, current: _Pass) -> Callable[[Any], None]:
        def released(_ref: Any) -> None:
            self.release(current)

        return released
