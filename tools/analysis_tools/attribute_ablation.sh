#!/usr/bin/env bash
# The attribute table of docs/attributes.md ("Target x decoding x prior, measured") on the demo
# (synthetic) data, reproducible:
#   training target (official / positive) x decoding (0.5, 0.05, tuned) x prior (off, class,
#   class + exclusive) -> segm AP with IoU+F1, F1-only AP, IoU-only AP on the val split.
# Two demo trainings (~20 min each on 2 CPU cores; skipped when the checkpoint exists), then
# only tools/test.py dumps and the offline tuner: the decodings never re-run the model.
# The tuned decoders are calibrated on 60 random TRAIN images (data doctor --subset), not on val.
#   bash tools/analysis_tools/attribute_ablation.sh [OUT_DIR]   (default work_dirs/attr_ablation)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export MPLBACKEND=Agg
CONFIG=configs/demo/attr-mask-rcnn_r18_fpn_demo-520it_synthetic-fashionpedia.py
DATA=data/fashionpedia_synthetic
OUT=${1:-work_dirs/attr_ablation}
TRAIN_ANN=$DATA/annotations/instances_attributes_train2020.json
VAL_ANN=$DATA/annotations/instances_attributes_val2020.json
mkdir -p "$OUT"
[ -f "$VAL_ANN" ] || "$PY" tools/dataset_converters/make_synthetic_fashionpedia.py "$DATA"

CALIB=$(pwd)/$OUT/calib_train60.json
"$PY" tools/analysis_tools/data_doctor.py "$TRAIN_ANN" --subset 60 --random --seed 0 --out "$CALIB"
"$PY" tools/analysis_tools/build_attribute_prior.py "$TRAIN_ANN" --out "$OUT/prior.json"
for thr in 0.5 0.05; do
  printf '{"type": "AttributeDecoder", "score_thr": %s}\n' "$thr" > "$OUT/thr$thr-off.json"
  printf '{"type": "AttributeDecoder", "score_thr": %s, "prior": "%s"}\n' "$thr" \
    "$OUT/prior.json" > "$OUT/thr$thr-class.json"
  printf '{"type": "AttributeDecoder", "score_thr": %s, "prior": "%s", "exclusive": true}\n' \
    "$thr" "$OUT/prior.json" > "$OUT/thr$thr-exclusive.json"
done

# each target at its own loss weight: the official one at 1.0 (tensorflow/tpu
# models/official/detection/projects/fashionpedia/modeling/model.py build_losses adds the
# attribute loss unweighted to the total), the positive one at the demo config's 0.1
declare -A WEIGHT=([official]=1.0 [positive]=0.1)
for target in official positive; do
  W=$OUT/$target
  if [ ! -f "$W/iter_520.pth" ]; then
    "$PY" tools/train.py "$CONFIG" --work-dir "$W" \
      --cfg-options model.roi_head.bbox_head.attr_target=$target \
      model.roi_head.bbox_head.loss_attr.loss_weight=${WEIGHT[$target]}
  fi
  "$PY" tools/test.py "$CONFIG" "$W/iter_520.pth" --work-dir "$W/test_val" \
    --out "$W/val.json" --attr-scores > "$W/test_val.log" 2>&1
  "$PY" tools/test.py "$CONFIG" "$W/iter_520.pth" --work-dir "$W/test_calib" \
    --out "$W/calib.json" --attr-scores --cfg-options \
    test_dataloader.dataset.ann_file="$CALIB" test_dataloader.dataset.data_prefix.img=train/ \
    test_evaluator.ann_file="$CALIB" > "$W/test_calib.log" 2>&1
  decoders=()
  for mode in off class exclusive; do
    "$PY" tools/analysis_tools/tune_attributes.py "$CALIB" "$W/calib.json" --prior "$OUT/prior.json" \
      --prior-mode $mode --out-dir "$W/tuned-$mode" > "$W/tuned-$mode.log" 2>&1
    decoders+=("$W/tuned-$mode/attr_decoder.json")
  done
  echo "== attr_target=$target: val split ($VAL_ANN)"
  "$PY" tools/analysis_tools/tune_attributes.py "$VAL_ANN" "$W/val.json" --evaluate \
    "$OUT"/thr0.5-{off,class,exclusive}.json "$OUT"/thr0.05-{off,class,exclusive}.json \
    "${decoders[@]}" 2>/dev/null | tee "$W/table.txt"
done
