#!/usr/bin/env bash
# Install mmdet-inbreast and its stack into a project-local virtual environment.
#
# Example:
#   bash tools/setup_env.sh            # creates ./.venv (idempotent)
#   VENV=/opt/venv bash tools/setup_env.sh
#
# mmcv 2.1.0 ships only as source on PyPI. When a folder of prebuilt wheels is
# available (MMCV_WHEELS, default ../shared/wheels beside the checkout, or a
# PIP_FIND_LINKS you set yourself) it is passed to pip with --find-links;
# otherwise mmcv is compiled here, which takes 16-35 minutes on 2 cores.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
WHEELS=${MMCV_WHEELS:-$ROOT/../shared/wheels}
STAMP=$VENV/.mmdet_inbreast_stamp
want_stamp=$(cat "$ROOT/setup.py" "$ROOT/tools/setup_env.sh" | cksum | cut -d' ' -f1)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ]; then
  exit 0
fi

step() { printf '\n[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  step "creating virtual environment $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

step "build tools: setuptools>=77,<82 (torch 2.13 needs >=77; mmengine/mmcv import pkg_resources), wheel, ninja"
"${PIP[@]}" install -q "setuptools>=77,<82" wheel ninja

step "torch 2.13.0"
"${PIP[@]}" install -q "torch==2.13.0"

if "$VENV/bin/python" -c "from mmcv.ops import nms" >/dev/null 2>&1 \
   && [ "$("$VENV/bin/python" -c 'import mmcv; print(mmcv.__version__)')" = "2.1.0" ]; then
  step "mmcv 2.1.0 with ops already installed"
else
  findlinks=()
  if [ -d "$WHEELS" ]; then
    step "mmcv 2.1.0 from prebuilt wheels in $WHEELS"
    findlinks=(--find-links "$WHEELS")
  else
    step "mmcv 2.1.0 has no wheel on PyPI: compiling it from source (16-35 min on 2 cores; pip caches the wheel for next time)"
  fi
  ( while sleep 60; do printf '[setup %s] ... still installing mmcv\n' "$(date +%H:%M:%S)"; done ) &
  ticker=$!
  trap 'kill $ticker 2>/dev/null || true' EXIT
  MMCV_WITH_OPS=1 FORCE_CUDA=0 "${PIP[@]}" install -q --no-build-isolation \
    "${findlinks[@]}" "mmcv==2.1.0"
  kill "$ticker" 2>/dev/null || true
  trap - EXIT
fi
if ! "$VENV/bin/python" -c "from mmcv.ops import nms" ; then
  echo "ERROR: mmcv was installed without its compiled ops (torch was not visible to its build)." >&2
  echo "Fix: $VENV/bin/pip uninstall -y mmcv && rerun this script." >&2
  exit 1
fi

step "mmdet-inbreast (editable) with mmengine 0.10.7, mmdet 3.3.0, pydicom, pycocotools, test tools, tensorboard, ray"
"${PIP[@]}" install -q -e "$ROOT[tests,tensorboard,ray]"

"$VENV/bin/python" -c "import mmdet_inbreast, mmdet, mmengine, mmcv, torch; print('[setup] ok: torch', torch.__version__, 'mmcv', mmcv.__version__, 'mmengine', mmengine.__version__, 'mmdet', mmdet.__version__, 'mmdet_inbreast', mmdet_inbreast.__version__)"
echo "$want_stamp" > "$STAMP"
