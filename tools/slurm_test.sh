#!/usr/bin/env bash
# tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]   (mmdet's script)
# GPUS=16 GPUS_PER_NODE=8 for two nodes of 8; the environment: tools/slurm_launch.sh
source "$(dirname "$0")/slurm_launch.sh"
slurm_args "tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]" 4 "$@"
slurm_need_file config "$3"
slurm_need_file checkpoint "$4"
slurm_launch test.py "$1" "$2" "$3" "$4" "${@:5}"
