"""mmdet's ConvFCBBoxHead with the official fc norm and box-loss normalisation."""
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor

BOX_LOSS_NORMS = ('mmdet', 'positive_coords')


@MODELS.register_module()
class OfficialConvFCBBoxHead(ConvFCBBoxHead):
    """``ConvFCBBoxHead`` + two options of the official Fast R-CNN head (tensorflow/tpu
    ``models/official/detection/``); with their defaults it is mmdet's head.

    Args:
        fc_norm_cfg (dict, optional): a norm after each shared fc, before its ReLU (official
            ``projects/fashionpedia/modeling/architecture/fast_rcnn_head.py``: ``fc6`` dense ->
            BN -> ReLU with ``use_batch_norm``); mmdet's ``ConvFCBBoxHead`` normalises its
            convs only. Applied to the ``(R, 1024)`` feature as ``(R, 1024, 1, 1)`` so that
            ``BN`` (BatchNorm2d) and ``SyncBN`` both fit.
        box_loss_norm (str): ``'positive_coords'``: the box loss summed over positive RoIs x
            4 coordinates and divided by their number (official ``modeling/losses.py``
            ``FastrcnnBoxLoss``: ``SUM_BY_NONZERO_WEIGHTS``, mask = class target > 0 tiled x 4),
            over the process's batch (the official one: the replica's). ``'mmdet'``: divided by
            all sampled RoIs (``BBoxHead.loss``, ``avg_factor=bbox_targets.size(0)``), which is
            512 / (4 x positives) per image smaller. The class loss is the same in both (mean
            over the sampled RoIs, as the official ``FastrcnnClassLoss``).
    """

    def __init__(self, *args, fc_norm_cfg=None, box_loss_norm='mmdet', **kwargs):
        super().__init__(*args, **kwargs)
        if box_loss_norm not in BOX_LOSS_NORMS:
            raise ValueError(f'box_loss_norm must be one of {BOX_LOSS_NORMS}, '
                             f'got {box_loss_norm!r}')
        self.box_loss_norm = box_loss_norm
        self.shared_fc_norms = nn.ModuleList(
            build_norm_layer(fc_norm_cfg, self.fc_out_channels)[1]
            for _ in range(self.num_shared_fcs)) if fc_norm_cfg else None

    def _shared_forward(self, x):
        """(R, C_in, 7, 7) -> the shared feature ((R, fc_out_channels) with shared fcs).

        The shared part of mmdet 3.3.0 ``ConvFCBBoxHead.forward``
        (``mmdet/models/roi_heads/bbox_heads/convfc_bbox_head.py``), + the fc norm."""
        for conv in self.shared_convs:
            x = conv(x)
        if self.num_shared_fcs > 0:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
            for i, fc in enumerate(self.shared_fcs):
                x = fc(x)
                if self.shared_fc_norms is not None:
                    x = self.shared_fc_norms[i](x[:, :, None, None]).flatten(1)
                x = self.relu(x)
        return x

    def _branch(self, x, convs, fcs):
        """The class or box branch of ``ConvFCBBoxHead.forward`` (same steps)."""
        for conv in convs:
            x = conv(x)
        if x.dim() > 2:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
        for fc in fcs:
            x = self.relu(fc(x))
        return x

    def forward(self, x):
        """x: (R, C_in, 7, 7) -> (cls_score (R, C+1), bbox_pred (R, 4C))."""
        return self._outputs(self._shared_forward(x))

    def _outputs(self, x):
        """The shared feature -> (cls_score, bbox_pred) through the two branches."""
        x_cls = self._branch(x, self.cls_convs, self.cls_fcs)
        x_reg = self._branch(x, self.reg_convs, self.reg_fcs)
        cls_score = self.fc_cls(x_cls) if self.with_cls else None
        bbox_pred = self.fc_reg(x_reg) if self.with_reg else None
        return cls_score, bbox_pred

    def loss(self,
             cls_score,
             bbox_pred,
             rois,
             labels,
             label_weights,
             bbox_targets,
             bbox_weights,
             reduction_override=None):
        """mmdet's ``BBoxHead.loss``; with ``box_loss_norm='positive_coords'`` the box term is
        divided by the number of positive coordinates instead of the sampled RoIs."""
        if self.box_loss_norm == 'mmdet' or bbox_pred is None:
            return super().loss(cls_score, bbox_pred, rois, labels, label_weights, bbox_targets,
                                bbox_weights, reduction_override)
        losses = super().loss(cls_score, None, rois, labels, label_weights, bbox_targets,
                              bbox_weights, reduction_override)
        # every RoI in the sum, negatives as 0 vs 0 with weight 0 (a non-finite prediction of a
        # negative stays out, as with indexing): no boolean indexing and no .any(), which wait
        # for the GPU (tools/analysis_tools/profile_train_step.py counts them); the value is
        # the sum over positives as before
        num_rois = bbox_pred.size(0)
        pos = (labels >= 0) & (labels < self.num_classes)
        if self.reg_decoded_bbox:
            bbox_pred = get_box_tensor(self.bbox_coder.decode(rois[:, 1:], bbox_pred))
        if self.reg_class_agnostic:
            pred = bbox_pred.view(num_rois, -1)
        else:
            cls = labels.clamp(0, self.num_classes - 1)
            pred = bbox_pred.view(num_rois, self.num_classes,
                                  -1)[torch.arange(num_rois, device=labels.device), cls]
        weights = bbox_weights * pos[:, None].to(bbox_weights.dtype)
        pred = torch.where(pos[:, None], pred, pred.new_zeros(()))
        targets = torch.where(pos[:, None], bbox_targets, bbox_targets.new_zeros(()))
        losses['loss_bbox'] = self.loss_bbox(
            pred,
            targets,
            weights,
            avg_factor=(weights > 0).sum().to(pred.dtype),
            reduction_override=reduction_override)
        return losses
