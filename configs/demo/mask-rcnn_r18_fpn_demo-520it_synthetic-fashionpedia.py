# The demo model without the attribute branch (mmdet's StandardRoIHead + Shared2FCBBoxHead of
# the same size): the baseline of tools/analysis_tools/benchmark_train.py on CPU.
_base_ = './attr-mask-rcnn_r18_fpn_demo-520it_synthetic-fashionpedia.py'

model = dict(
    roi_head=dict(
        type='StandardRoIHead',
        bbox_head=dict(
            _delete_=True,
            type='Shared2FCBBoxHead',
            in_channels={{_base_.ch}},
            fc_out_channels=256,
            roi_feat_size=7,
            num_classes=46,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))))
# custom_hooks (ValLossHook and the rest) are the demo's: both log val_loss, side by side
val_evaluator = dict(attribute_metric=False)
test_evaluator = val_evaluator
