#!/usr/bin/env bash
# tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]   (mmdet's script)
# GPUS=16 GPUS_PER_NODE=8 for two nodes of 8; the environment: tools/slurm_launch.sh
SCRIPT_ARGC=$#
source "$(dirname "$0")/slurm_launch.sh"
slurm_launch "tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]" 4 \
    test.py "$1" "$2" "$3" "$4" "${@:5}"
