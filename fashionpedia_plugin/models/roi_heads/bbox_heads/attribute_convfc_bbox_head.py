"""Box head with the Attribute-Mask R-CNN attribute branch on its shared feature."""
import math

import torch
import torch.nn as nn
from mmdet.models.layers import multiclass_nms
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps, get_box_tensor
from mmengine.structures import InstanceData

from .... import taxonomy
from .official_convfc_bbox_head import OfficialConvFCBBoxHead

ATTR_TARGETS = ('official', 'positive')


@MODELS.register_module()
class AttributeConvFCBBoxHead(OfficialConvFCBBoxHead):
    """``OfficialConvFCBBoxHead`` (mmdet's ``ConvFCBBoxHead`` + the official fc norm and box-loss
    normalisation, off by default) + one linear layer ``shared feature -> num_attributes``.

    As the official implementation (tensorflow/tpu ``models/official/detection/projects/
    fashionpedia/modeling/architecture/fast_rcnn_head.py``): the attribute logits are a sibling of
    the class and box outputs on the head's shared fc feature (1024-d in the R50 configs), weights
    ``N(0, 0.01)``, bias ``-log(num_attributes - 1)`` (= -log(293): every sigmoid starts at the
    prior 1/294).

    ``forward`` returns ``(cls_score, bbox_pred, attr_score)``: ``(R, C+1)``, ``(R, 4C)`` and
    ``(R, A)`` logits for ``R`` RoIs, ``C`` classes, ``A`` attributes. Predictions carry
    ``attr_scores`` ``(N, A)`` sigmoid probabilities, the ones of the RoI each detection came from
    (official ``ops/postprocess_ops.py``: attributes are per RoI and copied to every class
    detection of that RoI through NMS). Turning them into attribute ids is not the head's job:
    :class:`~fashionpedia_plugin.models.task_modules.AttributeDecoder` does it.

    Args:
        num_attributes (int): 294 for Fashionpedia.
        attr_target (str): the attribute training target and its normalisation.

            - ``'official'``: as ``projects/fashionpedia/ops/roi_sampler.py`` (``box_matching``,
              ``assign_and_sample_proposals``) and
              ``projects/fashionpedia/modeling/attribute_loss.py``: *every* sampled RoI gets
              the multi-hot of its highest-IoU ground truth, background RoIs with
              ``0 < IoU < 0.5`` included (the sampler re-labels their class, not their
              attributes); RoIs with IoU 0 get zeros. The loss is the mean over all
              ``RoIs x attributes`` entries (``sigmoid_cross_entropy`` with
              ``SUM_BY_NONZERO_WEIGHTS`` and unit weights), weight 1.0 in the total
              (``projects/fashionpedia/modeling/model.py``).
            - ``'positive'``: positive RoIs only, summed over attributes and averaged over
              positive RoIs (this project's first version; not the official target).
        loss_attr (dict): a sigmoid loss taking ``avg_factor`` (``CrossEntropyLoss`` with
            ``use_sigmoid=True``, ``reduction='mean'``); the target mode sets ``avg_factor``.
    """

    def __init__(self,
                 *args,
                 num_attributes=taxonomy.NUM_ATTRIBUTES,
                 attr_target='official',
                 loss_attr=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 **kwargs):
        super().__init__(*args, **kwargs)
        assert self.num_shared_fcs > 0, 'the attribute branch sits on the shared fc feature'
        if attr_target not in ATTR_TARGETS:
            raise ValueError(f'attr_target must be one of {ATTR_TARGETS}, got {attr_target!r}')
        self.num_attributes = num_attributes
        self.attr_target = attr_target
        self.fc_attr = nn.Linear(self.shared_out_channels, num_attributes)
        self.loss_attr = MODELS.build(loss_attr)

    def init_weights(self):
        super().init_weights()
        nn.init.normal_(self.fc_attr.weight, std=0.01)
        nn.init.constant_(self.fc_attr.bias, -math.log(self.num_attributes - 1))

    def forward(self, x):
        """x: (R, C_in, 7, 7) RoI features -> (cls_score, bbox_pred, attr_score): the parent's
        forward plus ``attr_score = self.fc_attr(x)`` on the shared feature."""
        x = self._shared_forward(x)
        cls_score, bbox_pred = self._outputs(x)
        return cls_score, bbox_pred, self.fc_attr(x)

    def attr_targets(self, sampling_results, batch_gt_instances):
        """Targets of the sampled RoIs.

        Returns:
            tuple[Tensor, Tensor]: ``rows`` (K,) indices into the ``(sum R_i, A)`` scores (rows
            per image are ``[positives, negatives]``, as ``bbox2roi`` stacks them) and
            ``targets`` (K, A) multi-hot. ``'positive'``: the positive rows; ``'official'``:
            every row.
        """
        rows, targets = [], []
        start = 0
        for res, gt in zip(sampling_results, batch_gt_instances):
            if 'attributes' not in gt:
                raise KeyError('AttributeConvFCBBoxHead needs gt_instances.attributes: use '
                               'LoadFashionpediaAttributes and PackFashionpediaInputs')
            attrs = gt.attributes
            num_pos, num_neg = len(res.pos_inds), len(res.neg_inds)
            pos = attrs[res.pos_assigned_gt_inds.long()]
            if self.attr_target == 'positive':
                rows.append(torch.arange(start, start + num_pos, device=attrs.device))
                targets.append(pos)
            else:
                neg = attrs.new_zeros((num_neg, self.num_attributes))
                if num_neg and len(attrs):
                    # official box_matching: the highest-IoU ground truth of every RoI; only
                    # RoIs that overlap no ground truth (max IoU 0) get zeros
                    ious = bbox_overlaps(get_box_tensor(res.neg_priors), get_box_tensor(gt.bboxes))
                    max_iou, argmax = ious.max(1)
                    neg = torch.where((max_iou > 0)[:, None], attrs[argmax], neg)
                rows.append(torch.arange(start, start + num_pos + num_neg, device=attrs.device))
                targets.append(torch.cat([pos, neg]))
            start += num_pos + num_neg
        return torch.cat(rows), torch.cat(targets)

    def attr_loss(self, attr_score, sampling_results, batch_gt_instances):
        """``loss_attr`` of ``attr_score`` (sum R_i, A) against :meth:`attr_targets`."""
        rows, targets = self.attr_targets(sampling_results, batch_gt_instances)
        if len(rows) == 0:
            return dict(loss_attr=attr_score.sum() * 0)
        scores = attr_score[rows]
        targets = targets.to(scores.dtype)
        # 'official': mean over RoIs x attributes; 'positive': sum over attributes, mean over RoIs
        avg_factor = scores.numel() if self.attr_target == 'official' else len(scores)
        return dict(loss_attr=self.loss_attr(scores, targets, avg_factor=avg_factor))

    def predict_by_feat(self,
                        rois,
                        cls_scores,
                        bbox_preds,
                        batch_img_metas,
                        rcnn_test_cfg=None,
                        rescale=False,
                        attr_scores=None):
        if attr_scores is None:
            return super().predict_by_feat(rois, cls_scores, bbox_preds, batch_img_metas,
                                           rcnn_test_cfg, rescale)
        return [
            self._predict_with_attributes(rois[i], cls_scores[i], bbox_preds[i], img_meta, rescale,
                                          rcnn_test_cfg, attr_scores[i])
            for i, img_meta in enumerate(batch_img_metas)
        ]

    def _predict_with_attributes(self, roi, cls_score, bbox_pred, img_meta, rescale, rcnn_test_cfg,
                                 attr_score):
        if rcnn_test_cfg is None or roi.shape[0] == 0:
            res = self._predict_by_feat_single(roi, cls_score, bbox_pred, img_meta, rescale,
                                               rcnn_test_cfg)
            if rcnn_test_cfg is not None:
                res.attr_scores = roi.new_zeros((len(res), self.num_attributes))
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
        # kept index = RoI * num_classes + class (multiclass_nms flattens (R, C) scores)
        res.attr_scores = attr_score.sigmoid()[inds // self.num_classes]
        return res
