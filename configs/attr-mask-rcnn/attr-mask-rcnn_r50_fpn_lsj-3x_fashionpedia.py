# Attribute-Mask R-CNN R50-FPN, LSJ 1024, Fashionpedia 3x: 270,000 iterations x 16 images
# = 4.32 M images ~= 95 epochs over 45,623 (official yaml/r50fpn_amrcnn.yaml: 16,875 steps x 256,
# drops at 15,000 and 16,250 -> 240,000 and 260,000 at 16).
# Official results (tensorflow/tpu projects/fashionpedia/README.md; val, IoU / IoU+F1): box AP 43.4 / 30.7, mask AP 39.2 / 29.5.
_base_ = './attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py'

max_iters = 270000
milestones = [240000, 260000]
# the yaml sets no warm-up: the template's 500 steps, at its batch 256 = 128,000 images
warmup_iters = 8000

train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=milestones,
         gamma=0.1),
]
