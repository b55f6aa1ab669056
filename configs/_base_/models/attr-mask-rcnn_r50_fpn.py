# Attribute-Mask R-CNN R50-FPN (Fashionpedia paper): Mask R-CNN with a 4conv+1fc box head
# (BN in the head), 46 classes, and one linear attribute layer (1024 -> 294) on the box head's
# shared fc feature, trained with sigmoid cross-entropy on positive RoIs.
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
            # sum over the 294 attributes / number of positive RoIs, weight 1.0 (paper)
            loss_attr=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            attr_score_thr=0.5),
        mask_head=dict(num_classes=num_classes)),
    # 512 RoIs per image, 25 % positive (paper box head recipe = mmdet default)
    train_cfg=dict(rcnn=dict(sampler=dict(num=512, pos_fraction=0.25))))
