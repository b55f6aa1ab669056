#!/usr/bin/env bash
# GPU throughput of the paper 1x config at LSJ 1024, in one go (one prepared run of a device
# session; about 8-10 minutes on an H100/H200):
#   1. self-check (CUDA RoIAlign / nms == CPU);
#   2. the sweep: per-GPU batch x precision x memory format (benchmark_train.py --sweep), with
#      the data-pipeline rate per loader worker;
#   3. TRAIN_ITERS iterations of the reference (fp32, batch 2) and of the fast setting
#      (FAST_BATCH, FAST_PRECISION, FAST_FORMAT), lr scaled by batch (--auto-scale-lr), then
#      their loss curves side by side (analyze_logs.py, one picture).
# Run from the repo root on a CUDA machine: bash tools/analysis_tools/gpu_throughput.sh
# Env: RESULTS (work_dirs/gpu_throughput), BATCHES ("2 4 8 16"), PRECISIONS ("fp32 bf16"),
# FORMATS ("default channels-last"), ITERS (10 timed) / WARMUP (5) per row, TRAIN_ITERS (300;
# 0 skips step 3), FAST_BATCH (8), FAST_PRECISION (bf16), FAST_FORMAT (channels-last),
# WORKERS (8), DEVICE (cuda; cpu for a rehearsal with small IMAGE_SIZE), IMAGE_SIZE (1024).
set -euo pipefail
PY=${PY:-python3}
DATA=${DATA:-data/synthetic_1024}
RESULTS=${RESULTS:-work_dirs/gpu_throughput}
CONFIG=configs/attr-mask-rcnn/attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py
DEVICE=${DEVICE:-cuda}
IMAGE_SIZE=${IMAGE_SIZE:-1024}
WORKERS=${WORKERS:-8}
TRAIN_ITERS=${TRAIN_ITERS:-300}
FAST_BATCH=${FAST_BATCH:-8}
FAST_PRECISION=${FAST_PRECISION:-bf16}
FAST_FORMAT=${FAST_FORMAT:-channels-last}
mkdir -p "$RESULTS"
[ "$DEVICE" = cpu ] || "$PY" -m fashionpedia_plugin.toolkit.selfcheck 2>&1 | tee "$RESULTS/selfcheck.txt"
[ -f "$DATA/annotations/instances_attributes_train2020.json" ] || "$PY" tools/dataset_converters/make_synthetic_fashionpedia.py "$DATA" --train 240 --val 8 --size "$IMAGE_SIZE"
# shellcheck disable=SC2086  # word splitting of the lists is intended
"$PY" tools/analysis_tools/benchmark_train.py "$CONFIG" --sweep --device "$DEVICE" \
  --batch-sizes ${BATCHES:-2 4 8 16} --precisions ${PRECISIONS:-fp32 bf16} \
  --memory-formats ${FORMATS:-default channels-last} --iters "${ITERS:-10}" --warmup "${WARMUP:-5}" \
  --workers "$WORKERS" --image-size "$IMAGE_SIZE" --pipeline-samples "${PIPELINE:-50}" \
  --cfg-options train_dataloader.dataset.data_root="$DATA/" 2>&1 | tee "$RESULTS/sweep.txt"
[ "$TRAIN_ITERS" -gt 0 ] || exit 0
# Two short runs from scratch (the machine reaches no model hub): --keep-schedule keeps
# TRAIN_ITERS, --auto-scale-lr gives lr 0.02 x batch / 16; the warm-up is a third of the run so
# that most of it trains at that lr. No validation, no intermediate checkpoint.
train() {  # name batch precision format
  local extra=()
  [ "$3" = fp32 ] || extra+=(optim_wrapper.type=AmpOptimWrapper "optim_wrapper.dtype=$([ "$3" = bf16 ] && echo bfloat16 || echo float16)")
  [ "$4" = channels-last ] && extra+=("custom_hooks=[dict(type='InvalidLossHook'),dict(type='RNGStateHook'),dict(type='CheckpointProvenanceHook'),dict(type='WeightsOnlyCheckpointHook'),dict(type='ChannelsLastHook')]")
  "$PY" tools/train.py "$CONFIG" --keep-schedule --auto-scale-lr --data-root "$DATA/" \
    --work-dir "$RESULTS/$1" --cfg-options model.backbone.init_cfg=None \
    train_cfg.max_iters="$TRAIN_ITERS" train_cfg.val_interval=1000000 \
    param_scheduler.0.end=$((TRAIN_ITERS / 3)) train_dataloader.batch_size="$2" \
    train_dataloader.num_workers="$WORKERS" default_hooks.logger.interval=10 \
    default_hooks.checkpoint.interval=1000000 default_hooks.checkpoint.save_last=False \
    "${extra[@]}" 2>&1 | tail -n 5
}
train ref_fp32_b2 2 fp32 default
train "fast_${FAST_PRECISION}_b${FAST_BATCH}_${FAST_FORMAT}" "$FAST_BATCH" "$FAST_PRECISION" "$FAST_FORMAT"
"$PY" tools/analysis_tools/analyze_logs.py "$RESULTS/ref_fp32_b2" \
  "$RESULTS/fast_${FAST_PRECISION}_b${FAST_BATCH}_${FAST_FORMAT}" --no-group \
  --keys loss loss_cls loss_bbox loss_mask loss_attr --out "$RESULTS/curves.png" \
  --summary "$RESULTS/summary.md" 2>&1 | tee "$RESULTS/analyze_logs.txt"
