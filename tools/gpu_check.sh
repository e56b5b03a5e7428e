#!/usr/bin/env bash
# One-shot check on a GPU machine (Python 3.12, torch with CUDA, no
# internet): install the plugin's stack from .whl/ (prepared here by
# tools/gpu_check_prepare.sh and carried with the tree), build mmcv's CPU
# ops with all cores (no nvcc), run the tests marked `gpu`, then time
# tools/analysis_tools/benchmark_train.py side by side and print one Markdown table
# (JSON in $OUT_DIR/gpu_check.json):
#   phase 1: 1024 x 1024 patches, R50-FPN, bf16, channels-last, our loss,
#            torch NMS; the largest batch that fits, up to 32; next to
#            torchvision's retinanet_resnet50_fpn (same input, bf16) and,
#            when mmcv has CUDA ops, stock mmdet (FocalLoss, fp16);
#   phase 2: full 4096 x 3328 images, frozen backbone, batch 8, bf16;
#   loader:  the phase-1 pipeline on the decoded cache (tools/cache_images.py
#            on a synthetic release written here) with 16 workers, samples/s.
#
# --dry-run (CPU, CI): print what would be installed from where (and what
# is missing), run the gpu tests (they skip without CUDA) and the benchmark
# code paths at tiny sizes (64 x 64, 1 iteration).
#
# Example:
#   bash tools/gpu_check_prepare.sh     # here, with internet
#   bash tools/gpu_check.sh             # on the GPU machine
#   bash tools/gpu_check.sh --dry-run   # anywhere
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DRY=0
for arg in "$@"; do
  case $arg in
    --dry-run) DRY=1 ;;
    *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
  esac
done
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-$ROOT/.whl}
OUT_DIR=${OUT_DIR:-$ROOT/work_dirs/gpu_check}
JOBS=$(nproc)
mkdir -p "$OUT_DIR"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
step() { printf '\n[gpu_check %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# ------------------------------------------------------------------ install
# What tools/gpu_check_prepare.sh puts in .whl/ (the machine has torch,
# torchvision, numpy, scipy, matplotlib, opencv, tqdm, pytest, ninja).
PKGS=(mmengine mmdet pydicom pycocotools setuptools addict termcolor yapf
      platformdirs tomli shapely terminaltables)
step "python $("$PYTHON" -c 'import sys; print(sys.version.split()[0])'), torch $("$PYTHON" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>/dev/null || echo 'not installed')"
missing=()
for p in "${PKGS[@]}"; do
  ls "$WHEELS"/"$p"-*.whl >/dev/null 2>&1 || missing+=("$p")
done
ls "$WHEELS"/mmcv-2.1.0.tar.gz >/dev/null 2>&1 || missing+=(mmcv-2.1.0.tar.gz)
if [ "$DRY" = 1 ]; then
  step "dry run: would install from $WHEELS (pip --no-index):"
  echo "  pip install --no-index --no-deps $WHEELS/*.whl: ${PKGS[*]}"
  echo "  MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=$JOBS pip install --no-index --no-deps --no-build-isolation $WHEELS/mmcv-2.1.0.tar.gz"
  echo "  pip install --no-index --no-deps -e $ROOT"
  if [ ${#missing[@]} -gt 0 ]; then
    echo "  missing in $WHEELS: ${missing[*]} (run tools/gpu_check_prepare.sh where pip has internet)"
  else
    echo "  all present"
  fi
else
  if [ ${#missing[@]} -gt 0 ]; then
    echo "error: missing in $WHEELS: ${missing[*]}; run tools/gpu_check_prepare.sh where pip has internet and carry $WHEELS" >&2
    exit 2
  fi
  PIP=("$PYTHON" -m pip install -q --no-index --find-links "$WHEELS")
  step "installing the stack from $WHEELS"
  "${PIP[@]}" --no-deps "$WHEELS"/*.whl
  "$PYTHON" -c 'import torchvision.ops' || {
    echo "error: torchvision (built for this torch) is needed for NMS on the GPU" >&2; exit 2; }
  if "$PYTHON" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' 2>/dev/null; then
    step "mmcv 2.1.0 with ops already there"
  else
    step "building mmcv 2.1.0's CPU ops with $JOBS jobs (FORCE_CUDA=0: no nvcc)"
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=$JOBS "${PIP[@]}" --no-deps --no-build-isolation \
      "$WHEELS"/mmcv-2.1.0.tar.gz
  fi
  "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation -e "$ROOT"
fi

# -------------------------------------------------------------------- tests
step "tests marked gpu"
"$PYTHON" -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu \
  2>&1 | tee "$OUT_DIR/tests.log"

# --------------------------------------------------------------- benchmarks
if [ "$DRY" = 1 ]; then
  # float32 R18 on the CPU (bf16 convolutions are slow there): the code
  # paths, not figures.
  DEV=(--device cpu --iters 1 --warmup 0 --data-iters 1 --workers 0
       --threads 1)
  CFG=(amp_dtype=None model.backbone.depth=18
       "model.neck.in_channels=[64,128,256,512]")
  P1_HW=64x64; P2_HW=64x64; P2_BS=2; BATCHES=(2); SCALE=0.0625; AMP=()
else
  DEV=(--device cuda --iters 20 --warmup 3 --data-iters 50 --workers 16)
  CFG=()
  P1_HW=1024x1024; P2_HW=4096x3328; P2_BS=8; BATCHES=(32 24 16 8 4); SCALE=1
  AMP=(--amp-dtype bfloat16)
fi
bench() {  # NAME CONFIG [benchmark_train.py arguments] -- [cfg options]
  local name=$1 config=$2; shift 2
  local args=() opts=("${CFG[@]}")
  while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && shift && opts+=("$@")
  if [ ${#opts[@]} -gt 0 ]; then args+=(--cfg-options "${opts[@]}"); fi
  "$PYTHON" tools/analysis_tools/benchmark_train.py "$config" "${DEV[@]}" \
    --out "$OUT_DIR/$name.json" "${args[@]}"
}

step "synthetic release (4 patients, scale $SCALE), splits, statistics, decoded cache"
SYN="$OUT_DIR/synthetic"
REL="$SYN/INbreast Release 1.0"
CACHE="$OUT_DIR/cache"
rm -rf "$SYN" "$CACHE"
"$PYTHON" tools/make_synthetic_inbreast.py "$SYN" --num-patients 4 \
  --scale "$SCALE" --seed 0 --mass-fraction 0.6
"$PYTHON" tools/split_patients.py "$REL" --ratios 0.7 0.1 0.2
"$PYTHON" tools/compute_stats.py "$REL" --split splits/train.txt
"$PYTHON" tools/cache_images.py "$REL" --split splits/train.txt \
  --cache-dir "$CACHE" --workers "$JOBS"

step "phase 1: $P1_HW patches, largest batch of ${BATCHES[*]} that fits; loader from the decoded cache"
for bs in "${BATCHES[@]}"; do
  if bench phase1 configs/retina_patch_fast.py --batch-size "$bs" \
      --synthetic-input "$P1_HW" "${AMP[@]}" --peer torchvision \
      --data-root "$REL" -- \
      "train_dataloader.dataset.dataset.pipeline.0.cache_dir=$CACHE" \
      2>&1 | tee "$OUT_DIR/phase1_b$bs.log"; then
    break
  fi
done
if [ "$DRY" = 0 ]; then
  step "stock mmdet, fp16 (needs mmcv's CUDA ops; reported as failing otherwise)"
  bench stock_fp16 configs/retina_patch.py --batch-size 16 \
    --synthetic-input "$P1_HW" --amp-dtype float16 --data-root "$REL" \
    2>&1 | tee "$OUT_DIR/stock_fp16.log" || true
fi
step "phase 2: $P2_HW full images, frozen backbone, batch $P2_BS"
bench phase2 configs/retina_full.py --batch-size "$P2_BS" \
  --synthetic-input "$P2_HW" "${AMP[@]}" --data-root "$REL" \
  2>&1 | tee "$OUT_DIR/phase2.log" || true
step "table"
"$PYTHON" -m mmdet_inbreast.engine.gpu_check_report "$OUT_DIR" \
  --dry-run "$DRY" --tests-log "$OUT_DIR/tests.log"
