"""Out-of-fold pooling: every image of a study tested once, by the model of
the fold that held it out, its predictions matched once for the pooled
metrics and their patient bootstrap.

- :func:`load_predictions`: a test run's ``predictions.pkl`` as arrays.
- :func:`pool_variant`: a variant's folds pooled (each image exactly once)
  into a :class:`PooledVariant`, whose methods give the CPM, sensitivity
  and AP50 of the pooled set and of resampled sets of patients.
"""
from __future__ import annotations

import os.path as osp
import pickle
from typing import Sequence

import numpy as np

from ..evaluation.functional.bootstrap import (ap_from_counts, coco_matches,
                                               patient_index)
from ..evaluation.functional.froc import (froc_curve, match_images,
                                          sensitivity_at)
from ..evaluation.functional.froc_bootstrap import bootstrap_cpm_from_counts
from ..utils.arrays import to_numpy

#: False positives per image of the pooled sens@f columns.
POOLED_FPI = (0.5, 1.0, 2.0)
#: The CPM's operating points (LUNA16).
CPM_FPI = (0.125, 0.25, 0.5, 1, 2, 4, 8)


def load_predictions(path: str) -> list[dict]:
    """Per-image predictions and ground truth of a test run's
    ``predictions.pkl`` (mmdet's ``DumpDetResults``).

    Returns:
        list[dict]: ``key`` (``file_name``), ``patient_id``, ``pred_bboxes``
        (P, 4), ``pred_scores`` (P,), ``gt_bboxes`` (G, 4), ``gt_ignore``
        (G,) in original-image pixels.
    """
    with open(path, 'rb') as f:
        samples = pickle.load(f)
    out = []
    for s in samples:
        pred = s['pred_instances']
        instances = s.get('instances')
        if instances is None:
            raise ValueError(f'{path}: data sample {s.get("img_id")} has no '
                             "'instances'; the test pipeline's PackDetInputs "
                             "needs 'instances' in meta_keys")
        key = s.get('file_name') or osp.basename(s['img_path']).split('_')[0]
        out.append(dict(
            key=str(key),
            patient_id=str(s.get('patient_id', key)),
            pred_bboxes=to_numpy(pred['bboxes']).astype(
                np.float64).reshape(-1, 4),
            pred_scores=to_numpy(pred['scores']).astype(
                np.float64).reshape(-1),
            gt_bboxes=np.asarray([i['bbox'] for i in instances],
                                 dtype=np.float64).reshape(-1, 4),
            gt_ignore=np.asarray([i.get('ignore_flag', 0)
                                  for i in instances], dtype=bool)))
    return out


class PooledVariant:
    """Out-of-fold predictions of one variant, matched once.

    Args:
        images (list[dict]): :func:`load_predictions` of every fold, sorted
            by key.
    """

    def __init__(self, images: list[dict]) -> None:
        self.images = images
        self.froc = match_images(
            [i['pred_bboxes'] for i in images],
            [i['pred_scores'] for i in images],
            [i['gt_bboxes'] for i in images],
            gt_ignore_flags=[i['gt_ignore'] for i in images])
        self.coco, self.ap50_coco = coco_matches(
            [i['gt_bboxes'] for i in images],
            [i['pred_bboxes'] for i in images],
            [i['pred_scores'] for i in images],
            [i['gt_ignore'] for i in images])
        self.patients, self.image_patient = patient_index(
            [i['patient_id'] for i in images])

    def cpm(self, counts: np.ndarray) -> np.ndarray:
        """(B,) CPM of resampled sets."""
        return bootstrap_cpm_from_counts(self.froc, self.image_patient,
                                         counts, CPM_FPI)

    def sens(self, counts: np.ndarray, fpi: float) -> np.ndarray:
        """(B,) sensitivity at ``fpi`` FP/image of resampled sets."""
        return bootstrap_cpm_from_counts(self.froc, self.image_patient,
                                         counts, [fpi])

    def ap50(self, counts: np.ndarray) -> np.ndarray:
        """(B,) AP50 of resampled sets."""
        return ap_from_counts(self.coco, self.image_patient, counts)

    def observed(self) -> dict:
        """Metrics of the pooled set itself."""
        curve = froc_curve(self.froc)
        sens = sensitivity_at(curve, CPM_FPI)
        out = dict(AP50=self.ap50_coco, CPM=float(np.mean(sens)))
        for f, s in zip(CPM_FPI, sens):
            if f in POOLED_FPI:
                out[f'sens@{f:g}'] = float(s)
        return out


def pool_variant(runs: Sequence, keys: Sequence[str]) -> PooledVariant:
    """Pool the test predictions of a variant's runs (one per fold).

    Raises:
        ValueError: An image is tested twice or not at all.
    """
    images, seen = [], {}
    for run in runs:
        for image in load_predictions(run.predictions):
            if image['key'] in seen:
                raise ValueError(f'image {image["key"]} is in the test '
                                 f'predictions of {seen[image["key"]]} and '
                                 f'{run.name}')
            seen[image['key']] = run.name
            images.append(image)
    missing = sorted(set(keys) - set(seen))
    if missing:
        raise ValueError(f'{len(missing)} images have no out-of-fold '
                         f'prediction, e.g. {missing[0]}')
    return PooledVariant(sorted(images, key=lambda i: i['key']))
