# Fashionpedia "1x": the schedule of the official template (tensorflow/tpu models/official/
# detection/projects/fashionpedia/configs/model_config.py), converted to total batch 16 by
# images seen: 22,500 steps x 64 images = 1.44 M images = 90,000 iterations x 16
# = 1.44 M / 45,623 train images ~= 31.6 epochs. The template does not call itself 1x and no R50
# 1x config is released: it is a third of the released 3x (r50fpn_amrcnn.yaml: 16,875 x 256 =
# 4.32 M images), so we take it as 1x (our derivation).
# lr drops x0.1 at the template's 15,000 and 20,000 of 22,500 steps (2/3 and 8/9) -> 60,000 and
# 80,000 (the 3x yaml drops at 8/9 and 26/27 instead: configs/attr-mask-rcnn/..._lsj-3x_...).
# lr: 0.08 at batch 64 (template) = 0.32 at 256 (r50fpn_amrcnn.yaml) -> 0.02 at batch 16; SGD
# momentum 0.9; L2 4e-5 on kernels only (regularization_variable_regex '.*(kernel|weight):0$':
# no decay on BN and biases). Warm-up: linear from 0 (modeling/learning_rates.py,
# warmup_learning_rate 0.0) over the template's warmup_steps 500 x train_batch_size 64 = 32,000
# images = 2,000 iterations at 16 (mmengine's LinearLR needs a start factor > 0: 0.001).
# Inherits mmdet's default runtime because its hooks are set here (checkpoint every
# val_interval, save_best on segm mAP) and mmengine forbids the same key in two sibling bases.
_base_ = 'mmdet::_base_/default_runtime.py'

max_iters = 90000
milestones = [60000, 80000]  # 2/3 and 8/9 of 90k (template 1x)
warmup_iters = 2000  # 500 steps x 64 images / 16
val_interval = 5000  # every 5k x 16 / 45,623 ~= 1.75 epochs

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=milestones,
         gamma=0.1),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=4e-5),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
# lr 0.02 and every iteration count above are for total batch 16 (8 GPUs x 2). tools/train.py
# rescales lr, iterations, drops, warm-up and intervals by images seen to the real total batch
# (toolkit/schedule_scaling.py; --keep-schedule: as written, then --auto-scale-lr scales the lr
# alone, as in mmdet)
auto_scale_lr = dict(enable=False, base_batch_size=16)
auto_scale_schedule = dict(enable=True)

default_hooks = dict(
    # iteration-based: log validation metrics at their iteration, not at "epoch 0"
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=val_interval,
                    max_keep_ckpts=3, save_best='fashionpedia/segm_mAP', rule='greater'))
log_processor = dict(by_epoch=False)

# stop on a NaN/inf loss naming the iteration; RNG states in checkpoints for exact --resume;
# the schedule and the validation split in every checkpoint's meta (honest model selection);
# checkpoints in plain types, so that they open weights-only (tools/train.py adds the last two
# to configs that replace custom_hooks)
custom_hooks = [
    dict(type='InvalidLossHook'), dict(type='RNGStateHook'), dict(type='CheckpointProvenanceHook'),
    dict(type='WeightsOnlyCheckpointHook')
]
