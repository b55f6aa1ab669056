# Attribute-Mask R-CNN R50-FPN, LSJ 1024, Fashionpedia 3x (~95 epochs at total batch 16).
# Paper (val, IoU / IoU+F1): box AP 43.4/30.7, mask AP 39.2/29.5.
_base_ = [
    './attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py',
    '../_base_/schedules/schedule_3x.py',
]
