#!/usr/bin/env bash
# Fill .whl/ (git-ignored) with what tools/gpu_check.sh installs on a GPU
# machine that has Python 3.12 and torch (with CUDA) but no internet: the
# plugin's packages that such a machine lacks, as manylinux wheels for
# CPython 3.12, and the mmcv 2.1.0 source (mmcv publishes no wheel for
# current torch; gpu_check.sh builds its CPU ops there). torch, torchvision
# (the build for that torch), numpy, scipy, matplotlib, opencv, tqdm, pytest
# and ninja are taken from the machine. The lent H200 image has them
# (/work/.library/device/KINDS.md); name more with EXTRA="pkg==v ...".
# The folder stays well under the 64 MiB a device call may carry.
#
# Example:
#   bash tools/gpu_check_prepare.sh            # then carry .whl with the tree
#   EXTRA="torchvision==0.26.0" bash tools/gpu_check_prepare.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${WHEELS:-$ROOT/.whl}
PYTHON=${PYTHON:-python3}   # e.g. PYTHON=.venv/bin/python (has torch)
mkdir -p "$DEST"

# One version of each.
PACKAGES=(
  mmengine==0.10.7 mmdet==3.3.0 "pydicom>=3.0,<4" pycocotools
  "setuptools>=77,<82"
  # needs of mmengine / mmdet that the machine lacks
  addict termcolor yapf platformdirs tomli shapely terminaltables
  ${EXTRA:-}
)
PLATFORMS=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 \
         manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  PLATFORMS+=(--platform "$p")
done
"$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${PLATFORMS[@]}" -d "$DEST" "${PACKAGES[@]}"
# mmcv: source only. pip runs its setup.py for the metadata, which needs
# pkg_resources (setuptools < 82) and torch: use this Python's, not an
# isolated build environment (the project's venv has both).
"$PYTHON" -m pip download --no-deps --no-binary=:all: --no-build-isolation \
  -d "$DEST" mmcv==2.1.0
du -sh "$DEST"
echo "prepared $DEST: carry it with the tree, then run: bash tools/gpu_check.sh"
