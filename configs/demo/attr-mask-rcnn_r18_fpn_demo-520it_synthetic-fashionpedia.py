# CPU demo: a slimmed Attribute-Mask R-CNN trained from scratch on the embedded synthetic
# Fashionpedia data (fashionpedia_plugin/datasets/synthetic.py, 300 train / 60 val images at
# 320 px; `make demo` generates them). No pretrained weights can be downloaded on the build
# machines, so everything is small: R18 with trainable BN, 128-channel FPN, 2fc box head
# (256-d shared feature for the 294-way attribute layer), 2-conv mask head, 128 RoIs/image.
# 520 iterations x 4 images = 2,080 images = 6.9 epochs over 300 images; measured ~1.4 s/iter
# on 2 cores -> ~12 min of training, validation (with val loss) at 260 and 520.
_base_ = [
    '../_base_/models/attr-mask-rcnn_r50_fpn.py',
    '../_base_/datasets/fashionpedia_instance.py',
    'mmdet::_base_/default_runtime.py',
]

data_root = 'data/fashionpedia_synthetic/'
image_size = (320, 320)
ch = 128

model = dict(
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=ch),
    rpn_head=dict(in_channels=ch, feat_channels=ch),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=ch),
        bbox_head=dict(num_shared_convs=0, num_shared_fcs=2, in_channels=ch,
                       fc_out_channels=256, norm_cfg=None),
        mask_roi_extractor=dict(out_channels=ch),
        mask_head=dict(num_convs=2, in_channels=ch, conv_out_channels=ch)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300),
                   rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300), rcnn=dict(max_per_img=50)))

# mild scale jitter (0.8-1.25) + crop + flip: exercises the attribute-aligned LSJ path
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadFashionpediaAnnotations', with_bbox=True, with_mask=True),
    dict(type='AlignInstanceFields', transforms=[
        dict(type='RandomResize', scale=image_size, ratio_range=(0.8, 1.25), keep_ratio=True),
        dict(type='RandomCrop', crop_type='absolute_range', crop_size=image_size,
             recompute_bbox=True, allow_negative_crop=True),
        dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
        dict(type='RandomFlip', prob=0.5),
    ]),
    dict(type='PackFashionpediaInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadFashionpediaAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackFashionpediaInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=1, persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_attributes_val2020.json')
test_evaluator = val_evaluator

max_iters = 520
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=260)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    # x0.1 for the last 15 %
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=[440],
         gamma=0.1),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=4)

# validation loss next to the metrics (off by default on real data: one more forward per batch);
# stop on NaN/inf losses; RNG states in checkpoints for exact --resume
custom_hooks = [dict(type='ValLossHook'), dict(type='InvalidLossHook'), dict(type='RNGStateHook')]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=260, max_keep_ckpts=2,
                    save_best='fashionpedia/segm_mAP', rule='greater'))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
