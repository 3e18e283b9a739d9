#!/usr/bin/env python3
"""PyTorch reference training loop for sarxai's training benchmark.

Measures the throughput (images/s) of the same training step sarxai's `Trainer::step`
does: torchvision ResNet with a `channels`-input conv1 and `classes` outputs, training-mode
forward, cross-entropy, backward, SGD (momentum 0.9, Nesterov, weight decay 5e-4 on
weights with more than one dimension, as sarxai), `loss.item()` every step, on a fixed
random batch (no data loading) with `torch.set_num_threads(threads)`.

`cargo bench --bench train` runs this script between its own timing rounds (same
architecture, batch size, image size and thread count) and reports the ratio measured in
that one run. Stand-alone:

    .venv/bin/python ci/bench_train.py --arch resnet18 --batch-size 32 --size 100 --threads 2 --json
"""

import argparse
import json
import statistics
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="resnet18", choices=["resnet18", "resnet34", "resnet50", "resnet101"])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--steps", type=int, default=8, help="timed steps")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args()

    import torch
    import torch.nn.functional as F
    import torchvision

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, a.arch)(num_classes=a.classes)
    model.conv1 = torch.nn.Conv2d(a.channels, 64, 7, 2, 3, bias=False)
    model.train()
    decay = [q for q in model.parameters() if q.dim() > 1]
    no_decay = [q for q in model.parameters() if q.dim() <= 1]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}],
        lr=0.01,
        momentum=0.9,
        nesterov=True,
    )
    x = torch.randn(a.batch_size, a.channels, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch_size,))

    def step() -> float:
        out = model(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    result = {
        "impl": "pytorch",
        "torch": torch.__version__,
        "arch": a.arch,
        "batch_size": a.batch_size,
        "size": a.size,
        "channels": a.channels,
        "threads": torch.get_num_threads(),
        "steps": a.steps,
        "median_step_s": med,
        "images_per_s": a.batch_size / med,
        "step_times_s": times,
    }
    if a.json:
        print(json.dumps(result))
    else:
        print(f"pytorch {a.arch} batch {a.batch_size} {a.size}x{a.size} threads {result['threads']}: "
              f"{result['images_per_s']:.1f} images/s (median step {med * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
