"""The FPN of the official implementation: plain convs, one BN on each output level."""
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmdet.models.necks import FPN
from mmdet.registry import MODELS


@MODELS.register_module()
class OfficialFPN(FPN):
    """mmdet's ``FPN`` normalised as tensorflow/tpu ``models/official/detection/modeling/
    architecture/fpn.py`` (``Fpn.__call__``) does it.

    Official: lateral 1x1 convs and post-hoc 3x3 convs without normalisation (bias on),
    P6 = 3x3/2 conv of the P5 *output before BN*, P7 = 3x3/2 conv of ``relu(P6)`` (before BN),
    and then ``use_batch_norm``: one BN per output level (``p%d-bn``, no activation) on all
    of P3-P7. mmdet's ``FPN(norm_cfg=...)`` instead normalises every lateral conv and every
    output conv inside its ``ConvModule`` and feeds the extra levels the normalised output.

    Here the parent is built without norm (its convs then carry a bias, as the official ones),
    its forward computes exactly the official pre-BN levels with ``add_extra_convs='on_output'``
    and ``relu_before_extra_convs=True``, and ``out_norms[i]`` normalises output ``i``.
    Shapes: ``inputs`` C2..C5 ``(N, C_l, H/2^l, W/2^l)`` -> ``num_outs`` maps
    ``(N, out_channels, H/2^l, W/2^l)``, l = 3..7 in the paper configs.
    """

    def __init__(self, *args, norm_cfg=None, **kwargs):
        super().__init__(*args, norm_cfg=None, **kwargs)
        self.out_norms = nn.ModuleList(
            build_norm_layer(norm_cfg, self.out_channels)[1] if norm_cfg else nn.Identity()
            for _ in range(self.num_outs))

    def forward(self, inputs):
        outs = super().forward(inputs)
        return tuple(norm(x) for norm, x in zip(self.out_norms, outs))
