# Attribute-Mask R-CNN R50-FPN, LSJ 1024, Fashionpedia 2x (~63 epochs at total batch 16).
# Paper (val, IoU / IoU+F1): box AP 41.6/29.3, mask AP 38.1/28.5.
_base_ = [
    './attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py',
    '../_base_/schedules/schedule_2x.py',
]
