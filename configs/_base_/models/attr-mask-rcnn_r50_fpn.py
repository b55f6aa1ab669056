# Attribute-Mask R-CNN R50-FPN, the network recipe of the official implementation, as deltas of
# the mmdet-style model. Sources (tensorflow/tpu, models/official/detection/):
#   [M] projects/fashionpedia/configs/model_config.py   [Y] .../configs/yaml/r50fpn_amrcnn.yaml
#   [S] ops/spatial_transform_ops.py (multilevel_crop_and_resize)   [F] modeling/architecture/fpn.py
#   [H] modeling/architecture/heads.py (RpnHead)   [L] modeling/losses.py
#   [FR] projects/fashionpedia/modeling/architecture/fast_rcnn_head.py
#   [A] dataloader/anchor.py (Anchor, AnchorLabeler, RpnAnchorLabeler; the parser of
#       projects/fashionpedia/dataloader/data_parser.py labels the anchors with it)
#   [D] projects/fashionpedia/dataloader/data_parser.py   [T] ops/target_ops.py
# Class, mask and attribute losses need no change: [L] class = mean over all RoIs, mask = mean
# over positive-RoI pixels, as mmdet's; projects/fashionpedia/modeling/model.py sums the six
# terms with weight 1.
# "our choice" marks what the source does not settle; docs in docs/configs-and-recipe.md.
_base_ = './attr-mask-rcnn_r50_fpn_mmdet-style.py'

# [M][Y] SyncBN everywhere, trainable; TF momentum 0.99 / eps 1e-3 = torch momentum 0.01.
# Without distribution mmengine reverts SyncBN to BN.
norm_cfg = dict(type='SyncBN', requires_grad=True, momentum=0.01, eps=1e-3)

model = dict(
    # [M] no frozen stages, BN trainable (batch_norm_trainable)
    backbone=dict(frozen_stages=-1, norm_eval=False, norm_cfg=norm_cfg),
    # [M] min_level 3, max_level 7: P3-P7; [F] plain lateral and output convs, P6 from the P5
    # output, ReLU before P7, then one BN per output level (fpn.use_batch_norm): OfficialFPN
    neck=dict(type='OfficialFPN', start_level=1, add_extra_convs='on_output',
              relu_before_extra_convs=True, num_outs=5, norm_cfg=norm_cfg),
    rpn_head=dict(
        # [H] shared 3x3 conv, BN per level, ReLU (rpn_head.use_batch_norm)
        type='OfficialRPNHead', norm_cfg=norm_cfg,
        # [M] anchor: num_scales 1, aspect_ratios [1, 2, 0.5], anchor_size 3 -> side 3 x stride;
        # [A] centres at stride / 2 + k x stride (Anchor._generate_boxes: tf.range(stride / 2,
        # ...)); mmdet's default center_offset 0 puts them at k x stride
        anchor_generator=dict(scales=[3], ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128],
                              center_offset=0.5),
        # [M][L] rpn_box_loss: Huber delta 1/9 = 1/9 x smooth L1 beta 1/9, summed over the
        # non-zero targets of a level / their number, levels summed (box_loss_norm); [A]
        # RpnAnchorLabeler subsamples the score targets only: every matched anchor regresses
        # (box_loss_anchors; mmdet: the <= 128 sampled positives per image)
        box_loss_norm='nonzero_per_level', box_loss_anchors='matched',
        loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0 / 9.0)),
    roi_head=dict(
        # [S] level = floor(log2(sqrt(area) / 224)) + 4, clipped to [3, 7]; over strides 8..128
        # that is mmdet's floor(log2(sqrt(area) / finest_scale)) with finest_scale 112
        # (tests/test_recipe.py checks boxes of side 100 .. 2000).
        # [S] selective_crop_and_resize: one bilinear sample per bin at (i + 0.5) x bin, feature
        # index i at coordinate i (no half-pixel shift) = mmcv RoIAlign sampling_ratio 1,
        # aligned False (tests/test_recipe.py compares it with a port of the official op)
        bbox_roi_extractor=dict(
            featmap_strides=[8, 16, 32, 64, 128], finest_scale=112,
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=1, aligned=False)),
        mask_roi_extractor=dict(
            featmap_strides=[8, 16, 32, 64, 128], finest_scale=112,
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=1, aligned=False)),
        bbox_head=dict(
            # [M] frcnn_head: 4 convs, 1 fc 1024, use_batch_norm; [FR] BN after the convs and fc6
            norm_cfg=norm_cfg, fc_norm_cfg=norm_cfg,
            # [M][L] frcnn_box_loss: Huber delta 1.0 = smooth L1 beta 1.0, summed over positive
            # RoIs x 4 coordinates / their number (box_loss_norm)
            box_loss_norm='positive_coords',
            loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=1.0, loss_weight=1.0)),
        # [M] mrcnn_head: 4 convs, use_batch_norm; [H] MaskrcnnHead: BN after the deconv too
        mask_head=dict(type='OfficialFCNMaskHead', norm_cfg=norm_cfg, upsample_norm_cfg=norm_cfg)),
    train_cfg=dict(
        # [A] AnchorLabeler: ArgMaxMatcher(0.7, 0.3, force_match_for_each_row=True): fg IoU >=
        # 0.7, bg < 0.3, and each ground truth's best anchor is fg whatever its IoU (one anchor,
        # argmax). mmdet's RPN assigner forces only at IoU >= min_pos_iou 0.3, all tied anchors.
        # (Two ground truths with the same best anchor: TF gives it the first, mmdet the last.)
        rpn=dict(assigner=dict(min_pos_iou=0.0, gt_max_assign_all=False)),
        # [M] roi_sampling: fg IoU > 0.5, bg [0, 0.5), 512 per image, 25 % fg, gt boxes mixed in.
        # [R] assign_and_sample_proposals: tf.greater(matched_iou, 0.5), so an RoI at IoU 0.5
        # exactly is neither fg nor bg and never sampled. mmdet's MaxIoUAssigner takes
        # IoU >= pos_iou_thr: the float32 successor of 0.5 makes it ignore IoU 0.5 as well
        # (neg_iou_thr 0.5 keeps bg at < 0.5).
        # [D] ground-truth masks are resampled bilinearly to 112 x 112 in their box, then [T]
        # (sample_and_crop_foreground_masks -> crop_mask_in_target_box) bilinearly into each RoI,
        # never thresholded: the mask loss learns soft edges. mmdet binarises at 0.5 unless
        # soft_mask_target; its one RoIAlign of the full-size mask is our choice of path.
        rcnn=dict(assigner=dict(pos_iou_thr=0.50000006, match_low_quality=False),
                  soft_mask_target=True)))
