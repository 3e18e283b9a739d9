#!/usr/bin/env bash
# CUDA checks on a GPU machine that has PyTorch 2.11 (python3) but no Rust toolchain and no
# network. Carried in: .gpu/ (sarxai and test binaries built on the CPU machine against
# torch 2.11.0+cu130, the same libtorch ABI) and .whl/ (captum 0.9.0).
# Usage on the GPU machine: bash ci/gpu_check.sh  (writes $OUT/gpu_report.txt when OUT is set).
# On a runner with the bootstrap environment: PATH=$PWD/.venv/bin:$PATH bash ci/gpu_check.sh
set -uo pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
TL=$(python3 -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"lib"))')
export LD_LIBRARY_PATH="$TL"
nvidia-smi -L
B=.gpu/sarxai
W=/tmp/g; mkdir -p $W
{
echo "== device"; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -c 'import torch, captum; print("torch", torch.__version__, "captum", captum.__version__)'
echo "== golden: sarxai on CUDA vs Captum on CPU (relative L2)"
for case in resnet18-c1-f32 resnet50-c3-f32 resnet18-c1-f64; do
  timeout 150 python3 scripts/golden.py --case $case --out $W/$case --n 3 > $W/$case.log 2>&1 || { echo "$case: generator failed"; tail -5 $W/$case.log; continue; }
  x=$W/$case/X.npy; dt=f32
  if [[ $case == *f64 ]]; then x=$W/$case/X64.npy; dt=f64; fi
  for dev in cuda cpu; do
    /usr/bin/time -f "$case $dev explain all: %e s" $B explain --weights $W/$case/weights.safetensors --arch ${case%%-*} \
      --input $x --target $W/$case/T.npy --method all --out $W/$case/sx-$dev --device $dev --dtype $dt 2>&1 | grep -v "^wrote"
  done
  python3 - "$W/$case" <<'PY'
import sys, numpy as np, os
d = sys.argv[1]
ms = ["saliency","input-x-gradient","integrated-gradients","guided-backprop","deconvolution","grad-cam","guided-grad-cam","occlusion"]
def e(a, b):
    a = a.astype(np.float64); b = b.astype(np.float64); n = np.linalg.norm(b)
    return np.linalg.norm(a - b) / (n if n else 1)
for m in ms:
    ref = np.load(f"{d}/{m}.npy")
    cu = np.load(f"{d}/sx-cuda/{m}.npy"); cp = np.load(f"{d}/sx-cpu/{m}.npy")
    print(f"  {os.path.basename(d):18s} {m:22s} cuda-vs-captum {e(cu, ref):.2e}  cpu-vs-captum {e(cp, ref):.2e}  cuda-vs-cpu {e(cu, cp):.2e}")
PY
done
echo "== property tests on CUDA"
for t in .gpu/attr_properties-*; do [[ -x $t ]] && $t cuda_properties --nocapture 2>&1 | tail -4; done
echo "== repeatability on CUDA (two runs, f32)"
c=$W/resnet18-c1-f32
$B explain --weights $c/weights.safetensors --arch resnet18 --input $c/X.npy --target $c/T.npy --method all --out $c/sx-cuda2 --device cuda 2>/dev/null
python3 - "$c" <<'PY'
import sys, numpy as np
d = sys.argv[1]
for m in ["saliency","integrated-gradients","guided-backprop","grad-cam","occlusion"]:
    a = np.load(f"{d}/sx-cuda/{m}.npy"); b = np.load(f"{d}/sx-cuda2/{m}.npy")
    print(f"  {m:22s} bitwise-equal={np.array_equal(a,b)} max|diff|={np.abs(a-b).max():.2e}")
PY
echo "== timing on CUDA: Captum vs sarxai, ResNet-18, batch 16, 100x100, f32"
timeout 200 python3 ci/bench_captum.py --device cuda --batch 16 --sarxai $B --out $W/bench 2>&1 | tail -15
} 2>&1 | tee "$OUT/gpu_report.txt"
