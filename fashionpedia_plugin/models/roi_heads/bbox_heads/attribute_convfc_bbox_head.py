"""Box head with the Attribute-Mask R-CNN attribute branch on its shared feature."""
import math

import torch
import torch.nn as nn
from mmdet.models.layers import multiclass_nms
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
from mmdet.registry import MODELS
from mmengine.structures import InstanceData

from ....datasets import taxonomy


@MODELS.register_module()
class AttributeConvFCBBoxHead(ConvFCBBoxHead):
    """``ConvFCBBoxHead`` + one linear layer ``shared feature -> num_attributes`` (paper Sec. 5).

    Paper recipe: the attribute logits come from the box head's shared fc feature (1024-d),
    bias initialised to ``-log((1 - pi) / pi)`` with ``pi = 1 / num_attributes`` (= -log(293)
    for 294 attributes) so that every sigmoid starts at the prior; sigmoid cross-entropy,
    loss weight 1.0, targets from the matched ground truth's multi-hot vector, positive RoIs only.

    ``forward`` returns ``(cls_score, bbox_pred, attr_score)``:
    ``(R, C+1)``, ``(R, 4C)`` and ``(R, A)`` for ``R`` RoIs, ``C`` classes, ``A`` attributes.
    At test time, attribute scores follow the detections that survive NMS
    (``multiclass_nms(..., return_inds=True)``; kept index // C is the RoI row).

    Args:
        num_attributes (int): 294 for Fashionpedia.
        loss_attr (dict): the attribute loss; with ``reduction='mean'`` and
            ``avg_factor = #positive RoIs`` it is summed over attributes, averaged over RoIs.
        attr_score_thr (float): sigmoid threshold for ``attribute_ids`` in predictions.
        attribute_ids (list[int] | None): official sparse id of each output; taxonomy order.
    """

    def __init__(self,
                 *args,
                 num_attributes=taxonomy.NUM_ATTRIBUTES,
                 loss_attr=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 attr_score_thr=0.5,
                 attribute_ids=None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        assert self.num_shared_fcs > 0, 'the attribute branch sits on the shared fc feature'
        self.num_attributes = num_attributes
        self.attr_score_thr = attr_score_thr
        self.attribute_ids = list(attribute_ids or taxonomy.ATTRIBUTE_IDS)
        assert len(self.attribute_ids) == num_attributes
        self.fc_attr = nn.Linear(self.shared_out_channels, num_attributes)
        self.loss_attr = MODELS.build(loss_attr)

    def init_weights(self):
        super().init_weights()
        nn.init.normal_(self.fc_attr.weight, std=0.01)
        nn.init.constant_(self.fc_attr.bias, -math.log(self.num_attributes - 1))

    def forward(self, x):
        """x: (R, C_in, 7, 7) RoI features -> (cls_score, bbox_pred, attr_score)."""
        for conv in self.shared_convs:
            x = conv(x)
        if self.with_avg_pool:
            x = self.avg_pool(x)
        x = x.flatten(1)
        for fc in self.shared_fcs:
            x = self.relu(fc(x))
        attr_score = self.fc_attr(x)
        x_cls, x_reg = x, x
        for fc in self.cls_fcs:
            x_cls = self.relu(fc(x_cls))
        for fc in self.reg_fcs:
            x_reg = self.relu(fc(x_reg))
        cls_score = self.fc_cls(x_cls) if self.with_cls else None
        bbox_pred = self.fc_reg(x_reg) if self.with_reg else None
        return cls_score, bbox_pred, attr_score

    def attr_loss(self, attr_score, sampling_results, batch_gt_instances):
        """BCE on positive RoIs. ``attr_score``: (sum R_i, A), rows per image = [pos, neg]."""
        scores, targets = [], []
        start = 0
        for res, gt in zip(sampling_results, batch_gt_instances):
            num_pos = len(res.pos_inds)
            if 'attributes' not in gt:
                raise KeyError('AttributeConvFCBBoxHead needs gt_instances.attributes: use '
                               'LoadFashionpediaAnnotations and PackFashionpediaInputs')
            scores.append(attr_score[start:start + num_pos])
            targets.append(gt.attributes[res.pos_assigned_gt_inds].to(attr_score.dtype))
            start += len(res.priors)
        scores, targets = torch.cat(scores), torch.cat(targets)
        if len(scores) == 0:
            return dict(loss_attr=attr_score.sum() * 0)
        return dict(loss_attr=self.loss_attr(scores, targets, avg_factor=len(scores)))

    def predict_by_feat(self,
                        rois,
                        cls_scores,
                        bbox_preds,
                        batch_img_metas,
                        rcnn_test_cfg=None,
                        rescale=False,
                        attr_scores=None):
        results = []
        for i, img_meta in enumerate(batch_img_metas):
            results.append(
                self._predict_with_attributes(rois[i], cls_scores[i], bbox_preds[i], img_meta,
                                              rescale, rcnn_test_cfg,
                                              attr_scores[i] if attr_scores is not None else None))
        return results

    def _predict_with_attributes(self, roi, cls_score, bbox_pred, img_meta, rescale, rcnn_test_cfg,
                                 attr_score):
        if rcnn_test_cfg is None or attr_score is None or roi.shape[0] == 0:
            res = self._predict_by_feat_single(roi, cls_score, bbox_pred, img_meta, rescale,
                                               rcnn_test_cfg)
            if rcnn_test_cfg is not None:
                res.attr_scores = roi.new_zeros((len(res), self.num_attributes))
                res.attribute_ids = [[] for _ in range(len(res))]
            return res
        # all boxes/scores per class, then NMS that also returns the kept indices
        raw = self._predict_by_feat_single(roi, cls_score, bbox_pred, img_meta, rescale, None)
        dets, labels, inds = multiclass_nms(
            raw.bboxes,
            raw.scores,
            rcnn_test_cfg.score_thr,
            rcnn_test_cfg.nms,
            rcnn_test_cfg.max_per_img,
            box_dim=4,
            return_inds=True)
        res = InstanceData()
        res.bboxes = dets[:, :-1]
        res.scores = dets[:, -1]
        res.labels = labels
        res.attr_scores = attr_score.sigmoid()[inds // self.num_classes]
        thr = rcnn_test_cfg.get('attr_score_thr', self.attr_score_thr)
        keep = (res.attr_scores > thr).cpu().numpy()
        res.attribute_ids = [[self.attribute_ids[j] for j in row.nonzero()[0]] for row in keep]
        return res
