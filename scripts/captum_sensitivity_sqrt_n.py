#!/usr/bin/env python3
"""Reproducer: Captum's ``sensitivity_max`` reports sqrt(n_perturb_samples) times the
defined Max-Sensitivity when the explanation function is ``LayerGradCam.attribute``.

What it shows
    ``sensitivity_max(LayerGradCam(model, model.layer4).attribute, x, target=t,
    n_perturb_samples=n)`` on a torchvision ResNet-18 and one image, next to the same
    quantity computed by hand from its definition (Yeh et al. 2019, Captum's docstring):

        max_i || E(x + d_i) - E(x) ||_F / || E(x) ||_F ,   i = 1..n

    with E = LayerGradCam(model, model.layer4).attribute(., target=t) (no ReLU, no
    upsampling: the (1, 1, 4, 4) layer4 map) and the same n perturbations d_i on both
    sides (drawn once, uniform in [-0.02, 0.02] like Captum's default_perturb_func, and
    handed to Captum through a ``perturb_func``). For n = 1, 4, 10 the ratio
    Captum / by-hand is sqrt(n): 1.000, 2.000, 3.162. The script asserts this to 3
    decimals and exits non-zero otherwise. (Not to the last bit: Captum explains the n
    perturbed inputs in one batch, the by-hand value one at a time, and the float32
    results differ by about 1e-5 relative here.)

    Cause (captum/metrics/_core/sensitivity.py, 0.9.0): the explanation of the
    unperturbed inputs (line 315) is never formatted into a tuple. LayerGradCam answers
    the 1-tuple ``inputs`` with a bare tensor (one layer), so lines 268-271 iterate over
    that tensor's batch dimension and build an (n, 4, 4) tensor instead of (n, 1, 4, 4);
    line 275 broadcasts it against the perturbed maps (n, 1, 4, 4) to (n, n, 4, 4), so
    each row of ``.view(n, -1)`` holds sample i's difference n times: its Frobenius
    norm is sqrt(n) times the true one (the denominator is unaffected).

    Two controls: the same LayerGradCam wrapped so that it returns a tuple for a tuple
    input gives ratio 1.000 at every n; ``--with-fix`` runs sensitivity_max from the
    installed sensitivity.py with the proposed one-line fix applied to its source
    (``expl_inputs = _format_tensor_into_tuples(expl_inputs)`` after line 315) and
    asserts ratio 1.000 at every n. Captum's own tests/metrics/test_sensitivity.py (9
    tests) pass with the fix.

How to run (CPU, a few seconds)
    .venv/bin/python scripts/captum_sensitivity_sqrt_n.py [--with-fix]

Versions
    Written against captum 0.9.0, torch 2.11.0, torchvision 0.26.0 (the project's
    .venv); the versions in use are printed first. Needs torch, torchvision and captum
    only; the model is torchvision's ResNet-18 with random weights (seed 0), eval mode.
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
import types
import warnings

import captum
import captum.metrics._core.sensitivity as captum_sensitivity
import torch
import torchvision
from captum.attr import LayerGradCam
from captum.metrics import sensitivity_max

SIZE = 112  # layer4 map of a 112 x 112 input: 4 x 4
RADIUS = 0.02  # Captum's default perturb_radius
SAMPLES = (1, 4, 10)

# The proposed fix, applied to the installed file's source for --with-fix.
CAUSE_LINE = "        expl_inputs: TensorOrTupleOfTensorsGeneric = explanation_func(inputs, **kwargs)\n"
FIX_LINE = (
    "        # `inputs` is a tuple here, but an explanation function may answer it with a\n"
    "        # bare tensor (e.g. LayerGradCam): iterate over explanations, not over the batch\n"
    "        expl_inputs = _format_tensor_into_tuples(expl_inputs)\n"
)


def patched_sensitivity_max():
    """sensitivity_max from captum's own sensitivity.py with the one-line fix."""
    src = inspect.getsource(captum_sensitivity)
    if src.count(CAUSE_LINE) != 1:
        sys.exit("captum_sensitivity_sqrt_n.py: line 315 of sensitivity.py not found; not captum 0.9?")
    mod = types.ModuleType("captum_sensitivity_fixed")
    mod.__file__ = captum_sensitivity.__file__
    exec(compile(src.replace(CAUSE_LINE, CAUSE_LINE + FIX_LINE), "<sensitivity.py + fix>", "exec"), mod.__dict__)
    return mod.sensitivity_max


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--with-fix", action="store_true", help="also run sensitivity_max with the proposed fix")
    args = p.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    warnings.filterwarnings("ignore", message=".*did not already require gradients.*")
    print(
        f"python {sys.version.split()[0]}  torch {torch.__version__}  "
        f"torchvision {torchvision.__version__}  captum {captum.__version__}"
    )

    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    g = torch.Generator().manual_seed(1)
    x = torch.rand((1, 3, SIZE, SIZE), generator=g)
    with torch.no_grad():
        t = model(x).argmax(dim=1)  # shape (1,)
    # For each n its own n perturbations, uniform in [-RADIUS, RADIUS], drawn once.
    noise = {n: (torch.rand((n, 3, SIZE, SIZE), generator=g) * 2 - 1) * RADIUS for n in SAMPLES}

    explain = LayerGradCam(model, model.layer4).attribute  # the explanation function

    def explain_tuple(inputs, target):
        """The same explanation, returned as a tuple when given a tuple (as other methods do)."""
        if isinstance(inputs, tuple):
            return (explain(inputs[0], target=target),)
        return explain(inputs, target=target)

    e0 = explain(x, target=t).detach()
    e0_from_tuple = explain((x,), target=t)
    print(
        f"LayerGradCam.attribute(x) -> {tuple(e0.shape)}; "
        f"LayerGradCam.attribute((x,)) -> {type(e0_from_tuple).__name__} {tuple(e0_from_tuple.shape)}"
    )

    def by_hand(n: int) -> float:
        """max_i ||E(x + d_i) - E(x)||_F / ||E(x)||_F, one perturbed input at a time."""
        den = torch.linalg.norm(e0.double())
        return max(
            float(torch.linalg.norm((explain(x + noise[n][i : i + 1], target=t).detach() - e0).double()) / den)
            for i in range(n)
        )

    def perturb_for(n: int):
        def perturb_func(inputs_expanded):  # one parameter: Captum does not pass the radius
            assert torch.equal(inputs_expanded, x.repeat_interleave(n, dim=0))
            return inputs_expanded + noise[n]

        return perturb_func

    def captum_value(sens_max, func, n: int) -> float:
        ms = sens_max(func, x, perturb_func=perturb_for(n), n_perturb_samples=n, target=t)
        assert ms.shape == (1,), ms.shape
        return float(ms[0])

    runs = [("Captum 0.9 sensitivity_max(LayerGradCam(model, model.layer4).attribute, ...)", sensitivity_max, explain, math.sqrt)]
    runs.append(("control: the same explanation returned as a tuple", sensitivity_max, explain_tuple, lambda n: 1.0))
    if args.with_fix:
        runs.append(("--with-fix: sensitivity_max with the proposed fix, bare attribute", patched_sensitivity_max(), explain, lambda n: 1.0))

    hand = {n: by_hand(n) for n in SAMPLES}
    failures = []
    for title, sens_max, func, expected in runs:
        print(title)
        for n in SAMPLES:
            c = captum_value(sens_max, func, n)
            ratio = c / hand[n]
            ok = f"{ratio:.3f}" == f"{expected(n):.3f}"
            print(f"n={n:<2d} captum={c:.6f}  by_hand={hand[n]:.6f}  ratio={ratio:.3f}  expected={expected(n):.3f}")
            if not ok:
                failures.append(f"{title}: n={n} ratio {ratio:.6f}, expected {expected(n):.3f}")
    if failures:
        print("FAIL\n" + "\n".join(failures))
        return 1
    print("OK: Captum / by-hand = sqrt(n) for the bare LayerGradCam.attribute; 1 for the controls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
