#!/usr/bin/env bash
# Idempotent bootstrap of libtorch (and the Python reference stack) for sarxai.
#
# Creates a project-local virtual environment `.venv/` with torch==2.11.0 (the libtorch
# that tch 0.24.0 is pinned to), torchvision (golden references), captum 0.9.0 (the
# attribution reference the paper used), numpy and safetensors. `.cargo/config.toml`
# points LIBTORCH at `.venv/lib/python3.11/site-packages/torch`, so plain `cargo build`,
# `cargo test`, `cargo run` and `cargo bench` work afterwards with no exported variable.
#
# Skips everything when the environment already holds the pinned versions.
# A user-set LIBTORCH (for example a CUDA libtorch on a GPU runner) is respected by
# cargo and this script does not touch it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.sarxai-bootstrap-v3"

TORCH_VERSION="2.11.0"
TORCHVISION_VERSION="0.26.0"
CAPTUM_VERSION="0.9.0"
# Golden "XAI entropy" PNGs (scripts/golden_entropy.py, src/metrics/captum_figure/):
# Pillow 10.4.0 links the classic system zlib; Pillow >= 11 wheels bundle zlib-ng,
# whose deflate output (and so the PNG byte size) differs.
MATPLOTLIB_VERSION="3.10.9"
PILLOW_VERSION="10.4.0"
# Quantus 0.6.0 (scripts/quantus_goldens.py, tests/golden_quantus.rs) and the packages it
# imports, pinned. Quantus itself goes in without its dependency list, which names
# opencv-python (linked to the system's libGL, absent on a bare Debian): the headless build
# of the same OpenCV serves its `import cv2`.
QUANTUS_VERSION="0.6.0"
QUANTUS_DEPS=(scipy==1.17.1 scikit-learn==1.9.1 scikit-image==0.26.0 pandas==3.1.1
  opencv-python-headless==5.1.0.95 tqdm cachetools==8.0.3)

if [[ -f "$stamp" ]]; then
  exit 0
fi

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "sarxai bootstrap: '$python' not found. Install Python 3.11 with pip and venv (Debian: apt-get install python3 python3-venv python3-pip), or set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
pyver="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
if [[ "$pyver" != "3.11" ]]; then
  echo "sarxai bootstrap: found Python $pyver at $(command -v "$python"); .cargo/config.toml expects a Python 3.11 virtual environment. Set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
if ! "$python" -m pip --version >/dev/null 2>&1; then
  echo "sarxai bootstrap: '$python -m pip' does not work. Install pip (Debian: apt-get install python3-pip)." >&2
  exit 1
fi

echo "sarxai bootstrap: creating $venv with torch==$TORCH_VERSION (one-time, several GB, a few minutes)" >&2
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "captum==$CAPTUM_VERSION" \
  "matplotlib==$MATPLOTLIB_VERSION" "pillow==$PILLOW_VERSION" "numpy<3" "safetensors>=0.4"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "torch==$TORCH_VERSION" "matplotlib==$MATPLOTLIB_VERSION" "pillow==$PILLOW_VERSION" "numpy<3" \
  "${QUANTUS_DEPS[@]}"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
  "quantus==$QUANTUS_VERSION"
"$venv/bin/python" - <<PY
import torch, torchvision, captum, matplotlib, PIL, quantus
assert quantus.__version__ == "$QUANTUS_VERSION", quantus.__version__
assert torch.__version__.split("+")[0] == "$TORCH_VERSION", torch.__version__
assert matplotlib.__version__ == "$MATPLOTLIB_VERSION", matplotlib.__version__
assert PIL.__version__ == "$PILLOW_VERSION", PIL.__version__
print(f"sarxai bootstrap: torch {torch.__version__}, torchvision {torchvision.__version__}, captum {captum.__version__}, matplotlib {matplotlib.__version__}, pillow {PIL.__version__}")
PY
touch "$stamp"
