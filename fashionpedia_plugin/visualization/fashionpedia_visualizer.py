"""``FashionpediaVisualizer``: mmdet's ``DetLocalVisualizer`` with attributes in the labels."""
import numpy as np
from mmdet.registry import TASK_UTILS, VISUALIZERS
from mmdet.visualization import DetLocalVisualizer

from .. import taxonomy


@VISUALIZERS.register_module()
class FashionpediaVisualizer(DetLocalVisualizer):
    """Draws each instance as mmdet does, its label extended with its attributes:
    ``skirt: 93.1`` then ``mini, plain`` on a second line.

    Predictions (``attr_scores``) are decoded with ``attr_decoder`` (the ``AttributeDecoder``
    config the metric uses: set ``visualizer = dict(attr_decoder=attr_decoder)`` in a config), the
    ``max_attributes`` highest-scoring kept ones shown; ground truth (``attributes`` multi-hot,
    e.g. ``browse_dataset.py``) shows its attributes. Used by ``DetVisualizationHook``
    (``tools/test.py --show-dir``), ``browse_dataset.py`` and ``FashionpediaInferencer``.
    """

    def __init__(self,
                 name='visualizer',
                 *args,
                 attr_decoder=dict(type='AttributeDecoder'),
                 max_attributes=3,
                 **kwargs):
        super().__init__(name, *args, **kwargs)
        self.attr_decoder = TASK_UTILS.build(attr_decoder)
        self.max_attributes = max_attributes

    def attribute_lines(self, instances, classes):
        """One short text per instance (the attribute names), or None without attributes."""
        if 'attr_scores' in instances:
            scores = np.asarray(instances.attr_scores.cpu(
            ) if hasattr(instances.attr_scores, 'cpu') else instances.attr_scores)
            labels = np.asarray(
                instances.labels.cpu() if hasattr(instances.labels, 'cpu') else instances.labels)
            names = classes or taxonomy.CLASSES
            cats = [
                taxonomy.CLASSES.index(names[int(c)])
                if names[int(c)] in taxonomy.CLASSES else int(c) for c in labels
            ]
            keep = self.attr_decoder.keep_mask(scores, cats)
            ranked = [[j for j in np.argsort(-s) if k[j]][:self.max_attributes]
                      for s, k in zip(scores, keep)]
        elif 'attributes' in instances:
            multihot = np.asarray(instances.attributes.cpu(
            ) if hasattr(instances.attributes, 'cpu') else instances.attributes)
            ranked = [list(np.flatnonzero(row))[:self.max_attributes] for row in multihot]
        else:
            return None
        return [', '.join(taxonomy.ATTRIBUTE_NAMES[j].split(' (')[0] for j in r) for r in ranked]

    def _draw_instances(self, image, instances, classes, palette):
        lines = self.attribute_lines(instances, classes) if len(instances) else None
        if lines is not None:
            instances = instances.clone()
            labels = [int(c) for c in instances.labels]
            base = [(classes[c] if classes is not None else f'class {c}').split(',')[0]
                    for c in labels]
            if 'scores' in instances:
                base = [f'{b}: {round(float(s) * 100, 1)}' for b, s in zip(base, instances.scores)]
                del instances.scores  # shown in the label name
            instances.label_names = [b + (f'\n{t}' if t else '') for b, t in zip(base, lines)]
        drawn = super()._draw_instances(image, instances, classes, palette)
        return self.get_image() if separate_labels(self.ax_save, self.fig_save) else drawn


def separate_labels(ax, fig, pad=2):
    """Move labels down, in drawing order, until each overlaps none drawn before it (mmdet puts
    every label at its box's top-left corner, so the labels of nested garments and parts pile
    up); a label that would leave the image stays where it is. Our simple greedy placement:
    enough for the few labels of one person. Returns whether any label moved."""
    renderer = fig.canvas.get_renderer()
    bottom = ax.transData.transform((0, ax.get_ylim()[0]))[1]  # image bottom, display coords
    placed, moved = [], False
    for text in ax.texts:
        box = text.get_window_extent(renderer).expanded(1, 1).padded(pad)
        for _ in range(len(placed) + 1):
            hit = next((b for b in placed if box.fully_overlaps(b)), None)  # strict
            if hit is None or hit.y0 - box.height < bottom:
                break
            dy = hit.y0 - box.y1  # display y points up: < 0 moves the label down the image
            box = box.translated(0, dy)
            x, y = ax.transData.transform(text.get_position())
            text.set_position(ax.transData.inverted().transform((x, y + dy)))
            moved = True
        placed.append(box)
    return moved
