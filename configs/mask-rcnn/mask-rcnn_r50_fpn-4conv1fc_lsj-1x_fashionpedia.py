# Mask R-CNN with the paper's box head (4 conv + 1 fc, BN) and no attribute branch: exactly
# Attribute-Mask R-CNN minus attributes. The baseline for "what does the attribute branch cost"
# (tools/analysis_tools/benchmark_train.py) and for AP with vs without attribute supervision.
_base_ = './mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=dict(type='SyncBN', requires_grad=True))))
