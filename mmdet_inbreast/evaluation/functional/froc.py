"""Free-response ROC (FROC) analysis of box detections, in pure numpy.

The FROC curve plots lesion-level sensitivity against the mean number of false
positives per image as the score threshold falls (Chakraborty, "Maximum
likelihood analysis of free-response receiver operating characteristic (FROC)
data", Med. Phys. 16(4), 1989). Its summary here is the Competition Performance
Metric of the LUNA16 challenge (Setio et al., Med. Image Anal. 42, 2017): the
mean sensitivity at 1/8, 1/4, 1/2, 1, 2, 4 and 8 false positives per image.
The curve is the one MONAI's ``monai.metrics.froc`` computes (cumulative
true positives over boxes, cumulative false positives over images); MONAI
reads the points by linear interpolation, whereas here ``sens@f`` is the
highest sensitivity reached at FP/image <= f (no interpolation).

Box contract used throughout: ``(N, 4)`` arrays of ``x1, y1, x2, y2`` in
pixels of one frame (the metric uses the original image), ``x2 >= x1`` and
``y2 >= y1``. IoU is mmdet's NumPy
:func:`mmdet.evaluation.functional.bbox_overlaps` (mode ``'iou'``, width
``x2 - x1`` with no ``+ 1``, union clamped at 1e-6, float32).

Matching rules (per image and class; predictions in descending score order,
ties kept in input order):

1. a prediction *hits* a ground-truth box when their IoU is >= ``iou_thr``
   (``hit='iou'``) or when the prediction's centre lies inside the box,
   borders included (``hit='center'``);
2. if it hits non-ignored boxes that are not found yet, it is a true positive
   and finds the one of them with the highest IoU (lowest index on a tie);
3. else, if it hits an already found box, it is ignored
   (``duplicates='ignore'``, the LUNA16/MONAI convention) or counted as a
   false positive (``duplicates='fp'``);
4. else, if it hits an ``ignore_flag`` box, it is neither;
5. else it is a false positive.

Because the matching is greedy in score order, the boxes found by the
predictions with score >= t are exactly the true positives among them, so one
matching serves every threshold of the curve. The patient bootstrap of the
CPM, which reuses that one matching, is in :mod:`.froc_bootstrap`.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from mmdet.evaluation.functional import bbox_overlaps

#: The LUNA16 operating points, false positives per image.
DEFAULT_FPI: Tuple[float, ...] = (0.125, 0.25, 0.5, 1, 2, 4, 8)

HIT_MODES = ('iou', 'center')
DUPLICATE_MODES = ('ignore', 'fp')


class FROCMatches(NamedTuple):
    """Outcome of matching every prediction of a data set.

    Attributes:
        scores (np.ndarray): ``(P,)`` float64, score of each prediction.
        tp (np.ndarray): ``(P,)`` bool, the prediction found a box.
        fp (np.ndarray): ``(P,)`` bool, the prediction is a false positive.
            A prediction with neither flag set is ignored (a duplicate under
            ``duplicates='ignore'``, or a hit on an ``ignore_flag`` box).
        image_index (np.ndarray): ``(P,)`` int64, index of the prediction's
            image in the input lists.
        num_gts (np.ndarray): ``(N,)`` int64, non-ignored ground-truth boxes
            of each image (all classes).
    """

    scores: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    image_index: np.ndarray
    num_gts: np.ndarray

    @property
    def num_images(self) -> int:
        """int: Number of images, those without ground truth included."""
        return len(self.num_gts)


class FROCCurve(NamedTuple):
    """A FROC curve, one point per distinct score, thresholds descending.

    Attributes:
        fps_per_image (np.ndarray): ``(T,)`` float64, false positives with
            score >= threshold divided by the number of images;
            non-decreasing.
        sensitivity (np.ndarray): ``(T,)`` float64, boxes found by predictions
            with score >= threshold divided by all non-ignored boxes;
            non-decreasing. NaN everywhere when there are no boxes.
        thresholds (np.ndarray): ``(T,)`` float64, the distinct prediction
            scores, descending.
        num_images (int): Number of images, the FP/image denominator.
        num_boxes (int): Number of non-ignored boxes, the sensitivity
            denominator.
    """

    fps_per_image: np.ndarray
    sensitivity: np.ndarray
    thresholds: np.ndarray
    num_images: int
    num_boxes: int


def _as_boxes(boxes: np.ndarray, name: str) -> np.ndarray:
    """Return ``boxes`` as a ``(N, 4)`` float64 array or raise ValueError."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'{name} must have shape (N, 4) (x1, y1, x2, y2), '
                         f'got shape {boxes.shape}')
    return boxes


def center_in_boxes(bboxes1: np.ndarray, bboxes2: np.ndarray) -> np.ndarray:
    """Whether the centre of each box of ``bboxes1`` lies inside each box of
    ``bboxes2``, borders included.

    Args:
        bboxes1 (np.ndarray): ``(N, 4)`` boxes ``x1, y1, x2, y2`` in pixels
            (the predictions).
        bboxes2 (np.ndarray): ``(M, 4)`` boxes in the same frame (the ground
            truth).

    Returns:
        np.ndarray: ``(N, M)`` bool.
    """
    b1 = _as_boxes(bboxes1, 'bboxes1')
    b2 = _as_boxes(bboxes2, 'bboxes2')
    cx = (b1[:, 0, None] + b1[:, 2, None]) / 2
    cy = (b1[:, 1, None] + b1[:, 3, None]) / 2
    return ((cx >= b2[None, :, 0]) & (cx <= b2[None, :, 2]) &
            (cy >= b2[None, :, 1]) & (cy <= b2[None, :, 3]))


def _check_modes(iou_thr: float, hit: str, duplicates: str) -> None:
    """Raise ValueError on a bad matching setting."""
    if hit not in HIT_MODES:
        raise ValueError(f'hit must be one of {HIT_MODES}, got {hit!r}')
    if duplicates not in DUPLICATE_MODES:
        raise ValueError(
            f'duplicates must be one of {DUPLICATE_MODES}, got {duplicates!r}')
    if hit == 'iou' and not 0 < iou_thr <= 1:
        raise ValueError(f'iou_thr must be in (0, 1], got {iou_thr!r}')


def match_predictions(pred_bboxes: np.ndarray,
                      pred_scores: np.ndarray,
                      gt_bboxes: np.ndarray,
                      gt_ignore_flags: Optional[np.ndarray] = None,
                      iou_thr: float = 0.5,
                      hit: str = 'iou',
                      duplicates: str = 'ignore') -> Tuple[np.ndarray,
                                                           np.ndarray]:
    """Greedily match the predictions of one image and one class.

    See the module docstring for the rules. The loop runs once per box found
    (at most ``G`` times), each pass vectorised over the ``(P, G)`` hit
    matrix.

    Args:
        pred_bboxes (np.ndarray): ``(P, 4)`` predicted boxes ``x1, y1, x2,
            y2`` in pixels.
        pred_scores (np.ndarray): ``(P,)`` scores; higher is more confident.
        gt_bboxes (np.ndarray): ``(G, 4)`` ground-truth boxes, same frame.
        gt_ignore_flags (np.ndarray, optional): ``(G,)`` bool, boxes that
            count neither as found nor as missed. Defaults to None (none).
        iou_thr (float): IoU threshold of ``hit='iou'``. Defaults to 0.5.
        hit (str): ``'iou'`` or ``'center'``. Defaults to ``'iou'``.
        duplicates (str): ``'ignore'`` or ``'fp'``. Defaults to ``'ignore'``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``tp`` and ``fp``, ``(P,)`` bool in the
        input order of the predictions.
    """
    _check_modes(iou_thr, hit, duplicates)
    pred_bboxes = _as_boxes(pred_bboxes, 'pred_bboxes')
    gt_bboxes = _as_boxes(gt_bboxes, 'gt_bboxes')
    pred_scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    num_preds, num_gts = len(pred_bboxes), len(gt_bboxes)
    if len(pred_scores) != num_preds:
        raise ValueError(f'{num_preds} predicted boxes but '
                         f'{len(pred_scores)} scores')
    if gt_ignore_flags is None:
        ignore = np.zeros(num_gts, dtype=bool)
    else:
        ignore = np.asarray(gt_ignore_flags, dtype=bool).reshape(-1)
        if len(ignore) != num_gts:
            raise ValueError(f'{num_gts} ground-truth boxes but '
                             f'{len(ignore)} ignore flags')
    tp = np.zeros(num_preds, dtype=bool)
    if num_gts == 0:
        return tp, np.ones(num_preds, dtype=bool)

    order = np.argsort(-pred_scores, kind='stable')
    ious = bbox_overlaps(pred_bboxes[order], gt_bboxes, mode='iou')
    if hit == 'iou':
        hits = ious >= iou_thr
    else:
        hits = center_in_boxes(pred_bboxes[order], gt_bboxes)
    hits_valid, ious_valid = hits[:, ~ignore], ious[:, ~ignore]
    found = np.zeros(hits_valid.shape[1], dtype=bool)
    tp_sorted = np.zeros(num_preds, dtype=bool)
    start = 0
    while start < num_preds and not found.all():
        # First prediction from `start` on that hits a box not found yet;
        # earlier ones hit only found boxes, and `found` only grows.
        avail = hits_valid[start:] & ~found
        rows = avail.any(axis=1)
        if not rows.any():
            break
        i = start + int(rows.argmax())
        j = int(np.where(avail[i - start], ious_valid[i], -np.inf).argmax())
        found[j] = True
        tp_sorted[i] = True
        start = i + 1
    # A prediction that is not a TP and hits a non-ignored box hits one that
    # an earlier prediction found: a duplicate.
    duplicate = ~tp_sorted & hits_valid.any(axis=1)
    on_ignored = ~tp_sorted & ~duplicate & hits[:, ignore].any(axis=1)
    fp_sorted = ~tp_sorted & ~on_ignored
    if duplicates == 'ignore':
        fp_sorted &= ~duplicate
    tp[order] = tp_sorted
    fp = np.zeros(num_preds, dtype=bool)
    fp[order] = fp_sorted
    return tp, fp


def match_images(pred_bboxes: Sequence[np.ndarray],
                 pred_scores: Sequence[np.ndarray],
                 gt_bboxes: Sequence[np.ndarray],
                 pred_labels: Optional[Sequence[np.ndarray]] = None,
                 gt_labels: Optional[Sequence[np.ndarray]] = None,
                 gt_ignore_flags: Optional[Sequence[np.ndarray]] = None,
                 iou_thr: float = 0.5,
                 hit: str = 'iou',
                 duplicates: str = 'ignore') -> FROCMatches:
    """Match the predictions of every image, per image and class.

    Predictions match only ground truth of their own class; the true and
    false positives of all classes are then pooled into one curve (INbreast
    has one class, ``mass``, by default).

    Args:
        pred_bboxes (Sequence[np.ndarray]): Per image, ``(P_i, 4)`` predicted
            boxes ``x1, y1, x2, y2`` in pixels.
        pred_scores (Sequence[np.ndarray]): Per image, ``(P_i,)`` scores.
        gt_bboxes (Sequence[np.ndarray]): Per image, ``(G_i, 4)`` ground-truth
            boxes in the frame of the predictions. An image without boxes
            still counts in the number of images.
        pred_labels (Sequence[np.ndarray], optional): Per image, ``(P_i,)``
            class indices. Defaults to None (all class 0).
        gt_labels (Sequence[np.ndarray], optional): Per image, ``(G_i,)``
            class indices. Defaults to None (all class 0).
        gt_ignore_flags (Sequence[np.ndarray], optional): Per image,
            ``(G_i,)`` bool. Defaults to None (no ignored boxes).
        iou_thr (float): IoU threshold of ``hit='iou'``. Defaults to 0.5.
        hit (str): ``'iou'`` or ``'center'``. Defaults to ``'iou'``.
        duplicates (str): ``'ignore'`` or ``'fp'``. Defaults to ``'ignore'``.

    Returns:
        FROCMatches: Flat per-prediction outcomes in image order.
    """
    _check_modes(iou_thr, hit, duplicates)
    num_images = len(pred_bboxes)
    for name, seq in (('pred_scores', pred_scores), ('gt_bboxes', gt_bboxes),
                      ('pred_labels', pred_labels), ('gt_labels', gt_labels),
                      ('gt_ignore_flags', gt_ignore_flags)):
        if seq is not None and len(seq) != num_images:
            raise ValueError(f'{name} has {len(seq)} images but pred_bboxes '
                             f'has {num_images}')
    scores_all: List[np.ndarray] = []
    tp_all: List[np.ndarray] = []
    fp_all: List[np.ndarray] = []
    image_all: List[np.ndarray] = []
    num_gts = np.zeros(num_images, dtype=np.int64)
    for i in range(num_images):
        boxes = _as_boxes(pred_bboxes[i], f'pred_bboxes[{i}]')
        scores = np.asarray(pred_scores[i], dtype=np.float64).reshape(-1)
        gts = _as_boxes(gt_bboxes[i], f'gt_bboxes[{i}]')
        p_lab = (np.zeros(len(boxes), np.int64) if pred_labels is None else
                 np.asarray(pred_labels[i], dtype=np.int64).reshape(-1))
        g_lab = (np.zeros(len(gts), np.int64) if gt_labels is None else
                 np.asarray(gt_labels[i], dtype=np.int64).reshape(-1))
        ign = (np.zeros(len(gts), bool) if gt_ignore_flags is None else
               np.asarray(gt_ignore_flags[i], dtype=bool).reshape(-1))
        if not len(scores) == len(p_lab) == len(boxes):
            raise ValueError(
                f'image {i}: {len(boxes)} predicted boxes, {len(scores)} '
                f'scores and {len(p_lab)} labels; they must be equal')
        if not len(g_lab) == len(ign) == len(gts):
            raise ValueError(
                f'image {i}: {len(gts)} ground-truth boxes, {len(g_lab)} '
                f'labels and {len(ign)} ignore flags; they must be equal')
        num_gts[i] = int((~ign).sum())
        tp = np.zeros(len(boxes), dtype=bool)
        fp = np.ones(len(boxes), dtype=bool)  # right for classes without GT
        classes = np.intersect1d(p_lab, g_lab) if len(g_lab) else []
        for c in classes:
            p_sel, g_sel = p_lab == c, g_lab == c
            tp[p_sel], fp[p_sel] = match_predictions(
                boxes[p_sel], scores[p_sel], gts[g_sel], ign[g_sel],
                iou_thr=iou_thr, hit=hit, duplicates=duplicates)
        scores_all.append(scores)
        tp_all.append(tp)
        fp_all.append(fp)
        image_all.append(np.full(len(boxes), i, dtype=np.int64))

    def cat(arrays: List[np.ndarray], dtype: type) -> np.ndarray:
        return (np.concatenate(arrays).astype(dtype, copy=False)
                if arrays else np.zeros(0, dtype))

    return FROCMatches(
        scores=cat(scores_all, np.float64),
        tp=cat(tp_all, bool),
        fp=cat(fp_all, bool),
        image_index=cat(image_all, np.int64),
        num_gts=num_gts)


def _group_ends(sorted_scores: np.ndarray) -> np.ndarray:
    """Indices of the last element of each run of equal scores."""
    if len(sorted_scores) == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.nonzero(sorted_scores[1:] != sorted_scores[:-1])[0]
    return np.append(change, len(sorted_scores) - 1)


def froc_curve(matches: FROCMatches) -> FROCCurve:
    """FROC curve over all distinct prediction scores.

    For each distinct score ``t`` (descending): sensitivity(t) = true
    positives with score >= t / all non-ignored boxes, FP/image(t) = false
    positives with score >= t / all images.

    Args:
        matches (FROCMatches): Output of :func:`match_images`.

    Returns:
        FROCCurve: The curve; empty arrays when there are no predictions.
    """
    if matches.num_images == 0:
        raise ValueError('FROC needs at least one image, got none')
    order = np.argsort(-matches.scores, kind='stable')
    scores = matches.scores[order]
    ends = _group_ends(scores)
    cum_tp = np.cumsum(matches.tp[order])[ends]
    cum_fp = np.cumsum(matches.fp[order])[ends]
    num_boxes = int(matches.num_gts.sum())
    with np.errstate(invalid='ignore', divide='ignore'):
        sensitivity = cum_tp / np.float64(num_boxes)
    return FROCCurve(
        fps_per_image=cum_fp / np.float64(matches.num_images),
        sensitivity=sensitivity.astype(np.float64),
        thresholds=scores[ends],
        num_images=matches.num_images,
        num_boxes=num_boxes)


def sensitivity_at(curve: FROCCurve,
                   fpi: Sequence[float] = DEFAULT_FPI) -> np.ndarray:
    """Sensitivity at given false-positive rates.

    ``sens@f`` is the highest sensitivity among the thresholds whose FP/image
    is <= ``f``, and 0 when there is none.

    Args:
        curve (FROCCurve): Output of :func:`froc_curve`.
        fpi (Sequence[float]): False positives per image. Defaults to
            ``DEFAULT_FPI`` (1/8 to 8).

    Returns:
        np.ndarray: ``(len(fpi),)`` float64; NaN when there are no boxes.
    """
    fpi = np.asarray(fpi, dtype=np.float64).reshape(-1)
    if curve.num_boxes == 0:
        return np.full(len(fpi), np.nan)
    # Both coordinates are non-decreasing: the best point under f is the last.
    count = np.searchsorted(curve.fps_per_image, fpi, side='right')
    sens = np.zeros(len(fpi), dtype=np.float64)
    sens[count > 0] = curve.sensitivity[count[count > 0] - 1]
    return sens
