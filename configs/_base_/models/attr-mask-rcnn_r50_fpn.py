# Attribute-Mask R-CNN R50-FPN, the network recipe of the official implementation, as deltas of
# the mmdet-style model. Sources (tensorflow/tpu, models/official/detection/):
#   [M] projects/fashionpedia/configs/model_config.py   [Y] .../configs/yaml/r50fpn_amrcnn.yaml
#   [S] ops/spatial_transform_ops.py (multilevel_crop_and_resize)   [F] modeling/architecture/fpn.py
# "our choice" marks what the source does not settle; docs in README "Configs".
_base_ = './attr-mask-rcnn_r50_fpn_mmdet-style.py'

# [M][Y] SyncBN everywhere, trainable; TF momentum 0.99 / eps 1e-3 = torch momentum 0.01.
# Without distribution mmengine reverts SyncBN to BN.
norm_cfg = dict(type='SyncBN', requires_grad=True, momentum=0.01, eps=1e-3)

model = dict(
    # [M] no frozen stages, BN trainable (batch_norm_trainable)
    backbone=dict(frozen_stages=-1, norm_eval=False, norm_cfg=norm_cfg),
    # [M] min_level 3, max_level 7: P3-P7; [F] P6 from the P5 output, ReLU before P7, BN on the
    # levels (fpn.use_batch_norm). mmdet's FPN also normalises the lateral convs: close, not equal.
    neck=dict(start_level=1, add_extra_convs='on_output', relu_before_extra_convs=True,
              num_outs=5, norm_cfg=norm_cfg),
    rpn_head=dict(
        # [M] anchor: num_scales 1, aspect_ratios [1, 2, 0.5], anchor_size 3 -> side 3 x stride
        anchor_generator=dict(scales=[3], ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
        # [M] rpn_box_loss huber delta 1/9 = smooth L1 with beta 1/9 (same shape; the scale
        # and normalisation stay mmdet's: our choice). The RPN conv has no BN here: mmdet's
        # RPNHead has no norm option (official rpn_head.use_batch_norm: a documented deviation).
        loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)),
    roi_head=dict(
        # [S] level = floor(log2(sqrt(area) / 224)) + 4, clipped to [3, 7]; over strides 8..128
        # that is mmdet's floor(log2(sqrt(area) / finest_scale)) with finest_scale 112
        # (tests/test_recipe.py checks boxes of side 100 .. 2000).
        bbox_roi_extractor=dict(featmap_strides=[8, 16, 32, 64, 128], finest_scale=112),
        mask_roi_extractor=dict(featmap_strides=[8, 16, 32, 64, 128], finest_scale=112),
        bbox_head=dict(
            norm_cfg=norm_cfg,  # [M] frcnn_head: 4 convs, 1 fc 1024, use_batch_norm
            # [M] frcnn_box_loss huber delta 1.0 = smooth L1 with beta 1.0
            loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=1.0, loss_weight=1.0)),
        mask_head=dict(norm_cfg=norm_cfg)),  # [M] mrcnn_head: 4 convs, use_batch_norm
    train_cfg=dict(
        # [M] roi_sampling: fg IoU > 0.5, bg [0, 0.5), 512 per image, 25 % fg, gt boxes mixed in
        rcnn=dict(assigner=dict(match_low_quality=False))))
