# Attribute-Mask R-CNN R50-FPN, LSJ 1024, Fashionpedia 1x (90k iterations x 16 ~= 31.6 epochs).
# Official results (tensorflow/tpu projects/fashionpedia/README.md; val, IoU / IoU+F1): box AP 38.7 / 26.6, mask AP 34.3 / 25.5.
# Train: tools/dist_train.sh configs/attr-mask-rcnn/attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py 8
_base_ = [
    '../_base_/models/attr-mask-rcnn_r50_fpn.py',
    '../_base_/datasets/fashionpedia_instance.py',
    '../_base_/schedules/schedule_1x.py',  # + mmdet's default runtime
]

# LSJ crops are 1024x1024; pad every batch to exactly that size
model = dict(data_preprocessor=dict(
    batch_augments=[dict(type='BatchFixedSizePad', size=(1024, 1024), pad_mask=True)]))
# overlays (test.py --show-dir, browse_dataset.py, the inferencer) show class + attributes,
# decoded as the metric decodes them
visualizer = dict(type='FashionpediaVisualizer', attr_decoder={{_base_.attr_decoder}})
