# Mask R-CNN with the paper's box head (4 conv + 1 fc, BN) and no attribute branch: exactly
# Attribute-Mask R-CNN minus attributes. The baseline for "what does the attribute branch cost"
# (tools/analysis_tools/benchmark_train.py) and for AP with vs without attribute supervision.
_base_ = './mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='Shared4Conv1FCBBoxHead',
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=46,
            norm_cfg=dict(type='SyncBN', requires_grad=True),
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))))
