"""PyTorch autologging of hand-written loops: real torch on the CPU, sklearn's digits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import autolog  # noqa: E402
from autolog.core import reporting  # noqa: E402
from autolog.core.errors import AutologWarning  # noqa: E402
from autolog.testing import failing_store, inject_hook_faults, list_hooks  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def torch_autolog(tracking_uri):
    autolog.torch.autolog()
    yield
    while autolog.active_run() is not None:
        autolog.end_run()
    autolog.torch.autolog(disable=True)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32)
    y = torch.tensor(data.target)
    return x[:512], y[:512], x[512:640], y[512:640]


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def train(digits, epochs=2, seed=0, record=None, scheduler=False, save_to=None):
    """A plain loop: train loader, val loader under no_grad. Returns the model."""
    x_train, y_train, x_val, y_val = digits
    model = mlp(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.5) if scheduler else None
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True,
                              generator=generator)
    val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=32)
    for _epoch in range(epochs):
        model.train()
        losses = []
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        if sched is not None:
            sched.step()
        model.eval()
        val = []
        with torch.no_grad():
            for xb, yb in val_loader:
                val.append(loss_fn(model(xb), yb))
        if record is not None:
            record.append((torch.stack(losses).mean().item(), torch.stack(val).mean().item()))
        if save_to is not None:
            torch.save(model.state_dict(), save_to)
    return model


def finished_run():
    run = autolog.active_run()
    assert run is not None, "the loop opened no run"
    run_id = run.info.run_id
    autolog.end_run()
    return autolog.get_run(run_id)


def history(run, key):
    return [(m.step, m.value) for m in autolog.get_metric_history(run.info.run_id, key)]


def artifacts(run, path=""):
    return sorted(f.path for f in autolog.Client().list_artifacts(run.info.run_id, path))


# -- what a vanilla loop logs -----------------------------------------------------------------


def test_mlp_on_digits_epochs_losses_params_model(digits):
    record = []
    model = train(digits, epochs=3, record=record)
    run = finished_run()
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["optimizer_name"] == "SGD"
    assert params["lr"] == "0.1" and params["momentum"] == "0.9"
    assert params["model_num_params"] == str(64 * 32 + 32 + 32 * 10 + 10)
    train_hist = history(run, "train_loss")
    val_hist = history(run, "val_loss")
    assert [s for s, _ in train_hist] == [0, 1, 2]
    assert [s for s, _ in val_hist] == [0, 1, 2]
    for (_, got), (expected, _) in zip(train_hist, record):
        assert got == pytest.approx(expected, rel=1e-5)
    for (_, got), (_, expected) in zip(val_hist, record):
        assert got == pytest.approx(expected, rel=1e-5)
    assert history(run, "lr") == [(0, 0.1)]
    assert "model" in artifacts(run) and "model_summary.txt" in artifacts(run)
    state = autolog.torch.load_state_dict(f"runs:/{run.info.run_id}/model")
    for key, value in model.state_dict().items():
        assert torch.equal(state[key], value)
    loaded = autolog.torch.load_model(f"runs:/{run.info.run_id}/model")
    assert isinstance(loaded, nn.Sequential)
    # the state dict file alone loads with weights_only=True
    local = autolog.models.resolve_model_uri(f"runs:/{run.info.run_id}/model")
    torch.load(os.path.join(local, "data", "state_dict.pth"), weights_only=True)


def _step(model, optimizer, xb, yb):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.detach()


def test_pass_boundaries_break_held_iterator_and_persistent_workers(digits):
    """A pass is an epoch only when its loader yielded every batch: a ``break`` is not one;
    an iterator the user keeps (manual ``next``) or a loader with persistent workers (the
    same iterator object every epoch) ends its epoch before the next pass starts."""
    x_train, y_train, x_val, y_val = digits
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=128)
    val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=128, num_workers=1,
                            persistent_workers=True)
    partial = []
    for k, (xb, yb) in enumerate(train_loader):  # interrupted: not an epoch
        partial.append(_step(model, optimizer, xb, yb))
        if k == 2:
            break
    epoch_means, val_means = [], []
    for _epoch in range(2):
        iterator = iter(train_loader)  # held by the user after it is exhausted
        losses = list(partial)
        partial = []
        while True:
            try:
                xb, yb = next(iterator)
            except StopIteration:
                break
            losses.append(_step(model, optimizer, xb, yb))
        epoch_means.append(torch.stack(losses).mean().item())
        with torch.no_grad():
            val_means.append(torch.stack([nn.functional.cross_entropy(model(xb), yb)
                                          for xb, yb in val_loader]).mean().item())
    run = finished_run()
    assert history(run, "train_loss") == [(0, pytest.approx(epoch_means[0], rel=1e-5)),
                                          (1, pytest.approx(epoch_means[1], rel=1e-5))]
    assert history(run, "val_loss") == [(0, pytest.approx(val_means[0], rel=1e-5)),
                                        (1, pytest.approx(val_means[1], rel=1e-5))]


def test_flush_logs_the_passes_that_are_over(digits):
    """An epoch is held until the next pass starts; ``autolog.flush()`` (and reads) from
    the loop's thread log it at once; another thread's flush leaves the loop's state alone."""
    import threading

    from autolog.integrations.torch import _tracker

    record = []
    train(digits, epochs=2, record=record)
    run_id = autolog.active_run().info.run_id
    assert len(_tracker.released) == 1  # the last validation pass
    other = threading.Thread(target=autolog.flush)
    other.start()
    other.join()
    assert len(_tracker.released) == 1
    autolog.flush()
    assert not _tracker.released
    val = autolog.get_metric_history(run_id, "val_loss")
    assert [(m.step, m.value) for m in val] == [(0, pytest.approx(record[0][1], rel=1e-5)),
                                                (1, pytest.approx(record[1][1], rel=1e-5))]
    assert autolog.active_run().info.run_id == run_id  # still open
    assert len(history(finished_run(), "val_loss")) == 2  # not logged twice at the end


def test_no_host_device_sync_per_step(digits, monkeypatch):
    """autolog converts tensors to Python numbers once per epoch, never per step
    (counted against the same loop without autolog: Adam itself calls .item())."""
    counts = {"n": 0}
    for name in ("item", "tolist", "cpu", "__float__", "numpy"):
        original = getattr(torch.Tensor, name)

        def counting(self, *args, _original=original, **kwargs):
            counts["n"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counting)
    x_train, y_train, _x, _y = digits
    epochs = 3

    def loop():
        model = mlp()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32)  # 16 steps
        counts["n"] = 0
        for _ in range(epochs):
            for xb, yb in loader:
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(xb), yb).backward()
                optimizer.step()
        return counts["n"]

    autolog.torch.autolog(disable=True)
    bare = loop()
    autolog.torch.autolog()
    logged = loop()
    assert logged - bare <= epochs, (logged, bare)  # one stacked .tolist() per epoch
    monkeypatch.undo()
    run = finished_run()
    assert len(history(run, "train_loss")) == epochs


def window_means(losses, every):
    """(step, mean) per window of `every` steps, as autolog logs a loop of steps."""
    values = [float(t) for t in losses]
    return [(min(k + every, len(values)) - 1,
             pytest.approx(sum(values[k:k + every]) / len(values[k:k + every]), rel=1e-5))
            for k in range(0, len(values), every)]


def linear_steps(steps, record):
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        record.append(loss.detach().clone())


def test_loop_without_dataloader_logs_windows_of_steps():
    """No DataLoader: train_loss every 10 steps by default (the mean of those steps, at the
    window's last step; a last partial window too); ``log_every_n_steps=1``: every step."""
    from autolog.integrations.torch import DEFAULT_EVERY_N_STEPS

    assert DEFAULT_EVERY_N_STEPS == 10  # the README documents it
    losses = []
    linear_steps(35, losses)
    got = history(finished_run(), "train_loss")
    assert [s for s, _ in got] == [9, 19, 29, 34]
    assert got == window_means(losses, 10)

    autolog.torch.autolog(log_every_n_steps=1)
    losses = []
    linear_steps(30, losses)
    got = history(finished_run(), "train_loss")
    assert [s for s, _ in got] == list(range(30))
    assert [v for _, v in got] == pytest.approx([t.item() for t in losses], rel=1e-6)


def test_flush_logs_the_closed_windows_of_a_loop_of_steps():
    """Between the batched conversions, autolog.flush() brings the curve up to date."""
    losses = []
    linear_steps(25, losses)
    run_id = autolog.active_run().info.run_id
    autolog.flush()
    got = [(m.step, m.value) for m in autolog.get_metric_history(run_id, "train_loss")]
    assert got == window_means(losses, 10)[:2]  # the open window (steps 20-24) waits
    assert history(finished_run(), "train_loss") == window_means(losses, 10)

def test_char_lm_loop_of_steps_like_nanogpt():
    """nanoGPT's loop: hand-made batches, the loss computed in the model's forward with
    F.cross_entropy, an @torch.no_grad() estimate_loss() every N steps (loss functions
    called with gradients off, no DataLoader), clip_grad_norm_, the lr set by hand in
    param_group["lr"] every step. Every step's loss is in train_loss, the evaluations' are
    not; the lr is sampled once per window."""
    sys.path.insert(0, str(REPO / "examples"))
    try:
        import torch_char_lm
    finally:
        sys.path.remove(str(REPO / "examples"))

    autolog.torch.autolog(log_every_n_steps=1)
    losses = torch_char_lm.main(max_iters=60, eval_interval=20, eval_iters=3)
    run = finished_run()
    got = history(run, "train_loss")
    assert [s for s, _ in got] == list(range(60))
    assert [v for _, v in got] == pytest.approx([t.item() for t in losses], rel=1e-6)
    assert "val_loss" not in run.data.metrics
    assert run.data.params["optimizer_name"] == "AdamW"
    assert "model" in artifacts(run)

    autolog.torch.autolog()  # the default: windows of 10 steps
    losses = torch_char_lm.main(max_iters=95, eval_interval=20, eval_iters=3)
    run = finished_run()
    assert history(run, "train_loss") == window_means(losses, 10)
    lr_steps = [s for s, _ in history(run, "lr")]
    assert lr_steps == [0] + list(range(9, 95, 10))  # first step, then each window's end


def test_makemore_loop_infinite_loader_and_evaluation_loaders():
    """makemore's loop: an "infinite" DataLoader (RandomSampler with replacement and 1e10
    samples) read with next(), an evaluate() under torch.inference_mode() over DataLoaders,
    once with a break (max_batches: not an evaluation pass) and once to the end. train_loss
    per window of steps (not one point at run end); val_loss at the number of steps done."""
    from torch.utils.data import RandomSampler

    torch.manual_seed(0)
    x = torch.randn(400, 8)
    y = (x[:, 0] > 0).long()
    train_set, test_set = TensorDataset(x[:320], y[:320]), TensorDataset(x[320:], y[320:])
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sampler = RandomSampler(train_set, replacement=True, num_samples=int(1e10))
    batches = iter(DataLoader(train_set, sampler=sampler, batch_size=32))

    @torch.inference_mode()
    def evaluate(dataset, max_batches=None):
        model.eval()
        losses = []
        for i, (xb, yb) in enumerate(DataLoader(dataset, batch_size=20)):
            losses.append(nn.functional.cross_entropy(model(xb), yb))
            if max_batches is not None and i >= max_batches:
                break
        model.train()
        return torch.stack(losses).mean().item()

    losses, evaluations = [], []
    for step in range(45):
        xb, yb = next(batches)
        loss = nn.functional.cross_entropy(model(xb), yb)
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        if step % 20 == 0:
            evaluate(train_set, max_batches=2)
            evaluations.append((step + 1, pytest.approx(evaluate(test_set), rel=1e-5)))
    run = finished_run()
    assert history(run, "train_loss") == window_means(losses, 10)
    assert history(run, "val_loss") == evaluations
    assert "val2_loss" not in run.data.metrics


def test_a_loader_used_before_the_loop_and_an_evaluation_loader_between_steps(digits):
    """A DataLoader read to the end before training (statistics), another held exhausted
    by the user, evaluation DataLoader passes under no_grad every 10 steps, a GradScaler:
    none of them is taken for an epoch; train_loss per step, the unscaled loss."""
    x_train, y_train, x_val, y_val = digits
    stats_loader = DataLoader(TensorDataset(x_train), batch_size=128)
    mean = torch.stack([xb.mean(0) for (xb,) in stats_loader]).mean(0)
    held = iter(DataLoader(TensorDataset(x_val), batch_size=64))
    list(zip(range(10), held))  # yields both batches; the user keeps the iterator
    val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=64)
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    generator = torch.Generator().manual_seed(0)
    losses, evaluations = [], []
    for step in range(30):
        ix = torch.randint(len(x_train), (32,), generator=generator)
        loss = nn.functional.cross_entropy(model(x_train[ix] - mean), y_train[ix])
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.detach())
        if step % 10 == 9:
            with torch.no_grad():
                val = torch.stack([nn.functional.cross_entropy(model(xb - mean), yb)
                                   for xb, yb in val_loader]).mean().item()
            evaluations.append((step + 1, pytest.approx(val, rel=1e-5)))
    del held
    autolog.torch.autolog(log_every_n_steps=1)  # (read at the next run: this one keeps 10)
    run = finished_run()
    assert history(run, "train_loss") == window_means(losses, 10)
    assert history(run, "val_loss") == evaluations


def test_epochs_with_log_every_n_steps_add_train_loss_step(digits):
    """A DataLoader loop stays a loop of epochs; log_every_n_steps adds train_loss_step."""
    autolog.torch.autolog(log_every_n_steps=3)
    record = []
    train(digits, epochs=2, record=record)  # 8 steps per epoch
    run = finished_run()
    assert history(run, "train_loss") == [(0, pytest.approx(record[0][0], rel=1e-5)),
                                          (1, pytest.approx(record[1][0], rel=1e-5))]
    assert [s for s, _ in history(run, "train_loss_step")] == [2, 5, 8, 11, 14, 15]
    assert [s for s, _ in history(run, "val_loss")] == [0, 1]


def test_loop_of_steps_converts_losses_in_batches_not_per_step(monkeypatch):
    """A loop of steps: losses become numbers about every 100 steps (FLUSH_STEPS), one
    stacked transfer each, never per step."""
    from autolog.integrations.torch import FLUSH_STEPS

    counts = {"n": 0}
    for name in ("item", "tolist", "cpu", "__float__", "numpy"):
        original = getattr(torch.Tensor, name)

        def counting(self, *args, _original=original, **kwargs):
            counts["n"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counting)
    steps = 500
    counts["n"] = 0
    linear_steps(steps, [])
    during = counts["n"]
    monkeypatch.undo()
    assert during <= steps // FLUSH_STEPS, during
    assert len(history(finished_run(), "train_loss")) == steps // 10


def test_backward_without_optimizer_steps_holds_bounded_memory():
    """Gradient accumulation over many batches (or gradients for analysis) between steps:
    the held losses are folded, and the mean over all of them is still exact."""
    from autolog.integrations import torch as torch_integration

    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(8, 4)
    optimizer.step()  # opens the run
    losses = []
    for k in range(1000):
        loss = (model(x) * (1 + k / 1000)).pow(2).mean()
        loss.backward()
        losses.append(loss.item())
        assert len(torch_integration._tracker.pending) < torch_integration.COMPACT_EVERY
    optimizer.step()
    run = finished_run()
    ((step, value),) = [h for h in history(run, "train_loss") if h[0] == 1]
    assert value == pytest.approx(sum(losses) / len(losses), rel=1e-5)


def test_bfloat16_autocast_with_grad_scaler_logs_unscaled_loss(digits):
    x_train, y_train, _x, _y = digits
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    scaler = torch.amp.GradScaler("cpu")
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=128)
    losses = []
    for xb, yb in loader:
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = nn.functional.cross_entropy(model(xb), yb)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.detach().float())
    run = finished_run()
    ((step, value),) = history(run, "train_loss")
    assert step == 0
    assert value == pytest.approx(torch.stack(losses).mean().item(), rel=1e-3)
    assert value < 10  # not scaled by 65536


def test_lr_scheduler_changes_are_metrics(digits):
    train(digits, epochs=3, scheduler=True)
    run = finished_run()
    steps_per_epoch = 512 // 64
    assert history(run, "lr") == [(0, 0.1), (steps_per_epoch, 0.05),
                                  (2 * steps_per_epoch, 0.025)]


def test_two_optimizers_gan_like():
    torch.manual_seed(0)
    generator = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    discriminator = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.SGD(discriminator.parameters(), lr=0.01)
    real = torch.randn(256, 2) + 3
    loader = DataLoader(TensorDataset(real), batch_size=32)
    bce = nn.BCEWithLogitsLoss()
    for _epoch in range(2):
        for (batch,) in loader:
            fake = generator(torch.randn(len(batch), 2))
            opt_d.zero_grad()
            d_loss = bce(discriminator(batch), torch.ones(len(batch), 1)) + \
                bce(discriminator(fake.detach()), torch.zeros(len(batch), 1))
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            g_loss = bce(discriminator(fake), torch.ones(len(batch), 1))
            g_loss.backward()
            opt_g.step()
    run = finished_run()
    params = run.data.params
    assert params["optimizer_name"] == "SGD"
    assert params["optimizer1_optimizer_name"] == "Adam"
    assert params["optimizer1_betas"] == "(0.5, 0.999)"
    assert {"model_0", "model_1"} <= set(artifacts(run))
    assert [s for s, _ in history(run, "train_loss")] == [0, 1]
    assert len(history(run, "train_loss_optimizer0")) == 2
    assert len(history(run, "train_loss_optimizer1")) == 2
    assert history(run, "optimizer1_lr") == [(0, 2e-4)]


class ScaledSGD(torch.optim.Optimizer):
    """A user-defined optimizer."""

    def __init__(self, params, lr=0.1, scale=1.0):
        super().__init__(params, {"lr": lr, "scale": scale})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"] * group["scale"])


def test_user_defined_optimizer_subclass(digits):
    x_train, y_train, _x, _y = digits
    model = mlp()
    optimizer = ScaledSGD(model.parameters(), lr=0.05, scale=0.5)
    for xb, yb in DataLoader(TensorDataset(x_train, y_train), batch_size=128):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        optimizer.step()
    run = finished_run()
    assert run.data.params["optimizer_name"] == "ScaledSGD"
    assert run.data.params["scale"] == "0.5"
    assert len(history(run, "train_loss")) == 1


def test_logging_a_model_by_hand_during_the_run_is_no_checkpoint(digits):
    """The flavor's own torch.save calls are autolog's, not the user's: not observed."""
    model = train(digits, epochs=1)
    run_id = autolog.active_run().info.run_id
    autolog.pytorch.log_model(model, "by_hand")
    run = finished_run()
    assert run.info.run_id == run_id
    assert "by_hand" in artifacts(run)
    assert "checkpoints" not in artifacts(run)


def test_torch_save_checkpoints_and_size_cap(digits, tmp_path):
    train(digits, epochs=1, save_to=tmp_path / "ckpt.pt")
    run = finished_run()
    assert artifacts(run, "checkpoints") == ["checkpoints/ckpt.pt"]
    autolog.torch.autolog(checkpoint_max_mb=0.0001)
    train(digits, epochs=1, save_to=tmp_path / "big.pt")
    run = finished_run()
    assert "checkpoints" not in artifacts(run)


@pytest.mark.slow  # importing tensorboard imports tensorflow when it is installed
def test_summary_writer_is_forwarded(digits, tmp_path):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tmp_path / "tb"))
    train(digits, epochs=1)
    writer.add_scalar("acc/val", 0.75, global_step=3)
    writer.add_scalars("loss", {"a": 1.0, "b": torch.tensor(2.0)}, global_step=1)
    writer.add_hparams({"hidden": 32, "opt": "sgd"}, {"hparam/acc": 0.8})
    writer.close()
    run = finished_run()
    assert history(run, "acc/val") == [(3, 0.75)]
    assert history(run, "loss/b") == [(1, 2.0)]
    assert run.data.params["hidden"] == "32" and run.data.metrics["hparam/acc"] == 0.8


def test_logs_into_the_users_run_and_model_at_its_end(digits):
    with autolog.start_run() as run:
        train(digits, epochs=1)
        assert autolog.active_run().info.run_id == run.info.run_id
    stored = autolog.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert len(history(stored, "train_loss")) == 1
    assert "model" in artifacts(stored)


def test_inference_after_training_logs_nothing_and_start_run_nests(digits):
    model = train(digits, epochs=1)
    run = autolog.active_run()
    autolog.flush()
    before = autolog.get_run(run.info.run_id).data
    model.eval()
    with torch.no_grad():
        nn.functional.cross_entropy(model(digits[2]), digits[3])
        model(digits[0])
    autolog.flush()
    after = autolog.get_run(run.info.run_id).data
    assert after.metrics == before.metrics and after.params == before.params
    with autolog.start_run() as child:  # the script's own run: a child, no error
        autolog.log_metric("test_acc", 0.9)
    assert autolog.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == \
        run.info.run_id
    assert finished_run().info.run_id == run.info.run_id


def test_a_new_run_after_end_run(digits):
    train(digits, epochs=1)
    first = finished_run()
    train(digits, epochs=1)
    second = finished_run()
    assert first.info.run_id != second.info.run_id
    assert len(history(second, "train_loss")) == 1 and "model" in artifacts(second)


def test_disable_removes_every_hook():
    import torch.optim.optimizer as optim_module

    integration = autolog.core.patching.registry.get_integration("torch")
    assert integration.applied_patches
    assert len(optim_module._global_optimizer_post_hooks) >= 1
    autolog.torch.autolog(disable=True)
    assert not integration.applied_patches
    assert not type(torch.autograd.backward).__name__.endswith("Wrapper")
    assert not optim_module._global_optimizer_post_hooks
    autolog.torch.autolog()


def test_other_ranks_are_not_patched(monkeypatch):
    from autolog.integrations.torch import TorchIntegration

    monkeypatch.setenv("RANK", "1")
    assert TorchIntegration().patches() == []
    monkeypatch.setenv("RANK", "0")
    assert TorchIntegration().patches()


# -- safety ----------------------------------------------------------------------------------


def trained_weights(digits, seed=0):
    """One epoch, with a torch.save checkpoint (so that every hook is exercised)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        model = train(digits, epochs=1, seed=seed, save_to=os.path.join(tmp, "ckpt.pt"))
        while autolog.active_run() is not None:
            autolog.end_run()
    return model.state_dict()


def assert_same(weights, baseline):
    assert weights.keys() == baseline.keys()
    for key in baseline:
        assert torch.equal(weights[key], baseline[key]), key


@pytest.mark.usefixtures("lenient")
def test_each_hook_failing_leaves_training_identical(digits):
    hooks = list_hooks("torch")
    assert any(h.endswith("on_optimizer_step") for h in hooks)
    autolog.torch.autolog(disable=True)
    baseline = trained_weights(digits)
    autolog.torch.autolog()
    for hook in hooks:
        reporting._warned_causes.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with inject_hook_faults(hook) as fired:
                weights = trained_weights(digits)
        assert_same(weights, baseline)
        ours = [w for w in caught if issubclass(w.category, AutologWarning)]
        if hook.endswith(("on_summary_writer", "on_scale")):
            assert not fired  # not called by this loop
            continue
        assert fired, hook
        assert len(ours) == 1, (hook, [str(w.message) for w in ours])


@pytest.mark.usefixtures("lenient")
def test_failing_backend_leaves_training_identical(digits):
    autolog.torch.autolog(disable=True)
    baseline = trained_weights(digits)
    autolog.torch.autolog()
    with failing_store(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            assert_same(trained_weights(digits), baseline)
    ours = [w for w in caught if issubclass(w.category, AutologWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]


# -- processes: import cost, run status at exit ----------------------------------------------------


def run_script(code, tmp_path, **kwargs):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    env = dict(os.environ, PYTHONPATH=str(REPO), AUTOLOG_TRACKING_URI=str(tmp_path / "runs"))
    env.pop("AUTOLOG_STRICT", None)
    return subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_integration_module_imports_no_framework():
    code = """
import sys, autolog
autolog.autolog()
import autolog.integrations.torch, autolog.integrations.lightning, autolog.models.flavors.torch
assert "torch" not in sys.modules and "numpy" not in sys.modules, "imported a framework"
assert "lightning" not in sys.modules
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert out.returncode == 0, out.stderr


LOOP = """
import autolog, torch
autolog.autolog()
model = torch.nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(8, 3)
for step in range(5):
    opt.zero_grad(); model(x).pow(2).mean().backward(); opt.step()
print(autolog.active_run().info.run_id, flush=True)
"""


@pytest.mark.slow
def test_managed_run_failed_on_exception_killed_on_sigterm(tmp_path):
    failing = run_script(LOOP + "raise ValueError('boom at epoch 1')\n", tmp_path)
    out, err = failing.communicate(timeout=120)
    assert failing.returncode == 1
    assert "ValueError: boom at epoch 1" in err and "autolog" not in err.split("Traceback")[-1]
    run_id = out.split()[0]
    autolog.set_tracking_uri(tmp_path / "runs")
    run = autolog.get_run(run_id)
    assert run.info.status == "FAILED"
    assert "model" in artifacts(run)

    waiting = run_script(LOOP + "import time\ntime.sleep(60)\n", tmp_path)
    run_id = waiting.stdout.readline().split()[0]
    time.sleep(0.2)
    waiting.send_signal(signal.SIGTERM)
    waiting.communicate(timeout=60)
    assert waiting.returncode == -signal.SIGTERM
    assert autolog.get_run(run_id).info.status == "KILLED"

    finishing = run_script(LOOP, tmp_path)
    out, _err = finishing.communicate(timeout=120)
    assert finishing.returncode == 0
    assert autolog.get_run(out.split()[0]).info.status == "FINISHED"


@pytest.mark.slow
def test_char_lm_example_under_autolog_run(tmp_path):
    """The nanoGPT-style example unchanged, under `autolog run`: 120 steps -> 12 points."""
    env = dict(os.environ, PYTHONPATH=str(REPO), AUTOLOG_TRACKING_URI=str(tmp_path / "runs"))
    env.pop("AUTOLOG_STRICT", None)
    done = subprocess.run([sys.executable, "-m", "autolog", "run",
                           str(REPO / "examples" / "torch_char_lm.py"), "120"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    autolog.set_tracking_uri(tmp_path / "runs")
    (run,) = autolog.search_runs()
    assert [s for s, _ in history(run, "train_loss")] == list(range(9, 120, 10))
    assert run.data.params["optimizer_name"] == "AdamW"


def test_stream_of_unknown_length_left_at_max_steps_is_a_loop_of_steps():
    """An IterableDataset stream read until max_steps (then `break`): a loop of steps once
    it ran past HOLD_UNKNOWN_PASS_STEPS steps, not one epoch at run end."""
    from torch.utils.data import IterableDataset

    from autolog.integrations.torch import HOLD_UNKNOWN_PASS_STEPS

    class Stream(IterableDataset):
        def __iter__(self):
            generator = torch.Generator().manual_seed(0)
            while True:
                yield torch.randn(4, generator=generator)

    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    steps = HOLD_UNKNOWN_PASS_STEPS + 200
    losses = []
    for step, xb in enumerate(DataLoader(Stream(), batch_size=8)):
        loss = model(xb).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        if step + 1 == steps:
            break
    assert history(finished_run(), "train_loss") == window_means(losses, 10)
