"""``FashionpediaMetric``: COCO AP/AR (mmdet's ``CocoMetric``) + the official IoU+F1 AP."""
import contextlib
import io

from mmdet.evaluation import CocoMetric
from mmdet.registry import METRICS
from mmengine.fileio import dump
from mmengine.logging import MMLogger
from terminaltables import AsciiTable

from ..functional import FashionpediaEval

HEADLINE_KEYS = ('AP', 'AP_IOU50_F150', 'AP_IOU75_F175', 'AP_F150', 'AP_F175', 'APo', 'APp')


@METRICS.register_module()
class FashionpediaMetric(CocoMetric):
    """``CocoMetric`` that also computes the attribute-aware AP of the official evaluator.

    Logged scalars (prefix ``fashionpedia/``): everything ``CocoMetric`` logs
    (``segm_mAP``, ``segm_mAP_50``, ...), plus for each of ``bbox``/``segm``:
    ``{type}_iouf1_{KEY}`` for every official IoU+F1 summary key (``AP`` is the headline),
    ``{type}_f1_AP`` (F1-only view) and ``{type}_iou_AP`` (IoU-only view of ``FPEval``).

    Predictions must carry ``attribute_ids`` (``AttributeRoIHead`` adds them); without them every
    detection counts as predicting no attribute. ``format_only=True`` with ``outfile_prefix``
    dumps ``{prefix}.{bbox,segm}.json`` in the official results format (COCO results +
    ``attribute_ids``), readable by ``tools/analysis_tools/fashionpedia_eval.py``.

    Args:
        fp_classwise (bool): log a per-class table of IoU+F1 AP / IoU AP.
        attribute_metric (bool): compute the IoU+F1 metric (off = plain ``CocoMetric``).
    """
    default_prefix = 'fashionpedia'

    def __init__(self, *args, fp_classwise=False, attribute_metric=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fp_classwise = fp_classwise
        self.attribute_metric = attribute_metric
        self._json_results = {}

    def process(self, data_batch, data_samples):
        super().process(data_batch, data_samples)
        # CocoMetric appended one (gt, result) per sample, in order
        for (_, result), sample in zip(self.results[-len(data_samples):], data_samples):
            ids = sample['pred_instances'].get('attribute_ids', None)
            result['attribute_ids'] = [list(map(int, a)) for a in ids] if ids is not None \
                else [[] for _ in range(len(result['labels']))]

    def results2json(self, results, outfile_prefix):
        """``CocoMetric.results2json`` with ``attribute_ids`` on every bbox/segm result."""
        bbox_json, segm_json = [], ([] if 'masks' in results[0] else None)
        for idx, result in enumerate(results):
            image_id = result.get('img_id', idx)
            mask_scores = result.get('mask_scores', result['scores'])
            for i, label in enumerate(result['labels']):
                base = dict(
                    image_id=image_id,
                    bbox=self.xyxy2xywh(result['bboxes'][i]),
                    category_id=self.cat_ids[label],
                    attribute_ids=result['attribute_ids'][i])
                bbox_json.append(dict(base, score=float(result['scores'][i])))
                if segm_json is not None:
                    mask = result['masks'][i]
                    if isinstance(mask['counts'], bytes):
                        mask['counts'] = mask['counts'].decode()
                    segm_json.append(dict(base, score=float(mask_scores[i]), segmentation=mask))
        files = dict(bbox=f'{outfile_prefix}.bbox.json', proposal=f'{outfile_prefix}.bbox.json')
        dump(bbox_json, files['bbox'])
        self._json_results = dict(bbox=bbox_json)
        if segm_json is not None:
            files['segm'] = f'{outfile_prefix}.segm.json'
            dump(segm_json, files['segm'])
            self._json_results['segm'] = segm_json
        return files

    def compute_metrics(self, results):
        logger = MMLogger.get_current_instance()
        img_ids = [gt['img_id'] for gt, _ in results]
        if len(set(img_ids)) != len(img_ids):  # results are gathered from all ranks once
            raise RuntimeError(f'{len(img_ids) - len(set(img_ids))} duplicated images in the '
                               'gathered evaluation results')
        logger.info(f'FashionpediaMetric: evaluated {len(img_ids)} images')
        eval_results = super().compute_metrics(results)
        json_results, self._json_results = self._json_results, {}
        if self.format_only:
            return eval_results
        for metric in self.metrics:
            # CocoMetric logs an error and returns no keys when nothing was detected (an
            # untrained model); report zeros so save_best and curves keep working.
            if metric in ('bbox', 'segm') and f'{metric}_mAP' not in eval_results:
                logger.warning(f'No {metric} predictions on the whole dataset: AP = 0.')
                for name in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l'):
                    eval_results[f'{metric}_{name}'] = 0.0
        if not self.attribute_metric:
            return eval_results
        if 'attributes' not in self._coco_api.dataset:
            raise ValueError(f'{self.ann_file}: ground truth has no "attributes" list; the '
                             'IoU+F1 metric needs the official annotation format')
        for iou_type in [m for m in self.metrics if m in ('bbox', 'segm')]:
            preds = json_results.get(iou_type, [])
            if not preds:
                logger.warning(f'No {iou_type} predictions: IoU+F1 metrics are 0.')
                eval_results.update({f'{iou_type}_iouf1_{k}': 0.0 for k in HEADLINE_KEYS})
                continue
            with contextlib.redirect_stdout(io.StringIO()):
                coco_dt = self._coco_api.loadRes(preds)
            fp_eval = FashionpediaEval(self._coco_api, coco_dt, iou_type)
            fp_eval.params.imgIds = self.img_ids
            views = fp_eval.run()
            for key, value in views['iou+f1'].items():
                eval_results[f'{iou_type}_iouf1_{key}'] = round(float(value), 4)
            eval_results[f'{iou_type}_f1_AP'] = round(float(views['f1']['AP']), 4)
            eval_results[f'{iou_type}_iou_AP'] = round(float(views['iou']['AP']), 4)
            logger.info(f'{iou_type} AP with IoU+F1: ' + ', '.join(f'{k}={views["iou+f1"][k]:.3f}'
                                                                   for k in HEADLINE_KEYS))
            if self.fp_classwise:
                names = [c['name'] for c in self._coco_api.load_cats(fp_eval.params.catIds)]
                rows = [['category', 'AP (IoU)', 'AP (IoU+F1)']]
                for name, entry in fp_eval.summarize_per_class(names).items():
                    f1 = entry.get('iou_f1', {}).get('AP')
                    rows.append(
                        [name, f'{entry["iou"]["AP"]:.3f}', '-' if f1 is None else f'{f1:.3f}'])
                logger.info('\n' + AsciiTable(rows).table)
        return eval_results
