#!/usr/bin/env python3
"""Golden per-image scores of Quantus 0.6.0 for the metrics that sarxai shares with it
(issue 30 item 3; docs/quantus.md explains every mapping and difference).

Run (from the repository root, in the virtual environment of ci/bootstrap.sh plus the
Quantus pins below):

    .venv/bin/python scripts/quantus_goldens.py            # writes fixtures/quantus/
    .venv/bin/python scripts/quantus_goldens.py --check    # regenerates in memory, compares bytes
    .venv/bin/python scripts/quantus_goldens.py --max-sensitivity DIR [--methods saliency,...]
        # DIR = the output of scripts/golden_sensitivity.py (weights, X, T, P.npy):
        # writes DIR/quantus_max_sensitivity.json, Quantus' MaxSensitivity with P replayed
        # next to Captum's values (about 2.5 min for all methods on 2 cores, occlusion most)

Needs: quantus==0.6.0 and its dependencies at the pins of docs/quantus.md (installed next to
torch 2.11.0, numpy 2.4.6, captum 0.9.0, matplotlib 3.10.9, which it does not change). No
network, no GPU, no model weights (the default mode uses no model at all); a few seconds.

Deterministic: the inputs come from numpy's PCG64 with a fixed seed, every array is
written with np.save and the JSON with fixed key order, so a rerun rewrites identical
bytes (``--check`` verifies that).

Files written to fixtures/quantus/:

    attr_c1.npy      float32 (8, 1, 24, 24)  attributions, 8 cases (see CASES)
    attr_c2.npy      float32 (8, 2, 24, 24)  the same cases with two channels
    masks.npy        uint8   (8, 24, 24)     ground-truth masks (0/1); image 7's is empty
    attr_c2_b.npy    float32 (8, 2, 24, 24)  a second map per image, for the Spearman
                                             correlation of the randomisation test
    infid_x.npy      float32 (3, 2, 12, 12)  inputs of the Infidelity toy model
    infid_attr.npy   float32 (3, 2, 12, 12)  attributions scored by Infidelity
    infid_w.npy      float32 (4, 2, 12, 12)  toy model weights W (4 classes)
    infid_q.npy      float32 (4,)            toy model quadratic coefficients q
    infid_targets.npy int64  (3,)            target classes
    infid_perturbations.npy float32 (9, 3, 2, 12, 12)  Quantus' patch perturbations
                                             I_k = x - x_k, in sarxai's GivenPerturbations
                                             layout (S, N, C, H, W)
    quantus_0.6.0.json   per metric and variant: the exact Quantus call, its per-image
                         scores (NaN written as null), sarxai's formula on the same data
                         (numpy float64 reimplementation), and the measured differences.

Every Quantus call gets float64 copies of the float32 arrays (Quantus computes in the
attribution's dtype), so that the scores differ from sarxai's float64 arithmetic only by
the deliberate differences; the float32 calls are recorded as well, to size the float32
rounding.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "quantus")
SEED = 20240530
N, H, W = 8, 24, 24

CASES = [
    "dense signed Gaussian noise",
    "sparse: ~5% of the elements positive (exponential), the rest 0",
    "signed blobs: positive blob in the mask, larger negative blob outside",
    "all-equal map (0.25 everywhere)",
    "single non-zero pixel (3.0, channel 0, outside the mask)",
    "all-zero map",
    "non-negative smooth map (saliency-like), peak in the mask",
    "dense signed heavy-tailed (Student t, 3 dof) map; empty mask",
]

PINS = {
    "quantus": "0.6.0",
    "numpy": "2.4.6",
    "scipy": "1.17.1",
    "scikit-learn": "1.9.1",
    "scikit-image": "0.26.0",
    "pandas": "3.1.1",
    "opencv-python-headless": "5.1.0.95",
}


# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------


def smooth(rng, shape, passes=3):
    """Box-blurred noise (separable 3-tap, `passes` times, edge-replicated)."""
    a = rng.standard_normal(shape)
    for _ in range(passes):
        p = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(1, 1), (1, 1)], mode="edge")
        a = (p[..., :-2, 1:-1] + p[..., 1:-1, 1:-1] + p[..., 2:, 1:-1]) / 3.0
        p = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(1, 1), (1, 1)], mode="edge")
        a = (p[..., 1:-1, :-2] + p[..., 1:-1, 1:-1] + p[..., 1:-1, 2:]) / 3.0
    return a


def blob(cy, cx, sigma):
    yy, xx = np.mgrid[0:H, 0:W]
    return np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2.0 * sigma**2))


def make_masks(rng):
    masks = np.zeros((N, H, W), dtype=np.uint8)
    boxes = []
    for i in range(N - 1):  # image 7: empty mask
        h, w = rng.integers(5, 11, size=2)
        r0, c0 = rng.integers(1, H - h), rng.integers(1, W - w)
        masks[i, r0 : r0 + h, c0 : c0 + w] = 1
        boxes.append((int(r0), int(c0), int(h), int(w)))
    boxes.append(None)
    return masks, boxes


def make_attr(rng, c, boxes):
    a = np.zeros((N, c, H, W), dtype=np.float64)
    a[0] = rng.standard_normal((c, H, W))
    sparse = rng.random((c, H, W)) < 0.05
    a[1] = np.where(sparse, rng.exponential(1.0, (c, H, W)), 0.0)
    r0, c0, h, w = boxes[2]
    inside = blob(r0 + h / 2.0, c0 + w / 2.0, 2.0)
    oy, ox = (r0 + h / 2.0 + 12) % H, (c0 + w / 2.0 + 12) % W
    outside = blob(oy, ox, 2.5)
    a[2, 0] = inside - 2.0 * outside
    if c > 1:  # second channel: partly cancels the first
        a[2, 1] = -0.5 * inside + 0.8 * outside + 0.05 * rng.standard_normal((H, W))
    a[3] = 0.25
    r0, c0, h, w = boxes[4]
    a[4, 0, (r0 + h + 2) % H, (c0 + w + 2) % W] = 3.0  # outside the mask (boxes end < H-1)
    # a[5] stays all zero
    r0, c0, h, w = boxes[6]
    a[6] = np.abs(smooth(rng, (c, H, W))) + 1.5 * blob(r0 + h / 2.0, c0 + w / 2.0, 2.0)
    a[7] = rng.standard_t(3, (c, H, W))
    return a.astype(np.float32)


def make_spearman_b(rng, a):
    """A second map per image: a noisy copy with ties (zeros) and sign flips."""
    b = a.astype(np.float64) + 0.5 * a.std() * rng.standard_normal(a.shape)
    b = np.where(rng.random(a.shape) < 0.1, 0.0, b)  # ties at 0
    b[4] = np.abs(b[4])  # image 4: |b| ranks like b
    b[6] = -b[6]  # image 6: sign flip (abs makes no difference)
    b[7] = np.round(b[7])  # image 7: heavy ties
    return b.astype(np.float32)


def make_infidelity(rng):
    """Toy model with values on dyadic grids, so that float32 arithmetic is exact."""
    n, c, h, w, k = 3, 2, 12, 12, 4
    x = rng.integers(0, 64, (n, c, h, w)).astype(np.float32) / 32.0  # [0, 2), step 2^-5
    wt = rng.integers(-32, 33, (k, c, h, w)).astype(np.float32) / 16.0  # [-2, 2], 2^-4
    q = np.array([0.25, -0.5, 0.125, 0.0], dtype=np.float32)
    attr = rng.integers(-128, 129, (n, c, h, w)).astype(np.float32) / 64.0  # 2^-6
    targets = np.array([0, 1, 2], dtype=np.int64)
    return x, wt, q, attr, targets


# ---------------------------------------------------------------------------------------
# sarxai's formulas (float64 numpy reimplementations of src/metrics/*.rs)
# ---------------------------------------------------------------------------------------


def sarxai_sparseness(a):
    """src/metrics/sparseness.rs `sparseness`: Gini of |a| over all elements, no eps."""
    a = np.abs(a.astype(np.float64).reshape(a.shape[0], -1))
    n = a.shape[1]
    s = np.sort(a, axis=1)
    wts = 2.0 * np.arange(n, dtype=np.float64) + (1 - n)
    num = (s * wts).sum(1)
    tot = s.sum(1)
    return np.where(tot != 0, num / np.where(tot != 0, tot * n, 1.0), 0.0)


def entropy_no_eps(a):
    """Quantus' Complexity without its 1e-12: -sum p ln p, p = |a| / sum|a|, 0 ln 0 = 0;
    NaN for an all-zero map (as Quantus). sarxai has no such function yet."""
    a = np.abs(a.astype(np.float64).reshape(a.shape[0], -1))
    tot = a.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = a / tot
        t = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    out = -t.sum(1)
    out[tot[:, 0] == 0] = np.nan
    return out


def channel_sum(a):
    return a.astype(np.float64).sum(axis=1)  # (N, H, W), signed


def sarxai_rma(a, m):
    """src/metrics/localisation.rs `relevance_mass_accuracy`: positive channel-summed mass."""
    r = np.clip(channel_sum(a).reshape(a.shape[0], -1), 0.0, None)
    mk = m.reshape(m.shape[0], -1) != 0
    tot = r.sum(1)
    inside = (r * mk).sum(1)
    out = np.where(tot > 0, inside / np.where(tot > 0, tot, 1.0), 0.0)
    out[~mk.any(1)] = np.nan
    return out


def sarxai_pointing_game(a, m):
    """src/metrics/localisation.rs `pointing_game`: any maximiser of the signed channel sum."""
    r = channel_sum(a).reshape(a.shape[0], -1)
    mk = m.reshape(m.shape[0], -1) != 0
    hit = ((r == r.max(1, keepdims=True)) & mk).any(1).astype(np.float64)
    hit[~mk.any(1)] = np.nan
    return hit


def average_ranks(v):
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v), dtype=np.float64)
    sv = v[order]
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def sarxai_spearman(a, b, use_abs):
    """src/metrics/randomisation.rs `spearman`: Pearson of average ranks, NaN if constant."""
    a = a.astype(np.float64).reshape(a.shape[0], -1)
    b = b.astype(np.float64).reshape(b.shape[0], -1)
    if use_abs:
        a, b = np.abs(a), np.abs(b)
    out = []
    for x, y in zip(a, b):
        rx, ry = average_ranks(x), average_ranks(y)
        dx, dy = rx - rx.mean(), ry - ry.mean()
        va, vb = (dx * dx).sum(), (dy * dy).sum()
        out.append(np.nan if va == 0 or vb == 0 else (dx * dy).sum() / np.sqrt(va * vb))
    return np.array(out)


def sarxai_infidelity(score, x, t, attr, pert):
    """src/metrics/infidelity.rs `infidelity_with` + `GivenPerturbations(pert)`:
    mean_s (I_s . Phi - (f(x) - f(x - I_s)))^2, in float64."""
    x64, phi = x.astype(np.float64), attr.astype(np.float64)
    fx = score(x64, t)
    out = []
    for i in range(x.shape[0]):
        vals = []
        for s in range(pert.shape[0]):
            d = pert[s, i].astype(np.float64)
            a_s = (d * phi[i]).sum()
            b_s = fx[i] - score((x64[i] - d)[None], t[i : i + 1])[0]
            vals.append((a_s - b_s) ** 2)
        out.append(np.mean(vals))
    return np.array(out)


# ---------------------------------------------------------------------------------------
# Quantus calls
# ---------------------------------------------------------------------------------------


def jl(v):
    """A list of floats for JSON: NaN as null."""
    return [None if (isinstance(x, float) and np.isnan(x)) else x for x in (float(y) for y in v)]


def maxdiff(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.abs(a - b)
    d[both_nan] = 0.0
    return None if np.isnan(d).any() else float(d.max())


def maxreldiff(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = ~(np.isnan(a) | np.isnan(b)) & (b != 0)
    return float((np.abs(a - b)[ok] / np.abs(b[ok])).max()) if ok.any() else None


def quantus_scores(metric, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(metric(**kw), dtype=np.float64)


def golden(attrs, masks, b2, infid):
    import quantus
    import scipy
    from quantus.functions.normalise_func import normalise_by_max
    from quantus.functions.similarity_func import correlation_spearman

    y = np.zeros(N, dtype=np.int64)
    metrics = {}

    def x_like(a):
        return np.zeros(a.shape, dtype=np.float32)

    # --- Sparseness --------------------------------------------------------------------
    sp = {
        "quantus_class": "quantus.Sparseness (quantus/metrics/complexity/sparseness.py)",
        "quantus_formula": "a = |a / max_{batch} |a||; a += 1e-7; a sorted ascending per image over all C*H*W elements; "
        "G = sum_i (2i - n - 1) a_(i) / (n sum_i a_(i))",
        "sarxai_function": "sarxai::metrics::sparseness::sparseness(attributions: &Tensor) -> Result<Tensor, MetricError>",
        "sarxai_formula": "G over |a| of all C*H*W elements, float64, no eps, no normalisation; all-zero map -> 0",
        "shape_mapping": "attributions (N, C, 24, 24) as given to both: no channel reduction in either",
        "closed_form_of_the_difference": "G_quantus = G * S / (S + n * 1e-7) (the weights 2i - n - 1 sum to 0), n = C*H*W, "
        "S = sum|a| / M, M = max |a| over the whole a_batch of the call (all images; batch_max_abs); with normalise=False, S = sum|a|",
    }
    for key, a in attrs.items():
        a64 = a.astype(np.float64)
        ref = sarxai_sparseness(a)
        n = a[0].size
        m = float(np.abs(a64).max())
        s = np.abs(a64).reshape(N, -1).sum(1) / m
        closed = ref * s / (s + n * 1e-7)
        q = quantus_scores(quantus.Sparseness(disable_warnings=True), model=None, x_batch=x_like(a), y_batch=y, a_batch=a64.copy())
        q_nonorm = quantus_scores(
            quantus.Sparseness(normalise=False, disable_warnings=True), model=None, x_batch=x_like(a), y_batch=y, a_batch=a64.copy()
        )
        q32 = quantus_scores(quantus.Sparseness(disable_warnings=True), model=None, x_batch=x_like(a), y_batch=y, a_batch=a.copy())
        sp[key] = {
            "attributions": f"attr_{key}.npy",
            "batch_max_abs": m,
            "sarxai_formula_f64": jl(ref),
            "quantus_default_f64": {
                "call": f"quantus.Sparseness(disable_warnings=True)(model=None, x_batch=np.zeros({a.shape}, float32), y_batch=np.zeros({N}, int64), a_batch=attr_{key}.astype(float64))",
                "args": {"abs": True, "normalise": True, "normalise_func": "normalise_by_max (all axes of a_batch, batch included)"},
                "scores": jl(q),
                "max_abs_diff_vs_sarxai": maxdiff(q, ref),
                "max_rel_diff_vs_sarxai": maxreldiff(q, ref),
                "max_abs_diff_vs_closed_form": maxdiff(q, closed),
            },
            "quantus_normalise_false_f64": {
                "call": f"quantus.Sparseness(normalise=False, disable_warnings=True)(... a_batch=attr_{key}.astype(float64))",
                "args": {"abs": True, "normalise": False},
                "scores": jl(q_nonorm),
                "max_abs_diff_vs_sarxai": maxdiff(q_nonorm, ref),
                "max_abs_diff_vs_closed_form_with_S_unnormalised": maxdiff(q_nonorm, ref * s * m / (s * m + n * 1e-7)),
            },
            "quantus_default_f32": {
                "call": f"quantus.Sparseness(disable_warnings=True)(... a_batch=attr_{key}) (float32 arithmetic)",
                "scores": jl(q32),
                "max_abs_diff_vs_quantus_default_f64": maxdiff(q32, q),
            },
        }
    metrics["sparseness"] = sp

    # --- Complexity --------------------------------------------------------------------
    cx = {
        "quantus_class": "quantus.Complexity (quantus/metrics/complexity/complexity.py)",
        "quantus_formula": "a = |a / max_{batch} |a||; p = a / sum a (per image, all C*H*W elements); "
        "score = -sum p ln(p + 1e-12) (nats); all-zero map -> NaN (0/0)",
        "sarxai_function": "none: sarxai has no Quantus Complexity (entropy.rs `shannon_bits` is the bits of the 8-bit "
        "histogram of the Captum-scaled |channel sum| map, another quantity)",
        "reference_no_eps": "-sum p ln p with 0 ln 0 = 0 (numpy float64), NaN for an all-zero map",
        "shape_mapping": "attributions (N, C, 24, 24) as given: no channel reduction",
    }
    for key, a in attrs.items():
        a64 = a.astype(np.float64)
        ref = entropy_no_eps(a)
        q = quantus_scores(quantus.Complexity(disable_warnings=True), model=None, x_batch=x_like(a), y_batch=y, a_batch=a64.copy())
        q32 = quantus_scores(quantus.Complexity(disable_warnings=True), model=None, x_batch=x_like(a), y_batch=y, a_batch=a.copy())
        sc = scipy.stats.entropy(np.abs(a64).reshape(N, -1), axis=1)
        cx[key] = {
            "attributions": f"attr_{key}.npy",
            "reference_no_eps_f64": jl(ref),
            "scipy_stats_entropy_f64": jl(sc),
            "quantus_default_f64": {
                "call": f"quantus.Complexity(disable_warnings=True)(model=None, x_batch=np.zeros({a.shape}, float32), y_batch=np.zeros({N}, int64), a_batch=attr_{key}.astype(float64))",
                "args": {"abs": True, "normalise": True},
                "scores": jl(q),
                "max_abs_diff_vs_reference_no_eps": maxdiff(q, ref),
            },
            "quantus_default_f32": {
                "call": f"quantus.Complexity(disable_warnings=True)(... a_batch=attr_{key}) (float32 arithmetic)",
                "scores": jl(q32),
                "max_abs_diff_vs_quantus_default_f64": maxdiff(q32, q),
            },
        }
    metrics["complexity"] = cx

    # --- PointingGame and RelevanceMassAccuracy -------------------------------------------
    s_batch = masks[:, None].astype(np.float64)
    for name, cls, ref_fn, formula in [
        (
            "pointing_game",
            quantus.PointingGame,
            sarxai_pointing_game,
            "r = a / max_{batch}|a| (abs=False); hit = any(s * (r == max r)) over the flattened map; "
            "empty mask: `hit[...] = np.nan` on a bool array stores True, so Quantus reports 1.0, not NaN",
        ),
        (
            "relevance_mass_accuracy",
            quantus.RelevanceMassAccuracy,
            sarxai_rma,
            "r = a / max_{batch}|a| (abs=False); RMA = sum(r * s) / sum(r), signed; empty mask -> NaN; "
            "sum(r) = 0 -> NaN (0/0) or +-inf",
        ),
    ]:
        entry = {
            "quantus_class": f"quantus.{cls.__name__}",
            "quantus_formula": formula,
            "sarxai_function": f"sarxai::metrics::localisation::{name}(attributions: &Tensor, masks: &Tensor) -> Result<Tensor, MetricError>",
            "shape_mapping": "sarxai: attributions (N, C, 24, 24) and masks (N, 24, 24) (masks.npy as is); it sums "
            "channels itself (signed). Quantus: a_batch = attr.sum(axis=1) (N, 24, 24) float64, x_batch (N, C, 24, 24), "
            "s_batch = masks[:, None] (N, 1, 24, 24); Quantus itself does not reduce channels (see quantus_raw_channels)",
        }
        for key, a in attrs.items():
            ref = ref_fn(a, masks)
            q = quantus_scores(
                cls(disable_warnings=True), model=None, x_batch=x_like(a), y_batch=y, a_batch=channel_sum(a), s_batch=s_batch
            )
            sub = {
                "attributions": f"attr_{key}.npy",
                "masks": "masks.npy",
                "sarxai_formula_f64": jl(ref),
                "quantus_default_f64": {
                    "call": f"quantus.{cls.__name__}(disable_warnings=True)(model=None, x_batch=np.zeros({a.shape}, float32), "
                    f"y_batch=np.zeros({N}, int64), a_batch=attr_{key}.astype(float64).sum(axis=1), s_batch=masks[:, None].astype(float64))",
                    "args": {"abs": False, "normalise": True},
                    "scores": jl(q),
                    "max_abs_diff_vs_sarxai": maxdiff(q, ref),
                    "images_that_differ_by_more_than_1e-12": [
                        int(i) for i in np.nonzero(~((np.abs(q - ref) <= 1e-12) | (np.isnan(q) & np.isnan(ref))))[0]
                    ],
                },
            }
            if a.shape[1] > 1:
                try:
                    quantus_scores(cls(disable_warnings=True), model=None, x_batch=x_like(a), y_batch=y, a_batch=a.astype(np.float64), s_batch=s_batch)
                    sub["quantus_raw_channels"] = "ran"
                except Exception as e:  # noqa: BLE001 - the error is the finding
                    sub["quantus_raw_channels"] = f"a_batch (N, {a.shape[1]}, 24, 24) with s_batch (N, 1, 24, 24) fails: {type(e).__name__}: {e}"
            entry[key] = sub
        metrics[name] = entry

    # --- Spearman of the randomisation test (MPRT's similarity_func) ----------------------
    a2 = attrs["c2"]
    sr = {
        "quantus_function": "quantus.functions.similarity_func.correlation_spearman(a, b, batched=True) "
        "(scipy.stats.spearmanr(a, b, axis=1), diagonal of the cross block), on MPRT's preprocessing: "
        "normalise_by_max over the whole batch, then abs (abs=True default), flattened to (N, C*H*W)",
        "sarxai_function": "sarxai::metrics::randomisation::spearman(a: &Tensor, b: &Tensor, abs: bool) -> Result<Tensor, MetricError>",
        "inputs": {"a": "attr_c2.npy", "b": "attr_c2_b.npy"},
        "not_compared": "MPRT's layer randomisation itself: Quantus re-initialises one module at a time "
        "(reverse named_modules, torch.manual_seed(seed + 1) then reset_parameters), sarxai one stage at a time from "
        "ResNet::new after tch::manual_seed(seed): different weights, so only the similarity is golden",
    }
    for use_abs in (True, False):
        pa, pb = normalise_by_max(a2.astype(np.float64)), normalise_by_max(b2.astype(np.float64))
        if use_abs:
            pa, pb = np.abs(pa), np.abs(pb)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = correlation_spearman(pa.reshape(N, -1), pb.reshape(N, -1), batched=True)
        ref = sarxai_spearman(a2, b2, use_abs)
        sr[f"abs_{str(use_abs).lower()}"] = {
            "call": f"correlation_spearman(prep(attr_c2).reshape(8, -1), prep(attr_c2_b).reshape(8, -1), batched=True), "
            f"prep = {'np.abs(normalise_by_max(x.astype(float64)))' if use_abs else 'normalise_by_max(x.astype(float64))'} "
            f"(MPRT(abs={use_abs}, normalise=True))",
            "scores": jl(q),
            "sarxai_formula_f64": jl(ref),
            "max_abs_diff_vs_sarxai": maxdiff(q, ref),
        }
    metrics["mprt_spearman"] = sr

    # --- Infidelity (toy model, deterministic "black" patch baseline) ---------------------
    metrics["infidelity"] = infidelity_golden(*infid)
    return metrics


class ToyModel:
    """f_k(x) = sum(W_k * x) + q_k * sum(x^2), as a torch module for Quantus."""

    def __init__(self, wt, q):
        import torch

        class M(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = torch.nn.Parameter(torch.from_numpy(wt.reshape(wt.shape[0], -1).copy()), requires_grad=False)
                self.q = torch.nn.Parameter(torch.from_numpy(q.copy()), requires_grad=False)

            def forward(self, x):
                x = x.reshape(x.shape[0], -1)
                return x @ self.w.T + (x * x).sum(1, keepdim=True) * self.q

        self.module = M().eval()


def patch_perturbations(x, patch):
    """Quantus Infidelity's perturbations with perturb_baseline="black": patches (row-major
    over the grid, all channels) set cumulatively to the image's minimum; I_k = x - x_k."""
    n, c, h, w = x.shape
    out = []
    xk = x.copy()
    mins = x.reshape(n, -1).min(1)
    for bi in range(h // patch):
        for bj in range(w // patch):
            xk = xk.copy()
            xk[:, :, bi * patch : (bi + 1) * patch, bj * patch : (bj + 1) * patch] = mins[:, None, None, None]
            out.append(x - xk)
    return np.stack(out).astype(np.float32)


def infidelity_golden(x, wt, q, attr, targets):
    import quantus
    import torch

    torch.set_num_threads(1)
    model = ToyModel(wt, q).module
    pert = patch_perturbations(x, 4)

    def score(xx, t):
        xx = xx.reshape(xx.shape[0], -1)
        w2 = wt.reshape(wt.shape[0], -1).astype(np.float64)[t]
        return (xx * w2).sum(1) + q.astype(np.float64)[t] * (xx * xx).sum(1)

    # The toy model is exact in float32: check it against the float64 formula.
    with torch.no_grad():
        f32 = model(torch.from_numpy(x)).numpy().astype(np.float64)
    exact = np.stack([score(x.astype(np.float64), np.full(x.shape[0], k)) for k in range(wt.shape[0])], 1)
    assert np.array_equal(f32, exact), "toy model not exact in float32"
    np.random.seed(SEED)
    q_scores = quantus_scores(
        quantus.Infidelity(perturb_baseline="black", perturb_patch_sizes=[4], n_perturb_samples=1, disable_warnings=True),
        model=model,
        x_batch=x,
        y_batch=targets,
        a_batch=attr.astype(np.float64),
    )
    q_default_samples = quantus_scores(
        quantus.Infidelity(perturb_baseline="black", perturb_patch_sizes=[4], disable_warnings=True),
        model=model,
        x_batch=x,
        y_batch=targets,
        a_batch=attr.astype(np.float64),
    )
    ref = sarxai_infidelity(score, x, targets, attr, pert)
    return {
        "quantus_class": "quantus.Infidelity (quantus/metrics/faithfulness/infidelity.py)",
        "quantus_formula": "for each patch size p (default [4]) and each of the (H/p)(W/p) patches k in row-major order, "
        "x_k = x with patches 0..k (all channels) set to the image's minimum ('black', cumulative); "
        "score = mean_k ((f(x) - f(x_k)) - a . (x - x_k))^2, f = logits (softmax=False) in float32 "
        "(torch.Tensor(x)); n_perturb_samples repeats the same deterministic loop and averages",
        "sarxai_function": "sarxai::metrics::infidelity::infidelity_with(score, rows_per_call, inputs, targets, attributions, "
        "&GivenPerturbations(infid_perturbations.npy), &InfidelityConfig { samples: 9, normalize: false })",
        "sarxai_formula": "mean_s (I_s . Phi - (f(x) - f(x - I_s)))^2 with I_s = x - x_s (the given perturbations)",
        "toy_model": "f_k(x) = sum(W[k] * x) + q[k] * sum(x * x) over all C*H*W elements; W = infid_w.npy, "
        "q = infid_q.npy; inputs, W and attributions are dyadic so float32 sums are exact",
        "inputs": {
            "x": "infid_x.npy",
            "attributions": "infid_attr.npy",
            "targets": "infid_targets.npy",
            "perturbations": "infid_perturbations.npy (S=9, N=3, C=2, 12, 12), I_k = x - x_k",
        },
        "quantus_call": "quantus.Infidelity(perturb_baseline='black', perturb_patch_sizes=[4], n_perturb_samples=1, "
        "disable_warnings=True)(model=ToyModel, x_batch=infid_x, y_batch=infid_targets, a_batch=infid_attr.astype(float64))",
        "quantus_scores": jl(q_scores),
        "quantus_scores_n_perturb_samples_10": jl(q_default_samples),
        "max_abs_diff_n_perturb_samples_10_vs_1": maxdiff(q_default_samples, q_scores),
        "quantus_default_perturb_baseline": "'black' is Quantus' default; 'uniform' or 'mean' etc. would change x_k "
        "('uniform' draws from numpy's global generator: replay it only through given perturbations)",
        "sarxai_formula_f64": jl(ref),
        "max_abs_diff_vs_sarxai": maxdiff(q_scores, ref),
        "max_rel_diff_vs_sarxai": maxreldiff(q_scores, ref),
    }, pert


# ---------------------------------------------------------------------------------------
# Max-Sensitivity against the golden_sensitivity.py case (optional mode)
# ---------------------------------------------------------------------------------------


def max_sensitivity(case_dir, methods=None):
    """Quantus' MaxSensitivity with the noise of P.npy replayed, on the model and inputs of
    scripts/golden_sensitivity.py, next to Captum's values from the same directory."""
    import quantus
    import torch
    from safetensors.torch import load_file

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import golden as g  # noqa: E402

    meta = json.load(open(os.path.join(case_dir, "meta.json")))
    arch, c, _ = g.parse_case(meta["case"])
    model = g.build_model(arch, c, meta["seed"])
    sd = load_file(os.path.join(case_dir, "weights.safetensors"))
    assert all(torch.equal(v, sd[k]) for k, v in model.state_dict().items()), "weights differ from the case's"
    x = np.load(os.path.join(case_dir, "X.npy"))
    t = np.load(os.path.join(case_dir, "T.npy"))
    p = np.load(os.path.join(case_dir, "P.npy"))
    s = p.shape[0]
    warnings.filterwarnings("ignore")
    out = {"case": meta["case"], "samples": s, "methods": {}}
    for method in methods or (g.METHODS + ["grad-cam-nearest"]):
        base = "grad-cam" if method == "grad-cam-nearest" else method

        def explain(model, inputs, targets, **kw):
            xi = torch.from_numpy(np.asarray(inputs))
            a = g.attribute(base, model, xi, torch.from_numpy(np.asarray(targets)))
            a = a[0] if base == "integrated-gradients" else a
            if method == "grad-cam-nearest":  # Quantus needs the input resolution
                a = torch.nn.functional.interpolate(a, size=tuple(xi.shape[-2:]), mode="nearest")
            return a.detach().numpy()

        step = {"k": 0}

        def replay(arr, indices, **kw):
            k = step["k"]
            step["k"] += 1
            return arr + p[k].reshape(arr.shape)

        metric = quantus.MaxSensitivity(nr_samples=s, perturb_func=replay, disable_warnings=True)
        try:
            ms = quantus_scores(metric, model=model, x_batch=x, y_batch=t, a_batch=None, explain_func=explain, batch_size=len(x))
        except Exception as e:  # noqa: BLE001 - Quantus' refusal is the finding (Grad-CAM's layer map)
            out["methods"][method] = {"quantus_error": f"{type(e).__name__}: {e}"}
            print(method, out["methods"][method], flush=True)
            continue
        assert step["k"] == s
        captum = np.load(os.path.join(case_dir, f"{base}.sensitivity.npy"))
        out["methods"][method] = {
            "quantus": jl(ms),
            "captum": jl(captum),
            "max_rel_diff_quantus_vs_captum": maxreldiff(ms, captum),
        }
        print(method, out["methods"][method]["max_rel_diff_quantus_vs_captum"], flush=True)
    out["note"] = (
        "grad-cam-nearest: Grad-CAM's (N, 1, 4, 4) layer map, which Quantus refuses, brought to the input size by "
        "nearest-neighbour upsampling in the explain_func; with an integer factor k every value is repeated k^2 times, so "
        "both Frobenius norms scale by k and the ratio equals the layer-map value that Captum and sarxai compute"
    )
    out["call"] = (
        "quantus.MaxSensitivity(nr_samples=S, perturb_func=replay, disable_warnings=True)(model, x_batch=X, y_batch=T, "
        "a_batch=None, explain_func=<golden.attribute(method)>, batch_size=N); replay(arr, indices) returns arr + P[step]"
    )
    with open(os.path.join(case_dir, "quantus_max_sensitivity.json"), "w") as fh:
        json.dump(out, fh, indent=1)


# ---------------------------------------------------------------------------------------


def versions():
    import importlib.metadata as md

    got = {k: md.version(k) for k in PINS}
    bad = {k: (v, PINS[k]) for k, v in got.items() if v != PINS[k]}
    if bad:
        sys.exit(f"quantus_goldens.py: versions differ from the pins (got, want): {bad}")
    return got


def npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def build():
    rng = np.random.default_rng(SEED)
    masks, boxes = make_masks(rng)
    attrs = {"c1": make_attr(rng, 1, boxes), "c2": make_attr(rng, 2, boxes)}
    b2 = make_spearman_b(rng, attrs["c2"])
    x, wt, q, ia, it = make_infidelity(rng)
    metrics = golden(attrs, masks, b2, (x, wt, q, ia, it))
    metrics["infidelity"], pert = metrics["infidelity"]
    files = {
        "attr_c1.npy": attrs["c1"],
        "attr_c2.npy": attrs["c2"],
        "masks.npy": masks,
        "attr_c2_b.npy": b2,
        "infid_x.npy": x,
        "infid_attr.npy": ia,
        "infid_w.npy": wt,
        "infid_q.npy": q,
        "infid_targets.npy": it,
        "infid_perturbations.npy": pert,
    }
    doc = {
        "generator": "scripts/quantus_goldens.py (see its docstring and docs/quantus.md)",
        "seed": SEED,
        "versions": versions(),
        "nan": "NaN scores are written as null",
        "cases": {str(i): c for i, c in enumerate(CASES)},
        "mask_boxes": [list(b) if b else None for b in boxes],
        "files": {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in files.items()},
        "metrics": metrics,
    }
    blobs = {k: npy_bytes(v) for k, v in files.items()}
    blobs["quantus_0.6.0.json"] = (json.dumps(doc, indent=1) + "\n").encode()
    return blobs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with fixtures/quantus/ instead of writing")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--max-sensitivity", metavar="DIR", help="a scripts/golden_sensitivity.py output directory")
    ap.add_argument("--methods", help="with --max-sensitivity: comma-separated methods (default: all eight + grad-cam-nearest)")
    args = ap.parse_args()
    if args.max_sensitivity:
        versions()
        max_sensitivity(args.max_sensitivity, args.methods.split(",") if args.methods else None)
        return
    blobs = build()
    if args.check:
        bad = [k for k, v in blobs.items() if not os.path.exists(os.path.join(args.out, k)) or open(os.path.join(args.out, k), "rb").read() != v]
        if bad:
            sys.exit(f"quantus_goldens.py --check: differs: {bad}")
        print(f"quantus_goldens.py --check: {len(blobs)} files identical")
        return
    os.makedirs(args.out, exist_ok=True)
    for k, v in blobs.items():
        with open(os.path.join(args.out, k), "wb") as fh:
            fh.write(v)
    print(f"wrote {len(blobs)} files, {sum(len(v) for v in blobs.values())} bytes, to {args.out}")


if __name__ == "__main__":
    main()
