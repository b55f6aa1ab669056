# Plain Mask R-CNN R50-FPN (no attribute branch, mmdet's 2fc box head) on Fashionpedia, same data,
# LSJ and 1x schedule as the attribute model: the baseline for "what do attributes cost".
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/fashionpedia_instance.py',
    '../_base_/schedules/schedule_1x.py',  # + mmdet's default runtime
]

model = dict(
    data_preprocessor=dict(
        batch_augments=[dict(type='BatchFixedSizePad', size=(1024, 1024), pad_mask=True)]),
    roi_head=dict(bbox_head=dict(num_classes=46), mask_head=dict(num_classes=46)))
# no attribute predictions: report COCO AP only
val_evaluator = dict(attribute_metric=False)
test_evaluator = val_evaluator
