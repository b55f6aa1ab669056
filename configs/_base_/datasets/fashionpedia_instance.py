# Fashionpedia instance segmentation + attributes, the official input recipe (tensorflow/tpu
# models/official/detection/projects/fashionpedia/configs/model_config.py: parser output_size,
# aug_scale_min/max, hflip):
# 1024x1024 input, horizontal flip, large-scale jitter. The official download unpacks to
#   data/fashionpedia/train/*.jpg                 (train2020.zip -> train/)
#   data/fashionpedia/test/*.jpg                  (val_test2020.zip -> test/, holds the VAL images)
#   data/fashionpedia/annotations/instances_attributes_{train,val}2020.json
# 45,623 train / 1,158 val images. Check a download with tools/analysis_tools/data_doctor.py.
custom_imports = dict(imports=['fashionpedia_plugin'], allow_failed_imports=False)

dataset_type = 'FashionpediaDataset'
data_root = 'data/fashionpedia/'
image_size = (1024, 1024)
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='LoadFashionpediaAttributes'),
    # RandomCrop and FilterAnnotations drop instances; AlignInstanceFields keeps
    # gt_attributes row-aligned with the boxes and masks they belong to.
    dict(
        type='AlignInstanceFields',
        fields=('gt_attributes', ),
        transforms=[
            # large-scale jitter: scale 0.5-2.0 of 1024 (model_config.py), then a 1024 crop
            dict(type='RandomResize', scale=image_size, ratio_range=(0.5, 2.0), keep_ratio=True),
            dict(type='RandomCrop', crop_type='absolute_range', crop_size=image_size,
                 recompute_bbox=True, allow_negative_crop=True),
            dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackFashionpediaInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='LoadFashionpediaAttributes'),
    dict(type='PackFashionpediaInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

train_dataloader = dict(
    batch_size=2,  # x 8 GPUs = total batch 16, the base of every schedule here
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_attributes_train2020.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_attributes_val2020.json',
        data_prefix=dict(img='test/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

# Attribute scores -> attribute ids, one decoder for the metric, tools/test.py --out and
# tools/infer.py: score >= 0.05 (the dataset author's "0.05 in the paper", fashionpedia-api issue
# #16; the official TF code outputs probabilities only). Class prior and exclusive groups need
# a prior file: tools/analysis_tools/build_attribute_prior.py, or tune_attributes.py's output.
attr_decoder = dict(type='AttributeDecoder', score_thr=0.05)
# COCO bbox/segm AP/AR + the official AP with IoU+F1 (fashionpedia/segm_iouf1_AP, ...)
val_evaluator = dict(
    type='FashionpediaMetric',
    ann_file=data_root + 'annotations/instances_attributes_val2020.json',
    metric=['bbox', 'segm'],
    format_only=False,
    attr_decoder=attr_decoder,
    backend_args=backend_args)
test_evaluator = val_evaluator
