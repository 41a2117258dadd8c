"""Where a training step's time goes: torch.profiler over steps of one model on ML-1M-sized
random batches (no data needed).

Usage (repo root):

    .venv/bin/python benchmarks/profile_step.py [--model seednet] [--batch-size 4096] [--steps 10]

Prints milliseconds per step, the seconds an epoch of 900,188 ratings would take at that pace,
and the operators that took the most time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_USERS, N_ITEMS, N_TRAIN = 6040, 3706, 900_188   # ML-1M, 90% for training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # autorec's trainer feeds ratings grouped by movie, which random batches do not imitate.
    parser.add_argument("--model", default="seednet", choices=["seednet", "mf", "bpr"])
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    from movierec.models import get_model_spec

    torch.manual_seed(0)
    spec = get_model_spec(args.model)
    batch = args.batch_size or spec.train_defaults.batch_size
    model = spec.build(N_USERS, N_ITEMS, (1.0, 2.0, 3.0, 4.0, 5.0))
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.train_defaults.lr, fused=True)
    users = torch.randint(0, N_USERS, (batch,))
    items = torch.randint(0, N_ITEMS, (batch,))
    stars = torch.randint(1, 6, (batch,)).float()
    target = model.targets(stars)

    def step() -> None:
        loss, _, _ = model.training_loss(users, items, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(5):
        step()
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        timings.append((time.perf_counter() - start) / args.steps)
    per_step = min(timings)
    print(f"{args.model}, batch {batch}: {per_step * 1000:.1f} ms per step, "
          f"{per_step * N_TRAIN / batch:.2f} s per epoch of {N_TRAIN:,} ratings "
          f"({torch.get_num_threads()} threads)")
    with torch.profiler.profile() as prof:
        for _ in range(args.steps):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


if __name__ == "__main__":
    main()
