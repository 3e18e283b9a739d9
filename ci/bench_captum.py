#!/usr/bin/env python3
"""sarxai against Captum 0.9 side by side, measured in one run on one machine.

Builds a torchvision ResNet (random weights, BatchNorm statistics from a few training-mode
passes), saves it as safetensors with inputs and targets, times every Captum method and
Captum's sensitivity_max (best of --repeat after one warm-up), runs
`sarxai explain/sensitivity --repeat` on the same files with the same thread count, and
prints per method the ratio Captum time / sarxai time (> 1: sarxai is faster).

With --rss it also measures each method's peak resident memory (max RSS, from GNU time's
%M) in a fresh process per method and side: `sarxai explain --method M` and a Python
process that imports torch and Captum, loads the same weights and runs the method once;
the baseline rows are the same processes running no method (libtorch / torch loaded,
weights and inputs read), so peak - baseline is what the method itself needs.

Usage: .venv/bin/python ci/bench_captum.py [--arch resnet18] [--batch 16] [--threads 2]
           [--device cpu|cuda] [--repeat 3] [--repeat-fast 10] [--sensitivity-batch 1]
           [--sarxai target/release/sarxai] [--methods occlusion] [--sensitivity-methods occlusion]
           [--rss] [--cuda-fast]
Both sides run under the same libtorch numerics flags: sarxai's deterministic default
(TF32 off, cuDNN deterministic, no benchmark, deterministic algorithms), or with
--cuda-fast the fast ones.
"""
import argparse, json, os, subprocess, sys, time

import numpy as np
import torch, torchvision
from safetensors.torch import save_file
from captum.attr import (Saliency, InputXGradient, IntegratedGradients, GuidedBackprop, Deconvolution,
                         LayerGradCam, GuidedGradCam, Occlusion)
from captum.metrics import sensitivity_max

SLOW = ["integrated-gradients", "occlusion"]
METHODS = ["saliency", "input-x-gradient", "integrated-gradients", "guided-backprop", "deconvolution",
           "grad-cam", "guided-grad-cam", "occlusion"]


def captum_fn(name, model, c):
    if name == "saliency": return lambda x, target: Saliency(model).attribute(x, target=target)
    if name == "input-x-gradient": return lambda x, target: InputXGradient(model).attribute(x, target=target)
    if name == "integrated-gradients": return lambda x, target: IntegratedGradients(model).attribute(x, target=target)
    if name == "guided-backprop": return lambda x, target: GuidedBackprop(model).attribute(x, target=target)
    if name == "deconvolution": return lambda x, target: Deconvolution(model).attribute(x, target=target)
    if name == "grad-cam": return lambda x, target: LayerGradCam(model, model.layer4).attribute(x, target=target)
    if name == "guided-grad-cam": return lambda x, target: GuidedGradCam(model, model.layer4).attribute(x, target=target)
    if name == "occlusion":
        return lambda x, target: Occlusion(model).attribute(x, target=target, sliding_window_shapes=(c, 15, 15), strides=(c, 5, 5))
    raise ValueError(name)


def best(f, repeat, device):
    f()
    if device == "cuda": torch.cuda.synchronize()
    b = float("inf")
    for _ in range(repeat):
        t = time.perf_counter(); f()
        if device == "cuda": torch.cuda.synchronize()
        b = min(b, time.perf_counter() - t)
    return b


def load_model(arch, path, device):
    from safetensors.torch import load_file
    m = getattr(torchvision.models, arch)(num_classes=10)
    m.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    m.load_state_dict(load_file(path))
    for mod in m.modules():
        if isinstance(mod, torch.nn.ReLU): mod.inplace = False
    return m.eval().to(device)


def set_numerics(fast):
    """Captum's side runs under the libtorch numerics flags sarxai sets on its own (issue 15):
    by default TF32 off, cuDNN deterministic without benchmark, deterministic algorithms
    (warn-only); with --cuda-fast TF32 and cuDNN benchmark on, no determinism."""
    torch.backends.cuda.matmul.allow_tf32 = fast
    torch.backends.cudnn.allow_tf32 = fast
    torch.backends.cudnn.benchmark = fast
    torch.backends.cudnn.deterministic = not fast
    torch.use_deterministic_algorithms(not fast, warn_only=True)


def rss_child(a):
    """One Captum method once (or none: the baseline), for --rss's peak measurement."""
    torch.set_num_threads(a.threads)
    set_numerics(a.cuda_fast)
    m = load_model(a.arch, f"{a.out}/w.safetensors", a.device)
    x = torch.from_numpy(np.load(f"{a.out}/x.npy")).to(a.device)
    t = torch.from_numpy(np.load(f"{a.out}/t.npy")).to(a.device)
    if a.rss_child != "none":
        captum_fn(a.rss_child, m, 1)(x, t)


def peak_rss_mib(cmd):
    r = subprocess.run(["/usr/bin/time", "-f", "RSS_KB %M", *cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench_captum.py: {' '.join(cmd)} failed:\n{r.stderr}")
    kb = [l for l in r.stderr.splitlines() if l.startswith("RSS_KB ")][-1].split()[1]
    return int(kb) / 1024


def rss_table(a, common):
    me = [sys.executable, os.path.abspath(__file__), "--arch", a.arch, "--out", a.out, "--threads", str(a.threads),
          "--device", a.device, *(["--cuda-fast"] if a.cuda_fast else []), "--rss-child"]
    rows = [("(baseline: load only)", peak_rss_mib(me + ["none"]),
             peak_rss_mib([a.sarxai, "model", "info", f"{a.out}/w.safetensors"]))]
    for n in METHODS:
        rows.append((n, peak_rss_mib(me + [n]),
                     peak_rss_mib([a.sarxai, "explain", *common, "--input", f"{a.out}/x.npy", "--target",
                                   f"{a.out}/t.npy", "--method", n, "--out", f"{a.out}/rss"])))
    print(f"\n# Peak RSS (MiB), one process per method, batch {a.batch}, {a.device}")
    print("| method | Captum (Python) | sarxai |\n|---|---|---|")
    for n, c, s in rows:
        print(f"| {n} | {c:.0f} | {s:.0f} |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="resnet18"); p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2); p.add_argument("--device", default="cpu")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of IG and occlusion (best is kept)")
    p.add_argument("--repeat-fast", type=int, default=10, help="timed runs of the one-pass methods")
    p.add_argument("--sensitivity-batch", type=int, default=1)
    p.add_argument("--sensitivity-methods", default="saliency,integrated-gradients,occlusion")
    p.add_argument("--methods", default=",".join(METHODS), help="the methods timed (default: all eight)")
    p.add_argument("--sarxai", default="target/release/sarxai"); p.add_argument("--out", default="target/bench-captum")
    p.add_argument("--rss", action="store_true", help="also measure peak RSS per method (one process each)")
    p.add_argument("--rss-child", help=argparse.SUPPRESS)
    p.add_argument("--cuda-fast", action="store_true",
                   help="both sides with TF32, cuDNN benchmark and no deterministic algorithms")
    a = p.parse_args()
    if a.rss_child:
        return rss_child(a)
    torch.set_num_threads(a.threads)
    set_numerics(a.cuda_fast)
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    m = getattr(torchvision.models, a.arch)(num_classes=10)
    m.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    m.train()
    with torch.no_grad():
        for _ in range(3): m(torch.randn(8, 1, 100, 100))
    m.eval()
    for mod in m.modules():
        if isinstance(mod, torch.nn.ReLU): mod.inplace = False
    save_file(m.state_dict(), f"{a.out}/w.safetensors")
    x = torch.rand(a.batch, 1, 100, 100); t = torch.randint(0, 10, (a.batch,))
    np.save(f"{a.out}/x.npy", x.numpy()); np.save(f"{a.out}/t.npy", t.numpy())
    xs, ts = x[:a.sensitivity_batch], t[:a.sensitivity_batch]
    np.save(f"{a.out}/xs.npy", xs.numpy()); np.save(f"{a.out}/ts.npy", ts.numpy())
    m = m.to(a.device); xd, td = x.to(a.device), t.to(a.device); xsd, tsd = xs.to(a.device), ts.to(a.device)
    methods = [n for n in METHODS if n in a.methods.split(",")]
    reps = {n: a.repeat if n in SLOW else a.repeat_fast for n in methods}
    captum = {n: best(lambda: captum_fn(n, m, 1)(xd, td), reps[n], a.device) for n in methods}
    sens_methods = a.sensitivity_methods.split(",")
    captum_sens = {n: best(lambda: sensitivity_max(captum_fn(n, m, 1), xsd, target=tsd), max(1, a.repeat - 2), a.device)
                   for n in sens_methods}
    env = dict(os.environ)
    common = ["--weights", f"{a.out}/w.safetensors", "--arch", a.arch, "--device", a.device, "--threads", str(a.threads)]
    if a.cuda_fast:
        common.append("--cuda-fast")
    sx = {}
    for group, r in (([n for n in methods if n in SLOW], a.repeat),
                     ([n for n in methods if n not in SLOW], a.repeat_fast)):
        if not group:
            continue
        subprocess.run([a.sarxai, "explain", *common, "--input", f"{a.out}/x.npy", "--target", f"{a.out}/t.npy",
                        "--method", ",".join(group), "--out", f"{a.out}/sx", "--repeat", str(r)], check=True, env=env,
                       stderr=subprocess.DEVNULL)
        sx.update(json.load(open(f"{a.out}/sx/timings.json")))
    subprocess.run([a.sarxai, "sensitivity", *common, "--input", f"{a.out}/xs.npy", "--target", f"{a.out}/ts.npy",
                    "--method", ",".join(sens_methods), "--out", f"{a.out}/sxs", "--repeat", str(max(1, a.repeat - 2))],
                   check=True, env=env, stderr=subprocess.DEVNULL)
    sxs = json.load(open(f"{a.out}/sxs/sensitivity_timings.json"))
    print(f"# {a.arch}, batch {a.batch}, 100x100, f32, device {a.device}, {a.threads} threads, "
          f"best of {a.repeat} (IG, occlusion) or {a.repeat_fast} (the others) after one warm-up")
    print(f"| method | Captum s | sarxai s | Captum / sarxai |\n|---|---|---|---|")
    for n in methods:
        print(f"| {n} | {captum[n]:.3f} | {sx[n]:.3f} | {captum[n] / sx[n]:.2f} |")
    print(f"\n# Max-Sensitivity (10 samples), batch {a.sensitivity_batch}")
    print(f"| method | Captum s | sarxai s | Captum / sarxai |\n|---|---|---|---|")
    for n in sens_methods:
        print(f"| {n} | {captum_sens[n]:.3f} | {sxs[n]:.3f} | {captum_sens[n] / sxs[n]:.2f} |")
    if a.rss:
        rss_table(a, common)


if __name__ == "__main__":
    main()
