#!/usr/bin/env python3
"""Golden reference generator for sarxai (tests/golden.rs).

Builds a torchvision ResNet with non-trivial BatchNorm statistics, saves its weights as
safetensors, draws SAR-like inputs and targets, and writes the reference outputs of
torchvision (logits) and Captum (the eight attribution methods of the study, with
Captum's defaults). Nothing it writes is committed: tests/golden.rs runs it at test time
in the virtual environment of ci/bootstrap.sh (torch 2.11.0, torchvision 0.26.0,
captum 0.9.0) and caches the result under target/golden/.

Usage:
    .venv/bin/python scripts/golden.py --case resnet18-c1-f32 --out DIR [--n 3] [--seed 0]

A case is ARCH-cCHANNELS-DTYPE: ARCH resnet18|resnet34|resnet50|resnet101, CHANNELS 1..3,
DTYPE f32|f64. Files written to DIR (arrays are .npy):

    weights.safetensors    model.state_dict() in float32 (+ int64 num_batches_tracked)
    X.npy                  inputs, float32 (N, C, 100, 100)
    X64.npy                f64 cases only: the same values as float64 (for sarxai --dtype f64)
    T.npy                  targets, int64 (N,): classes of rank 2, 1, 7 (image 0: never the argmax)
    logits.npy             torchvision logits in the case's dtype
    logits.floor.npy       f32 cases only: the same, one image per forward pass
    <method>.npy           Captum attributions in the case's dtype, for method in
                           saliency input-x-gradient integrated-gradients guided-backprop
                           deconvolution grad-cam guided-grad-cam occlusion
    integrated-gradients.delta.npy   Captum's convergence delta (N,)
    <method>.floor.npy     f32 cases only: the same method recomputed by Captum with
                           another batch arrangement (the reference's own float32 noise;
                           see ``attribute``)
    occlusion.captum-as-is.npy       f64 cases only: Captum's occlusion output unpatched
                           (rounded to float32 by Captum; see ``occlusion_f64`` below)
    meta.json              versions, parameters, timings, self-checks

Every detail that a test's verdict depends on is in this file, and the test's cache key
is a hash of this file's bytes and the case parameters.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
import warnings
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import captum
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerGradCam,
    Occlusion,
    Saliency,
)
import captum.attr._core.feature_ablation as captum_feature_ablation
from safetensors.torch import save_file

PINNED = {"torch": "2.11.0", "torchvision": "0.26.0", "captum": "0.9.0"}
METHODS = [
    "saliency",
    "input-x-gradient",
    "integrated-gradients",
    "guided-backprop",
    "deconvolution",
    "grad-cam",
    "guided-grad-cam",
    "occlusion",
]
NUM_CLASSES = 10
SIZE = 100
WINDOW = 15
STRIDE = 5


def parse_case(case: str):
    try:
        arch, ch, dtype = case.split("-")
        assert arch in ("resnet18", "resnet34", "resnet50", "resnet101")
        assert ch.startswith("c") and 1 <= int(ch[1:]) <= 3
        assert dtype in ("f32", "f64")
    except (ValueError, AssertionError):
        sys.exit(f"golden.py: bad case '{case}', expected ARCH-cC-DTYPE like resnet50-c1-f64")
    return arch, int(ch[1:]), dtype


def check_versions():
    got = {
        "torch": torch.__version__.split("+")[0],
        "torchvision": torchvision.__version__.split("+")[0],
        "captum": captum.__version__,
    }
    if got != PINNED:
        sys.exit(f"golden.py: reference stack {got} differs from the pinned {PINNED}; run bash ci/bootstrap.sh")
    return {**got, "torch_full": torch.__version__, "numpy": np.__version__}


def sar_images(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    """Positive SAR-like amplitudes, float32 (n, c, 100, 100).

    A smooth log-normal reflectivity field (7x7 Gaussian noise, bilinearly upsampled,
    shared by the channels up to a per-channel gain, like VH/VV backscatter of one scene)
    times multiplicative 4-look Gamma speckle (intensity), square-rooted to amplitude and
    divided by the image mean: values are positive, mean 1, heavy right tail. Images are
    drawn one after another, so the first k images do not depend on n.
    """
    images = []
    for _ in range(n):
        low = torch.from_numpy(rng.standard_normal((1, 1, 7, 7)))
        field = F.interpolate(low, size=(SIZE, SIZE), mode="bilinear", align_corners=False).numpy()[0]
        gain = rng.uniform(-0.5, 0.5, size=(c, 1, 1))
        reflectivity = np.exp(0.8 * field + gain)
        looks = 4.0
        speckle = rng.gamma(shape=looks, scale=1.0 / looks, size=(c, SIZE, SIZE))
        amplitude = np.sqrt(reflectivity * speckle)
        images.append(amplitude / amplitude.mean())
    return np.stack(images).astype(np.float32)


def build_model(arch: str, c: int, seed: int) -> nn.Module:
    """torchvision ResNet (10 classes) with `c` input channels and non-trivial BatchNorm.

    * conv1 is replaced by nn.Conv2d(c, 64, 7, 2, 3, bias=False) for c != 3, initialised
      like torchvision's other convolutions (kaiming_normal_, fan_out, relu);
    * every BatchNorm's weight is drawn from U(0.6, 1.4) and bias from N(0, 0.2^2);
    * running statistics are then calibrated on 4 batches of 12 SAR-like images (not the
      test images) in train mode under no_grad with momentum=None (cumulative average),
      so running_mean != 0, running_var != 1 and num_batches_tracked = 4;
    * fc's weights are scaled by 4 so that logits are O(1) to O(10);
    * eval mode. ReLUs stay torchvision's nn.ReLU(inplace=True), one module reused twice
      (basic) or three times (bottleneck) per block: Captum 0.9's ReLU hooks clone each
      ReLU input (captum._utils.common._register_backward_hook), and
      reference_self_checks() verifies that Guided Backprop and Deconvolution agree with
      an independent implementation on this very model.
    """
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(num_classes=NUM_CLASSES)
    if c != 3:
        model.conv1 = nn.Conv2d(c, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.empty_like(m.weight).uniform_(0.6, 1.4, generator=g))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
                m.reset_running_stats()
                m.momentum = None
        model.fc.weight.mul_(4.0)
        model.train()
        rng = np.random.default_rng(seed + 2)
        for _ in range(4):
            model(torch.from_numpy(sar_images(rng, 12, c)))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1  # torchvision's default; irrelevant in eval mode
    return model.eval()


def choose_targets(logits: torch.Tensor) -> torch.Tensor:
    """Image i gets the class of rank [2, 1, 7][i % 3] (1 = argmax) of its float32
    logits: image 0's target is never the argmax."""
    order = logits.argsort(dim=1, descending=True)
    pick = [1, 0, 6]
    return torch.stack([order[i, pick[i % 3]] for i in range(logits.shape[0])]).to(torch.int64)


@contextmanager
def occlusion_f64():
    """Captum 0.9 ends FeatureAblation/Occlusion with `single_attrib.float() / weight`
    (captum/attr/_core/feature_ablation.py, format_result), which rounds a float64 result
    to float32 (~3e-8 relative), above the float64 bound of 1e-8. For the float64
    reference this context runs Captum's occlusion with that one cast removed; everything
    else is Captum's code. The unpatched result is kept too (occlusion.captum-as-is.npy)."""
    original = captum_feature_ablation.format_result
    as_is = []

    def format_result(total_attrib, weights, is_inputs_tuple, use_weights):
        if use_weights:
            as_is.append(tuple(a.float() / w for a, w in zip(total_attrib, weights)))
            attrib = tuple(a / w for a, w in zip(total_attrib, weights))
        else:
            attrib = tuple(total_attrib)
        return captum_feature_ablation._format_output(is_inputs_tuple, attrib)

    captum_feature_ablation.format_result = format_result
    try:
        yield as_is
    finally:
        captum_feature_ablation.format_result = original


def attribute(method: str, model: nn.Module, x: torch.Tensor, t: torch.Tensor, floor: bool = False):
    """Captum with its defaults, but for Occlusion's batching:
    perturbations_per_eval=18 (18 windows x N images per forward pass) instead of 1.
    That knob only groups forward passes (Captum sums the same window differences); with
    batches of N images the 324 passes took 4-5x longer here (ResNet-50: 5 minutes).

    `floor` recomputes the same quantity with another batch arrangement, for the
    reference's own float32 noise: one image per call (IG: 50 scaled inputs per pass
    instead of 50 N) for all methods but Occlusion, which uses perturbations_per_eval=10
    (10 N images per pass, the last pass partial)."""
    c = x.shape[1]
    if floor and method != "occlusion":
        parts = [attribute(method, model, x[i : i + 1], t[i : i + 1]) for i in range(x.shape[0])]
        return torch.cat([p[0] if isinstance(p, tuple) else p for p in parts])
    if method == "saliency":
        return Saliency(model).attribute(x, target=t)
    if method == "input-x-gradient":
        return InputXGradient(model).attribute(x, target=t)
    if method == "integrated-gradients":
        return IntegratedGradients(model).attribute(x, target=t, return_convergence_delta=True)
    if method == "guided-backprop":
        return GuidedBackprop(model).attribute(x, target=t)
    if method == "deconvolution":
        return Deconvolution(model).attribute(x, target=t)
    if method == "grad-cam":
        return LayerGradCam(model, model.layer4).attribute(x, target=t)
    if method == "guided-grad-cam":
        return GuidedGradCam(model, model.layer4).attribute(x, target=t)
    if method == "occlusion":
        return Occlusion(model).attribute(
            x,
            target=t,
            sliding_window_shapes=(c, WINDOW, WINDOW),
            strides=(c, STRIDE, STRIDE),
            baselines=0,
            perturbations_per_eval=10 if floor else 18,
        )
    raise ValueError(method)


def reference_self_checks(model: nn.Module, x: torch.Tensor, t: torch.Tensor, got: dict) -> dict:
    """Relative L2 error of Captum's Guided Backprop / Deconvolution against an
    independent implementation (every nn.ReLU replaced by a custom autograd function
    with the guided or deconvolution backward), on the same model and inputs."""

    class Rule(torch.autograd.Function):
        guided = True

        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return v.clamp(min=0)

        @staticmethod
        def backward(ctx, g):
            (v,) = ctx.saved_tensors
            g = g.clamp(min=0)
            return g * (v > 0).to(g.dtype) if Rule.guided else g

    class RuleRelu(nn.Module):
        def forward(self, v):
            return Rule.apply(v)

    twin = copy.deepcopy(model)
    for mod in list(twin.modules()):
        for name, child in list(mod.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(mod, name, RuleRelu())
    out = {}
    for method, guided in (("guided-backprop", True), ("deconvolution", False)):
        Rule.guided = guided
        xx = x.detach().clone().requires_grad_()
        score = twin(xx).gather(1, t[:, None]).sum()
        ref = torch.autograd.grad(score, xx)[0]
        out[f"{method}.captum_vs_independent"] = rel_l2(got[method], ref)
    return out


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double(), b.detach().double()
    den = b.norm().item()
    num = (a - b).norm().item()
    return num / den if den > 0 else num


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", required=True, help="ARCH-cC-DTYPE, e.g. resnet18-c1-f32")
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=3, help="images (default 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args()
    arch, c, dtype = parse_case(args.case)
    versions = check_versions()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU activations")
    warnings.filterwarnings("ignore", message=".*Input Tensor .* did not already require gradients.*")
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731
    save = lambda name, t: np.save(out(name), t.detach().cpu().numpy())  # noqa: E731

    t0 = time.perf_counter()
    model = build_model(arch, c, args.seed)
    # state_dict in float32 (the checkpoint format), before any .double().
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out("weights.safetensors"))
    x32 = torch.from_numpy(sar_images(np.random.default_rng(args.seed + 3), args.n, c))
    with torch.no_grad():
        logits32 = model(x32)
    t = choose_targets(logits32)
    np.save(out("X.npy"), x32.numpy())
    np.save(out("T.npy"), t.numpy())
    if dtype == "f64":
        model = model.double()
        x = x32.double()  # exactly the float32 values
        np.save(out("X64.npy"), x.numpy())
        with torch.no_grad():
            logits = model(x)
    else:
        x, logits = x32, logits32
    save("logits.npy", logits)
    extra = {}
    if dtype == "f32":
        with torch.no_grad():
            floor = torch.cat([model(x[i : i + 1]) for i in range(args.n)])
        save("logits.floor.npy", floor)
        extra["logits.floor"] = rel_l2(floor, logits)

    timings = {"setup": time.perf_counter() - t0}
    got = {}
    for method in METHODS:
        s = time.perf_counter()
        if method == "occlusion" and dtype == "f64":
            with occlusion_f64() as as_is:
                a = attribute(method, model, x, t)
            save("occlusion.captum-as-is.npy", as_is[0][0])
            extra["occlusion.captum_as_is_vs_f64"] = rel_l2(as_is[0][0], a)
        else:
            a = attribute(method, model, x, t)
        if method == "integrated-gradients":
            a, delta = a
            save("integrated-gradients.delta.npy", delta)
            extra["integrated-gradients.delta"] = delta.tolist()
        timings[method] = time.perf_counter() - s
        assert a.dtype == x.dtype, (method, a.dtype, x.dtype)
        got[method] = a.detach()
        save(f"{method}.npy", a)
        if dtype == "f32":
            s = time.perf_counter()
            f = attribute(method, model, x, t, floor=True)
            timings[f"{method}.floor"] = time.perf_counter() - s
            save(f"{method}.floor.npy", f)
            extra[f"{method}.floor"] = rel_l2(f, a)
    s = time.perf_counter()
    extra.update(reference_self_checks(model, x, t, got))
    timings["self_checks"] = time.perf_counter() - s

    meta = {
        "case": args.case,
        "arch": arch,
        "in_channels": c,
        "dtype": dtype,
        "n": args.n,
        "seed": args.seed,
        "size": SIZE,
        "num_classes": NUM_CLASSES,
        "versions": versions,
        "threads": torch.get_num_threads(),
        "targets": t.tolist(),
        "argmax": logits32.argmax(dim=1).tolist(),
        "logits_abs_max": logits.abs().max().item(),
        "bn_running_var_range": [
            min(m.running_var.min().item() for m in model.modules() if isinstance(m, nn.BatchNorm2d)),
            max(m.running_var.max().item() for m in model.modules() if isinstance(m, nn.BatchNorm2d)),
        ],
        "norms": {m: got[m].double().norm().item() for m in METHODS},
        "checks": extra,
        "timings_s": timings,
        "total_s": time.perf_counter() - t0,
    }
    with open(out("meta.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    # Guided Backprop / Deconvolution must match the independent implementation to
    # rounding; if not, the reference itself is wrong and no test may use it.
    bound = 1e-5 if dtype == "f32" else 1e-12
    for k, v in extra.items():
        if k.endswith("captum_vs_independent") and not v <= bound:
            sys.exit(f"golden.py: reference self-check failed: {k} = {v:.3e} > {bound:.0e}")
    print(json.dumps({k: meta[k] for k in ("case", "targets", "argmax", "logits_abs_max", "total_s")}))


if __name__ == "__main__":
    main()
