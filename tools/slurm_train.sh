#!/usr/bin/env bash
# tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]   (mmdet's script)
# GPUS=16 GPUS_PER_NODE=8 for two nodes of 8; the environment: tools/slurm_launch.sh
source "$(dirname "$0")/slurm_launch.sh"
slurm_args "tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]" 4 "$@"
slurm_need_file config "$3"
slurm_launch train.py "$1" "$2" "$3" --work-dir="$4" "${@:5}"
