"""INbreastCocoMetric: mmdet's CocoMetric that reports 0, not nothing, when
no box is predicted, and AP per class as well as overall."""
from __future__ import annotations

import contextlib
import io
import math

import numpy as np
from mmdet.datasets.api_wrappers import COCOeval
from mmdet.evaluation.metrics import CocoMetric
from mmdet.registry import METRICS
from mmengine.logging import MMLogger

_BBOX_KEYS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')


@METRICS.register_module()
class INbreastCocoMetric(CocoMetric):
    """:class:`mmdet.evaluation.CocoMetric` (bbox AP, AP50 from
    pycocotools), with two differences:

    - when the model predicts no box at all on the whole split, as an
      untrained detector does in its first epochs, mmdet's metric logs a
      warning and returns no key, and
      ``CheckpointHook(save_best='coco/bbox_mAP_50')`` then stops training
      with a KeyError. Here every ``bbox_*`` key is reported as 0.0
      instead, which is its correct value;
    - with more than one class (or ``per_class=True``), AP and AP50 of each
      class are reported as well: ``coco/bbox_<class>_mAP`` and
      ``coco/bbox_<class>_mAP_50``, unrounded. They come from the same
      pycocotools evaluation as the overall numbers (its per-category
      precision table, ``area='all'``, the largest ``maxDets``), so each
      equals pycocotools run on that class alone; the overall ``bbox_mAP``
      is their mean. A class without ground truth gets NaN.

    Images without masses are kept in the evaluation (they have no ground
    truth; their predictions are false positives).

    Args:
        per_class (bool, optional): Report per-class AP. Defaults to None:
            on when the dataset has more than one class.
        **kwargs: As :class:`mmdet.evaluation.CocoMetric`; ``ann_file=None``
            builds the ground truth from the data samples' ``instances``.
    """

    def __init__(self, *args, per_class: bool | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.per_class = per_class

    def _class_names(self) -> list[str]:
        return list((self.dataset_meta or {}).get('classes', ()))

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Compute the COCO metrics; 0.0 for each when nothing was
        predicted.

        Args:
            results (list): What :meth:`process` collected.

        Returns:
            dict[str, float]: ``bbox_mAP``, ``bbox_mAP_50``, ... and, per
            class, ``bbox_<class>_mAP``, ``bbox_<class>_mAP_50`` (without
            the prefix; the evaluator adds ``coco/``).
        """
        classes = self._class_names()
        per_class = (len(classes) > 1 if self.per_class is None else
                     self.per_class) and 'bbox' in self.metrics
        metrics = ['bbox'] if 'bbox' in self.metrics else []
        if metrics and not self.format_only and not any(
                len(pred['bboxes']) for _, pred in results):
            out = {f'bbox_{k}': 0.0 for k in _BBOX_KEYS}
            if per_class:
                for name in classes:
                    out[f'bbox_{name}_mAP'] = 0.0
                    out[f'bbox_{name}_mAP_50'] = 0.0
            return out
        out = super().compute_metrics(results)
        if per_class and not self.format_only and out:
            out.update(self._per_class_ap([p for _, p in results], classes))
        return out

    def _per_class_ap(self, preds: list, classes: list[str]
                      ) -> dict[str, float]:
        """AP and AP50 per class from pycocotools' precision table."""
        dets = []
        for idx, pred in enumerate(preds):
            image_id = pred.get('img_id', idx)
            for box, score, label in zip(pred['bboxes'], pred['scores'],
                                         pred['labels']):
                dets.append(dict(image_id=image_id,
                                 bbox=self.xyxy2xywh(box),
                                 score=float(score),
                                 category_id=self.cat_ids[int(label)]))
        coco_dt = self._coco_api.loadRes(dets)
        coco_eval = COCOeval(self._coco_api, coco_dt, 'bbox')
        coco_eval.params.catIds = self.cat_ids
        coco_eval.params.imgIds = self.img_ids
        coco_eval.params.maxDets = list(self.proposal_nums)
        coco_eval.params.iouThrs = self.iou_thrs
        with contextlib.redirect_stdout(io.StringIO()):
            coco_eval.evaluate()
            coco_eval.accumulate()
        # precision: (iou thresholds, recall points, classes, areas, maxDets)
        precision = coco_eval.eval['precision']
        iou_thrs = np.asarray(coco_eval.params.iouThrs)
        at50 = np.flatnonzero(np.isclose(iou_thrs, 0.5))
        out: dict[str, float] = {}

        def mean_valid(p: np.ndarray) -> float:
            p = p[p > -1]
            return float(np.mean(p)) if p.size else math.nan

        for k, cat_id in enumerate(self.cat_ids):
            name = self._coco_api.load_cats(cat_id)[0]['name']
            out[f'bbox_{name}_mAP'] = mean_valid(precision[:, :, k, 0, -1])
            if at50.size:
                out[f'bbox_{name}_mAP_50'] = mean_valid(
                    precision[at50[0], :, k, 0, -1])
        MMLogger.get_current_instance().info(
            'AP per class: ' + '  '.join(f'{k}: {v:.4f}'
                                         for k, v in out.items()))
        return out
