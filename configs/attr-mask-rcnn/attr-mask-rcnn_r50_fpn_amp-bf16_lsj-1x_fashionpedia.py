# The paper 1x config with mixed precision: autocast to bfloat16 (mmengine AmpOptimWrapper).
# bf16 keeps fp32's exponent range, so no loss scaling is needed (our choice over fp16, whose
# dynamic loss scale can skip steps early in training); the official template trains in bf16
# (tensorflow/tpu models/official/detection/projects/fashionpedia/configs/model_config.py:
# architecture.use_bfloat16 True, on TPU).
# Whether it is faster and as accurate on your GPU: tools/analysis_tools/benchmark_train.py
# CONFIG --sweep and docs/throughput.md. Same schedule as the 1x config.
_base_ = './attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py'

optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale='dynamic')
