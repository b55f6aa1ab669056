#!/usr/bin/env bash
# GPU check of the real R50-FPN configs (LSJ 1024) on synthetic 1024 px data, in one go:
#   1. self-check (CUDA RoIAlign / nms == CPU);
#   2. train-step time of the paper model (official recipe), the mmdet-style variant and the plain
#      recipe baseline, fp32 and AMP, side by side (benchmark_train.py, ratios to the paper model);
#   3. a TRAIN_ITERS-iteration tools/train.py run of the paper 1x config whose loss must fall.
# Run from the repo root on a CUDA machine: bash tools/analysis_tools/gpu_smoke.sh [ITERS]
# Env: RESULTS (folder for the summaries, default work_dirs/gpu_smoke), TRAIN_ITERS (300; 0 skips
# step 3), TRAIN_BATCH (4), WARMUP (10), PIPELINE (100 samples for the data-pipeline row),
# LOG_INTERVAL (10), AMP ('--amp'; AMP= for a CPU rehearsal of the script).
set -euo pipefail
PY=${PY:-python3}
ITERS=${1:-100}
TRAIN_ITERS=${TRAIN_ITERS:-300}
TRAIN_BATCH=${TRAIN_BATCH:-4}
DATA=${DATA:-data/synthetic_1024}
RESULTS=${RESULTS:-work_dirs/gpu_smoke}
mkdir -p "$RESULTS"
"$PY" -m fashionpedia_plugin.toolkit.selfcheck 2>&1 | tee "$RESULTS/selfcheck.txt"
[ -f "$DATA/annotations/instances_attributes_train2020.json" ] || "$PY" tools/dataset_converters/make_synthetic_fashionpedia.py "$DATA" --train 240 --val 8 --size 1024
[ "$ITERS" -gt 0 ] && "$PY" tools/analysis_tools/benchmark_train.py \
  configs/attr-mask-rcnn/attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py \
  configs/attr-mask-rcnn/attr-mask-rcnn_r50_fpn_mmdet-style_lsj-1x_fashionpedia.py \
  configs/mask-rcnn/mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py \
  --iters "$ITERS" --warmup "${WARMUP:-10}" ${AMP---amp} --batch-size 2 --workers 8 \
  --pipeline-samples "${PIPELINE:-100}" \
  --cfg-options train_dataloader.dataset.data_root="$DATA/" 2>&1 | tee "$RESULTS/benchmark_train.txt"
[ "$TRAIN_ITERS" -gt 0 ] || exit 0
# The 1x schedule warms up over 2,000 iterations (500 steps x 64 images / 16, from model_config.py;
# configs/_base_/schedules/schedule_1x.py): a short
# check shortens the warm-up to a third of the run so that most of it trains at the working lr,
# 0.02 x TRAIN_BATCH / 16 (--keep-schedule: the iterations given here, --auto-scale-lr: lr only). No validation, no intermediate checkpoint. The GPU
# machine reaches no model hub, so the backbone starts from scratch (init_cfg=None), not ImageNet.
"$PY" tools/train.py configs/attr-mask-rcnn/attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py \
  --keep-schedule --auto-scale-lr --data-root "$DATA/" --work-dir "$RESULTS/train" \
  --cfg-options model.backbone.init_cfg=None train_cfg.max_iters="$TRAIN_ITERS" train_cfg.val_interval=1000000 \
  param_scheduler.0.end=$((TRAIN_ITERS / 3)) train_dataloader.batch_size="$TRAIN_BATCH" \
  train_dataloader.num_workers=8 default_hooks.logger.interval="${LOG_INTERVAL:-10}" \
  default_hooks.checkpoint.interval=1000000 default_hooks.checkpoint.save_last=False
"$PY" tools/analysis_tools/analyze_logs.py "$RESULTS/train" \
  --keys loss loss_rpn_cls loss_cls loss_bbox loss_mask loss_attr \
  --out "$RESULTS/train_curves.png" --summary "$RESULTS/train_summary.md" 2>&1 \
  | tee "$RESULTS/analyze_logs.txt"
# the loss must fall: mean of the first and of the last fifth of the logged points
"$PY" - "$RESULTS/train" <<'EOF' 2>&1 | tee "$RESULTS/loss_trend.txt"
import glob, json, sys
path = sorted(glob.glob(sys.argv[1] + '/*/vis_data/scalars.json'))[-1]
rows = [json.loads(line) for line in open(path)]
rows = [r for r in rows if 'loss' in r]
k = max(1, len(rows) // 5)
for key in ('loss', 'loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask', 'loss_attr'):
    first = sum(r[key] for r in rows[:k]) / k
    last = sum(r[key] for r in rows[-k:]) / k
    print(f'{key:<13} first {first:8.4f}  last {last:8.4f}  ratio {last / first:.3f}')
total = [sum(r['loss'] for r in part) / k for part in (rows[:k], rows[-k:])]
print(f'{len(rows)} logged points; loss {"FELL" if total[1] < total[0] else "DID NOT FALL"}')
sys.exit(0 if total[1] < total[0] else 1)
EOF
