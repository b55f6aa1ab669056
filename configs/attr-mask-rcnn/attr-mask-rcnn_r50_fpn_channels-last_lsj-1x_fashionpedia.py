# The paper 1x config in channels-last (NHWC) memory format (ChannelsLastHook): tensor cores
# read NHWC, so cuDNN skips the layout transposes around each convolution. Same schedule and
# weights as the 1x config; see docs/throughput.md for when it pays off.
_base_ = './attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py'

custom_hooks = [*_base_.custom_hooks, dict(type='ChannelsLastHook')]
