#!/usr/bin/env bash
# tools/dist_train.sh CONFIG GPUS [train.py args]   (mmdet's script; also runs on CPU with gloo)
# torchrun's arguments, through fashionpedia_plugin/toolkit/dist_run.py: a tool's error line is
# printed once, last, without torchrun's failure dump
CONFIG=$1
GPUS=$2
if [ $# -lt 2 ] || ! [[ "$GPUS" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: tools/dist_train.sh CONFIG GPUS [train.py args]  (GPUS: processes on this node, >= 1)" >&2
    echo "error: expected 2 arguments with GPUS a whole number >= 1, got: $*" >&2
    exit 2
fi
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python)}

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
"$PY" "$ROOT/fashionpedia_plugin/toolkit/dist_run.py" \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
