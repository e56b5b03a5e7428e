"""Patient bootstrap of the FROC Competition Performance Metric (CPM).

The matching of :mod:`.froc` is done once; each bootstrap sample only
reweights its predictions and boxes by how often the patient of their image
is drawn and recomputes the curve, vectorised over samples.

- :func:`bootstrap_cpm_from_counts`: the CPM of each resampled data set,
  given a ``(B, K)`` matrix of patient counts (the counts of
  :func:`~.bootstrap.draw_patient_counts`, so that FROC and AP samples are
  paired).
- :func:`bootstrap_cpm`: percentile interval of the CPM, drawing the counts.
"""
from typing import Sequence, Tuple

import numpy as np

from .bootstrap import draw_patient_counts, patient_index
from .froc import DEFAULT_FPI, FROCMatches, _group_ends


def bootstrap_cpm_from_counts(matches: FROCMatches,
                              image_patient: np.ndarray,
                              counts: np.ndarray,
                              fpi: Sequence[float] = DEFAULT_FPI,
                              chunk_elements: int = 2**22) -> np.ndarray:
    """CPM of resampled data sets given how often each patient is drawn.

    A patient drawn ``k`` times contributes each of its images ``k`` times
    (their boxes, false and true positives), which is the same as repeating
    the images. The matching is not redone: only the curve is recomputed,
    vectorised over samples (processed in chunks of about
    ``chunk_elements`` array elements, a few
    tens of MB).

    Args:
        matches (FROCMatches): Output of :func:`~.froc.match_images`.
        image_patient (np.ndarray): ``(N,)`` int, patient index in
            ``[0, K)`` of each image.
        counts (np.ndarray): ``(B, K)`` non-negative int, times each patient
            is drawn in each sample.
        fpi (Sequence[float]): False positives per image of the CPM. Defaults
            to ``DEFAULT_FPI``.
        chunk_elements (int): Memory bound of one chunk. Defaults to 2**22.

    Returns:
        np.ndarray: ``(B,)`` float64 CPM per sample; NaN for a sample without
        boxes.
    """
    image_patient = np.asarray(image_patient, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    if image_patient.shape != (matches.num_images, ):
        raise ValueError(f'image_patient must have shape '
                         f'({matches.num_images},), got {image_patient.shape}')
    if counts.ndim != 2 or (len(image_patient)
                            and counts.shape[1] <= image_patient.max()):
        raise ValueError(f'counts must have shape (B, K) with K > the largest '
                         f'patient index, got {counts.shape}')
    fpi = np.asarray(fpi, dtype=np.float64)
    # Predictions that are neither TP nor FP move no point of the curve.
    keep = matches.tp | matches.fp
    order = np.argsort(-matches.scores[keep], kind='stable')
    scores = matches.scores[keep][order]
    tp = matches.tp[keep][order]
    pred_patient = image_patient[matches.image_index[keep][order]]
    ends = _group_ends(scores)

    image_weights = counts[:, image_patient]  # (B, N)
    num_boxes = image_weights @ matches.num_gts  # (B,)
    num_images = image_weights.sum(axis=1)
    out = np.empty(len(counts), dtype=np.float64)
    step = max(1, chunk_elements // max(len(scores), 1))
    for lo in range(0, len(counts), step):
        hi = min(lo + step, len(counts))
        w = counts[lo:hi][:, pred_patient]  # (b, P)
        cum_tp = np.cumsum(w * tp, axis=1)[:, ends]
        cum_fp = np.cumsum(w * ~tp, axis=1)[:, ends]
        with np.errstate(invalid='ignore', divide='ignore'):
            sens = cum_tp / num_boxes[lo:hi, None].astype(np.float64)
            fps = cum_fp / num_images[lo:hi, None].astype(np.float64)
        # Number of thresholds with FP/image <= f, per sample and f.
        below = np.stack([(fps <= f).sum(axis=1) for f in fpi], axis=1)
        if sens.shape[1]:
            picked = np.take_along_axis(sens, np.maximum(below - 1, 0), 1)
        else:
            picked = np.zeros_like(below, dtype=np.float64)
        sens_at = np.where(below > 0, picked, 0.0)
        sens_at[num_boxes[lo:hi] == 0] = np.nan
        out[lo:hi] = sens_at.mean(axis=1)
    return out


def bootstrap_cpm(matches: FROCMatches,
                  patient_ids: Sequence,
                  fpi: Sequence[float] = DEFAULT_FPI,
                  num_samples: int = 1000,
                  seed: int = 0,
                  level: float = 0.95) -> Tuple[float, float, np.ndarray]:
    """Percentile bootstrap interval of the CPM, resampling patients.

    Each sample draws as many patients as there are, with replacement, and
    keeps all images of each drawn patient (images of one patient are not
    independent). Samples without any box have no CPM and are left out of the
    percentiles.

    Args:
        matches (FROCMatches): Output of :func:`~.froc.match_images`.
        patient_ids (Sequence): ``(N,)`` patient of each image; any hashable
            values.
        fpi (Sequence[float]): False positives per image of the CPM. Defaults
            to ``DEFAULT_FPI``.
        num_samples (int): Number of bootstrap samples. Defaults to 1000.
        seed (int): Seed of ``np.random.default_rng``. Defaults to 0.
        level (float): Coverage of the interval. Defaults to 0.95 (2.5 and
            97.5 percentiles).

    Returns:
        tuple[float, float, np.ndarray]: Lower bound, upper bound and the
        ``(num_samples,)`` CPM samples.
    """
    if len(patient_ids) != matches.num_images:
        raise ValueError(f'{len(patient_ids)} patient ids for '
                         f'{matches.num_images} images')
    if num_samples < 1:
        raise ValueError(f'num_samples must be >= 1, got {num_samples}')
    names, image_patient = patient_index(patient_ids)
    counts = draw_patient_counts(len(names), num_samples, seed)
    samples = bootstrap_cpm_from_counts(matches, image_patient, counts, fpi)
    alpha = (1 - level) / 2 * 100
    if np.isnan(samples).all():
        return float('nan'), float('nan'), samples
    low, high = np.nanpercentile(samples, [alpha, 100 - alpha])
    return float(low), float(high), samples
