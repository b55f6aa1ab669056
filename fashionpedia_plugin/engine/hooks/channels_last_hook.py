"""Channels-last (NHWC) memory format for the convolutions of a detector, as a config delta."""
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


def _to_nhwc(module, args):
    """Forward pre-hook: the image batch (B, 3, H, W) as channels-last."""
    return (args[0].contiguous(memory_format=torch.channels_last), ) + tuple(args[1:])


def _to_nchw(module, args):
    """Forward pre-hook of a RoI extractor: its feature maps (B, C, H_l, W_l) contiguous.

    Why: mmcv's ``RoIAlign`` (mmcv 2.x ``ops/roi_align.py``) hands its input to the kernel
    without ``.contiguous()`` and the kernel indexes NCHW, so a channels-last feature map gives
    wrong RoI features without an error (max |diff| 1.4 on a random map, tested in
    ``tests/test_channels_last.py``)."""
    feats = args[0]
    if isinstance(feats, (list, tuple)):
        feats = type(feats)(f.contiguous() for f in feats)
    else:
        feats = feats.contiguous()
    return (feats, ) + tuple(args[1:])


def to_channels_last(model, weights=True):
    """Convert ``model`` (a built mmdet detector) in place: the backbone's input channels-last
    (every convolution after it then runs and outputs NHWC), RoI extractors' inputs back to NCHW
    (see ``_to_nchw``) and, with ``weights``, the 4-D weights channels-last (else each
    convolution converts its weight per call, a small copy). Idempotent; returns ``model``."""
    if getattr(model, '_fashionpedia_channels_last', False):
        return model
    if weights:
        model.to(memory_format=torch.channels_last)  # only 4-D tensors change
    model.backbone.register_forward_pre_hook(_to_nhwc)
    roi_head = getattr(model, 'roi_head', None)
    for name in ('bbox_roi_extractor', 'mask_roi_extractor'):
        extractor = getattr(roi_head, name, None)
        if extractor is not None:
            extractor.register_forward_pre_hook(_to_nchw)
    model._fashionpedia_channels_last = True
    return model


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Train (and validate) in channels-last memory format:
    ``custom_hooks = [..., dict(type='ChannelsLastHook')]``.

    Tensor cores read NHWC; cuDNN then skips the layout transposes around each convolution.
    Whether it pays off depends on the GPU and precision: measure with
    ``tools/analysis_tools/benchmark_train.py CONFIG --sweep``. Parameters keep their values (only
    their strides change), so checkpoints are interchangeable with NCHW runs. Under DDP the
    weights keep their layout: the runner wraps the model before any hook runs and DDP's
    gradient buckets are laid out at wrapping time (our choice: convert only the activations
    there rather than patch the runner).
    """
    priority = 'VERY_HIGH'

    def before_run(self, runner):
        wrapped = is_model_wrapper(runner.model)
        to_channels_last(runner.model.module if wrapped else runner.model, weights=not wrapped)
