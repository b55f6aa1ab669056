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

if [ ! -f "$DATA/annotations/instances_attributes_val2020.json" ]; then
  "$PY" tools/dataset_converters/make_synthetic_fashionpedia.py "$DATA"
fi
echo "[demo] training $CONFIG (520 iterations, validation at 260 and 520) -> $WORK"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK"
CKPT="$WORK/iter_520.pth"
echo "[demo] testing $CKPT (predictions in the official results format + overlays)"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK/test" \
  --out "$WORK/predictions.json" --show-dir overlays \
  --cfg-options default_hooks.visualization.interval=10 2>&1 | tee "$WORK/test.log" | \
  grep -E "fashionpedia/|official results|AP with IoU\+F1" || true
"$PY" tools/analysis_tools/analyze_logs.py "$WORK" --out "$WORK/curves.png" \
  --summary "$WORK/summary.md" || true
"$PY" tools/analysis_tools/fashionpedia_eval.py "$DATA/annotations/instances_attributes_val2020.json" \
  "$WORK/predictions.json" --report "$WORK/attribute_report.md" \
  --heatmap "$WORK/attribute_f1.png" > /dev/null || true
echo "[demo] done in $(( ($(date +%s) - start) / 60 )) min; outputs in $WORK/"
"$PY" - "$WORK/test.log" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
keys = ['bbox_mAP', 'segm_mAP', 'segm_mAP_50', 'bbox_iouf1_AP', 'segm_iouf1_AP', 'segm_f1_AP']
for k in keys:
    m = re.search(rf'fashionpedia/{k}: ([0-9.]+)', text)
    print(f'[demo] {k:>16}: {m.group(1) if m else "n/a"}')
PYEOF
