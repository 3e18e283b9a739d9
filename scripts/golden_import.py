"""Golden PyTorch checkpoints for `sarxai model import` (issue 30, item 1).

Writes into OUT_DIR the files people actually hold, saved by torch 2.11 from torchvision
0.26 ResNets with non-trivial BatchNorm statistics, and for each importable one an input
batch and the logits torch computes from it in evaluation mode:

  <case>.pth (or .pt)  the checkpoint
  <case>.x.npy         float32 (2, C, 64, 64), standard normal (seeded)
  <case>.logits.npy    float32 (2, 10): model.eval()(x) in torch
  cases.json           one entry per case: file, arch, channels, and either "ok" or the
                       words the refusal must contain

tests/golden_import.rs runs this script (cached by the script's hash under
target/golden/import/) and checks sarxai's import against it.

Run: .venv/bin/python scripts/golden_import.py OUT_DIR   (torch 2.11.0, torchvision 0.26.0,
as ci/bootstrap.sh installs them; about 10 s and 700 MB on disk).
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn

CLASSES = 10


def resnet(arch, channels, seed):
    """A torchvision ResNet with `channels` inputs, random weights and BN statistics."""
    torch.manual_seed(seed)
    m = getattr(torchvision.models, arch)(weights=None, num_classes=CLASSES)
    if channels != 3:
        m.conv1 = nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.0)
                mod.bias.uniform_(-0.1, 0.1)
                mod.num_batches_tracked.fill_(7)
    return m.eval()


def optimizer_state(m):
    """An SGD optimizer's state after one step, as training scripts save it."""
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    for p in m.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    return opt.state_dict()


def plain(m):
    return m.state_dict()


def wrapped(m):
    return {"epoch": 12, "state_dict": m.state_dict(), "optimizer": optimizer_state(m),
            "best_acc1": 83.44, "arch": "resnet"}


def data_parallel(m):
    return nn.DataParallel(m).state_dict()


def wrapped_data_parallel(m):
    return {"model": nn.DataParallel(m).state_dict(), "epoch": 3}


def lightning(m):
    return {"state_dict": {f"model.{k}": v for k, v in m.state_dict().items()},
            "epoch": 5, "global_step": 1000, "pytorch-lightning_version": "2.4.0"}


def model_state_dict(m):
    return {"model_state_dict": m.state_dict(), "loss": 0.41}


def half(m):
    return {k: (v.half() if v.is_floating_point() else v) for k, v in m.state_dict().items()}


def no_batch_counts(m):
    return {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}


# (case, arch, channels, how it is saved)
IMPORTABLE = [
    ("resnet18_c1_plain", "resnet18", 1, plain),
    ("resnet18_c3_wrapped", "resnet18", 3, wrapped),
    ("resnet18_c1_dataparallel", "resnet18", 1, data_parallel),
    ("resnet18_c2_lightning", "resnet18", 2, lightning),
    ("resnet18_c1_old_batchnorm", "resnet18", 1, no_batch_counts),
    ("resnet50_c3_dataparallel_wrapped", "resnet50", 3, wrapped_data_parallel),
    ("resnet50_c1_plain", "resnet50", 1, plain),
    ("resnet101_c1_model_state_dict", "resnet101", 1, model_state_dict),
    ("resnet101_c3_plain", "resnet101", 3, plain),
]


def save_case(out, case, arch, channels, how, seed):
    m = resnet(arch, channels, seed)
    torch.manual_seed(1000 + seed)
    x = torch.randn(2, channels, 64, 64)
    with torch.no_grad():
        logits = m(x)
    torch.save(how(m), out / f"{case}.pth")
    np.save(out / f"{case}.x.npy", x.numpy())
    np.save(out / f"{case}.logits.npy", logits.numpy())
    return {"case": case, "file": f"{case}.pth", "arch": arch, "channels": channels,
            "expect": "ok"}


def torchscript_case(out, seed):
    m = resnet("resnet18", 1, seed)
    torch.manual_seed(1000 + seed)
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        logits = m(x)
    torch.jit.save(torch.jit.script(m), str(out / "resnet18_c1_torchscript.pt"))
    np.save(out / "resnet18_c1_torchscript.x.npy", x.numpy())
    np.save(out / "resnet18_c1_torchscript.logits.npy", logits.numpy())
    return {"case": "resnet18_c1_torchscript", "file": "resnet18_c1_torchscript.pt",
            "arch": "resnet18", "channels": 1, "expect": "ok"}


def refusals(out):
    """Files sarxai must refuse, each with the words its error must contain."""
    m = resnet("resnet18", 1, 99)
    torch.save(m, out / "whole_model.pth")
    torch.save(m.state_dict(), out / "legacy.pth", _use_new_zipfile_serialization=False)
    torch.manual_seed(5)
    torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), out / "squeezenet.pth")
    broken = m.state_dict()
    del broken["fc.bias"]
    broken["layer1.0.conv1.weight"] = broken["layer1.0.conv1.weight"][:32]
    broken["head.weight"] = torch.zeros(3)
    torch.save(broken, out / "broken.pth")
    torch.save({"model": m.state_dict(), "ema": m.state_dict()}, out / "two_models.pth")
    (out / "garbage.pth").write_bytes(b"PK\x03\x04 not really a zip archive")
    whole = (out / "resnet18_c1_plain.pth").read_bytes()
    (out / "truncated.pth").write_bytes(whole[: len(whole) // 2])
    return [
        {"case": "whole_model", "file": "whole_model.pth", "arch": None,
         "expect": ["whole", "state_dict()"]},
        {"case": "legacy", "file": "legacy.pth", "arch": None,
         "expect": ["legacy", "torch.save"]},
        {"case": "squeezenet", "file": "squeezenet.pth", "arch": None,
         "expect": ["ResNet", "features.0.weight"]},
        {"case": "broken", "file": "broken.pth", "arch": None,
         "expect": ["missing fc.bias", "layer1.0.conv1.weight: shape [32, 64, 3, 3]",
                    "unexpected head.weight"]},
        {"case": "other_arch", "file": "resnet50_c1_plain.pth", "arch": "resnet101",
         "expect": ["resnet50", "resnet101"]},
        {"case": "two_models", "file": "two_models.pth", "arch": None,
         "expect": ["ema", "model", "--key"]},
        {"case": "garbage", "file": "garbage.pth", "arch": None,
         "expect": ["garbage.pth", "zip"]},
        {"case": "truncated", "file": "truncated.pth", "arch": None,
         "expect": ["truncated.pth", "zip"]},
    ]


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    cases = [save_case(out, *case, seed) for seed, case in enumerate(IMPORTABLE)]
    cases.append(torchscript_case(out, 50))
    cases += refusals(out)
    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    (out / "cases.json").write_text(json.dumps({"versions": versions, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
