"""Plain-Python FROC, one prediction at a time: the test oracle.

It follows the matching rules of
:mod:`mmdet_inbreast.evaluation.functional.froc` literally, with Python
loops, float64 arithmetic and no numpy vectorisation or mmdet call, so that
the unit tests can check the vectorised code against it and
``tools/analysis_tools/benchmark_froc.py`` can show what the vectorisation
gains. It is written for tests and benchmarks, not for evaluation: use
:class:`~mmdet_inbreast.evaluation.FROCMetric` or
:func:`~mmdet_inbreast.evaluation.functional.froc.match_images` there.

Because the matching is greedy in descending score order (ties in input
order), the predictions with score >= t are a prefix of that order, and one
pass gives the outcome of every threshold; :func:`froc_reference_points`
still re-counts the prefix at each distinct score.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmdet_inbreast.evaluation.functional.froc import DEFAULT_FPI


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


def _image_outcomes(preds: list, gts: list, iou_thr: float, hit: str,
                    duplicates: str) -> List[Tuple[float, int, int]]:
    """(score, is_tp, is_fp) of each prediction of one image, in descending
    score order; ``preds``: (score, box, label), ``gts``: (box, label,
    ignore)."""
    preds = sorted(preds, key=lambda p: -p[0])  # stable: ties keep order
    found = [False] * len(gts)
    out = []
    for score, box, label in preds:
        mine = [g for g in range(len(gts)) if gts[g][1] == label]
        new = [g for g in mine if not gts[g][2] and not found[g]
               and _hits(box, gts[g][0], iou_thr, hit)]
        if new:
            best = new[0]
            for g in new[1:]:
                if _iou(box, gts[g][0]) > _iou(box, gts[best][0]):
                    best = g
            found[best] = True
            out.append((score, 1, 0))
        elif any(not gts[g][2] and found[g]
                 and _hits(box, gts[g][0], iou_thr, hit) for g in mine):
            out.append((score, 0, int(duplicates == 'fp')))
        elif any(gts[g][2] and _hits(box, gts[g][0], iou_thr, hit)
                 for g in mine):
            out.append((score, 0, 0))
        else:
            out.append((score, 0, 1))
    return out


def froc_reference_points(pred_bboxes: Sequence[np.ndarray],
                          pred_scores: Sequence[np.ndarray],
                          gt_bboxes: Sequence[np.ndarray],
                          gt_ignore_flags: Optional[Sequence[np.ndarray]] = None,
                          pred_labels: Optional[Sequence[np.ndarray]] = None,
                          gt_labels: Optional[Sequence[np.ndarray]] = None,
                          iou_thr: float = 0.5,
                          hit: str = 'iou',
                          duplicates: str = 'ignore'
                          ) -> Tuple[List[Tuple[float, float, float]], int]:
    """The FROC curve by loops: one point per distinct score.

    Args:
        pred_bboxes (Sequence[np.ndarray]): Per image, ``(P_i, 4)`` boxes
            ``x1, y1, x2, y2`` in pixels.
        pred_scores (Sequence[np.ndarray]): Per image, ``(P_i,)`` scores.
        gt_bboxes (Sequence[np.ndarray]): Per image, ``(G_i, 4)`` boxes.
        gt_ignore_flags (Sequence[np.ndarray], optional): Per image,
            ``(G_i,)`` bool. Defaults to None (none ignored).
        pred_labels, gt_labels (Sequence[np.ndarray], optional): Per image,
            class indices; a prediction only hits boxes of its class.
            Defaults to None (one class).
        iou_thr (float): IoU threshold of ``hit='iou'``. Defaults to 0.5.
        hit (str): ``'iou'`` or ``'center'``. Defaults to ``'iou'``.
        duplicates (str): ``'ignore'`` or ``'fp'``. Defaults to ``'ignore'``.

    Returns:
        tuple[list[tuple[float, float, float]], int]: ``(threshold,
        fps_per_image, sensitivity)`` for each distinct score, descending,
        and the number of non-ignored boxes (sensitivity is NaN without
        boxes).
    """
    outcomes: List[Tuple[float, int, int]] = []
    num_boxes = 0
    num_images = len(pred_bboxes)
    for i in range(num_images):
        boxes = [list(map(float, g)) for g in np.asarray(gt_bboxes[i],
                                                         dtype=float)
                 .reshape(-1, 4)]
        ign = ([False] * len(boxes) if gt_ignore_flags is None else
               [bool(f) for f in gt_ignore_flags[i]])
        glab = ([0] * len(boxes) if gt_labels is None else
                [int(v) for v in gt_labels[i]])
        num_boxes += sum(not f for f in ign)
        pb = np.asarray(pred_bboxes[i], dtype=float).reshape(-1, 4)
        plab = ([0] * len(pb) if pred_labels is None else
                [int(v) for v in pred_labels[i]])
        preds = [(float(s), list(map(float, b)), lab)
                 for s, b, lab in zip(pred_scores[i], pb, plab)]
        outcomes += _image_outcomes(preds, list(zip(boxes, glab, ign)),
                                    iou_thr, hit, duplicates)
    thresholds = sorted({o[0] for o in outcomes}, reverse=True)
    points = []
    for t in thresholds:
        tp = sum(o[1] for o in outcomes if o[0] >= t)
        fp = sum(o[2] for o in outcomes if o[0] >= t)
        sens = tp / num_boxes if num_boxes else float('nan')
        points.append((t, fp / num_images, sens))
    return points, num_boxes


def froc_reference(pred_bboxes: Sequence[np.ndarray],
                   pred_scores: Sequence[np.ndarray],
                   gt_bboxes: Sequence[np.ndarray],
                   gt_ignore_flags: Optional[Sequence[np.ndarray]] = None,
                   iou_thr: float = 0.5,
                   hit: str = 'iou',
                   duplicates: str = 'ignore',
                   fpi: Sequence[float] = DEFAULT_FPI,
                   pred_labels: Optional[Sequence[np.ndarray]] = None,
                   gt_labels: Optional[Sequence[np.ndarray]] = None
                   ) -> List[float]:
    """Sensitivity at each of ``fpi`` false positives per image, by loops:
    the highest sensitivity of :func:`froc_reference_points` at FP/image <=
    f (0 when no point is that low; NaN without boxes).

    Args: as :func:`froc_reference_points`, plus ``fpi`` (Sequence[float]):
        false positives per image. Defaults to ``DEFAULT_FPI``.

    Returns:
        list[float]: ``sens@f`` for each ``f`` of ``fpi``.
    """
    points, num_boxes = froc_reference_points(
        pred_bboxes, pred_scores, gt_bboxes, gt_ignore_flags, pred_labels,
        gt_labels, iou_thr, hit, duplicates)
    if num_boxes == 0:
        return [float('nan')] * len(fpi)
    result = []
    for f in fpi:
        best = 0.0
        for _, fps, sens in points:
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
