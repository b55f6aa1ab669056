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


def _label_boxes(vis):
    renderer = vis.fig_save.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in vis.ax_save.texts]


def test_labels_of_nested_instances_do_not_overlap():
    """A dress and its sleeve, pocket and neckline share a top-left corner: mmdet would draw
    their four labels on top of each other; each is moved below the ones before it, at 320 and
    at 1024 px, and stays legible (text at least 8 px high)."""
    from fashionpedia_plugin.visualization.fashionpedia_visualizer import separate_labels
    for size in (320, 1024):
        f = size / 320
        vis = FashionpediaVisualizer(
            name=f'fp-vis-place-{size}', attr_decoder=dict(type='AttributeDecoder', score_thr=0.5))
        vis.dataset_meta = dict(classes=taxonomy.CLASSES, palette=taxonomy.palette())
        pred = InstanceData()
        pred.bboxes = torch.tensor([[40., 40., 280., 300.], [42., 42., 150., 160.],
                                    [44., 44., 120., 130.], [41., 43., 200., 100.]]) * f
        pred.labels = torch.tensor([10, 31, 32, 33])  # dress, sleeve, pocket, neckline
        pred.scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
        attr = np.zeros((4, 294), np.float32)
        attr[0, taxonomy.ATTR_ID_TO_INDEX[MIDI]] = 0.9
        pred.attr_scores = torch.from_numpy(attr)
        img = np.full((size, size, 3), 128, np.uint8)
        # add_datasample redraws the finished picture (no text artists left): draw the instances
        vis._draw_instances(img, pred, list(taxonomy.CLASSES), taxonomy.palette())
        boxes = _label_boxes(vis)
        assert len(boxes) == 4
        for i in range(4):
            assert boxes[i].height >= 8, size
            for j in range(i):
                assert not boxes[i].fully_overlaps(boxes[j]), (size, i, j)  # strict overlap
        assert not separate_labels(vis.ax_save, vis.fig_save)  # already apart: nothing moves
