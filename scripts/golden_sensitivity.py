#!/usr/bin/env python3
"""Golden reference for Max-Sensitivity: Captum 0.9's ``sensitivity_max`` with explicit
perturbations, for the eight attribution methods (tests/golden.rs, ``max_sensitivity``).

The model, images and targets are those of ``scripts/golden.py`` (same functions, same
seeds). The noise is drawn here, uniform in [-radius, radius] like Captum's
``default_perturb_func``, saved as P.npy (S, N, C, H, W), and handed to Captum through a
``perturb_func`` that returns ``x + P[s, n]`` for sample s of image n, so that sarxai
(``sarxai sensitivity --perturbations P.npy``) and Captum see the same perturbed inputs.
Captum evaluates all S x N perturbed inputs in one batch (max_examples_per_batch=None),
ordered image-major (``repeat_interleave``), which ``perturb_func`` asserts.

Usage:
    .venv/bin/python scripts/golden_sensitivity.py --case resnet18-c1-f32 --out DIR
        [--n 3] [--samples 4] [--radius 0.02] [--seed 0]

Files written to DIR: weights.safetensors, X.npy, T.npy, P.npy (float32) and
<method>.sensitivity.npy (Captum's per-image Max-Sensitivity, float64 copy of its
float32 result), {grad-cam,saliency}.sensitivity_captum09.npy (``sensitivity_max`` called
the paper's way: one image at a time with the method's bound ``attribute``, which for
LayerGradCam reports sqrt(S) times the true value), meta.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
from captum.attr import LayerGradCam, Saliency
from captum.metrics import sensitivity_max
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402  (same directory: model, images, targets, Captum calls)


def image_perturbation(x_i, d_i, samples):
    """perturb_func for one image: x_i repeated `samples` times plus its noise d_i (S, C, H, W)."""

    def perturb(inputs_expanded):
        assert torch.equal(inputs_expanded, x_i.repeat_interleave(samples, dim=0))
        return inputs_expanded + d_i

    return perturb


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", required=True, help="ARCH-cC-f32, e.g. resnet18-c1-f32")
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=3)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--radius", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    arch, c, dtype = golden.parse_case(args.case)
    if dtype != "f32":
        sys.exit("golden_sensitivity.py: float32 cases only (the CLI contract's P.npy is float32)")
    versions = golden.check_versions()
    warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU activations")
    warnings.filterwarnings("ignore", message=".*Input Tensor .* did not already require gradients.*")
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731

    t0 = time.perf_counter()
    model = golden.build_model(arch, c, args.seed)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out("weights.safetensors"))
    x = torch.from_numpy(golden.sar_images(np.random.default_rng(args.seed + 3), args.n, c))
    with torch.no_grad():
        t = golden.choose_targets(model(x))
    g = torch.Generator().manual_seed(args.seed + 4)
    noise = (torch.rand((args.samples,) + tuple(x.shape), generator=g, dtype=torch.float32) * 2 - 1) * args.radius
    np.save(out("X.npy"), x.numpy())
    np.save(out("T.npy"), t.numpy())
    np.save(out("P.npy"), noise.numpy())
    # Captum's order of the expanded batch: image-major, sample-minor.
    d = noise.transpose(0, 1).reshape((args.samples * args.n,) + tuple(x.shape[1:]))

    def perturb_func(inputs_expanded):
        assert inputs_expanded.shape == d.shape, (inputs_expanded.shape, d.shape)
        assert torch.equal(inputs_expanded, x.repeat_interleave(args.samples, dim=0))
        return inputs_expanded + d

    timings, values = {}, {}
    for method in golden.METHODS:

        def explain(inputs, target):
            # Captum passes the unperturbed inputs as a 1-tuple and expects a tuple back
            # (it iterates over the explanation), the perturbed ones as a tensor.
            as_tuple = isinstance(inputs, tuple)
            a = golden.attribute(method, model, inputs[0] if as_tuple else inputs, target)
            a = a[0] if method == "integrated-gradients" else a  # (attributions, delta)
            return (a,) if as_tuple else a

        s = time.perf_counter()
        ms = sensitivity_max(explain, x, perturb_func=perturb_func, n_perturb_samples=args.samples, target=t)
        timings[method] = time.perf_counter() - s
        assert ms.shape == (args.n,) and ms.dtype == torch.float32, (method, ms.shape, ms.dtype)
        values[method] = ms.tolist()
        np.save(out(f"{method}.sensitivity.npy"), ms.double().numpy())
    # The paper's way: one image at a time, the method's own bound `attribute` as the
    # explanation function. For LayerGradCam this reports sqrt(S) times the true value
    # (src/metrics/sensitivity.rs, `captum09_reported`); for Saliency it changes nothing.
    paper_way = {"grad-cam": LayerGradCam(model, model.layer4).attribute, "saliency": Saliency(model).attribute}
    captum09 = {}
    for method, explain in paper_way.items():
        per_image = []
        for i in range(args.n):
            # One parameter only: Captum passes the radius as a second argument when the
            # function takes one (inspect.signature), which would replace a default-bound d.
            perturb_one = image_perturbation(x[i : i + 1], noise[:, i], args.samples)

            ms = sensitivity_max(
                explain, x[i : i + 1], perturb_func=perturb_one, n_perturb_samples=args.samples, target=t[i : i + 1]
            )
            per_image.append(float(ms[0]))
        captum09[method] = per_image
        np.save(out(f"{method}.sensitivity_captum09.npy"), np.array(per_image, dtype=np.float64))
    meta = {
        "case": args.case,
        "n": args.n,
        "samples": args.samples,
        "radius": args.radius,
        "seed": args.seed,
        "versions": versions,
        "threads": torch.get_num_threads(),
        "targets": t.tolist(),
        "max_sensitivity": values,
        "max_sensitivity_captum09_paper_way": captum09,
        "timings_s": timings,
        "total_s": time.perf_counter() - t0,
    }
    with open(out("meta.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    print(json.dumps({k: meta[k] for k in ("case", "targets", "total_s")}))


if __name__ == "__main__":
    main()
