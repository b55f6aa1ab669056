"""mmdet's FCNMaskHead with the official BN after the upsampling deconv."""
from mmcv.cnn import build_norm_layer
from mmdet.models.roi_heads.mask_heads import FCNMaskHead
from mmdet.registry import MODELS


@MODELS.register_module()
class OfficialFCNMaskHead(FCNMaskHead):
    """``FCNMaskHead`` + ``upsample_norm_cfg``: tensorflow/tpu ``models/official/detection/
    modeling/architecture/heads.py`` (``MaskrcnnHead``) normalises the 2x2 deconv
    (``conv5-mask``) as its 4 convs when ``use_batch_norm`` is on (deconv -> BN -> ReLU); mmdet's
    head normalises the convs only (deconv -> ReLU). Without it, this is mmdet's head.
    Shapes: ``(R, C, 14, 14)`` RoI features -> ``(R, num_classes, 28, 28)`` mask logits.
    """

    def __init__(self, *args, upsample_norm_cfg=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.upsample_norm = None
        if upsample_norm_cfg is not None:
            assert self.upsample_method == 'deconv', 'the official head upsamples by deconv'
            channels = self.conv_out_channels if self.num_convs > 0 else self.in_channels
            self.upsample_norm = build_norm_layer(upsample_norm_cfg, channels)[1]

    def forward(self, x):
        """mmdet 3.3.0 ``FCNMaskHead.forward`` + the norm between deconv and ReLU."""
        if self.upsample_norm is None:
            return super().forward(x)
        for conv in self.convs:
            x = conv(x)
        x = self.relu(self.upsample_norm(self.upsample(x)))
        return self.conv_logits(x)
