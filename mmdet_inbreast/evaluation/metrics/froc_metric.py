"""FROC metric: lesion sensitivity at fixed false positives per image."""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdet.registry import METRICS
from ..functional.froc import (DEFAULT_FPI, DUPLICATE_MODES, HIT_MODES,
                               FROCCurve, FROCMatches, froc_curve,
                               match_images, sensitivity_at)
from ...utils.arrays import to_numpy
from ..functional.froc_bootstrap import bootstrap_cpm


def _curve_corners(curve: FROCCurve) -> Dict[str, list]:
    """The points where the curve moves, for the JSON file.

    Thresholds that leave (FP/image, sensitivity) unchanged add nothing to
    the step curve; each kept point carries the highest threshold that
    reaches it (the score of the prediction that moved the curve).
    """
    fps, sens = curve.fps_per_image, curve.sensitivity
    keep = np.ones(len(fps), dtype=bool)
    if len(fps) > 1:
        same_sens = (sens[1:] == sens[:-1]) | (np.isnan(sens[1:])
                                               & np.isnan(sens[:-1]))
        keep[1:] = (fps[1:] != fps[:-1]) | ~same_sens

    def listed(a: np.ndarray) -> list:
        return [None if np.isnan(v) else float(v) for v in a[keep]]

    return dict(
        fps_per_image=listed(fps),
        sensitivity=listed(sens),
        thresholds=listed(curve.thresholds))


@METRICS.register_module()
class FROCMetric(BaseMetric):
    """Free-response ROC metric: sensitivity at fixed FP/image and the CPM.

    Reports ``sens@f`` for each ``f`` of ``fpi`` (the key formats ``f`` with
    ``%g``: ``froc/sens@0.125`` ... ``froc/sens@8``) and ``froc/CPM``, their
    mean (the Competition Performance Metric of LUNA16, Setio et al. 2017).
    Matching rules, the curve and ``sens@f`` are defined in
    :mod:`mmdet_inbreast.evaluation.functional.froc`: per image and class,
    predictions in descending score order; a hit is IoU >= ``iou_thr`` or the
    prediction's centre inside the box; a prediction on an already found box
    is ignored or a false positive (``duplicates``); one on an
    ``ignore_flag`` box is neither. True and false positives of all classes
    are pooled into one curve. Images without ground truth count in the
    FP/image denominator.

    Frames: predictions are read from ``pred_instances`` and must be in
    original-image pixels (mmdet's heads rescale them when ``rescale=True``).
    Ground truth is read from ``instances`` (the dataset's records, original
    pixels; needs ``'instances'`` in ``PackDetInputs``' ``meta_keys``) when
    present, else from ``gt_instances`` and ``ignored_instances``, which are
    in the frame where ``LoadAnnotations`` ran: put it after ``Resize`` in
    the test pipeline, as mmdet does, so that they stay in original pixels.
    Boxes are ``x1, y1, x2, y2``; IoU is mmdet's (no ``+ 1``).

    Per class: with more than one class (or ``per_class=True``), each class
    also gets its own curve and points, ``froc/<class>_sens@<f>`` and
    ``froc/<class>_CPM``: only that class's predictions and ground-truth
    boxes are matched (predictions of other classes neither hit nor count
    as false positives), and every image of the split, whatever its
    classes, counts in the FP/image denominator, as published per-class
    INbreast results report benign and malignant sensitivity. Class names
    come from the dataset's ``classes``.

    Patients: the bootstrap resamples patients, read from the data sample's
    ``patient_id`` (add ``'patient_id'`` to ``PackDetInputs``' ``meta_keys``).
    Without it each image is its own patient, identified by ``img_id`` or,
    failing that, by its index in the evaluation; a warning says so.

    Args:
        fpi (Sequence[float]): False positives per image of the reported
            points, all > 0. Defaults to (0.125, 0.25, 0.5, 1, 2, 4, 8).
        iou_thr (float): IoU threshold of a hit with ``hit='iou'``.
            Defaults to 0.5.
        hit (str): ``'iou'`` or ``'center'``. Defaults to ``'iou'``.
        duplicates (str): ``'ignore'`` (LUNA16/MONAI) or ``'fp'``.
            Defaults to ``'ignore'``.
        bootstrap (int): Number of patient bootstrap samples of the 95 %
            interval of the CPM (``froc/CPM_ci_low``, ``froc/CPM_ci_high``);
            0 turns it off. Defaults to 0.
        seed (int): Seed of the bootstrap. Defaults to 0.
        outfile_prefix (str, optional): When set, the curve and the points
            are written to ``<outfile_prefix>.froc.json`` (read by
            ``tools/plot_froc.py``); per-class curves go under
            ``per_class``. Defaults to None.
        per_class (bool, optional): Report each class as well. Defaults to
            None: on when the dataset has more than one class.
        collect_device (str): Device used to collect results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to None
            (``'froc'``).

    Example:
        >>> val_evaluator = [
        ...     dict(type='CocoMetric', metric='bbox'),
        ...     dict(type='FROCMetric', bootstrap=1000)]
    """

    default_prefix: Optional[str] = 'froc'

    def __init__(self,
                 fpi: Sequence[float] = DEFAULT_FPI,
                 iou_thr: float = 0.5,
                 hit: str = 'iou',
                 duplicates: str = 'ignore',
                 bootstrap: int = 0,
                 seed: int = 0,
                 outfile_prefix: Optional[str] = None,
                 per_class: Optional[bool] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        fpi = tuple(float(f) for f in fpi)
        if not fpi or min(fpi) <= 0:
            raise ValueError(f'fpi must be a non-empty sequence of positive '
                             f'false positives per image, got {fpi!r}')
        if hit not in HIT_MODES:
            raise ValueError(f'hit must be one of {HIT_MODES}, got {hit!r}')
        if duplicates not in DUPLICATE_MODES:
            raise ValueError(f'duplicates must be one of {DUPLICATE_MODES}, '
                             f'got {duplicates!r}')
        if not 0 < iou_thr <= 1:
            raise ValueError(f'iou_thr must be in (0, 1], got {iou_thr!r}')
        if bootstrap < 0:
            raise ValueError(f'bootstrap must be >= 0, got {bootstrap!r}')
        self.fpi = fpi
        self.iou_thr = float(iou_thr)
        self.hit = hit
        self.duplicates = duplicates
        self.bootstrap = int(bootstrap)
        self.seed = seed
        self.outfile_prefix = outfile_prefix
        self.per_class = per_class

    @staticmethod
    def _parse_gt(data_sample: dict) -> Dict[str, np.ndarray]:
        """Ground-truth boxes, labels and ignore flags of one data sample."""
        if 'instances' in data_sample:
            instances = data_sample['instances']
            return dict(
                gt_bboxes=np.asarray([i['bbox'] for i in instances],
                                     dtype=np.float64).reshape(-1, 4),
                gt_labels=np.asarray([i['bbox_label'] for i in instances],
                                     dtype=np.int64),
                gt_ignore_flags=np.asarray(
                    [i.get('ignore_flag', 0) for i in instances], dtype=bool))
        if 'gt_instances' in data_sample:
            parts = [(data_sample['gt_instances'], False)]
            ignored = data_sample.get('ignored_instances', None)
            if ignored is not None and 'bboxes' in ignored:
                parts.append((ignored, True))
            bboxes, labels, flags = [], [], []
            for part, flag in parts:
                if 'bboxes' not in part:
                    continue
                b = to_numpy(part['bboxes']).astype(np.float64).reshape(-1, 4)
                bboxes.append(b)
                labels.append(
                    to_numpy(part['labels']).astype(np.int64).reshape(-1)
                    if 'labels' in part else np.zeros(len(b), np.int64))
                flags.append(np.full(len(b), flag))
            return dict(
                gt_bboxes=np.concatenate(bboxes) if bboxes else np.zeros(
                    (0, 4)),
                gt_labels=np.concatenate(labels)
                if labels else np.zeros(0, np.int64),
                gt_ignore_flags=np.concatenate(flags)
                if flags else np.zeros(0, bool))
        raise ValueError(
            f"data sample of image {data_sample.get('img_id')!r} has no "
            f"ground truth: neither 'instances' nor 'gt_instances'. Add "
            f"LoadAnnotations to the test pipeline (after Resize), or "
            f"'instances' to PackDetInputs' meta_keys.")

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep, per image, the numpy arrays the FROC needs.

        Args:
            data_batch (Any): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Data samples as dicts (mmengine's
                ``Evaluator`` calls ``to_dict()``) with ``pred_instances``
                (``bboxes`` (P, 4) x1, y1, x2, y2 in original-image pixels,
                ``scores`` (P,), ``labels`` (P,)) and ground truth in
                ``instances`` or ``gt_instances``; optionally ``patient_id``
                and ``img_id``.
        """
        for data_sample in data_samples:
            pred = data_sample['pred_instances']
            bboxes = to_numpy(pred['bboxes']).astype(np.float64)
            scores = to_numpy(pred['scores']).astype(np.float64).reshape(-1)
            labels = (to_numpy(pred['labels']).astype(np.int64).reshape(-1)
                      if 'labels' in pred else np.zeros(len(scores), np.int64))
            result = dict(
                img_id=data_sample.get('img_id', None),
                patient_id=data_sample.get('patient_id', None),
                pred_bboxes=bboxes.reshape(-1, 4),
                pred_scores=scores,
                pred_labels=labels)
            result.update(self._parse_gt(data_sample))
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute the FROC points, the CPM and, optionally, its interval.

        Args:
            results (list[dict]): What :meth:`process` kept, one per image.

        Returns:
            dict[str, float]: ``sens@<f>`` for each ``f``, ``CPM`` and, with
            ``bootstrap > 0``, ``CPM_ci_low`` and ``CPM_ci_high``; NaN when
            there are no ground-truth boxes.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        matches = self._match(results)
        curve = froc_curve(matches)
        sens = sensitivity_at(curve, self.fpi)
        metrics: Dict[str, float] = OrderedDict(
            (f'sens@{f:g}', float(s)) for f, s in zip(self.fpi, sens))
        metrics['CPM'] = float(np.mean(sens))
        class_curves: Dict[str, FROCCurve] = OrderedDict()
        for label, name in self._classes(results):
            class_curve = froc_curve(
                self._match(self._select_class(results, label)))
            class_sens = sensitivity_at(class_curve, self.fpi)
            for f, s in zip(self.fpi, class_sens):
                metrics[f'{name}_sens@{f:g}'] = float(s)
            metrics[f'{name}_CPM'] = float(np.mean(class_sens))
            class_curves[name] = class_curve
        if curve.num_boxes == 0:
            logger.warning('FROCMetric: no ground-truth boxes in '
                           f'{curve.num_images} images; sensitivity is NaN')

        patients = self._patient_ids(results, logger)
        if self.bootstrap:
            low, high, _ = bootstrap_cpm(
                matches,
                patients,
                self.fpi,
                num_samples=self.bootstrap,
                seed=self.seed)
            metrics['CPM_ci_low'] = low
            metrics['CPM_ci_high'] = high

        rule = (f'IoU >= {self.iou_thr:g}'
                if self.hit == 'iou' else 'centre inside box')
        logger.info(
            f'FROC (hit: {rule}, duplicates: {self.duplicates}): '
            f'{curve.num_images} images, '
            f'{len(set(patients))} patients, {curve.num_boxes} boxes\n' +
            '  '.join(f'{k}: {v:.4f}' for k, v in metrics.items()))
        if self.outfile_prefix is not None:
            self._dump(curve, metrics, len(set(patients)), logger,
                       class_curves)
        return metrics

    def _match(self, results: List[dict]) -> FROCMatches:
        """Match the predictions of ``results`` (all their classes)."""
        return match_images(
            [r['pred_bboxes'] for r in results],
            [r['pred_scores'] for r in results],
            [r['gt_bboxes'] for r in results],
            pred_labels=[r['pred_labels'] for r in results],
            gt_labels=[r['gt_labels'] for r in results],
            gt_ignore_flags=[r['gt_ignore_flags'] for r in results],
            iou_thr=self.iou_thr,
            hit=self.hit,
            duplicates=self.duplicates)

    def _classes(self, results: List[dict]) -> List[tuple]:
        """(label, name) of each class reported on its own: those of the
        dataset's ``classes``, else the labels seen (``class<i>``); none
        when ``per_class`` is off."""
        names = list((self.dataset_meta or {}).get('classes', ()))
        on = len(names) > 1 if self.per_class is None else self.per_class
        if not on:
            return []
        if names:
            return list(enumerate(names))
        labels = sorted({int(v) for r in results
                         for v in np.concatenate([r['gt_labels'],
                                                  r['pred_labels']])})
        return [(i, f'class{i}') for i in labels]

    @staticmethod
    def _select_class(results: List[dict], label: int) -> List[dict]:
        """``results`` restricted to the predictions and ground-truth
        boxes of one class; every image stays (FP/image denominator)."""
        selected = []
        for r in results:
            p, g = r['pred_labels'] == label, r['gt_labels'] == label
            selected.append(dict(
                r, pred_bboxes=r['pred_bboxes'][p],
                pred_scores=r['pred_scores'][p],
                pred_labels=r['pred_labels'][p], gt_bboxes=r['gt_bboxes'][g],
                gt_labels=r['gt_labels'][g],
                gt_ignore_flags=r['gt_ignore_flags'][g]))
        return selected

    @staticmethod
    def _patient_ids(results: List[dict], logger: MMLogger) -> List[str]:
        """Patient of each image: ``patient_id``, else ``img_id``, else the
        image's index."""
        patients = []
        for index, r in enumerate(results):
            if r['patient_id'] is not None:
                patients.append(f"patient {r['patient_id']}")
            elif r['img_id'] is not None:
                patients.append(f"image {r['img_id']}")
            else:
                patients.append(f'index {index}')
        if any(r['patient_id'] is None for r in results):
            logger.warning(
                'FROCMetric: some data samples carry no patient_id (add it to '
                "PackDetInputs' meta_keys); those images count as their own "
                'patients in the bootstrap')
        return patients

    def _dump(self, curve: FROCCurve, metrics: Dict[str, float],
              num_patients: int, logger: MMLogger,
              class_curves: Optional[Dict[str, FROCCurve]] = None) -> None:
        """Write ``<outfile_prefix>.froc.json``."""
        path = f'{self.outfile_prefix}.froc.json'
        if osp.dirname(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
        content = dict(
            metrics={
                k: None if np.isnan(v) else v
                for k, v in metrics.items()
            },
            fpi=list(self.fpi),
            **_curve_corners(curve),
            num_images=curve.num_images,
            num_boxes=curve.num_boxes,
            num_patients=num_patients,
            iou_thr=self.iou_thr,
            hit=self.hit,
            duplicates=self.duplicates,
            bootstrap=self.bootstrap,
            seed=self.seed)
        if class_curves:
            content['per_class'] = {
                name: dict(**_curve_corners(c), num_boxes=c.num_boxes)
                for name, c in class_curves.items()
            }
        with open(path, 'w') as f:
            json.dump(content, f)
        logger.info(f'FROCMetric: curve written to {path}')
