#!/usr/bin/env python3
"""Golden bootstrap intervals: scipy.stats.bootstrap on sarxai's own resamples.

Writes ``fixtures/golden/bootstrap.json`` (committed), which ``tests/stats_bootstrap.rs``
compares with ``sarxai::stats::{stratified_resamples, bootstrap_mean_interval}``.

Run it in a throw-away environment (it never touches the project's ``.venv``)::

    python3 -m venv /tmp/golden-bootstrap-venv
    /tmp/golden-bootstrap-venv/bin/pip install numpy scipy
    /tmp/golden-bootstrap-venv/bin/python scripts/golden_bootstrap.py [--out PATH]

The committed file was made with scipy 1.17.1 and numpy 2.4.6 (recorded in the file).

How the resamples are shared: this script re-implements sarxai's splitmix64 generator
(``Resampler`` in src/stats/bootstrap.rs: Steele, Lea & Flood 2014) and its index map
``(next_u64 * n) >> 64``, draws the B x n indices of the ordinary bootstrap from one
generator per dataset (resample after resample), and monkeypatches
``scipy.stats._resampling._bootstrap_resample(sample, n_resamples=None, rng=None, *, xp)``
so that scipy resamples exactly those indices. The statistic handed to scipy is the mean
summed left to right (``((x0 + x1) + x2) + ...) / n``), the order sarxai sums in: numpy's
``mean`` sums pairwise, which can differ in the last bit and flip a resampled mean that
equals the observed one in BCa's bias count. The script checks that scipy's bootstrap
distribution equals the means of these resamples before writing anything.
"""

import argparse
import inspect
import json
import pathlib
import re

import numpy as np
import scipy
import scipy.stats
from scipy.stats import _resampling

MASK = (1 << 64) - 1
B = 2000
LEVEL = 0.95
HEAD = 3  # resamples whose indices are written out in full

DATASETS = [
    # (name, seed, values)
    ("skewed-n10", 1, [0.12, 0.31, 0.35, 0.48, 0.52, 0.77, 1.05, 1.6, 2.9, 6.4]),
    ("ties-n20", 2027, [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4]),
    ("small-n7", 0xDEADBEEFCAFEF00D,
     [0.0066, 0.0047, 0.0121, 0.0032, 0.0085, 0.0092, 0.0210]),
    ("binary-n12", 27, [1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1]),
    ("signed-n15", 0, [0.1311, -0.0846, 0.3467, 0.21, 0.05, -0.12, 0.4, 0.18, 0.09,
                       0.27, -0.03, 0.15, 0.33, 0.02, 0.11]),
]

# A stratified draw (no scipy counterpart): labels in order of appearance, not sorted.
STRATA = [2, 0, 1, 0, 2, 2, 1, 0, 0, -1]
STRATA_SEED = 7
STRATA_RESAMPLES = 3


class Resampler:
    """splitmix64, as sarxai's ``Resampler``."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def index(self, n):
        return (self.next_u64() * n) >> 64


def stratified_resamples(strata, resamples, seed):
    """sarxai's ``stratified_resamples``: per resample, stratum by stratum (ascending
    label), as many draws with replacement from the stratum's observations as it has."""
    rng = Resampler(seed)
    groups = [[i for i, s in enumerate(strata) if s == label] for label in sorted(set(strata))]
    return [[g[rng.index(len(g))] for g in groups for _ in g] for _ in range(resamples)]


def sequential_mean(x, axis=-1):
    """The mean summed left to right along ``axis`` (sarxai's order)."""
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    s = x[..., 0].copy()
    for j in range(1, x.shape[-1]):
        s = s + x[..., j]
    return s / x.shape[-1]


def scipy_intervals(values, idx):
    """scipy.stats.bootstrap's percentile and BCa intervals on the resamples ``idx``."""
    original = _resampling._bootstrap_resample

    def fixed_resample(sample, n_resamples=None, rng=None, *, xp):
        assert n_resamples == idx.shape[0] and sample.shape[-1] == idx.shape[1]
        return sample[..., idx]

    _resampling._bootstrap_resample = fixed_resample
    try:
        out = {}
        for method in ("percentile", "BCa"):
            res = scipy.stats.bootstrap((values,), sequential_mean, n_resamples=B,
                                        confidence_level=LEVEL, method=method,
                                        vectorized=True)
            expect = sequential_mean(values[idx])
            assert np.array_equal(res.bootstrap_distribution, expect), "patch not used"
            ci = res.confidence_interval
            out[method.lower()] = [float(ci.low), float(ci.high)]
        return out
    finally:
        _resampling._bootstrap_resample = original


def case(name, seed, values):
    v = np.asarray(values, dtype=np.float64)
    idx = np.asarray(stratified_resamples([0] * len(v), B, seed), dtype=np.int64)
    return {"name": name, "seed": seed, "values": [float(x) for x in v],
            "first_indices": idx[:HEAD].tolist(), **scipy_intervals(v, idx)}


def compact(text):
    """Pretty JSON with each list of numbers on one line."""
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]",
                  lambda m: "[" + ", ".join(p.strip() for p in m.group(1).split(",")) + "]",
                  text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = pathlib.Path(__file__).resolve().parent.parent
    ap.add_argument("--out", default=root / "fixtures" / "golden" / "bootstrap.json")
    args = ap.parse_args()
    params = list(inspect.signature(_resampling._bootstrap_resample).parameters)
    assert params == ["sample", "n_resamples", "rng", "xp"], params
    doc = {
        "generator": "scripts/golden_bootstrap.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "statistic": "mean summed left to right",
        "resamples": B,
        "level": LEVEL,
        "cases": [case(*d) for d in DATASETS],
        "stratified": {"strata": STRATA, "seed": STRATA_SEED,
                       "indices": stratified_resamples(STRATA, STRATA_RESAMPLES, STRATA_SEED)},
    }
    pathlib.Path(args.out).write_text(compact(json.dumps(doc, indent=2)) + "\n")
    print(f"wrote {args.out} (scipy {scipy.__version__}, numpy {np.__version__})")


if __name__ == "__main__":
    main()
