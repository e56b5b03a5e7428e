#!/usr/bin/env bash
# Distributed training on one or several nodes: torchrun (torch.distributed.run)
# starts GPUS processes of tools/train.py with --launcher pytorch, as mmdet's
# tools/dist_train.sh does (which still calls the deprecated
# torch.distributed.launch). Extra arguments go to tools/train.py; they are
# passed quoted, so paths with spaces survive.
#
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
# PORT (29500), PYTHON (python).
#
# Example:
#   bash tools/dist_train.sh configs/retina_patch_syncbn.py 8 --auto-scale-lr --data-root "data/INbreast Release 1.0"
#   # on CPUs (gloo instead of nccl):
#   bash tools/dist_train.sh configs/demo/retina_demo_patch.py 2 --cfg-options env_cfg.dist_cfg.backend=gloo
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [tools/train.py arguments]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
TOOLS=$(dirname "$0")

PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$TOOLS/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
