# The seed experiment (a virtual-fitting project, Detectron2), as an mmdet config so that
# tools/analysis_tools/config_diff.py can compare it with the official recipe:
# Mask R-CNN R50-FPN (mmdet's defaults, close to Detectron2's), batch 4, lr 1e-4 without decay,
# 4 RoIs per image, backbone frozen (FREEZE_AT=5: stem + all 4 stages), 240k iterations x 4
# images / 45,623 ~= 21 epochs, no attributes, no LSJ (plain resize). Reported segm AP ~19-20
# (AP50 ~38).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/fashionpedia_instance.py',
    '../_base_/schedules/schedule_1x.py',  # + mmdet's default runtime
]

max_iters = 240000
model = dict(
    backbone=dict(frozen_stages=4),
    roi_head=dict(bbox_head=dict(num_classes=46), mask_head=dict(num_classes=46)),
    train_cfg=dict(rcnn=dict(sampler=dict(num=4))))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='LoadFashionpediaAttributes'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackFashionpediaInputs'),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))  # x 1 GPU

train_cfg = dict(max_iters=max_iters, val_interval=10000)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=max_iters)]
# Detectron2 default weight decay 1e-4 (on every parameter here)
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=1e-4), paramwise_cfg=None)
auto_scale_lr = dict(base_batch_size=4)
val_evaluator = dict(attribute_metric=False)
test_evaluator = val_evaluator
