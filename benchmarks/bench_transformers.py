"""What autologging a Hugging Face ``Trainer.train`` costs.

    .venv/bin/python benchmarks/bench_transformers.py [--repeats 5] [--no-mlflow]

Two workloads, BERTs built from a config (random weights; nothing downloaded), a fresh
model and Trainer per train, CPU only, ``torch.set_num_threads(1)`` (steadier on a
shared machine):

* tiny    hidden 32, 2 layers, 32 samples x 8 tokens, batch 8, 2 epochs (8 steps),
          ``logging_steps=1``, an evaluation per epoch: the fixed cost per ``train()``
* medium  hidden 128, 4 layers, 1,024 samples x 64 tokens, batch 16, 1 epoch (64 steps),
          ``logging_steps=10``, an evaluation at the end            target: <= 3% over bare

Wall and CPU time of ``trainer.train()``, median of interleaved repeats:

* bare                  autologging off (every patch reverted), ``report_to="none"``
* autolog, models off   ``autolog.autolog(log_models=False)``
* autolog, models on    ``autolog.autolog()`` (``save_pretrained`` into the run)
* report_to="mlflow"    MLflow's own Trainer callback (MLflow has no Trainer autolog; this
                        is its integration), sqlite store, in a separate process with its
                        own interleaved bare trains; it logs no model

Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

WORKLOADS = {
    "tiny": dict(hidden=32, layers=2, heads=2, samples=32, tokens=8, batch=8, epochs=2,
                 logging_steps=1, eval_strategy="epoch"),
    "medium": dict(hidden=128, layers=4, heads=4, samples=1024, tokens=64, batch=16,
                   epochs=1, logging_steps=10, eval_strategy="no"),
}


def make_trainer(workload: dict, folder: str, report_to: str = "none"):
    import torch
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        Trainer,
        TrainingArguments,
    )

    class Tokens(torch.utils.data.Dataset):
        def __init__(self, n: int, seed: int) -> None:
            generator = torch.Generator().manual_seed(seed)
            self.ids = torch.randint(1, 1000, (n, workload["tokens"]), generator=generator)
            self.labels = (self.ids[:, 0] > 500).long()

        def __len__(self) -> int:
            return len(self.ids)

        def __getitem__(self, i: int) -> dict:
            return {"input_ids": self.ids[i], "labels": self.labels[i]}

    torch.manual_seed(0)
    config = BertConfig(vocab_size=1000, hidden_size=workload["hidden"],
                        num_hidden_layers=workload["layers"],
                        num_attention_heads=workload["heads"],
                        intermediate_size=4 * workload["hidden"],
                        max_position_embeddings=max(64, workload["tokens"]))
    args = TrainingArguments(
        output_dir=os.path.join(folder, "out"), num_train_epochs=workload["epochs"],
        per_device_train_batch_size=workload["batch"], logging_steps=workload["logging_steps"],
        eval_strategy=workload["eval_strategy"], save_strategy="no", disable_tqdm=True,
        use_cpu=True, seed=0, report_to=report_to, log_level="error")
    return Trainer(model=BertForSequenceClassification(config), args=args,
                   train_dataset=Tokens(workload["samples"], 0),
                   eval_dataset=Tokens(max(16, workload["samples"] // 8), 1))


def train_once(workload: dict, folder: str, report_to: str = "none") -> tuple[float, float]:
    trainer = make_trainer(workload, folder, report_to)
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        trainer.train()
    return time.perf_counter() - start, time.process_time() - cpu


def _setup() -> None:
    import warnings

    import torch
    import transformers

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()


def run_autolog(name: str, repeats: int) -> dict[str, list[tuple[float, float]]]:
    import autolog

    _setup()
    tmp = tempfile.mkdtemp(prefix="bench-hf-")
    autolog.set_tracking_uri(os.path.join(tmp, "runs"))
    workload = WORKLOADS[name]
    variants = {
        "bare": lambda: autolog.autolog(disable=True),
        "autolog, models off": lambda: autolog.autolog(log_models=False),
        "autolog, models on": lambda: autolog.autolog(log_models=True),
    }
    for switch in variants.values():  # warm up every path once
        switch()
        train_once(WORKLOADS["tiny"], tmp)
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in variants}
    for _ in range(repeats):
        for label, switch in variants.items():
            switch()
            times[label].append(train_once(workload, tmp))
    autolog.autolog(disable=True)
    autolog.flush()
    return times


def callback_costs(repeats: int) -> dict[str, list[float]]:
    """Seconds spent inside autolog's callback methods (and the whole train() hook around
    them) during the medium workload: a figure that a loaded machine does not blur."""
    import autolog
    from autolog.integrations import transformers as integration

    _setup()
    tmp = tempfile.mkdtemp(prefix="bench-hf-cb-")
    autolog.set_tracking_uri(os.path.join(tmp, "runs"))
    autolog.autolog(log_models=False)
    cls = integration._callback_class()
    spent: dict[str, list[float]] = {"on_train_begin": [], "on_log": [], "on_train_end": []}

    def timed(name: str, method):
        def wrapper(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                spent[name].append(time.perf_counter() - start)
        return wrapper

    for name in spent:
        setattr(cls, name, timed(name, getattr(cls, name)))
    for _ in range(repeats):
        train_once(WORKLOADS["medium"], tmp)
    autolog.autolog(disable=True)
    autolog.flush()
    return spent


def run_mlflow(name: str, repeats: int) -> dict[str, list[tuple[float, float]]]:
    """In its own process: report_to="mlflow" against bare trains there."""
    tmp = tempfile.mkdtemp(prefix="bench-hf-mlflow-")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{os.path.join(tmp, 'mlflow.db')}"
    _setup()
    import mlflow

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    workload = WORKLOADS[name]
    variants = {"bare": "none", 'report_to="mlflow"': "mlflow"}
    for report_to in variants.values():
        train_once(WORKLOADS["tiny"], tmp, report_to)
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in variants}
    for _ in range(repeats):
        for label, report_to in variants.items():
            times[label].append(train_once(workload, tmp, report_to))
            if mlflow.active_run() is not None:
                mlflow.end_run()
    mlflow.flush_async_logging()
    return times


def table(title: str, times: dict[str, list]) -> None:
    print(title)
    print(f"   {'':<24}{'wall':>10}{'ratio':>9}{'over bare':>11}{'CPU':>10}{'ratio':>9}")
    wall_base = statistics.median(t[0] for t in times["bare"])
    cpu_base = statistics.median(t[1] for t in times["bare"])
    for label, values in times.items():
        wall = statistics.median(t[0] for t in values)
        cpu = statistics.median(t[1] for t in values)
        print(f"   {label:<24}{wall * 1e3:8.0f}ms{wall / wall_base:>8.3f}x"
              f"{(wall - wall_base) * 1e3:>+9.0f}ms{cpu * 1e3:8.0f}ms{cpu / cpu_base:>8.3f}x")
    print()


def _child(flag: str, name: str | None, repeats: int) -> dict | None:
    command = [sys.executable, os.path.abspath(__file__), flag, *([name] if name else []),
               "--repeats", str(repeats)]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"{flag} {name} failed:\n" + out.stderr[-2000:])
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--autolog-child", help=argparse.SUPPRESS)
    parser.add_argument("--mlflow-child", help=argparse.SUPPRESS)
    parser.add_argument("--costs-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    if args.autolog_child:
        print(json.dumps(run_autolog(args.autolog_child, args.repeats)))
        return
    if args.mlflow_child:
        print(json.dumps(run_mlflow(args.mlflow_child, args.repeats)))
        return
    if args.costs_child:
        print(json.dumps(callback_costs(args.repeats)))
        return

    import importlib.metadata as metadata

    print(f"transformers {metadata.version('transformers')}, torch {metadata.version('torch')}"
          f", {os.cpu_count()} CPUs, CPU only, 1 torch thread\n")
    have_mlflow = not args.no_mlflow
    if have_mlflow:
        import importlib.util

        have_mlflow = importlib.util.find_spec("mlflow") is not None
    for name in args.workloads:
        w = WORKLOADS[name]
        what = (f"{name}: BERT hidden {w['hidden']}, {w['layers']} layers, {w['samples']:,} x "
                f"{w['tokens']} tokens, batch {w['batch']}, {w['epochs']} epoch(s), "
                f"logging_steps={w['logging_steps']}, eval {w['eval_strategy']}")
        times = _child("--autolog-child", name, args.repeats)
        if times is not None:
            table(f"{what}; time of train(), median of {args.repeats} interleaved repeats",
                  times)
        if have_mlflow:
            mlflow_times = _child("--mlflow-child", name, args.repeats)
            if mlflow_times is not None:
                table(f"{name}, MLflow's own callback (report_to=\"mlflow\", sqlite), in a "
                      "separate process (ratios to that process's bare trains)", mlflow_times)
    spent = _child("--costs-child", None, args.repeats)
    if spent is not None:
        per_train = {k: sum(v) / args.repeats for k, v in spent.items()}
        print(f"autolog's callback, medium workload, models off, mean of {args.repeats} trains:")
        for key, values in spent.items():
            print(f"   {key:<16}{len(values) / args.repeats:>6.0f} calls per train"
                  f"{statistics.median(values) * 1e6:>10.0f} us median"
                  f"{per_train[key] * 1e3:>10.2f} ms per train")
        print(f"   {'total':<16}{sum(per_train.values()) * 1e3:>42.2f} ms per train")


if __name__ == "__main__":
    main()
