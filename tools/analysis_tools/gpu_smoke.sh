#!/usr/bin/env bash
# GPU smoke + speed check of the real R50-FPN configs (LSJ 1024) on synthetic 1024 px data:
# self-check (CUDA RoIAlign == CPU), then ~100 train iterations per config, fp32 and AMP, side by
# side: the paper model (official recipe), the mmdet-style variant, the plain recipe baseline.
# Run from the repo root on a CUDA machine: bash tools/analysis_tools/gpu_smoke.sh [ITERS]
set -euo pipefail
PY=${PY:-python3}
ITERS=${1:-100}
DATA=${DATA:-data/synthetic_1024}
"$PY" -m fashionpedia_plugin.toolkit.selfcheck
"$PY" tools/dataset_converters/make_synthetic_fashionpedia.py "$DATA" --train 240 --val 8 --size 1024
"$PY" tools/analysis_tools/benchmark_train.py \
  configs/attr-mask-rcnn/attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py \
  configs/attr-mask-rcnn/attr-mask-rcnn_r50_fpn_mmdet-style_lsj-1x_fashionpedia.py \
  configs/mask-rcnn/mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py \
  --iters "$ITERS" --warmup "${WARMUP:-10}" --amp --batch-size 2 --workers 8 --pipeline-samples 100 \
  --cfg-options train_dataloader.dataset.data_root="$DATA/"
