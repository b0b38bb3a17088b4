"""Hugging Face Trainer autologging: real transformers on the CPU, a tiny BERT built from a
config (no weights or tokenizer downloaded), 32 synthetic samples, 2 epochs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

import autolog  # noqa: E402

FAKE_HUB_TOKEN = "hf_" + "Ab1" * 12
STEPS = 8  # 32 samples / batch 8 * 2 epochs


@pytest.fixture(autouse=True)
def transformers_autolog(tracking_uri):
    transformers.logging.set_verbosity_error()
    autolog.autolog()
    yield
    while autolog.active_run() is not None:
        autolog.end_run()
    autolog.autolog(disable=True)


class Tokens(torch.utils.data.Dataset):
    def __init__(self, n=32, seed=0):
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 100, (n, 8), generator=generator)
        self.labels = (self.ids[:, 0] > 50).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        return {"input_ids": self.ids[index], "attention_mask": torch.ones(8, dtype=torch.long),
                "labels": self.labels[index]}


def tiny_model():
    torch.manual_seed(0)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, vocab_size=100)
    return BertForSequenceClassification(config)


def make_trainer(tmp_path, callbacks=None, model=None, **overrides):
    options = dict(output_dir=str(tmp_path / "out"), num_train_epochs=2,
                   per_device_train_batch_size=8, logging_steps=1, eval_strategy="epoch",
                   save_strategy="no", disable_tqdm=True, use_cpu=True, seed=0,
                   learning_rate=1e-3, hub_token=FAKE_HUB_TOKEN)
    options.update(overrides)
    return Trainer(model=model if model is not None else tiny_model(),
                   args=TrainingArguments(**options), train_dataset=Tokens(),
                   eval_dataset=Tokens(16, seed=1), callbacks=callbacks)


def train(tmp_path, **kwargs):
    trainer = make_trainer(tmp_path, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        output = trainer.train()
    return trainer, output


def steps(run, key):
    return [m.step for m in autolog.get_metric_history(run.info.run_id, key)]


def test_train_is_one_run_with_args_config_series_and_summary(tmp_path):
    trainer, output = train(tmp_path, run_name="tiny-bert")
    assert autolog.active_run() is None  # managed: ended with train()
    runs = autolog.search_runs()
    assert len(runs) == 1  # no second run from the torch integration's loop hooks
    (run,) = runs
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny-bert"
    params, tags = run.data.params, run.data.tags
    assert params["learning_rate"] == "0.001" and params["num_train_epochs"] == "2"
    assert params["logging_steps"] == "1" and params["eval_strategy"] == "epoch"
    assert params["accelerator_config.even_batches"] == "True"  # nested: flattened
    assert params["model_config.hidden_size"] == "32"
    assert params["model_config.model_type"] == "bert"
    assert params["model_config.pad_token_id"] == "0"  # "token" inside a name is no secret
    assert int(params["model_num_params"]) == sum(p.numel() for p in trainer.model.parameters())
    assert "optimizer_name" not in params  # the torch integration stayed silent
    assert tags["autolog.integration"] == "transformers"
    assert tags["autolog.transformers_version"] == transformers.__version__
    # per logging step, stepped by global_step
    for key in ("loss", "learning_rate", "grad_norm", "epoch"):
        assert steps(run, key)[:STEPS] == list(range(1, STEPS + 1)), key
    lrs = [m.value for m in autolog.get_metric_history(run.info.run_id, "learning_rate")]
    assert lrs[0] == pytest.approx(1e-3) and lrs[-1] < lrs[0]  # linear decay
    assert steps(run, "eval_loss") == [STEPS // 2, STEPS]
    metrics = run.data.metrics
    for key in ("train_runtime", "train_samples_per_second", "train_steps_per_second",
                "total_flos", "train_loss"):
        assert key in metrics, key
    assert metrics["train_loss"] == pytest.approx(output.training_loss)
    assert "train_loss" not in {k for k in metrics if len(steps(run, k)) > 1}  # one point
    assert "best_metric" not in metrics  # no best checkpoint tracked
    assert "train_loss_step" not in metrics and "val_loss" not in metrics


def test_secrets_are_never_logged(tmp_path):
    from autolog.integrations.transformers import is_secret

    train(tmp_path)
    (run,) = autolog.search_runs()
    everything = json.dumps([run.data.params, run.data.tags])
    assert "hub_token" not in run.data.params and FAKE_HUB_TOKEN not in everything
    assert "HUB_TOKEN" not in everything
    for key in ("hub_token", "token", "push_to_hub_token", "wandb_api_key", "db_password",
                "client_secret", "aws.secret_access_key", "model_config.api_key"):
        assert is_secret(key), key
    for key in ("include_num_input_tokens_seen", "average_tokens_across_devices",
                "model_config.pad_token_id", "learning_rate"):
        assert not is_secret(key), key
    assert is_secret("hub_model_id", FAKE_HUB_TOKEN)  # a token as a value, any key


def test_model_round_trip_gives_the_same_logits(tmp_path):
    trainer, _ = train(tmp_path)
    (run,) = autolog.search_runs()
    uri = f"runs:/{run.info.run_id}/model"
    loaded = autolog.transformers.load_model(uri)
    assert type(loaded) is BertForSequenceClassification
    again = autolog.load_model(uri)
    assert type(again) is BertForSequenceClassification
    batch = Tokens(4, seed=3).ids
    trainer.model.eval()
    loaded.eval()
    with torch.no_grad():
        expected = trainer.model(batch).logits
        assert torch.equal(loaded(batch).logits, expected)
    from autolog import models

    local = models.resolve_model_uri(uri)
    files = {name for _d, _s, names in os.walk(local) for name in names}
    assert {"MLmodel", "model.safetensors", "config.json"} <= files
    assert not any(name.endswith((".pkl", ".bin", ".pth")) for name in files)  # no pickle
    conf = models.read_model_metadata(local).flavors["transformers"]
    assert conf["pipeline_model_type"] == "BertForSequenceClassification"
    assert conf["model_binary"] == "model"
    artifacts = {f.path for f in autolog.Client().list_artifacts(run.info.run_id)}
    assert {"model", "model_summary.txt"} <= artifacts


def test_best_checkpoint_metrics_with_load_best_model_at_end(tmp_path):
    train(tmp_path, save_strategy="epoch", load_best_model_at_end=True)
    (run,) = autolog.search_runs()
    metrics = run.data.metrics
    history = {m.step: m.value for m in autolog.get_metric_history(run.info.run_id,
                                                                    "eval_loss")}
    best_step = min(history, key=history.get)
    assert metrics["best_global_step"] == best_step
    assert metrics["best_metric"] == pytest.approx(history[best_step])
    assert metrics["best_eval_loss"] == pytest.approx(history[best_step])
    assert "best_eval_runtime" not in metrics
    assert run.data.tags["autolog.best_model_checkpoint"].endswith(f"checkpoint-{best_step}")


def test_user_callbacks_are_untouched_and_ours_leaves(tmp_path):
    class Mine(TrainerCallback):
        pass

    mine = Mine()
    callbacks = [mine]
    trainer, _ = train(tmp_path, callbacks=callbacks)
    assert callbacks == [mine] and callbacks[0] is mine
    names = [type(c).__name__ for c in trainer.callback_handler.callbacks]
    assert "AutologCallback" not in names and "Mine" in names
    assert trainer.args.report_to in ([], "none", ["none"])  # no reporter switched on


def test_inside_a_user_run_and_a_second_train_is_a_child(tmp_path):
    with autolog.start_run(run_name="mine") as parent:
        trainer, _ = train(tmp_path)
        assert autolog.active_run() is parent  # not ended by train()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            trainer.train()
    runs = {r.info.run_id: r for r in autolog.search_runs()}
    assert len(runs) == 2
    outer = runs[parent.info.run_id]
    assert outer.info.status == "FINISHED" and "loss" in outer.data.metrics
    assert outer.data.params["model_config.hidden_size"] == "32"
    (child,) = [r for r in runs.values() if r.info.run_id != parent.info.run_id]
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert steps(child, "eval_loss") == [STEPS // 2, STEPS]


def test_evaluate_after_train_logs_into_its_run(tmp_path):
    trainer, _ = train(tmp_path, eval_strategy="no")
    (run,) = autolog.search_runs()
    assert "eval_loss" not in run.data.metrics
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        result = trainer.evaluate()
    assert len(autolog.search_runs()) == 1
    run = autolog.get_run(run.info.run_id)
    assert run.data.metrics["eval_loss"] == pytest.approx(result["eval_loss"])
    assert steps(run, "eval_loss") == [STEPS]


def test_explicit_callback_without_patching(tmp_path):
    autolog.autolog(disable=True)
    callback = autolog.transformers.AutologCallback()
    train(tmp_path, callbacks=[callback])
    (run,) = autolog.search_runs()
    assert run.info.status == "FINISHED" and autolog.active_run() is None
    assert run.data.params["model_config.hidden_size"] == "32"
    assert steps(run, "loss") == list(range(1, STEPS + 1))
    assert run.data.tags["autolog.transformers_version"] == transformers.__version__
    assert "model" in {f.path for f in autolog.Client().list_artifacts(run.info.run_id)}


def test_explicit_callback_while_autologging_is_one_run(tmp_path):
    callback = autolog.transformers.AutologCallback()
    trainer, _ = train(tmp_path, callbacks=[callback])
    (run,) = autolog.search_runs()
    assert run.info.status == "FINISHED"
    assert steps(run, "loss") == list(range(1, STEPS + 1))  # once, not twice
    assert callback._session is None
    assert [type(c).__name__ for c in trainer.callback_handler.callbacks].count(
        "AutologCallback") == 1


def test_a_plain_module_goes_through_the_pytorch_flavor(tmp_path):
    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(100, 8)
            self.head = torch.nn.Linear(8, 2)

        def forward(self, input_ids, attention_mask=None, labels=None):
            logits = self.head(self.embed(input_ids).mean(1))
            loss = torch.nn.functional.cross_entropy(logits, labels)
            return {"loss": loss, "logits": logits}

    torch.manual_seed(0)
    train(tmp_path, model=Plain(), eval_strategy="no")
    (run,) = autolog.search_runs()
    assert steps(run, "loss") == list(range(1, STEPS + 1))
    from autolog import models

    meta = models.read_model_metadata(models.resolve_model_uri(
        f"runs:/{run.info.run_id}/model"))
    assert "pytorch" in meta.flavors


def _weights(trainer):
    return [p.detach().clone() for p in trainer.model.parameters()]


def test_faults_leave_training_identical(tmp_path, lenient):
    from autolog.core import reporting
    from autolog.testing import failing_store, inject_hook_faults, inject_record_faults

    autolog.autolog(disable=True)
    baseline = _weights(train(tmp_path / "bare")[0])
    autolog.autolog()
    hooks = autolog.testing.list_hooks("transformers")
    assert any("on_train" in h for h in hooks)
    for index, hook in enumerate(h for h in hooks if "on_train" in h):
        reporting._warned_causes.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with inject_hook_faults(hook) as fired:
                trainer, _ = train(tmp_path / f"hook{index}")
        assert fired == [hook]
        assert all(torch.equal(a, b) for a, b in zip(_weights(trainer), baseline))
        ours = [w for w in caught if issubclass(w.category, autolog.AutologWarning)]
        assert len(ours) == 1, [str(w.message) for w in ours]
    reporting._warned_causes.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with inject_record_faults("log_params") as fired:
            trainer, _ = train(tmp_path / "records")
    assert fired and all(torch.equal(a, b) for a, b in zip(_weights(trainer), baseline))
    run = autolog.last_active_run()
    assert "loss" in run.data.metrics  # a failed record costs only itself
    with failing_store(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer, _ = train(tmp_path / "failing")
    assert all(torch.equal(a, b) for a, b in zip(_weights(trainer), baseline))


def test_autolog_imports_no_framework():
    code = ("import sys, autolog; autolog.autolog(); "
            "print(sorted(m for m in ('transformers', 'torch', 'accelerate', 'safetensors') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.stdout.strip() == "[]"


def tiny_tokenizer():
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film"]
    return transformers.BertTokenizerFast(vocab={w: i for i, w in enumerate(words)})


def test_log_model_by_hand_with_a_tokenizer():
    model, tokenizer = tiny_model(), tiny_tokenizer()
    with autolog.start_run():
        info = autolog.transformers.log_model(model, processing_class=tokenizer)
    parts = autolog.transformers.load_model(info.model_uri, return_type="components")
    assert set(parts) == {"model", "tokenizer"}
    assert parts["tokenizer"].get_vocab() == tokenizer.get_vocab()
    assert info.flavors["transformers"]["components"] == ["tokenizer"]


def test_saved_model_loads_with_mlflow(tmp_path):
    pytest.importorskip("mlflow")
    import mlflow.transformers

    model = tiny_model()
    autolog.transformers.save_model(model, tmp_path / "saved", processing_class=tiny_tokenizer())
    loaded = mlflow.transformers.load_model(str(tmp_path / "saved"), return_type="components")
    assert loaded["tokenizer"].get_vocab() == tiny_tokenizer().get_vocab()
    batch = Tokens(2).ids
    model.eval()
    loaded["model"].eval()
    with torch.no_grad():
        assert torch.equal(loaded["model"](batch).logits, model(batch).logits)


def test_report_to_mlflow_writes_its_own_run_not_into_ours(tmp_path, monkeypatch):
    """MLflow's own Trainer callback (report_to="mlflow") keeps its own run, even when our
    runs go to the same MLflow store: our run gets each point once."""
    pytest.importorskip("mlflow")
    import mlflow

    db = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", db)
    # Earlier tests in this process may have set MLflow's own URI or left a run active.
    previous_uri = mlflow.get_tracking_uri()
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(db)
    autolog.set_tracking_uri(f"mlflow+{db}")
    try:
        train(tmp_path, report_to="mlflow")
        autolog.flush()
    finally:
        autolog.set_tracking_uri(None)
        mlflow.set_tracking_uri(previous_uri)
    client = mlflow.MlflowClient(tracking_uri=db)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert len(runs) == 2
    ours = [r for r in runs if r.data.tags.get("mlflow.autologging") == "transformers"]
    assert len(ours) == 1
    for run in runs:
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [m.step for m in history] == list(range(1, STEPS + 1))


def test_explicit_callback_ends_the_run_of_a_train_that_raised(tmp_path):
    class Boom(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            raise KeyError("boom")

    autolog.autolog(disable=True)
    callback = autolog.transformers.AutologCallback()
    trainer = make_trainer(tmp_path, callbacks=[callback, Boom()])
    with pytest.raises(KeyError, match="boom"):
        trainer.train()
    (failed,) = autolog.search_runs()
    assert failed.info.status == "RUNNING"  # a Trainer has no exception event
    trainer.remove_callback(Boom)
    trainer.train()
    runs = {r.info.run_id: r for r in autolog.search_runs()}
    assert runs[failed.info.run_id].info.status == "FAILED"
    (new,) = [r for r in runs.values() if r.info.run_id != failed.info.run_id]
    assert new.info.status == "FINISHED" and "mlflow.parentRunId" not in new.data.tags


def test_a_failing_evaluate_hook_leaves_the_result_alone(tmp_path, lenient):
    from autolog.testing import inject_hook_faults

    trainer, _ = train(tmp_path, eval_strategy="no")
    expected = trainer.evaluate()["eval_loss"]
    (hook,) = [h for h in autolog.testing.list_hooks("transformers") if "on_evaluate" in h]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with inject_hook_faults(hook) as fired:
            assert trainer.evaluate()["eval_loss"] == expected
    assert fired == [hook]
    assert len([w for w in caught if issubclass(w.category, autolog.AutologWarning)]) == 1


def test_a_process_other_than_the_main_one_opens_no_run(tmp_path):
    """As on rank 1 of a distributed job (the Trainer's state says so from construction):
    training runs unlogged, and the torch hooks inside it open no run either."""
    trainer = make_trainer(tmp_path, eval_strategy="no")
    trainer.state.is_world_process_zero = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        trainer.train()
    assert autolog.search_runs() == [] and autolog.active_run() is None
