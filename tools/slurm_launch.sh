# Sourced by tools/slurm_train.sh and tools/slurm_test.sh (mmdet's scripts, with checks):
#   slurm_args USAGE NARGS "$@"        -h/--help: USAGE, exit 0; fewer than NARGS: USAGE, exit 2
#   slurm_need_file WHAT PATH          a missing CONFIG/CHECKPOINT stops here, not on every rank
#   slurm_launch TOOL PARTITION JOB_NAME [tool args]
# Environment
# as in mmdet: GPUS tasks in all (default 8), GPUS_PER_NODE per node (default: GPUS, at most 8;
# two nodes of 8 GPUs: GPUS=16 GPUS_PER_NODE=8), CPUS_PER_TASK (5), SRUN_ARGS; PYTHON (default:
# the checkout's .venv/bin/python if there is one, else the python on PATH: set PYTHON=python
# to use an activated conda env's). Runs from any folder. Arguments reach the tool as given:
# one quoted "a=1 b=2" stays one --cfg-options item (mmdet's script splits it); give them apart.
slurm_args() {
    local usage="usage: $1  (env: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS; PYTHON, default: the checkout's .venv/bin/python if any)"
    local nargs=$2
    shift 2
    if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
        echo "$usage"
        exit 0
    fi
    if [ $# -lt "$nargs" ]; then
        echo "$usage" >&2
        echo "error: expected at least $nargs arguments, got $#" >&2
        exit 2
    fi
}

slurm_need_file() {
    if [ ! -f "$2" ]; then
        echo "error: $1 not found: $2 (from $(pwd))" >&2
        exit 2
    fi
}

slurm_launch() {
    local tool=$1
    shift
    local partition=$1 job=$2
    shift 2
    GPUS=${GPUS:-8}
    CPUS_PER_TASK=${CPUS_PER_TASK:-5}
    local v
    for v in GPUS GPUS_PER_NODE CPUS_PER_TASK; do
        if [ "$v" = GPUS_PER_NODE ]; then  # its default needs a valid GPUS, checked first
            GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
        fi
        if ! [[ "${!v}" =~ ^[1-9][0-9]*$ ]]; then
            echo "error: $v must be a whole number >= 1, got '${!v}'" >&2
            exit 2
        fi
    done
    if (( GPUS_PER_NODE > GPUS )); then
        echo "error: GPUS_PER_NODE ($GPUS_PER_NODE) is more than GPUS ($GPUS), the tasks in all" >&2
        exit 2
    fi
    local root py
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    py=${PYTHON:-$( [ -x "$root/.venv/bin/python" ] && echo "$root/.venv/bin/python" || echo python)}
    set -x
    PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" \
    srun -p "$partition" \
        --job-name="$job" \
        --gres=gpu:${GPUS_PER_NODE} \
        --ntasks=${GPUS} \
        --ntasks-per-node=${GPUS_PER_NODE} \
        --cpus-per-task=${CPUS_PER_TASK} \
        --kill-on-bad-exit=1 \
        ${SRUN_ARGS:-} \
        "$py" -u "$root/tools/$tool" --launcher=slurm "$@"
}
