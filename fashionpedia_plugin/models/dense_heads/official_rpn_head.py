"""The RPN head of the official implementation: per-level BN and the official box-loss scale."""
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmdet.models.dense_heads import RPNHead
from mmdet.models.utils import multi_apply
from mmdet.registry import MODELS

BOX_LOSS_NORMS = ('mmdet', 'nonzero_per_level')


@MODELS.register_module()
class OfficialRPNHead(RPNHead):
    """mmdet's ``RPNHead`` with the two things of tensorflow/tpu ``models/official/detection/``
    it lacks.

    1. ``norm_cfg`` (official ``rpn_head.use_batch_norm``, ``modeling/architecture/heads.py``
       ``RpnHead``): the 3x3 conv is shared by the levels, its BN is not ("The batch
       normalization layers are not shared between levels": ``rpn-l%d-bn``), BN then ReLU.
    2. ``box_loss_norm='nonzero_per_level'`` (official ``modeling/losses.py`` ``RpnBoxLoss``):
       per pyramid level, the Huber loss summed over the coordinates whose target is non-zero
       and divided by their number (``SUM_BY_NONZERO_WEIGHTS`` with ``mask = box_targets !=
       0``), the levels' losses summed. mmdet (``'mmdet'``) divides every level's sum by the
       number of sampled anchors of all levels (``avg_factor``). The Huber loss with delta d
       is d x smooth L1 with beta d: the configs set ``SmoothL1Loss(beta=1/9,
       loss_weight=1/9)``. The count is over the process's batch (the official one over the
       replica's batch); with none, the level's loss is 0, as TF's safe division.

    The score loss needs no change: official ``RpnScoreLoss`` divides each level's sum by
    ``batch x rpn_batch_size_per_im`` (256), mmdet by the sampled anchors (256 per image).
    Shapes: level ``l`` features ``(N, C, H_l, W_l)`` -> scores ``(N, A, H_l, W_l)``, deltas
    ``(N, 4A, H_l, W_l)`` for ``A`` anchors per location.
    """

    def __init__(self, *args, norm_cfg=None, box_loss_norm='nonzero_per_level', **kwargs):
        if box_loss_norm not in BOX_LOSS_NORMS:
            raise ValueError(f'box_loss_norm must be one of {BOX_LOSS_NORMS}, '
                             f'got {box_loss_norm!r}')
        self.norm_cfg = norm_cfg
        self.box_loss_norm = box_loss_norm
        super().__init__(*args, **kwargs)
        assert not self.reg_decoded_bbox, 'the official RPN regresses encoded deltas'

    def _init_layers(self):
        super()._init_layers()
        if self.norm_cfg is not None:
            assert self.num_convs == 1, 'the official RPN head has one shared conv'
            self.rpn_norms = nn.ModuleList(
                build_norm_layer(self.norm_cfg, self.feat_channels)[1]
                for _ in range(self.prior_generator.num_levels))

    def forward(self, x):
        return multi_apply(self._forward_level, x, list(range(len(x))))

    def _forward_level(self, x, level):
        x = self.rpn_conv(x)
        if self.norm_cfg is not None:
            x = self.rpn_norms[level](x)
        x = F.relu(x)
        return self.rpn_cls(x), self.rpn_reg(x)

    def forward_single(self, x):
        if self.norm_cfg is not None:
            raise NotImplementedError('OfficialRPNHead normalises per level: call forward(feats)')
        return super().forward_single(x)

    def loss_by_feat_single(self, cls_score, bbox_pred, anchors, labels, label_weights,
                            bbox_targets, bbox_weights, avg_factor):
        """One level, all images of the batch: ``bbox_targets``/``bbox_weights`` ``(N,
        anchors_l, 4)``, ``bbox_pred`` ``(N, 4A, H_l, W_l)``."""
        if self.box_loss_norm == 'mmdet':
            return super().loss_by_feat_single(cls_score, bbox_pred, anchors, labels, label_weights,
                                               bbox_targets, bbox_weights, avg_factor)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        loss_cls = self.loss_cls(
            cls_score, labels.reshape(-1), label_weights.reshape(-1), avg_factor=avg_factor)
        bbox_targets = bbox_targets.reshape(-1, 4)
        weights = bbox_weights.reshape(-1, 4) * (bbox_targets != 0)
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
        # a tensor, not .item(): no host-device sync in the step
        nonzero = (weights > 0).sum().clamp(min=1).to(bbox_pred.dtype)
        loss_bbox = self.loss_bbox(bbox_pred, bbox_targets, weights, avg_factor=nonzero)
        return loss_cls, loss_bbox
