#!/usr/bin/env bash
# tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]   (mmdet's script; also runs on CPU with gloo)
# torchrun's arguments, through fashionpedia_plugin/toolkit/dist_run.py: a tool's error line is
# printed once, last, without torchrun's failure dump
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
if [ $# -lt 3 ] || ! [[ "$GPUS" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]  (GPUS: processes on this node, >= 1)" >&2
    echo "error: expected 3 arguments with GPUS a whole number >= 1, got: $*" >&2
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
    "$ROOT/tools/test.py" \
    "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
