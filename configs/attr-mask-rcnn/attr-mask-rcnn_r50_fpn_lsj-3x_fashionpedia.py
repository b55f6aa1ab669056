# Attribute-Mask R-CNN R50-FPN, LSJ 1024, Fashionpedia 3x: 270,000 iterations x 16 images
# = 4.32 M images ~= 95 epochs over 45,623 (official 3x: 16,875 steps x 256).
# Paper (val, IoU / IoU+F1): box AP 43.4 / 30.7, mask AP 39.2 / 29.5.
_base_ = './attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py'

max_iters = 270000
milestones = [240000, 260000]  # 0.889 and 0.963 of the schedule, as the official configs

train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=8000),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=milestones,
         gamma=0.1),
]
