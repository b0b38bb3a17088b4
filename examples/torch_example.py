"""A plain PyTorch training loop on sklearn's digits, autologged with no change to the loop.

    python examples/torch_example.py            # calls autolog.autolog() itself
    autolog run examples/torch_example.py       # the same, under the launcher's run

The loop below is ordinary PyTorch: a train DataLoader, a validation DataLoader under
``torch.no_grad()``, an LR scheduler and a ``torch.save`` checkpoint per epoch. autolog
records the optimizer's hyperparameters, ``train_loss`` and ``val_loss`` per epoch, the
learning rate, the checkpoints and, at the end of the run, the model.
"""

from __future__ import annotations

import os
import tempfile

import autolog

if not any(s.name == "torch" and s.state in ("enabled", "waiting") for s in autolog.status()):
    autolog.autolog()

import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402


def main() -> None:
    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    train = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=32, shuffle=True)
    val = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=128)

    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    checkpoint = os.path.join(tempfile.mkdtemp(), "checkpoint.pt")

    for epoch in range(5):
        model.train()
        for xb, yb in train:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        scheduler.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for xb, yb in val:
                logits = model(xb)
                loss_fn(logits, yb)
                correct += int((logits.argmax(1) == yb).sum())
        print(f"epoch {epoch}: val accuracy {correct / len(val.dataset):.3f}")
        torch.save({"epoch": epoch, "model": model.state_dict()}, checkpoint)

    run_id = autolog.active_run().info.run_id
    autolog.flush()
    stored = autolog.get_run(run_id)
    print(f"\nrun {run_id} ({stored.info.run_name})")
    print("params: ", {k: stored.data.params[k] for k in sorted(stored.data.params)
                       if k in ("optimizer_name", "lr", "weight_decay", "betas")})
    for key in ("train_loss", "val_loss", "lr"):
        values = [round(m.value, 4) for m in autolog.get_metric_history(run_id, key)]
        print(f"{key}: {values}")
    print("the model and its summary are logged when the run ends (here: at exit);")
    print(f"see them with: autolog runs show {run_id}")


if __name__ == "__main__":
    main()
