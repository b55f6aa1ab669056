"""RoI head of Attribute-Mask R-CNN: Mask R-CNN's box and mask branches + attribute loss."""
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import empty_instances, unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi


@MODELS.register_module()
class AttributeRoIHead(StandardRoIHead):
    """``StandardRoIHead`` whose box head (``AttributeConvFCBBoxHead``) also predicts attributes.

    Training adds ``loss_attr`` (targets: ``AttributeConvFCBBoxHead.attr_target``) computed on
    the same box forward as the class and box losses. Prediction adds ``attr_scores`` (N, 294)
    to each detection, taken from the RoI that produced it.
    """

    def _bbox_forward(self, x, rois):
        bbox_feats = self.bbox_roi_extractor(x[:self.bbox_roi_extractor.num_inputs], rois)
        if self.with_shared_head:
            bbox_feats = self.shared_head(bbox_feats)
        cls_score, bbox_pred, attr_score = self.bbox_head(bbox_feats)
        return dict(
            cls_score=cls_score, bbox_pred=bbox_pred, attr_score=attr_score, bbox_feats=bbox_feats)

    def loss(self, x, rpn_results_list, batch_data_samples):
        # StandardRoIHead.loss does not hand the ground truth to bbox_loss, which needs it for
        # the attribute targets: keep it for the duration of the call.
        self._batch_gt_instances = unpack_gt_instances(batch_data_samples)[0]
        try:
            return super().loss(x, rpn_results_list, batch_data_samples)
        finally:
            del self._batch_gt_instances

    def bbox_loss(self, x, sampling_results):
        bbox_results = super().bbox_loss(x, sampling_results)
        bbox_results['loss_bbox'].update(
            self.bbox_head.attr_loss(bbox_results['attr_score'], sampling_results,
                                     self._batch_gt_instances))
        return bbox_results

    def predict_bbox(self, x, batch_img_metas, rpn_results_list, rcnn_test_cfg, rescale=False):
        """Copied from mmdet 3.3.0 ``mmdet/models/roi_heads/standard_roi_head.py``
        (``StandardRoIHead.predict_bbox``); differs in handing ``attr_score``, split per image,
        to ``predict_by_feat`` and in empty results carrying ``attr_scores`` (0, A)."""
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
