# The seed experiment (a virtual-fitting project, Detectron2), as an mmdet config so that
# tools/analysis_tools/config_diff.py can compare it with the paper's recipe:
# Mask R-CNN R50-FPN, batch 4, lr 1e-4 without decay, 4 RoIs per image, backbone frozen
# (FREEZE_AT=5: stem + all 4 stages), 240k iterations x 4 images / 45,623 ~= 21 epochs, no
# attributes, no LSJ (plain resize). Reported segm AP ~19-20 (AP50 ~38).
_base_ = './mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py'

max_iters = 240000
model = dict(
    data_preprocessor=dict(batch_augments=None),
    backbone=dict(frozen_stages=4),
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
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=1e-4))  # Detectron2 default wd
auto_scale_lr = dict(base_batch_size=4)
