"""Plain-Python FROC, one prediction at a time: the slow reference.

It follows the rules of :mod:`mmdet_inbreast.evaluation.functional.froc`
literally, with Python loops and no numpy vectorisation, so that
``tools/benchmark_froc.py`` can show what the vectorised version gains and
check that both agree. One class only. The unit tests carry their own,
independently written brute force.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .froc import DEFAULT_FPI


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``x1, y1, x2, y2`` boxes, no ``+ 1``, union clamped at
    1e-6 as in mmdet."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) -
             inter)
    return inter / max(union, 1e-6)


def _hits(pred: Sequence[float], gt: Sequence[float], iou_thr: float,
          hit: str) -> bool:
    """Whether ``pred`` hits ``gt`` under ``hit`` ('iou' or 'center')."""
    if hit == 'iou':
        return _iou(pred, gt) >= iou_thr
    cx, cy = (pred[0] + pred[2]) / 2, (pred[1] + pred[3]) / 2
    return gt[0] <= cx <= gt[2] and gt[1] <= cy <= gt[3]


def froc_reference(pred_bboxes: Sequence[np.ndarray],
                   pred_scores: Sequence[np.ndarray],
                   gt_bboxes: Sequence[np.ndarray],
                   gt_ignore_flags: Optional[Sequence[np.ndarray]] = None,
                   iou_thr: float = 0.5,
                   hit: str = 'iou',
                   duplicates: str = 'ignore',
                   fpi: Sequence[float] = DEFAULT_FPI) -> List[float]:
    """Sensitivity at each of ``fpi`` false positives per image, by loops.

    Args:
        pred_bboxes (Sequence[np.ndarray]): Per image, ``(P_i, 4)`` boxes
            ``x1, y1, x2, y2`` in pixels.
        pred_scores (Sequence[np.ndarray]): Per image, ``(P_i,)`` scores.
        gt_bboxes (Sequence[np.ndarray]): Per image, ``(G_i, 4)`` boxes.
        gt_ignore_flags (Sequence[np.ndarray], optional): Per image,
            ``(G_i,)`` bool. Defaults to None.
        iou_thr (float): IoU threshold of ``hit='iou'``. Defaults to 0.5.
        hit (str): ``'iou'`` or ``'center'``. Defaults to ``'iou'``.
        duplicates (str): ``'ignore'`` or ``'fp'``. Defaults to ``'ignore'``.
        fpi (Sequence[float]): False positives per image. Defaults to
            ``DEFAULT_FPI``.

    Returns:
        list[float]: ``sens@f`` for each ``f`` of ``fpi`` (NaN without boxes).
    """
    outcomes: List[Tuple[float, int, int]] = []  # (score, is_tp, is_fp)
    num_boxes = 0
    for i in range(len(pred_bboxes)):
        gts = [list(map(float, g)) for g in np.asarray(gt_bboxes[i])]
        ign = ([False] * len(gts) if gt_ignore_flags is None else
               [bool(f) for f in gt_ignore_flags[i]])
        num_boxes += sum(not f for f in ign)
        preds = [(float(s), list(map(float, b)))
                 for s, b in zip(pred_scores[i], np.asarray(pred_bboxes[i]))]
        # Stable sort, descending score: ties stay in input order.
        preds = sorted(preds, key=lambda p: -p[0])
        found = [False] * len(gts)
        for score, box in preds:
            hit_new = [
                g for g in range(len(gts)) if not ign[g] and not found[g]
                and _hits(box, gts[g], iou_thr, hit)
            ]
            if hit_new:
                best = hit_new[0]
                for g in hit_new[1:]:
                    if _iou(box, gts[g]) > _iou(box, gts[best]):
                        best = g
                found[best] = True
                outcomes.append((score, 1, 0))
                continue
            hit_found = any(not ign[g] and found[g]
                            and _hits(box, gts[g], iou_thr, hit)
                            for g in range(len(gts)))
            hit_ignored = any(
                ign[g] and _hits(box, gts[g], iou_thr, hit)
                for g in range(len(gts)))
            if hit_found:
                outcomes.append((score, 0, int(duplicates == 'fp')))
            elif hit_ignored:
                outcomes.append((score, 0, 0))
            else:
                outcomes.append((score, 0, 1))
    if num_boxes == 0:
        return [float('nan')] * len(fpi)
    outcomes.sort(key=lambda o: -o[0])
    points = []  # (fps_per_image, sensitivity) at each distinct score
    tp = fp = 0
    for k, (score, is_tp, is_fp) in enumerate(outcomes):
        tp += is_tp
        fp += is_fp
        if k + 1 == len(outcomes) or outcomes[k + 1][0] != score:
            points.append((fp / len(pred_bboxes), tp / num_boxes))
    result = []
    for f in fpi:
        best = 0.0
        for fps, sens in points:
            if fps <= f and sens > best:
                best = sens
        result.append(best)
    return result


def random_detections(num_images: int,
                      num_preds: int,
                      max_gts: int = 3,
                      image_size: float = 3000.0,
                      seed: int = 0) -> Tuple[List[np.ndarray], ...]:
    """A synthetic detection set for benchmarks.

    Each image has 0 to ``max_gts`` boxes (sides 20-300 px) and
    ``num_preds`` predictions with uniform scores: five jittered copies of
    each box (so there are true positives and duplicates), the rest placed
    uniformly.

    Args:
        num_images (int): Number of images.
        num_preds (int): Predictions per image.
        max_gts (int): Most boxes per image. Defaults to 3.
        image_size (float): Side of the square image in pixels.
            Defaults to 3000.
        seed (int): Seed of ``np.random.default_rng``. Defaults to 0.

    Returns:
        tuple[list[np.ndarray], ...]: ``pred_bboxes`` ((P, 4) each),
        ``pred_scores`` ((P,) each), ``gt_bboxes`` ((G, 4) each), x1, y1, x2,
        y2 in pixels.
    """
    rng = np.random.default_rng(seed)
    pred_bboxes, pred_scores, gt_bboxes = [], [], []
    for _ in range(num_images):
        num_gts = int(rng.integers(0, max_gts + 1))
        xy = rng.uniform(0, image_size, (num_gts, 2))
        gts = np.hstack([xy, xy + rng.uniform(20, 300, (num_gts, 2))])
        xy = rng.uniform(0, image_size, (num_preds, 2))
        preds = np.hstack([xy, xy + rng.uniform(20, 300, (num_preds, 2))])
        near = min(num_preds, 5 * num_gts)
        if near:
            preds[:near] = (gts[np.arange(near) % num_gts] +
                            rng.normal(0, 10, (near, 4)))
            preds[:near, 2:] = np.maximum(preds[:near, 2:], preds[:near, :2])
        pred_bboxes.append(preds)
        pred_scores.append(rng.random(num_preds))
        gt_bboxes.append(gts)
    return pred_bboxes, pred_scores, gt_bboxes
