"""RoI head of Attribute-Mask R-CNN: Mask R-CNN's box and mask branches + attribute loss."""
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import empty_instances, unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi


@MODELS.register_module()
class AttributeRoIHead(StandardRoIHead):
    """``StandardRoIHead`` whose box head (``AttributeConvFCBBoxHead``) also predicts attributes.

    Training adds ``loss_attr`` (positive RoIs; targets = ``gt_instances.attributes`` of the
    assigned ground truth). Prediction adds ``attr_scores`` (N, 294) and ``attribute_ids``
    (official sparse ids) to each detection, taken from the RoI that produced it.
    """

    def _bbox_forward(self, x, rois):
        bbox_feats = self.bbox_roi_extractor(x[:self.bbox_roi_extractor.num_inputs], rois)
        if self.with_shared_head:
            bbox_feats = self.shared_head(bbox_feats)
        cls_score, bbox_pred, attr_score = self.bbox_head(bbox_feats)
        return dict(
            cls_score=cls_score, bbox_pred=bbox_pred, attr_score=attr_score, bbox_feats=bbox_feats)

    def loss(self, x, rpn_results_list, batch_data_samples):
        # Same as StandardRoIHead.loss, plus the attribute loss on the same box forward.
        assert len(rpn_results_list) == len(batch_data_samples)
        batch_gt_instances, batch_gt_instances_ignore, _ = unpack_gt_instances(batch_data_samples)
        sampling_results = []
        for i, rpn_results in enumerate(rpn_results_list):
            rpn_results.priors = rpn_results.pop('bboxes')
            assign_result = self.bbox_assigner.assign(rpn_results, batch_gt_instances[i],
                                                      batch_gt_instances_ignore[i])
            sampling_results.append(
                self.bbox_sampler.sample(
                    assign_result,
                    rpn_results,
                    batch_gt_instances[i],
                    feats=[lvl_feat[i][None] for lvl_feat in x]))
        losses = dict()
        bbox_results = self.bbox_loss(x, sampling_results)
        losses.update(bbox_results['loss_bbox'])
        losses.update(
            self.bbox_head.attr_loss(bbox_results['attr_score'], sampling_results,
                                     batch_gt_instances))
        if self.with_mask:
            mask_results = self.mask_loss(x, sampling_results, bbox_results['bbox_feats'],
                                          batch_gt_instances)
            losses.update(mask_results['loss_mask'])
        return losses

    def predict_bbox(self, x, batch_img_metas, rpn_results_list, rcnn_test_cfg, rescale=False):
        proposals = [res.bboxes for res in rpn_results_list]
        rois = bbox2roi(proposals)
        if rois.shape[0] == 0:
            results = empty_instances(
                batch_img_metas,
                rois.device,
                task_type='bbox',
                box_type=self.bbox_head.predict_box_type,
                num_classes=self.bbox_head.num_classes,
                score_per_cls=rcnn_test_cfg is None)
            for res in results:
                res.attr_scores = rois.new_zeros((0, self.bbox_head.num_attributes))
                res.attribute_ids = []
            return results
        bbox_results = self._bbox_forward(x, rois)
        per_img = tuple(len(p) for p in proposals)
        return self.bbox_head.predict_by_feat(
            rois=rois.split(per_img, 0),
            cls_scores=bbox_results['cls_score'].split(per_img, 0),
            bbox_preds=bbox_results['bbox_pred'].split(per_img, 0),
            attr_scores=bbox_results['attr_score'].split(per_img, 0),
            batch_img_metas=batch_img_metas,
            rcnn_test_cfg=rcnn_test_cfg,
            rescale=rescale)
