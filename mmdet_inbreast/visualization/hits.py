"""How the predictions of each image fared, and the order of the contact
sheet: :class:`ImageHits` per image (:func:`image_hits`, the FROC metric's
matching at one score threshold), :func:`rank_images` (most missed masses
last, then most false positives) and :func:`is_failure`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .mammogram import _as_boxes


@dataclass
class ImageHits:
    """How the predictions of one image fared (see :func:`image_hits`).

    Attributes:
        tp (int): Ground-truth boxes found (true positives).
        fp (int): False positives.
        missed (int): Ground-truth boxes not found.
        num_gt (int): Ground-truth boxes (``ignore_flag`` boxes excluded).
    """
    tp: int
    fp: int
    missed: int
    num_gt: int

    @property
    def score(self) -> int:
        """``tp - fp`` (boxes found minus false positives)."""
        return self.tp - self.fp


def image_hits(pred_bboxes: np.ndarray,
               pred_scores: np.ndarray,
               gt_bboxes: np.ndarray,
               gt_ignore_flags: Optional[np.ndarray] = None,
               score_thr: float = 0.3,
               iou_thr: float = 0.5) -> ImageHits:
    """Count the hits of one image's predictions with score >= ``score_thr``.

    Matching is the FROC metric's
    (:func:`~mmdet_inbreast.evaluation.functional.froc.match_predictions`,
    ``hit='iou'``, duplicates ignored): a prediction finds a box at IoU >=
    ``iou_thr``; one on an already found box or on an ``ignore_flag`` box
    is neither a hit nor a false positive.

    Args:
        pred_bboxes (np.ndarray): (P, 4) x1, y1, x2, y2, original pixels.
        pred_scores (np.ndarray): (P,).
        gt_bboxes (np.ndarray): (G, 4), same frame.
        gt_ignore_flags (np.ndarray, optional): (G,) bool.
        score_thr (float): Predictions below it are not counted. Defaults
            to 0.3.
        iou_thr (float): Defaults to 0.5.

    Returns:
        ImageHits: tp, fp, missed, num_gt.
    """
    from ..evaluation.functional.froc import match_predictions
    pred = _as_boxes(pred_bboxes)
    scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    gt = _as_boxes(gt_bboxes)
    ignore = (np.zeros(len(gt), dtype=bool) if gt_ignore_flags is None else
              np.asarray(gt_ignore_flags, dtype=bool).reshape(-1))
    keep = scores >= score_thr
    tp, fp = match_predictions(pred[keep], scores[keep], gt, ignore,
                               iou_thr=iou_thr)
    num_gt = int((~ignore).sum())
    return ImageHits(tp=int(tp.sum()), fp=int(fp.sum()),
                     missed=num_gt - int(tp.sum()), num_gt=num_gt)


def rank_images(hits: Sequence[ImageHits],
                names: Optional[Sequence[str]] = None) -> list[int]:
    """Order images from best to worst.

    Ranking: fewer missed boxes first, then fewer false positives (at the
    score threshold), then more boxes found, then by name (or index) for a
    stable order. The worst image is thus the one that missed the most
    masses, and among equal misses the one with the most false positives;
    a clean negative ranks with the perfect positives, after them.

    Args:
        hits (Sequence[ImageHits]): One per image.
        names (Sequence[str], optional): Tie-breaker, e.g. file names.

    Returns:
        list[int]: Indices into ``hits``, best first.
    """
    names = list(names) if names is not None else [
        f'{i:09d}' for i in range(len(hits))
    ]
    return sorted(range(len(hits)),
                  key=lambda i: (hits[i].missed, hits[i].fp, -hits[i].tp,
                                 names[i]))


def is_failure(hits: ImageHits) -> bool:
    """Whether an image has a missed box or a false positive."""
    return hits.missed > 0 or hits.fp > 0
