# Attribute-Mask R-CNN R50-FPN, LSJ 1024, Fashionpedia 6x (~189 epochs at total batch 16).
# Paper (val, IoU / IoU+F1): box AP 42.9/31.2, mask AP 38.9/30.2.
_base_ = [
    './attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py',
    '../_base_/schedules/schedule_6x.py',
]
