"""``FashionpediaMetric``: COCO AP/AR (mmdet's ``CocoMetric``) + the official IoU+F1 AP."""
import time

import numpy as np
from mmdet.evaluation import CocoMetric
from mmdet.registry import METRICS, TASK_UTILS
from mmengine.fileio import dump, load
from mmengine.logging import MMLogger
from pycocotools.cocoeval import Params
from terminaltables import AsciiTable

from ... import taxonomy
from ...datasets.validation import FashionpediaDataError
from ..functional import (STAT_NAMES, FashionpediaEval, HotcocoGT, check_backend, coco_stats,
                          summary_specs)
from ..functional.fp_columns import load_results
from ..functional.fp_kernels import compiled_on_disk

HEADLINE_KEYS = ('AP', 'AP_IOU50_F150', 'AP_IOU75_F175', 'AP_F150', 'AP_F175', 'APo', 'APp')


def scalar_name(key):
    """A summary key of the official evaluator as a logged scalar: ``AR@100`` -> ``AR_100``
    (MLflow refuses a metric name with ``@``: the first validation with detections stopped
    the run with an ``MlflowException``)."""
    return key.replace('@', '_')


@METRICS.register_module()
class FashionpediaMetric(CocoMetric):
    """``CocoMetric`` that also computes the attribute-aware AP of the official evaluator.

    Logged scalars (prefix ``fashionpedia/``): everything ``CocoMetric`` logs
    (``segm_mAP``, ``segm_mAP_50``, ...), plus for each of ``bbox``/``segm``:
    ``{type}_iouf1_{KEY}`` for every official IoU+F1 summary key (``AP`` is the headline),
    ``{type}_f1_AP`` (F1-only view) and ``{type}_iou_AP`` (IoU-only view of ``FPEval``).

    Predictions carry ``attr_scores`` (``AttributeRoIHead``); ``attr_decoder`` (an
    ``AttributeDecoder`` config: thresholds, class prior, exclusive groups) turns them into the
    ``attribute_ids`` that are evaluated and written. Without ``attr_scores`` every detection
    predicts no attribute. ``format_only=True`` with ``outfile_prefix`` dumps
    ``{prefix}.{bbox,segm}.json`` in the official results format (COCO results +
    ``attribute_ids``), readable by ``tools/analysis_tools/fashionpedia_eval.py``.

    Args:
        attr_decoder (dict): ``AttributeDecoder`` config (default: its defaults).
        attr_scores_file (str | None): also write the raw attribute scores of every detection,
            in the order of the results JSON, as ``.npz`` (``scores`` (M, 294) float16,
            ``image_id``, ``category_id``), for ``tools/analysis_tools/tune_attributes.py``.
        fp_classwise (bool): log a per-class table of IoU+F1 AP / IoU AP.
        attribute_metric (bool): compute the IoU+F1 metric (off = plain ``CocoMetric``).
        coco_backend (str): the COCO AP evaluator, ``'hotcoco'`` (default, the fastest measured,
            equal numbers) or ``'pycocotools'`` (mmdet's ``CocoMetric`` path, the reference;
            also taken for ``classwise``, ``use_mp_eval`` and ``proposal``):
            :mod:`..functional.coco_backends`.
    """
    default_prefix = 'fashionpedia'

    def __init__(self,
                 *args,
                 attr_decoder=dict(type='AttributeDecoder'),
                 attr_scores_file=None,
                 fp_classwise=False,
                 attribute_metric=True,
                 coco_backend='hotcoco',
                 **kwargs):
        super().__init__(*args, **kwargs)
        check_backend(coco_backend)
        self.coco_backend = coco_backend
        self._fast_gt = None
        if attribute_metric and (self._coco_api is None
                                 or 'attributes' not in self._coco_api.dataset):
            raise FashionpediaDataError(
                f'FashionpediaMetric: {self.ann_file or "no ann_file"}: the IoU+F1 metric needs '
                'the official annotation format (an "attributes" list); set attribute_metric='
                'False for COCO AP only')
        self.attr_decoder = TASK_UTILS.build(attr_decoder)
        self.attr_scores_file = attr_scores_file
        self.fp_classwise = fp_classwise
        self.attribute_metric = attribute_metric
        self._json_results = {}

    def process(self, data_batch, data_samples):
        super().process(data_batch, data_samples)
        # CocoMetric appended one (gt, result) per sample, in order
        for (_, result), sample in zip(self.results[-len(data_samples):], data_samples):
            scores = sample['pred_instances'].get('attr_scores', None)
            if scores is None:
                result['attribute_ids'] = [[] for _ in range(len(result['labels']))]
                continue
            scores = scores.cpu().numpy()
            category_ids = self._category_ids()[result['labels']]
            result['attribute_ids'] = self.attr_decoder.decode(scores, category_ids)
            if self.attr_scores_file:
                result['attr_scores'] = scores.astype(np.float16)

    def _category_ids(self):
        """label -> official category id (``CocoMetric`` sets ``cat_ids`` only at the end)."""
        if self.cat_ids is None:
            names = self.dataset_meta['classes']
            if all(n in taxonomy.CLASSES for n in names):  # by official id, as the dataset
                self.cat_ids = [taxonomy.CLASSES.index(n) for n in names]
            else:
                self.cat_ids = self._coco_api.get_cat_ids(cat_names=names)
        return np.asarray(self.cat_ids)

    def results2json(self, results, outfile_prefix):
        """``CocoMetric.results2json`` plus ``attribute_ids`` on every result: the parent writes
        bbox and segm results in the same order (image, then detection), so they are zipped."""
        files = super().results2json(results, outfile_prefix)
        attribute_ids = [ids for result in results for ids in result['attribute_ids']]
        self._json_results = {}
        for iou_type in ('bbox', 'segm'):
            if iou_type not in files:
                continue
            preds = load(files[iou_type])
            assert len(preds) == len(attribute_ids)
            for pred, ids in zip(preds, attribute_ids):
                pred['attribute_ids'] = ids
            dump(preds, files[iou_type])
            self._json_results[iou_type] = preds
        if self.attr_scores_file:
            self._dump_attr_scores(results)
        return files

    def _dump_attr_scores(self, results):
        num_attrs = len(self.attr_decoder.thresholds)
        scores = [
            r.get('attr_scores', np.zeros((len(r['labels']), num_attrs), np.float16))
            for r in results
        ]
        np.savez_compressed(
            self.attr_scores_file,
            scores=np.concatenate(scores) if scores else np.zeros((0, num_attrs), np.float16),
            image_id=np.array([r['img_id'] for r in results for _ in r['labels']], np.int64),
            category_id=np.array([self.cat_ids[label] for r in results for label in r['labels']],
                                 np.int64))
        MMLogger.get_current_instance().info(
            f'raw attribute scores of {sum(len(s) for s in scores)} detections: '
            f'{self.attr_scores_file}')

    def _coco_metrics(self, json_results, logger):
        """``CocoMetric``'s bbox/segm keys and log line, from :func:`coco_stats` of the fast
        backend (same parameters, same rounding)."""
        out = {}
        if self._fast_gt is None:
            self._fast_gt = HotcocoGT(self._coco_api.dataset)
        for metric in [m for m in self.metrics if m in ('bbox', 'segm')]:
            preds = json_results.get(metric, [])
            if not preds:  # compute_metrics warns and reports zeros (an untrained model)
                break
            stats = coco_stats(self.coco_backend, self._fast_gt, preds, metric, self.cat_ids,
                               self.img_ids, self.proposal_nums, self.iou_thrs)
            for item in self.metric_items or STAT_NAMES[:6]:
                out[f'{metric}_{item}'] = float(f'{round(stats[STAT_NAMES.index(item)], 3)}')
            ap = stats[:6]
            logger.info(f'{metric}_mAP_copypaste: ' + ' '.join(f'{v:.3f}' for v in ap) +
                        f' ({self.coco_backend})')
        return out

    def compute_metrics(self, results):
        logger = MMLogger.get_current_instance()
        img_ids = [gt['img_id'] for gt, _ in results]
        if len(set(img_ids)) != len(img_ids):  # results are gathered from all ranks once
            raise RuntimeError(f'{len(img_ids) - len(set(img_ids))} duplicated images in the '
                               'gathered evaluation results')
        logger.info(f'FashionpediaMetric: evaluated {len(img_ids)} images')
        # the kernels run for the IoU+F1 AP of detections only (COCO AP: the backend's own)
        detected = any(len(pred['labels']) for _, pred in results)
        if detected and self.attribute_metric and not self.format_only and not compiled_on_disk():
            logger.info('FashionpediaMetric: compiling the evaluation kernels first (numba, once '
                        'after an install, 35-100 s on 2 CPU cores; cached on disk)')
        t_start = time.perf_counter()
        self._category_ids()  # by official id, before CocoMetric would map by name
        fast = self.coco_backend != 'pycocotools' and not (self.classwise or self.use_mp_eval
                                                           or 'proposal' in self.metrics)
        if fast:  # the parent converts and writes the results only; AP comes from the backend
            metrics, self.metrics = self.metrics, []
            try:
                eval_results = super().compute_metrics(results)
            finally:
                self.metrics = metrics
        else:
            eval_results = super().compute_metrics(results)
        json_results, self._json_results = self._json_results, {}
        if fast and not self.format_only:
            eval_results.update(self._coco_metrics(json_results, logger))
        t_coco = time.perf_counter()
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
            logger.info(f'FashionpediaMetric: COCO AP ({self.coco_backend}, with writing the '
                        f'results) {t_coco - t_start:.2f} s')
            return eval_results
        for iou_type in [m for m in self.metrics if m in ('bbox', 'segm')]:
            preds = json_results.get(iou_type, [])
            if not preds:
                logger.warning(f'No {iou_type} predictions: IoU+F1 metrics are 0.')
                # the keys of a run with detections (trackers and analyze_logs see one set)
                max_dets = sorted(Params(iouType=iou_type).maxDets)
                eval_results.update({
                    f'{iou_type}_iouf1_{scalar_name(k)}': 0.0
                    for k, _, _ in summary_specs(max_dets)
                })
                eval_results.update({f'{iou_type}_{v}_AP': 0.0 for v in ('f1', 'iou')})
                continue
            coco_dt = load_results(self._coco_api, preds, iou_type)
            fp_eval = FashionpediaEval(self._coco_api, coco_dt, iou_type)
            fp_eval.params.imgIds = self.img_ids
            views = fp_eval.run()
            for key, value in views['iou+f1'].items():
                eval_results[f'{iou_type}_iouf1_{scalar_name(key)}'] = round(float(value), 4)
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
        t_end = time.perf_counter()
        logger.info(f'FashionpediaMetric: COCO AP ({self.coco_backend}, with writing the results) '
                    f'{t_coco - t_start:.2f} s, AP with IoU+F1 {t_end - t_coco:.2f} s')
        return eval_results
