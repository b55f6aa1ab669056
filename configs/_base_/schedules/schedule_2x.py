# Fashionpedia "2x" = 180000 iterations x 16 images ~= 63 epochs over 45,623 images
# (official 2x: 11250 steps x 256). Steps at the official fractions 0.889 / 0.963.
_base_ = './schedule_1x.py'

max_iters = 180000
milestones = [160000, 173333]

train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=8000),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=milestones,
         gamma=0.1),
]
