"""A Hugging Face ``Trainer`` fine-tuning a tiny BERT, autologged with no change to it.

    python examples/transformers_example.py         # calls autolog.autolog() itself
    autolog run examples/transformers_example.py    # the same, under the launcher's run

Nothing is downloaded: the model is built from a ``BertConfig`` (random weights) and the
tokenizer from a 29-word vocabulary. The task is toy sentiment (sentences
made of "good" or "bad" words). autolog records the TrainingArguments and the model
config as params, ``loss``/``learning_rate``/``grad_norm`` per logging step,
``eval_loss``/``eval_accuracy`` per epoch, the best checkpoint's metrics, the training
summary and the final (best) model with its tokenizer, loadable back with
``autolog.transformers.load_model``.
"""

from __future__ import annotations

import os
import random
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import autolog  # noqa: E402

if not any(s.name == "transformers" and s.state in ("enabled", "waiting")
           for s in autolog.status()):
    autolog.autolog()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    BertTokenizerFast,
    Trainer,
    TrainingArguments,
)

GOOD = "good great fine nice superb lovely excellent happy".split()
BAD = "bad awful poor sad terrible nasty horrible ugly".split()
FILLER = "the a film was plot and acting it".split()


def make_tokenizer() -> BertTokenizerFast:
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *GOOD, *BAD, *FILLER]
    return BertTokenizerFast(vocab={word: index for index, word in enumerate(words)})


class Sentences(torch.utils.data.Dataset):
    def __init__(self, tokenizer: BertTokenizerFast, n: int, seed: int) -> None:
        rng = random.Random(seed)
        self.texts, self.labels = [], []
        for _ in range(n):
            label = rng.randint(0, 1)
            words = rng.sample(FILLER, 4) + rng.sample(GOOD if label else BAD, 2)
            rng.shuffle(words)
            self.texts.append(" ".join(words))
            self.labels.append(label)
        self.encoded = tokenizer(self.texts, padding="max_length", max_length=10,
                                 truncation=True, return_tensors="pt")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = {key: value[index] for key, value in self.encoded.items()}
        item["labels"] = torch.tensor(self.labels[index])
        return item


def accuracy(prediction) -> dict[str, float]:
    return {"accuracy": float((np.argmax(prediction.predictions, -1)
                               == prediction.label_ids).mean())}


def main() -> None:
    work = tempfile.mkdtemp(prefix="hf-example-")
    tokenizer = make_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, num_labels=2,
                        hidden_dropout_prob=0.0)
    model = BertForSequenceClassification(config)
    args = TrainingArguments(
        output_dir=os.path.join(work, "out"), run_name="tiny-bert-sentiment",
        num_train_epochs=4, per_device_train_batch_size=16, learning_rate=2e-3,
        logging_steps=5, eval_strategy="epoch", save_strategy="epoch",
        load_best_model_at_end=True, metric_for_best_model="accuracy", save_total_limit=2,
        disable_tqdm=True, use_cpu=True, seed=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=Sentences(tokenizer, 256, 0),
                      eval_dataset=Sentences(tokenizer, 64, 1), processing_class=tokenizer,
                      compute_metrics=accuracy)
    trainer.train()

    autolog.flush()
    run = autolog.last_active_run()
    run_id = run.info.run_id
    print(f"\nrun {run_id} ({run.info.run_name}, {run.info.status})")
    print("params: ", {k: run.data.params[k] for k in ("learning_rate", "num_train_epochs",
                                                       "model_config.hidden_size")})
    for key in ("loss", "learning_rate", "eval_accuracy"):
        points = [(m.step, round(m.value, 4)) for m in autolog.get_metric_history(run_id, key)]
        print(f"{key}: {points}")
    print("best:", {k: run.data.metrics[k] for k in ("best_metric", "best_global_step")})

    parts = autolog.transformers.load_model(f"runs:/{run_id}/model", return_type="components")
    loaded, loaded_tokenizer = parts["model"], parts["tokenizer"]
    batch = loaded_tokenizer(["the film was great and lovely", "awful plot and sad acting"],
                             return_tensors="pt", padding=True)
    with torch.no_grad():
        print("loaded model predicts:", loaded(**batch).logits.argmax(-1).tolist(), "(1 = good)")
    print(f"see the run with: autolog runs show {run_id}")


if __name__ == "__main__":
    main()
