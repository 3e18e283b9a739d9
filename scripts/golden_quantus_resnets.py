"""Quantus 0.6.0 on Captum's attributions of real ResNets (issue 30, item 3): for
ResNet-18, ResNet-34 and ResNet-50 (scripts/golden.py's models: 1 channel, 10 classes,
non-trivial BatchNorm, SAR-like images, here 64 x 64 to keep Occlusion's 100 windows
cheap) and all eight methods, Captum 0.9's
attributions and Quantus' per-image Sparseness, Complexity, PointingGame,
RelevanceMassAccuracy and MaxSensitivity (the noise P.npy replayed), written to OUT:

  <arch>/weights.safetensors  X.npy  T.npy  mask.npy (uint8 N,64,64)  P.npy (S,N,1,64,64)
  <arch>/<method>.npy         Captum's attribution (float32; Grad-CAM its 2 x 2 layer map)
  quantus.json                per arch and method: Quantus' scores, and the calls

Quantus receives what sarxai computes on (docs/quantus.md): float64 copies; Grad-CAM's map
brought to the input size by nearest neighbour (sarxai's `to_input_resolution`; Quantus
refuses the layer map); the localisation metrics on the channel sum (Quantus has no
channel reduction). tests/golden_quantus.rs runs this script and holds `sarxai metrics
--convention quantus` to these scores within 1e-12 and `sarxai sensitivity --perturbations`
within each method's float32 bound against Captum (tests/golden.rs).

Run: .venv/bin/python scripts/golden_quantus_resnets.py OUT   (the ci/bootstrap.sh stack
with Quantus 0.6.0).
"""

import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402

golden.SIZE = 64  # sar_images and the mask frame read it at call time
ARCHS = ["resnet18", "resnet34", "resnet50"]
N = 2
SAMPLES = 2
RADIUS = 0.02


def masks(rng, n):
    """One box per image, inside the frame."""
    m = np.zeros((n, golden.SIZE, golden.SIZE), dtype=np.uint8)
    for i in range(n):
        r, c = rng.integers(4, golden.SIZE // 2, size=2)
        h, w = rng.integers(10, golden.SIZE // 3, size=2)
        m[i, r : r + h, c : c + w] = 1
    return m


def captum(method, model, x, t):
    a = golden.attribute(method, model, x, t)
    return (a[0] if method == "integrated-gradients" else a).detach()


def at_input(a):
    """The attribution at the input resolution, as sarxai's to_input_resolution."""
    return F.interpolate(a, size=(golden.SIZE, golden.SIZE), mode="nearest") if a.shape[-1] != golden.SIZE else a


def scores(metric, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [float(v) for v in np.asarray(metric(**kw), dtype=np.float64)]


def quantus_of(method, model, x, t, a, mask, p):
    """Quantus' five scores of one method's attributions."""
    import quantus

    full = at_input(a).double().numpy()
    y = t.numpy()
    xs = x.numpy()
    out = {
        "sparseness": scores(quantus.Sparseness(disable_warnings=True), model=None, x_batch=xs, y_batch=y, a_batch=full),
        "complexity": scores(quantus.Complexity(disable_warnings=True), model=None, x_batch=xs, y_batch=y, a_batch=full),
    }
    summed = full.sum(axis=1, keepdims=True)
    s_batch = mask[:, None].astype(np.float64)
    for key, cls in [("pointing_game", quantus.PointingGame), ("relevance_mass_accuracy", quantus.RelevanceMassAccuracy)]:
        out[key] = scores(cls(disable_warnings=True), model=None, x_batch=xs, y_batch=y, a_batch=summed, s_batch=s_batch)

    def explain(model, inputs, targets, **kw):
        xi = torch.from_numpy(np.asarray(inputs, dtype=np.float32))
        return at_input(captum(method, model, xi, torch.from_numpy(np.asarray(targets)))).numpy()

    step = {"k": 0}

    def replay(arr, indices, **kw):
        k = step["k"]
        step["k"] += 1
        return arr + p[k].reshape(arr.shape)

    ms = quantus.MaxSensitivity(nr_samples=SAMPLES, perturb_func=replay, disable_warnings=True)
    out["max_sensitivity"] = scores(ms, model=model, x_batch=xs, y_batch=y, a_batch=None, explain_func=explain, batch_size=N)
    assert step["k"] == SAMPLES
    return out


def main():
    root = sys.argv[1]
    versions = golden.check_versions()
    import quantus

    versions["quantus"] = quantus.__version__
    warnings.filterwarnings("ignore")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    result = {"versions": versions, "n": N, "samples": SAMPLES, "radius": RADIUS, "archs": {}}
    for k, arch in enumerate(ARCHS):
        out = os.path.join(root, arch)
        os.makedirs(out, exist_ok=True)
        model = golden.build_model(arch, 1, k)
        save_file({n: v.contiguous() for n, v in model.state_dict().items()}, os.path.join(out, "weights.safetensors"))
        rng = np.random.default_rng(100 + k)
        x = torch.from_numpy(golden.sar_images(rng, N, 1))
        with torch.no_grad():
            t = golden.choose_targets(model(x))
        mask = masks(rng, N)
        g = torch.Generator().manual_seed(200 + k)
        p = ((torch.rand((SAMPLES,) + tuple(x.shape), generator=g) * 2 - 1) * RADIUS).numpy()
        for name, arr in [("X", x.numpy()), ("T", t.numpy()), ("mask", mask), ("P", p)]:
            np.save(os.path.join(out, f"{name}.npy"), arr)
        methods = {}
        for method in golden.METHODS:
            a = captum(method, model, x, t)
            np.save(os.path.join(out, f"{method}.npy"), a.numpy().astype(np.float32))
            methods[method] = quantus_of(method, model, x, t, a.float(), mask, p)
            print(arch, method, {m: [round(v, 6) for v in s] for m, s in methods[method].items()}, flush=True)
        result["archs"][arch] = methods
    with open(os.path.join(root, "quantus.json"), "w") as fh:
        json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
