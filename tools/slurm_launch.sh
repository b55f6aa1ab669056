# Sourced by tools/slurm_train.sh and tools/slurm_test.sh (mmdet's scripts, with checks):
#   slurm_launch USAGE NARGS TOOL PARTITION JOB_NAME [tool args]
# USAGE is printed when fewer than NARGS script arguments were given ($SCRIPT_ARGC). Environment
# as in mmdet: GPUS tasks in all (default 8), GPUS_PER_NODE per node (default: GPUS, at most 8;
# two nodes of 8 GPUs: GPUS=16 GPUS_PER_NODE=8), CPUS_PER_TASK (5), SRUN_ARGS; PYTHON (default:
# the checkout's .venv/bin/python if there is one, else the python on PATH: set PYTHON=python
# to use an activated conda env's). Runs from any folder. Arguments reach the tool as given:
# one quoted "a=1 b=2" stays one --cfg-options item (mmdet's script splits it); give them apart.
slurm_launch() {
    local usage=$1 nargs=$2 tool=$3
    shift 3
    if [ "$SCRIPT_ARGC" -lt "$nargs" ]; then
        echo "usage: $usage  (env: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS; PYTHON, default: the checkout's .venv/bin/python if any)" >&2
        echo "error: expected at least $nargs arguments, got $SCRIPT_ARGC" >&2
        exit 2
    fi
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
