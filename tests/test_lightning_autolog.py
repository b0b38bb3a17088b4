"""Lightning autologging: real Lightning on the CPU (skipped when it is not installed)."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")
L = pytest.importorskip("lightning")
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import autolog  # noqa: E402


@pytest.fixture(autouse=True)
def lightning_autolog(tracking_uri):
    autolog.autolog()
    yield
    while autolog.active_run() is not None:
        autolog.end_run()
    autolog.autolog(disable=True)


class Classifier(L.LightningModule):
    def __init__(self, lr=0.05, hidden=16):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    def training_step(self, batch, _index):
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, _index):
        x, y = batch
        self.log("val_loss", nn.functional.cross_entropy(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loaders():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data[:384] / 16.0, dtype=torch.float32)
    y = torch.tensor(data.target[:384])
    return (DataLoader(TensorDataset(x[:256], y[:256]), batch_size=64),
            DataLoader(TensorDataset(x[256:], y[256:]), batch_size=64))


def trainer(tmp_path, callbacks=(), epochs=2):
    return L.Trainer(max_epochs=epochs, logger=False, enable_progress_bar=False,
                     enable_model_summary=False, default_root_dir=str(tmp_path),
                     callbacks=list(callbacks))


def fit(tmp_path, callbacks=(), epochs=2):
    torch.manual_seed(0)
    model = Classifier()
    train, val = loaders()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="lightning")
        trainer(tmp_path, callbacks, epochs).fit(model, train, val)
    return model


def test_fit_logs_one_run(tmp_path):
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    fit(tmp_path, [EarlyStopping("val_loss", patience=3), ModelCheckpoint(monitor="val_loss")])
    assert autolog.active_run() is None  # managed, ended with fit; no torch loop run
    run = autolog.last_active_run()
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["lr"] == "0.05" and params["hidden"] == "16"
    assert params["optimizer_name"] == "SGD" and params["max_epochs"] == "2"
    assert params["early_stopping_monitor"] == "val_loss"
    history = autolog.get_metric_history(run.info.run_id, "val_loss")
    assert [m.step for m in history] == [0, 1]
    assert [m.step for m in autolog.get_metric_history(run.info.run_id, "train_loss")] == [0, 1]
    assert "best_model_score" in run.data.metrics
    paths = {f.path for f in autolog.Client().list_artifacts(run.info.run_id)}
    assert {"model", "model_summary.txt", "checkpoints"} <= paths


def test_explicit_callback_without_patching(tmp_path):
    autolog.autolog(disable=True)
    fit(tmp_path, [autolog.lightning.AutologCallback()], epochs=1)
    run = autolog.last_active_run()
    assert run.info.status == "FINISHED"
    assert run.data.params["optimizer_name"] == "SGD"
    assert "val_loss" in run.data.metrics


def test_explicit_callback_while_autologging_is_one_run(tmp_path):
    """Your own AutologCallback while the patch is on: it logs into the fit's run."""
    fit(tmp_path, [autolog.lightning.AutologCallback()], epochs=1)
    runs = autolog.search_runs()
    assert len(runs) == 1, [r.data.tags.get("mlflow.parentRunId") for r in runs]
    (run,) = runs
    assert run.info.status == "FINISHED"
    assert run.data.params["optimizer_name"] == "SGD" and "val_loss" in run.data.metrics


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.slow
def test_each_hook_failing_and_a_failing_store_leave_training_identical(tmp_path, monkeypatch):
    from autolog.backends.base import TrackingBackend  # noqa: F401 - the interface it fails
    from autolog.core import reporting
    from autolog.testing import failing_store, inject_hook_faults, list_hooks

    monkeypatch.delenv("AUTOLOG_STRICT", raising=False)
    autolog.autolog(disable=True)
    baseline = _weights(fit(tmp_path / "bare"))
    autolog.autolog()
    hooks = list_hooks("lightning")
    assert hooks
    for index, hook in enumerate(hooks):
        reporting._warned_causes.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with inject_hook_faults(hook) as fired:
                weights = _weights(fit(tmp_path / f"hook{index}"))
        assert all(torch.equal(a, b) for a, b in zip(weights, baseline)), hook
        ours = [w for w in caught if issubclass(w.category, autolog.AutologWarning)]
        if fired:
            assert len(ours) == 1, (hook, [str(w.message) for w in ours])
    with failing_store(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weights = _weights(fit(tmp_path / "failing"))
    assert all(torch.equal(a, b) for a, b in zip(weights, baseline))
