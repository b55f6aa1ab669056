# Mask R-CNN R50-FPN on the official network recipe without the attribute branch: the 4conv1fc
# box head with BN after the convs and the fc and the official box-loss normalisation
# (OfficialConvFCBBoxHead = Shared4Conv1FCBBoxHead + those two), same data, LSJ and 1x schedule as
# attr-mask-rcnn_r50_fpn_lsj-1x. The baseline for "what do attributes cost / change".
_base_ = '../attr-mask-rcnn/attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py'

norm_cfg = {{_base_.norm_cfg}}
model = dict(
    roi_head=dict(
        type='StandardRoIHead',
        bbox_head=dict(
            _delete_=True,
            type='OfficialConvFCBBoxHead',
            num_shared_convs=4,
            num_shared_fcs=1,
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=46,
            norm_cfg=norm_cfg,
            fc_norm_cfg=norm_cfg,
            box_loss_norm='positive_coords',
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))))
# no attribute predictions: report COCO AP only; overlays without attributes
val_evaluator = dict(attribute_metric=False)
test_evaluator = val_evaluator
visualizer = dict(_delete_=True, type='DetLocalVisualizer',
                  vis_backends=[dict(type='LocalVisBackend')], name='visualizer')
