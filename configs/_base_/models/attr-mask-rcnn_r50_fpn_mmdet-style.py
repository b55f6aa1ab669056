# Attribute-Mask R-CNN R50-FPN on mmdet's Mask R-CNN ("mmdet style": frozen BN and stem + stage 1,
# FPN P2-P6 without BN, L1 box losses): a 4conv+1fc box head (BN in the head), 46 classes, and
# one linear attribute layer (1024 -> 294) on the box head's shared fc feature (tensorflow/tpu
# models/official/detection/projects/fashionpedia/modeling/architecture/fast_rcnn_head.py),
# trained with the official attribute target (the same folder's ops/roi_sampler.py and
# modeling/attribute_loss.py; see AttributeConvFCBBoxHead). The official network recipe is attr-mask-rcnn_r50_fpn.py.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'

num_classes = 46
num_attributes = 294
head_norm_cfg = dict(type='SyncBN', requires_grad=True)  # reverted to BN when not distributed

model = dict(
    roi_head=dict(
        type='AttributeRoIHead',
        bbox_head=dict(
            # mmdet's box head settings (coder, losses, 1024-d fc) stay as in the base
            type='AttributeConvFCBBoxHead',
            num_shared_convs=4,
            num_shared_fcs=1,
            conv_out_channels=256,
            num_classes=num_classes,
            norm_cfg=head_norm_cfg,
            num_attributes=num_attributes,
            # official: every sampled RoI, mean over RoIs x 294, weight 1.0 (projects/fashionpedia/
            # modeling/model.py adds it unweighted); 'positive' = positive RoIs, summed over attributes
            attr_target='official',
            loss_attr=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
        mask_head=dict(num_classes=num_classes)),
    # 512 RoIs per image, 25 % positive (official configs/model_config.py roi_sampling; the
    # mmdet default)
    train_cfg=dict(rcnn=dict(sampler=dict(num=512, pos_fraction=0.25))))
