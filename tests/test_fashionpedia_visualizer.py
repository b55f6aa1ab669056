"""FashionpediaVisualizer: labels carry the decoded attributes (predictions) or the ground
truth's attributes, drawn by mmdet's own instance drawing."""
import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from fashionpedia_plugin import taxonomy
from fashionpedia_plugin.visualization import FashionpediaVisualizer

SKIRT, MINI, MIDI, PLAIN = 8, 149, 153, 317


def _instances(scores):
    inst = InstanceData()
    inst.bboxes = torch.tensor([[10., 10., 60., 80.]])
    inst.labels = torch.tensor([SKIRT])
    inst.scores = torch.tensor([0.93])
    inst.attr_scores = torch.from_numpy(scores[None])
    return inst


def test_prediction_labels_show_decoded_attributes_best_first():
    s = np.zeros(294, np.float32)
    s[taxonomy.ATTR_ID_TO_INDEX[MINI]] = 0.59
    s[taxonomy.ATTR_ID_TO_INDEX[MIDI]] = 0.93
    s[taxonomy.ATTR_ID_TO_INDEX[PLAIN]] = 0.7
    vis = FashionpediaVisualizer(
        name='fp-vis-1', attr_decoder=dict(type='AttributeDecoder', score_thr=0.5))
    lines = vis.attribute_lines(_instances(s), list(taxonomy.CLASSES))
    assert lines == ['midi, plain, mini']
    vis.max_attributes = 1
    assert vis.attribute_lines(_instances(s), list(taxonomy.CLASSES)) == ['midi']


def test_ground_truth_attributes_and_drawing_changes_pixels():
    vis = FashionpediaVisualizer(name='fp-vis-2')
    vis.dataset_meta = dict(classes=taxonomy.CLASSES, palette=taxonomy.palette())
    sample = DetDataSample()
    gt = InstanceData()
    gt.bboxes = torch.tensor([[10., 10., 60., 80.]])
    gt.labels = torch.tensor([SKIRT])
    gt.attributes = torch.zeros(1, 294)
    gt.attributes[0, taxonomy.ATTR_ID_TO_INDEX[MINI]] = 1
    sample.gt_instances = gt
    assert vis.attribute_lines(gt, list(taxonomy.CLASSES)) == ['mini']
    img = np.zeros((100, 100, 3), np.uint8)
    vis.add_datasample('x', img, sample, draw_pred=False)
    assert (vis.get_image() != img).any()
