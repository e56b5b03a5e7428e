#!/usr/bin/env bash
# Fill .whl/ (git-ignored) with what tools/gpu_check.sh installs on a GPU
# machine that has Python 3.12 and torch (with CUDA) but no internet: the
# plugin's stack as manylinux wheels for CPython 3.12, and the mmcv 2.1.0
# source (mmcv publishes no wheel for current torch; gpu_check.sh builds its
# CPU ops there). torch itself is not downloaded: the machine's is used, and
# torchvision must be the one built for that torch (TORCHVISION, default
# 0.26.0 for torch 2.11).
#
# Example:
#   bash tools/gpu_check_prepare.sh            # then carry .whl with the tree
#   TORCHVISION=0.28.0 bash tools/gpu_check_prepare.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${WHEELS:-$ROOT/.whl}
PYTHON=${PYTHON:-python3}
TORCHVISION=${TORCHVISION:-0.26.0}
mkdir -p "$DEST"

# One version of each: the stack of setup.py, minus torch.
PACKAGES=(
  mmengine==0.10.7 mmdet==3.3.0 "pydicom>=3.0,<4" pycocotools "numpy<2.3"
  scipy matplotlib tqdm "setuptools>=77,<82" wheel ninja
  "torchvision==$TORCHVISION"
  # needs of mmengine / mmdet / mmcv / matplotlib
  addict rich termcolor yapf opencv-python-headless shapely terminaltables
  platformdirs tomli packaging pyyaml regex markdown-it-py mdurl pygments
  contourpy cycler fonttools kiwisolver pillow pyparsing python-dateutil six
  pytest iniconfig pluggy
)
PLATFORMS=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 \
         manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  PLATFORMS+=(--platform "$p")
done
"$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${PLATFORMS[@]}" -d "$DEST" "${PACKAGES[@]}"
# mmcv: source only.
"$PYTHON" -m pip download --no-deps --no-binary=:all: -d "$DEST" mmcv==2.1.0
du -sh "$DEST"
echo "prepared $DEST: carry it with the tree, then run: bash tools/gpu_check.sh"
