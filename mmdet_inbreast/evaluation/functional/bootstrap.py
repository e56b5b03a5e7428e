"""Statistics of a study, in pure numpy: intervals across folds and the
patient bootstrap of pooled out-of-fold predictions.

Every bootstrap here resamples *patients* (all images of a drawn patient
come along, as many times as it is drawn) and is expressed through a
``(B, K)`` matrix of counts, ``counts[b, p]`` = how often patient ``p`` is
drawn in sample ``b``. Two metrics computed with the same counts are
*paired*: the difference of two variants on the same resampled patients.

- :func:`t_interval`: mean and Student-t interval of per-fold values.
- :func:`draw_patient_counts`: the counts of a patient bootstrap.
- :func:`ap_from_counts`: COCO average precision at one IoU threshold of
  each resampled data set, from the detection-to-box matches pycocotools'
  ``COCOeval.evaluateImg`` made once (the matching of an image does not
  depend on which other images are drawn); it accumulates as
  ``COCOeval.accumulate`` does (101 recall thresholds, precision envelope).
- :func:`paired_bootstrap`: difference, percentile interval and two-sided
  p-value of paired samples.
- :func:`percentile_band`: pointwise percentile band of curves.

The FROC side uses :func:`~.froc_bootstrap.bootstrap_cpm_from_counts` with
the same counts.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

#: COCO's recall thresholds (``COCOeval.Params.recThrs``).
COCO_RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)


class FoldSummary(NamedTuple):
    """Mean of per-fold values and its interval.

    Attributes:
        mean (float): Mean over folds (NaN values left out).
        low (float): Lower bound of the interval.
        high (float): Upper bound of the interval.
        std (float): Sample standard deviation (``ddof=1``).
        n (int): Number of folds with a value.
    """
    mean: float
    low: float
    high: float
    std: float
    n: int


def t_interval(values: Sequence[float], level: float = 0.95) -> FoldSummary:
    """Mean and Student-t interval of per-fold values.

    ``mean +- t_{(1 + level) / 2, n - 1} * s / sqrt(n)`` with ``s`` the
    sample standard deviation. The folds' test sets are disjoint, but their
    training sets overlap, so the interval is somewhat optimistic (Bengio
    and Grandvalet, JMLR 5, 2004); it describes the spread of the folds.
    NaN values (a fold without a result) are left out; with one value the
    bounds are NaN.

    Args:
        values (Sequence[float]): One value per fold.
        level (float): Coverage. Defaults to 0.95.

    Returns:
        FoldSummary: Mean, bounds, standard deviation and count.
    """
    from scipy import stats
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[~np.isnan(v)]
    n = len(v)
    if n == 0:
        return FoldSummary(np.nan, np.nan, np.nan, np.nan, 0)
    mean = float(v.mean())
    if n == 1:
        return FoldSummary(mean, np.nan, np.nan, np.nan, 1)
    std = float(v.std(ddof=1))
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * std / np.sqrt(n)
    return FoldSummary(mean, mean - half, mean + half, std, n)


def patient_index(patient_ids: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Patients of the images as indices.

    Args:
        patient_ids (Sequence): ``(N,)`` patient of each image (hashable).

    Returns:
        tuple[np.ndarray, np.ndarray]: The ``(K,)`` distinct patients
        (sorted, as strings) and the ``(N,)`` int64 index of each image's
        patient in them.
    """
    names, index = np.unique(np.asarray([str(p) for p in patient_ids]),
                             return_inverse=True)
    return names, index.astype(np.int64).reshape(-1)


def draw_patient_counts(num_patients: int, num_samples: int,
                        seed: int = 0) -> np.ndarray:
    """Counts of a patient bootstrap: each sample draws ``num_patients``
    patients with replacement.

    Args:
        num_patients (int): K, the number of patients.
        num_samples (int): B, the number of samples.
        seed (int): Seed of ``np.random.default_rng``. Defaults to 0.

    Returns:
        np.ndarray: ``(B, K)`` int64, each row sums to K.
    """
    if num_patients < 1 or num_samples < 1:
        raise ValueError(f'need at least one patient and one sample, got '
                         f'{num_patients} and {num_samples}')
    rng = np.random.default_rng(seed)
    return rng.multinomial(num_patients,
                           np.full(num_patients, 1.0 / num_patients),
                           size=num_samples).astype(np.int64)


class DetectionMatches(NamedTuple):
    """Detections of a data set matched at one IoU threshold, as
    ``COCOeval.evaluateImg`` matches them (one category, area 'all').

    Attributes:
        scores (np.ndarray): ``(P,)`` float64 detection scores.
        matched (np.ndarray): ``(P,)`` bool, matched to a box.
        ignored (np.ndarray): ``(P,)`` bool, matched to an ignored box
            (neither true nor false positive).
        image_index (np.ndarray): ``(P,)`` int64 image of each detection.
        num_gts (np.ndarray): ``(N,)`` int64 non-ignored boxes per image.
    """
    scores: np.ndarray
    matched: np.ndarray
    ignored: np.ndarray
    image_index: np.ndarray
    num_gts: np.ndarray


def ap_from_counts(matches: DetectionMatches,
                   image_patient: np.ndarray,
                   counts: np.ndarray,
                   recall_thresholds: np.ndarray = COCO_RECALL_THRESHOLDS
                   ) -> np.ndarray:
    """Average precision of resampled data sets.

    As ``COCOeval.accumulate``: detections of all images in descending
    score order (stable: image order breaks ties), cumulative true and false
    positives, precision made non-increasing from the right, read at each
    recall threshold (the first point whose recall reaches it; 0 beyond the
    last), averaged. A patient drawn ``k`` times counts its detections and
    boxes ``k`` times. Recall only rises at true positives, so the
    precision is read at those points only; the counts enter through
    ``(B, K) @ (K, T)`` products.

    Args:
        matches (DetectionMatches): The matching of the full data set.
        image_patient (np.ndarray): ``(N,)`` patient index of each image.
        counts (np.ndarray): ``(B, K)`` times each patient is drawn;
            ``np.ones((1, K))`` gives the AP of the data set itself.
        recall_thresholds (np.ndarray): Defaults to COCO's 101.

    Returns:
        np.ndarray: ``(B,)`` float64 AP; NaN for a sample without boxes.
    """
    image_patient = np.asarray(image_patient, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f'counts must be (B, K), got shape {counts.shape}')
    num_patients = counts.shape[1]
    if len(image_patient) and image_patient.max() >= num_patients:
        raise ValueError(f'patient index {image_patient.max()} >= K = '
                         f'{num_patients}')
    order = np.argsort(-matches.scores, kind='mergesort')
    matched = matches.matched[order]
    ignored = matches.ignored[order]
    patient = image_patient[matches.image_index[order]]
    tp = matched & ~ignored
    fp = ~matched & ~ignored
    # Per patient, true/false positives at or above each true positive.
    tp_at = np.nonzero(tp)[0]
    one_hot = np.zeros((len(order), num_patients))
    one_hot[np.arange(len(order)), patient] = 1.0
    cum_tp_pat = np.cumsum(one_hot * tp[:, None], axis=0)[tp_at]  # (T, K)
    cum_fp_pat = np.cumsum(one_hot * fp[:, None], axis=0)[tp_at]
    gts_pat = np.bincount(image_patient, weights=matches.num_gts,
                          minlength=num_patients)  # (K,)
    num_boxes = counts @ gts_pat  # (B,)
    cum_tp = counts @ cum_tp_pat.T  # (B, T)
    cum_fp = counts @ cum_fp_pat.T
    eps = np.spacing(1)
    with np.errstate(invalid='ignore', divide='ignore'):
        recall = cum_tp / num_boxes[:, None]
    precision = cum_tp / (cum_tp + cum_fp + eps)
    # Non-increasing from the right (COCOeval's envelope).
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    out = np.empty(len(counts))
    for b in range(len(counts)):
        idx = np.searchsorted(recall[b], recall_thresholds, side='left')
        q = np.zeros(len(recall_thresholds))
        ok = idx < recall.shape[1]
        q[ok] = envelope[b, idx[ok]]
        out[b] = q.mean()
    out[num_boxes == 0] = np.nan
    return out


def coco_matches(gt_boxes: Sequence[np.ndarray],
                 pred_boxes: Sequence[np.ndarray],
                 pred_scores: Sequence[np.ndarray],
                 gt_ignore: Sequence[np.ndarray] | None = None,
                 iou_thr: float = 0.5,
                 max_dets: int = 100) -> tuple[DetectionMatches, float]:
    """Match detections to boxes with pycocotools, one class.

    Builds the COCO ground truth and results of the images (boxes ``x1, y1,
    x2, y2`` converted to COCO's ``x, y, w, h``; ignored boxes as
    ``iscrowd=1``, as mmdet's ``CocoMetric`` writes them), runs
    ``COCOeval`` (``iouThrs=[iou_thr]``,
    ``maxDets=[1, 10, max_dets]``, area 'all') and reads the matches of
    ``evalImgs``.

    Args:
        gt_boxes (Sequence[np.ndarray]): Per image ``(G_i, 4)``.
        pred_boxes (Sequence[np.ndarray]): Per image ``(P_i, 4)``.
        pred_scores (Sequence[np.ndarray]): Per image ``(P_i,)``.
        gt_ignore (Sequence[np.ndarray], optional): Per image ``(G_i,)``
            bool. Defaults to None.
        iou_thr (float): Defaults to 0.5.
        max_dets (int): Detections kept per image. Defaults to 100.

    Returns:
        tuple[DetectionMatches, float]: The matches and pycocotools' own AP
        at ``iou_thr`` (``COCOeval.stats[0]`` with one threshold; NaN
        without boxes).
    """
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    n = len(gt_boxes)
    images, anns, dets = [], [], []
    for i in range(n):
        images.append(dict(id=i + 1, width=1, height=1))
        g = np.asarray(gt_boxes[i], dtype=np.float64).reshape(-1, 4)
        ign = (np.zeros(len(g), bool) if gt_ignore is None else
               np.asarray(gt_ignore[i], dtype=bool).reshape(-1))
        for box, flag in zip(g, ign):
            w, h = box[2] - box[0], box[3] - box[1]
            anns.append(dict(id=len(anns) + 1, image_id=i + 1,
                             category_id=1, bbox=[box[0], box[1], w, h],
                             area=w * h, iscrowd=int(flag)))
        p = np.asarray(pred_boxes[i], dtype=np.float64).reshape(-1, 4)
        s = np.asarray(pred_scores[i], dtype=np.float64).reshape(-1)
        for box, score in zip(p, s):
            dets.append(dict(image_id=i + 1, category_id=1,
                             bbox=[box[0], box[1], box[2] - box[0],
                                   box[3] - box[1]], score=float(score)))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = dict(images=images, annotations=anns,
                          categories=[dict(id=1, name='mass')])
        gt.createIndex()
        dt = gt.loadRes(dets) if dets else COCO()
        ev = COCOeval(gt, dt, 'bbox')
        ev.params.iouThrs = np.array([iou_thr])
        ev.params.maxDets = [1, 10, max_dets]
        ev.params.areaRng = [ev.params.areaRng[0]]
        ev.params.areaRngLbl = ['all']
        if dets:
            ev.evaluate()
            ev.accumulate()
            precision = ev.eval['precision'][0, :, 0, 0, -1]
            ap = float(precision.mean()) if (precision > -1).any() \
                else float('nan')
        else:
            ev.evalImgs = []
            ap = 0.0 if anns else float('nan')
    scores, matched, ignored, image_index = [], [], [], []
    num_gts = np.zeros(n, dtype=np.int64)
    for i in range(n):
        g_ign = np.asarray(
            [a['iscrowd'] for a in gt.imgToAnns.get(i + 1, [])], dtype=bool)
        num_gts[i] = int((~g_ign).sum())
    for e in ev.evalImgs:
        if e is None:
            continue
        k = len(e['dtScores'][:max_dets])
        scores.append(np.asarray(e['dtScores'][:max_dets], np.float64))
        matched.append(np.asarray(e['dtMatches'][0, :k]) > 0)
        ignored.append(np.asarray(e['dtIgnore'][0, :k], dtype=bool))
        image_index.append(np.full(k, e['image_id'] - 1, np.int64))

    def cat(parts, dtype):
        return (np.concatenate(parts).astype(dtype) if parts else
                np.zeros(0, dtype))

    return DetectionMatches(cat(scores, np.float64), cat(matched, bool),
                            cat(ignored, bool), cat(image_index, np.int64),
                            num_gts), ap


class PairedResult(NamedTuple):
    """A paired bootstrap comparison, ``a - b``.

    Attributes:
        diff (float): Observed difference on the data set itself.
        low (float): Lower percentile bound of the sampled differences.
        high (float): Upper percentile bound.
        p (float): Two-sided bootstrap p-value of ``diff != 0``.
        num_samples (int): Samples where both metrics are defined.
    """
    diff: float
    low: float
    high: float
    p: float
    num_samples: int


def paired_bootstrap(observed_a: float, observed_b: float,
                     samples_a: np.ndarray, samples_b: np.ndarray,
                     level: float = 0.95) -> PairedResult:
    """Difference of two metrics computed on the same resampled patients.

    The interval is the percentile interval of the sampled differences
    ``d_b = a_b - b_b``. The two-sided p-value is
    ``min(1, 2 * min(1 + #{d_b <= 0}, 1 + #{d_b >= 0}) / (B + 1))``: twice
    the smaller tail beyond zero, with the ``+1`` that keeps a bootstrap
    p-value away from 0 (Davison and Hinkley 1997, eq. 4.11). Samples where
    either metric is NaN (no boxes drawn) are left out.

    Args:
        observed_a (float): Metric of ``a`` on the data set.
        observed_b (float): Metric of ``b`` on the data set.
        samples_a (np.ndarray): ``(B,)`` metric of ``a`` per sample.
        samples_b (np.ndarray): ``(B,)`` metric of ``b``, same samples.
        level (float): Coverage of the interval. Defaults to 0.95.

    Returns:
        PairedResult: Difference, bounds, p-value, samples used.
    """
    a = np.asarray(samples_a, dtype=np.float64).reshape(-1)
    b = np.asarray(samples_b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f'paired samples differ in shape: {a.shape} vs '
                         f'{b.shape}')
    d = (a - b)[~(np.isnan(a) | np.isnan(b))]
    diff = float(observed_a - observed_b)
    if len(d) == 0:
        return PairedResult(diff, np.nan, np.nan, np.nan, 0)
    alpha = (1 - level) / 2 * 100
    low, high = np.percentile(d, [alpha, 100 - alpha])
    tail = min(1 + int((d <= 0).sum()), 1 + int((d >= 0).sum()))
    p = min(1.0, 2.0 * tail / (len(d) + 1))
    return PairedResult(diff, float(low), float(high), p, len(d))


def percentile_band(samples: np.ndarray,
                    level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise percentile band of sampled curves.

    Args:
        samples (np.ndarray): ``(B, M)`` curve values at M points.
        level (float): Coverage. Defaults to 0.95.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(M,)`` lower and upper bounds (NaN
        samples left out; NaN where all are NaN).
    """
    samples = np.asarray(samples, dtype=np.float64)
    alpha = (1 - level) / 2 * 100
    low = np.full(samples.shape[1], np.nan)
    high = np.full(samples.shape[1], np.nan)
    for j in range(samples.shape[1]):
        col = samples[:, j][~np.isnan(samples[:, j])]
        if len(col):
            low[j], high[j] = np.percentile(col, [alpha, 100 - alpha])
    return low, high
