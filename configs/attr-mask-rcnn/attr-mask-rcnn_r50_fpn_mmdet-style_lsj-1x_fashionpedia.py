# The attribute model on mmdet's Mask R-CNN network instead of the official recipe (frozen BN
# and stage 1, FPN P2-P6 without BN, RPN without BN, anchors 8 x stride 4..64, L1 box losses
# normalised as mmdet's, no BN after the box head's fc, mmdet's RoI level mapping, anchors at
# k x stride, RPN matching and box targets, RoIAlign and binary mask targets), same data,
# schedule and attribute head as attr-mask-rcnn_r50_fpn_lsj-1x: compare the two with
# tools/analysis_tools/config_diff.py and by their curves.
_base_ = './attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py'

model = dict(
    backbone=dict(
        frozen_stages=1, norm_eval=True,
        norm_cfg=dict(_delete_=True, type='BN', requires_grad=True)),
    neck=dict(_delete_=True, type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256,
              num_outs=5),
    # no BN and mmdet's loss normalisation: OfficialRPNHead is then mmdet's RPNHead
    rpn_head=dict(
        norm_cfg=None, box_loss_norm='mmdet', box_loss_anchors='sampled',
        anchor_generator=dict(scales=[8], strides=[4, 8, 16, 32, 64], center_offset=0.0),
        loss_bbox=dict(_delete_=True, type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        bbox_roi_extractor=dict(featmap_strides=[4, 8, 16, 32], finest_scale=56,
                                roi_layer=dict(sampling_ratio=0, aligned=True)),
        mask_roi_extractor=dict(featmap_strides=[4, 8, 16, 32], finest_scale=56,
                                roi_layer=dict(sampling_ratio=0, aligned=True)),
        bbox_head=dict(norm_cfg=dict(_delete_=True, type='SyncBN', requires_grad=True),
                       fc_norm_cfg=None, box_loss_norm='mmdet',
                       loss_bbox=dict(_delete_=True, type='L1Loss', loss_weight=1.0)),
        mask_head=dict(norm_cfg=None, upsample_norm_cfg=None)),
    train_cfg=dict(
        rpn=dict(assigner=dict(min_pos_iou=0.3, gt_max_assign_all=True)),
        rcnn=dict(assigner=dict(pos_iou_thr=0.5, match_low_quality=True),
                  soft_mask_target=False)))
