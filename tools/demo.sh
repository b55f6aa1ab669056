#!/usr/bin/env bash
# `make demo`: the main job on the embedded default data, end to end on CPU (time in the README):
# generate synthetic Fashionpedia data -> train the demo Attribute-Mask R-CNN -> evaluate
# (COCO bbox/segm AP + AP with IoU+F1) -> curves, attribute report and prediction overlays under
# work_dirs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export MPLBACKEND=Agg
CONFIG=configs/demo/attr-mask-rcnn_r18_fpn_demo-520it_synthetic-fashionpedia.py
WORK=${WORK:-work_dirs/demo}
DATA=data/fashionpedia_synthetic
start=$(date +%s)

# (re)generate when absent or written by another version of the generator
if ! "$PY" -c "import json, sys; from fashionpedia_plugin.toolkit.synthetic import VERSION
sys.exit(json.load(open(sys.argv[1]))['info']['version'] != VERSION)" \
    "$DATA/annotations/instances_attributes_val2020.json" 2>/dev/null; then
  rm -rf "$DATA"
  "$PY" tools/dataset_converters/make_synthetic_fashionpedia.py "$DATA"
fi
mkdir -p "$WORK"
echo "[demo] training $CONFIG (520 iterations, validation at 260 and 520) -> $WORK"
# The final validation is the evaluation: it writes the predictions in the official results
# format (the metric's outfile_prefix) and overlays of every 10th val batch (its first image), so
# no second pass over the val images is needed (tools/test.py CONFIG CKPT --out ... --show-dir ... gives the
# same numbers).
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK" --cfg-options \
  val_evaluator.outfile_prefix="$WORK/predictions" \
  default_hooks.visualization.draw=True default_hooks.visualization.interval=10 \
  2>&1 | tee "$WORK/console.log" \
  | grep --line-buffered -E "Iter\(train\) \[ *[0-9]*0/|fashionpedia/segm_mAP|rror" \
  | sed -u -E -e '/Iter\(val\)/ s/^(.*Iter\(val\) \[ *[0-9]+\/[0-9]+\]).*(bbox_mAP: [0-9.]+).*(segm_mAP: [0-9.]+).*(bbox_iouf1_AP: [0-9.]+).*(segm_iouf1_AP: [0-9.]+).*$/\1 \2 \3 \4 \5/' \
      -e '/Iter\(val\)/! s/^(.{150}).*$/\1 .../' || true
[ -f "$WORK/iter_520.pth" ] || { echo "[demo] training failed: see $WORK/console.log" >&2; exit 1; }
mv "$WORK/predictions.segm.json" "$WORK/predictions.json"
RUN=$(ls -d "$WORK"/2*/ | tail -1)
"$PY" tools/analysis_tools/analyze_logs.py "$WORK" --out "$WORK/curves.png" \
  --summary "$WORK/summary.md" || true
"$PY" tools/analysis_tools/fashionpedia_eval.py "$DATA/annotations/instances_attributes_val2020.json" \
  "$WORK/predictions.json" --report "$WORK/attribute_report.md" \
  --heatmap "$WORK/attribute_f1.png" > /dev/null || true
echo "[demo] done in $(( ($(date +%s) - start) / 60 )) min; outputs in $WORK/ (overlays: ${RUN}vis_data/vis_image/)"
"$PY" - "$RUN"vis_data/scalars.json <<'PYEOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
last = [r for r in rows if 'fashionpedia/segm_mAP' in r][-1]
keys = ['bbox_mAP', 'segm_mAP', 'segm_mAP_50', 'bbox_iouf1_AP', 'segm_iouf1_AP', 'segm_f1_AP']
for k in keys:
    print(f'[demo] {k:>16}: {last.get("fashionpedia/" + k, "n/a")}')
PYEOF
