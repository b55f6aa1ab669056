"""The RPN head of the official implementation: per-level BN, the official box-loss scale and
the anchors it regresses."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmdet.models.dense_heads import RPNHead
from mmdet.models.task_modules.prior_generators import anchor_inside_flags
from mmdet.models.utils import multi_apply, unmap
from mmdet.registry import MODELS
from mmengine.structures import InstanceData

BOX_LOSS_NORMS = ('mmdet', 'nonzero_per_level')
BOX_LOSS_ANCHORS = ('sampled', 'matched')


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

    3. ``box_loss_anchors='matched'`` (official ``dataloader/anchor.py``
       ``RpnAnchorLabeler.label_anchors``: only the score targets are subsampled, 256 per image
       at half positives; the box targets are those of every matched anchor): every anchor the
       assigner matched regresses, not only the <= 128 sampled positives (``'sampled'``, mmdet).

    The score loss needs no change: official ``RpnScoreLoss`` divides each level's sum by
    ``batch x rpn_batch_size_per_im`` (256), mmdet by the sampled anchors (256 per image).
    Shapes: level ``l`` features ``(N, C, H_l, W_l)`` -> scores ``(N, A, H_l, W_l)``, deltas
    ``(N, 4A, H_l, W_l)`` for ``A`` anchors per location.
    """

    def __init__(self,
                 *args,
                 norm_cfg=None,
                 box_loss_norm='nonzero_per_level',
                 box_loss_anchors='matched',
                 **kwargs):
        if box_loss_norm not in BOX_LOSS_NORMS:
            raise ValueError(f'box_loss_norm must be one of {BOX_LOSS_NORMS}, '
                             f'got {box_loss_norm!r}')
        if box_loss_anchors not in BOX_LOSS_ANCHORS:
            raise ValueError(f'box_loss_anchors must be one of {BOX_LOSS_ANCHORS}, '
                             f'got {box_loss_anchors!r}')
        self.norm_cfg = norm_cfg
        self.box_loss_norm = box_loss_norm
        self.box_loss_anchors = box_loss_anchors
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

    def _every_anchor_inside(self, img_meta, num_anchors):
        """Whether mmdet's inside mask (``anchor_inside_flags``) is all True, decided on the
        host. With ``allowed_border < 0`` (mmdet's RPN default, ours) the mask is the valid
        flags, and ``AnchorGenerator.valid_flags`` marks invalid only the locations of a level
        of stride ``s`` past ``ceil(pad / s)``. Two host facts make every flag True: the
        image's ``pad_shape`` is the batch's input shape (LSJ's fixed-size pad), and the
        ``num_anchors`` anchors (all levels) are exactly those of ``ceil(pad / s)``-sized maps
        (a conv net with same padding, ResNet + FPN: no level is larger than its valid part).
        Then the mask, the boolean indexing and the unmap of mmdet's code are identities that
        each cost a host-device sync per image; otherwise mmdet's path runs
        (``tests/test_official_heads.py`` checks both paths agree)."""
        batch = img_meta.get('batch_input_shape')  # set by DetDataPreprocessor
        pad_h, pad_w = img_meta['pad_shape'][:2]
        if self.train_cfg['allowed_border'] >= 0 or batch is None or (pad_h, pad_w) != tuple(
                batch[:2]):
            return False
        gen = self.prior_generator
        expected = sum(-(-pad_h // int(s_h)) * -(-pad_w // int(s_w)) * n
                       for (s_w, s_h), n in zip(gen.strides, gen.num_base_priors))
        return num_anchors == expected

    def _get_targets_single(self,
                            flat_anchors,
                            valid_flags,
                            gt_instances,
                            img_meta,
                            gt_instances_ignore=None,
                            unmap_outputs=True):
        """mmdet 3.3's ``AnchorHead._get_targets_single`` for the RPN (one class, encoded
        deltas), except that with ``box_loss_anchors='matched'`` the box targets and weights are
        those of every anchor the assigner matched; labels and label weights stay those of the
        sampled anchors. ``flat_anchors`` ``(A, 4)`` of all levels -> per anchor ``labels``
        ``(A, )``, ``label_weights`` ``(A, )``, ``bbox_targets``/``bbox_weights`` ``(A, 4)``."""
        if self.box_loss_anchors == 'sampled':
            return super()._get_targets_single(flat_anchors, valid_flags, gt_instances, img_meta,
                                               gt_instances_ignore, unmap_outputs)
        every = self._every_anchor_inside(img_meta, flat_anchors.size(0))
        if every:  # known on the host: no mask, no boolean indexing, no unmap (no syncs)
            inside, anchors = None, flat_anchors
        else:
            inside = anchor_inside_flags(flat_anchors, valid_flags, img_meta['img_shape'][:2],
                                         self.train_cfg['allowed_border'])
            if not inside.any():
                raise ValueError('There is no valid anchor inside the image boundary. Please '
                                 'check the image size and anchor sizes, or set '
                                 '``allowed_border`` to -1 to skip the condition.')
            anchors = flat_anchors[inside]
        priors = InstanceData(priors=anchors)
        assign_result = self.assigner.assign(priors, gt_instances, gt_instances_ignore)
        sampling_result = self.sampler.sample(assign_result, priors, gt_instances)
        num = anchors.shape[0]
        labels = anchors.new_full((num, ), self.num_classes, dtype=torch.long)
        label_weights = anchors.new_zeros(num, dtype=torch.float)
        pos_inds, neg_inds = sampling_result.pos_inds, sampling_result.neg_inds
        labels[pos_inds] = sampling_result.pos_gt_labels
        pos_weight = self.train_cfg['pos_weight']
        label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        label_weights[neg_inds] = 1.0
        # every matched anchor's deltas to its ground truth, zeros elsewhere; masks, not
        # nonzero(): no host-device sync for the (A, 4) targets
        matched = (assign_result.gt_inds > 0)[:, None]
        bbox_targets = anchors.new_zeros(num, self.bbox_coder.encode_size)
        if len(gt_instances) > 0:
            gts = gt_instances.bboxes[(assign_result.gt_inds - 1).clamp(min=0)]
            bbox_targets = torch.where(matched, self.bbox_coder.encode(anchors, gts), bbox_targets)
        bbox_weights = matched.to(bbox_targets.dtype).expand_as(bbox_targets).contiguous()
        if unmap_outputs and not every:
            total = flat_anchors.size(0)
            labels = unmap(labels, total, inside, fill=self.num_classes)
            label_weights = unmap(label_weights, total, inside)
            bbox_targets = unmap(bbox_targets, total, inside)
            bbox_weights = unmap(bbox_weights, total, inside)
        return (labels, label_weights, bbox_targets, bbox_weights, pos_inds, neg_inds,
                sampling_result)
