"""A character-level bigram language model, trained the way nanoGPT and makemore do it.

    python examples/torch_char_lm.py [max_iters]          # calls autolog.autolog() itself
    autolog run examples/torch_char_lm.py [max_iters]     # the same, under the launcher's run

No DataLoader: each step draws a random batch of character blocks by hand, the model's
``forward`` computes the loss with ``F.cross_entropy``, an ``@torch.no_grad()``
``estimate_loss()`` evaluates every ``eval_interval`` steps, the learning rate is set by
hand in ``param_group["lr"]`` (a cosine decay) and gradients are clipped. autolog records
``train_loss`` every ``log_every_n_steps`` steps (10 unless set: the mean of those steps'
losses), the learning rate, the optimizer's hyperparameters and the model.
"""

from __future__ import annotations

import math
import sys

import autolog

if not any(s.name == "torch" and s.state in ("enabled", "waiting") for s in autolog.status()):
    autolog.autolog()

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

TEXT = (
    "First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. "
    "First Citizen: You are all resolved rather to die than to famish? All: Resolved. "
    "resolved. First Citizen: First, you know Caius Marcius is chief enemy to the people. "
) * 8


class Bigram(nn.Module):
    """Next-character logits from the current character; the loss computed in forward."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.table = nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx, targets=None):
        logits = self.table(idx)
        if targets is None:
            return logits, None
        B, T, C = logits.shape
        return logits, F.cross_entropy(logits.view(B * T, C), targets.view(B * T))


def main(max_iters: int = 500, eval_interval: int = 100, eval_iters: int = 10,
         block_size: int = 8, batch_size: int = 16, learning_rate: float = 1e-2) -> list:
    """Train; return the training loss of every step (detached tensors, as computed)."""
    torch.manual_seed(1337)
    chars = sorted(set(TEXT))
    data = torch.tensor([chars.index(c) for c in TEXT], dtype=torch.long)
    n = int(0.9 * len(data))
    splits = {"train": data[:n], "val": data[n:]}

    def get_batch(split):
        source = splits[split]
        ix = torch.randint(len(source) - block_size, (batch_size,))
        x = torch.stack([source[i:i + block_size] for i in ix])
        y = torch.stack([source[i + 1:i + block_size + 1] for i in ix])
        return x, y

    model = Bigram(len(chars))

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in splits:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                _, loss = model(*get_batch(split))
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    step_losses = []
    for it in range(max_iters):
        if it % eval_interval == 0 or it == max_iters - 1:
            losses = estimate_loss()
            print(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        lr = learning_rate * 0.5 * (1 + math.cos(math.pi * it / max_iters))
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        xb, yb = get_batch("train")
        _logits, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step_losses.append(loss.detach())
    return step_losses


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
    run = autolog.active_run()
    if run is not None:
        print("run", run.info.run_id)
