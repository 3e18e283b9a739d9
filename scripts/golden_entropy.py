#!/usr/bin/env python3
"""Golden "XAI entropy" figures: Captum heat-map PNGs and their byte sizes.

Renders every attribution map of an ``.npy`` array exactly the way the paper's
metric does::

    fig, _ = captum.attr.visualization.visualize_image_attr(
        attr_hwc, method="heat_map", sign="absolute_value", use_pyplot=False)
    buf = io.BytesIO(); fig.savefig(buf, format="png")   # matplotlib defaults
    entropy = len(buf.getvalue())

and writes, for the Rust port in ``src/metrics/captum_figure/`` to compare
against:

* ``OUT/fig_00000.png`` ...  the PNG files exactly as matplotlib wrote them;
* ``OUT/rasters.npy``        uint8 (N, H_px, W_px, 4) decoded RGBA rasters
                             (cases that failed are left all zero);
* ``OUT/summary.json``       per case: index, shape, png_size (or null), sha256,
                             error (Captum's exception text, e.g. the
                             AssertionError for an all-zero map), plus the
                             versions of captum/matplotlib/Pillow/numpy/zlib.

CLI::

    .venv/bin/python scripts/golden_entropy.py ATTRS.npy OUTDIR
        [--layout nchw|nhwc]     (default nchw: (N, C, H, W) like tch/PyTorch)
        [--dtype float32|float64|keep]  (default float32: the f32 attributions
                                 the Rust side holds; Captum's arithmetic runs
                                 in this dtype)
        [--limit K]              only the first K maps
        [--size H W]             bring smaller maps (Grad-CAM's layer map) to H x W
                                 first, with Captum's own
                                 LayerAttribution.interpolate (F.interpolate)
        [--upsample bilinear|nearest]  its interpolate_mode (default bilinear)
        [--dump-lut PATH]        also write the Blues N=256 uint8 RGBA LUT
                                 (what Colormap(..., bytes=True) uses) as .npy

The attribution of a (C, H, W) map is transposed to (H, W, C) before the call,
as Captum's tutorials do (``np.transpose(attr, (1, 2, 0))``); Captum then sums
over channels itself.  Pinned stack (ci/bootstrap.sh): captum 0.9.0,
matplotlib 3.10.9, Pillow 10.4.0 (its manylinux wheel links the system's
classic zlib; Pillow >= 11 wheels bundle zlib-ng, whose deflate output differs).
Uses the non-interactive Agg canvas; no display needed.
"""
import argparse
import hashlib
import io
import json
import os
import sys
import zlib

import numpy as np


def _versions():
    import captum
    import matplotlib
    import PIL
    from PIL import features

    return {
        "captum": captum.__version__,
        "matplotlib": matplotlib.__version__,
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "pillow_zlib": features.version("zlib"),
        "pillow_zlib_ng": (features.version_feature("zlib_ng")
                           if "zlib_ng" in getattr(features, "features", {}) else None),
        "python_zlib": zlib.ZLIB_RUNTIME_VERSION,
    }


def render_png(attr_hwc):
    """PNG bytes of Captum's default heat-map figure for one (H, W, C) map."""
    from captum.attr import visualization as viz

    fig, _ = viz.visualize_image_attr(
        attr_hwc, method="heat_map", sign="absolute_value", use_pyplot=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def decode_rgba(png):
    from PIL import Image

    im = Image.open(io.BytesIO(png))
    im.load()
    if im.mode != "RGBA":
        raise ValueError(f"unexpected PNG mode {im.mode}")
    return np.asarray(im, dtype=np.uint8)


def main(argv=None):
    import matplotlib

    matplotlib.use("Agg")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("attrs", help=".npy of shape (N, C, H, W) (or NHWC, see --layout)")
    ap.add_argument("out", help="output directory (created)")
    ap.add_argument("--layout", choices=["nchw", "nhwc"], default="nchw")
    ap.add_argument("--dtype", choices=["float32", "float64", "keep"], default="float32")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--dump-lut", default=None)
    ap.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None)
    ap.add_argument("--upsample", choices=["bilinear", "nearest"], default="bilinear")
    args = ap.parse_args(argv)

    attrs = np.load(args.attrs, allow_pickle=False)
    if attrs.ndim == 3:  # (N, H, W): single channel
        attrs = attrs[:, None] if args.layout == "nchw" else attrs[..., None]
    if attrs.ndim != 4:
        sys.exit(f"expected a 4-D array (N, C, H, W), got shape {attrs.shape}")
    if args.size is not None:
        if args.layout != "nchw":
            sys.exit("--size needs --layout nchw")
        if tuple(attrs.shape[2:]) != tuple(args.size):
            import torch
            from captum.attr import LayerAttribution

            attrs = LayerAttribution.interpolate(
                torch.from_numpy(np.ascontiguousarray(attrs)), tuple(args.size), interpolate_mode=args.upsample
            ).numpy()
    if args.layout == "nchw":
        attrs = np.transpose(attrs, (0, 2, 3, 1))
    if args.dtype != "keep":
        attrs = attrs.astype(args.dtype)
    if args.limit is not None:
        attrs = attrs[: args.limit]
    os.makedirs(args.out, exist_ok=True)

    if args.dump_lut:
        from matplotlib import colormaps

        cmap = colormaps["Blues"]
        lut = cmap(np.arange(cmap.N), bytes=True)
        np.save(args.dump_lut, np.asarray(lut, dtype=np.uint8))

    cases, rasters = [], None
    for i, a in enumerate(attrs):
        entry = {"index": i, "shape_hwc": list(a.shape), "png_size": None,
                 "sha256": None, "error": None}
        try:
            png = render_png(np.ascontiguousarray(a))
        except Exception as e:  # e.g. AssertionError for an all-zero map
            entry["error"] = f"{type(e).__name__}: {e}"
            cases.append(entry)
            continue
        with open(os.path.join(args.out, f"fig_{i:05d}.png"), "wb") as f:
            f.write(png)
        rgba = decode_rgba(png)
        if rasters is None:
            rasters = np.zeros((len(attrs),) + rgba.shape, np.uint8)
        rasters[i] = rgba
        entry["png_size"] = len(png)
        entry["sha256"] = hashlib.sha256(png).hexdigest()
        cases.append(entry)

    if rasters is not None:
        np.save(os.path.join(args.out, "rasters.npy"), rasters)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"versions": _versions(), "cases": cases}, f, indent=1)
    ok = sum(c["error"] is None for c in cases)
    print(f"{ok}/{len(cases)} figures written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
