"""MassPreservingRandomCrop: patches that hold a whole mass."""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes

#: Tolerance of the integer-origin arithmetic (pixels).
_EPS = 1e-6


def crop_positions(box: np.ndarray, crop: tuple[int, int],
                   image: tuple[int, int]) -> tuple[int, int, int, int]:
    """Integer crop origins whose crop holds ``box`` whole.

    A crop of width ``cw`` at origin ``x0`` holds the box when
    ``x0 <= x1`` and ``x0 + cw >= x2``; it also stays inside the image when
    the image is at least as large as the crop (if the image is smaller, the
    crop covers it and the rest is padding).

    Args:
        box (np.ndarray): (4,) x1, y1, x2, y2 in pixels.
        crop (tuple[int, int]): (cw, ch) crop width and height.
        image (tuple[int, int]): (W, H) image width and height.

    Returns:
        tuple[int, int, int, int]: (x_lo, x_hi, y_lo, y_hi), inclusive
        bounds; empty along an axis when lo > hi (the box needs a larger
        crop there, see :func:`crop_span`).
    """
    out = []
    for lo_edge, hi_edge, c, size in ((box[0], box[2], crop[0], image[0]),
                                      (box[1], box[3], crop[1], image[1])):
        lo = int(np.ceil(hi_edge - c - _EPS))
        hi = int(np.floor(lo_edge + _EPS))
        inside_lo, inside_hi = min(0, size - c), max(0, size - c)
        out += [max(lo, inside_lo), min(hi, inside_hi)]
    return out[0], out[1], out[2], out[3]


def crop_span(box: np.ndarray) -> tuple[float, float]:
    """Smallest crop (width, height) that an *integer* origin can fit
    around ``box``: ``x2 - floor(x1)`` and ``y2 - floor(y1)``.

    A box 99.7 px wide at x1 = 10.5 needs a 101 px crop (origin 10 reaches
    only 110, short of x2 = 110.2), not 100; :func:`crop_positions` is
    non-empty along an axis exactly when the crop is at least this span
    (for a box inside the image).

    Args:
        box (np.ndarray): (4,) x1, y1, x2, y2 in pixels.

    Returns:
        tuple[float, float]: (span_w, span_h) in pixels.
    """
    return (float(box[2] - np.floor(box[0] + _EPS)),
            float(box[3] - np.floor(box[1] + _EPS)))


@TRANSFORMS.register_module()
class MassPreservingRandomCrop(BaseTransform):
    """Random crop that holds one whole mass (or breast tissue on negatives).

    **Positives.** One of the (non-ignored) boxes is picked uniformly at
    random; the crop origin is then drawn uniformly among all integer
    origins whose crop holds that whole box and stays inside the image:
    ``x0 ~ U{max(ceil(x2 - cw), 0), ..., min(floor(x1), W - cw)}`` and
    ``y0`` likewise, independently (so every valid position is equally
    likely; no bias to a corner). Other boxes the crop cuts are clipped;
    those with less than ``min_visible`` of their area inside are dropped
    (``cut_policy='drop'``) or kept with ``ignore_flag`` set
    (``cut_policy='ignore'``).

    A box fits when an integer origin can hold it (:func:`crop_span`:
    ``x2 - floor(x1) <= cw``, likewise in y). A box that does not fit
    follows ``large_mass``:

    - ``'shrink'``: the window around it is enlarged to
      ``(ceil(cw * f), ceil(ch * f))`` pixels with
      ``f = max(span_w / cw, span_h / ch) / margin``, drawn the same way,
      and resized down to the crop (``cv2.INTER_AREA``). Image and boxes
      scale by ``(cw / win_w, ch / win_h)`` (the two differ slightly for a
      non-square crop, from the rounding up), recorded in ``scale_factor``
      and ``crop_scale``; only that window is resized, never the whole
      image.
    - ``'skip'``: pick among the boxes that fit; if none fits, return None
      so that mmengine's dataset draws another image (training only).
    - ``'clip'``: the crop origin is drawn uniformly among origins whose
      crop lies inside the box along the too-large axis; the box is clipped
      to the crop and kept as a positive (``crop_clipped`` = True), never
      silently.

    **Negatives** (no non-ignored boxes): the origin is drawn uniformly
    among positions whose crop holds at least ``min_tissue`` non-zero
    (breast) pixels, measured on a ``tissue_stride``-subsampled mask
    (origins on that grid; the fraction is exact to about
    ``tissue_stride / crop size`` per axis); if no position reaches it, the
    most tissue-rich one is used.

    Where the crop runs past the image (images smaller than the crop), the
    rest is padded with ``pad_val`` (raw background, 0).

    Required Keys:

    - img (np.ndarray): (H, W) or (H, W, C), raw (before normalisation).
    - gt_bboxes (HorizontalBoxes[torch.float32]) (optional)
    - gt_bboxes_labels (np.int64) (optional)
    - gt_ignore_flags (bool) (optional)

    Modified Keys:

    - img
    - img_shape
    - gt_bboxes
    - gt_bboxes_labels
    - gt_ignore_flags
    - scale_factor (only with ``large_mass='shrink'``)

    Added Keys:

    - crop_offset (tuple[float, float]): (x0, y0) of the crop in the input
      image, in input pixels.
    - crop_scale (tuple[float, float]): (w_scale, h_scale) applied to the
      window ((1.0, 1.0) unless shrunk).
    - crop_clipped (bool): The picked mass was clipped (``'clip'``).

    Args:
        crop_size (tuple[int, int]): (width, height) in pixels, as mmdet's
            ``RandomCrop``. Defaults to (1024, 1024).
        min_visible (float): Visible fraction below which a cut box is
            dropped or ignored. Defaults to 0.5.
        cut_policy (str): ``'ignore'`` or ``'drop'``. Defaults to
            ``'ignore'``.
        large_mass (str): ``'shrink'``, ``'skip'`` or ``'clip'``. Defaults
            to ``'shrink'``.
        margin (float): With ``'shrink'``, the mass fills at most this
            fraction of the crop. Defaults to 0.9.
        min_tissue (float): Minimum non-zero fraction of a negative crop.
            Defaults to 0.7.
        tissue_stride (int): Subsampling of the tissue mask. Defaults to 16.
        pad_val (int | float): Raw background value for padding. Defaults
            to 0.
    """

    def __init__(self,
                 crop_size: tuple[int, int] = (1024, 1024),
                 min_visible: float = 0.5,
                 cut_policy: str = 'ignore',
                 large_mass: str = 'shrink',
                 margin: float = 0.9,
                 min_tissue: float = 0.7,
                 tissue_stride: int = 16,
                 pad_val: float = 0) -> None:
        if len(crop_size) != 2 or min(crop_size) < 1:
            raise ValueError(f'crop_size must be (width, height) > 0, got '
                             f'{crop_size}')
        if cut_policy not in ('ignore', 'drop'):
            raise ValueError(f"cut_policy must be 'ignore' or 'drop', got "
                             f'{cut_policy!r}')
        if large_mass not in ('shrink', 'skip', 'clip'):
            raise ValueError("large_mass must be 'shrink', 'skip' or 'clip', "
                             f'got {large_mass!r}')
        if not 0 < margin <= 1:
            raise ValueError(f'margin must be in (0, 1], got {margin}')
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.min_visible = float(min_visible)
        self.cut_policy = cut_policy
        self.large_mass = large_mass
        self.margin = float(margin)
        self.min_tissue = float(min_tissue)
        self.tissue_stride = int(tissue_stride)
        self.pad_val = pad_val

    # ----------------------------------------------------------------- draws
    @cache_randomness
    def _rand_index(self, n: int) -> int:
        return int(np.random.randint(n))

    @cache_randomness
    def _rand_origin(self, x_lo: int, x_hi: int, y_lo: int,
                     y_hi: int) -> tuple[int, int]:
        return (int(np.random.randint(x_lo, x_hi + 1)),
                int(np.random.randint(y_lo, y_hi + 1)))

    # ------------------------------------------------------------- transform
    def transform(self, results: dict) -> Optional[dict]:
        """Crop ``results``.

        Args:
            results (dict): Result dict from the loading transforms.

        Returns:
            dict | None: The cropped results; None only with
            ``large_mass='skip'`` when no box fits.
        """
        img = results['img']
        h, w = img.shape[:2]
        boxes = results.get('gt_bboxes')
        boxes_np = boxes.numpy() if boxes is not None else np.zeros((0, 4))
        ignore = results.get('gt_ignore_flags',
                             np.zeros(len(boxes_np), dtype=bool))
        candidates = np.flatnonzero(~ignore)
        cw, ch = self.crop_size
        scale, clipped = (1.0, 1.0), False

        if len(candidates) == 0:
            x0, y0 = self._tissue_origin(img)
            win_w, win_h = cw, ch
        else:
            if self.large_mass == 'skip':
                fits = [i for i in candidates if self._fits(boxes_np[i])]
                if not fits:
                    return None
                candidates = np.asarray(fits)
            pick = int(candidates[self._rand_index(len(candidates))])
            box = boxes_np[pick]
            win_w, win_h = cw, ch
            if not self._fits(box) and self.large_mass == 'shrink':
                span_w, span_h = crop_span(box)
                factor = max(span_w / cw, span_h / ch) / self.margin
                win_w, win_h = int(np.ceil(cw * factor - _EPS)), int(
                    np.ceil(ch * factor - _EPS))
                # The rounding up keeps the span inside the window; a
                # non-square crop then scales its two axes slightly apart.
                win_w, win_h = max(win_w, cw), max(win_h, ch)
                scale = (cw / win_w, ch / win_h)
            x_lo, x_hi, y_lo, y_hi = crop_positions(box, (win_w, win_h),
                                                    (w, h))
            if x_lo > x_hi or y_lo > y_hi:  # 'clip': too large on an axis
                clipped = True
                if x_lo > x_hi:
                    x_lo, x_hi = self._inside_range(box[0], box[2], win_w, w)
                if y_lo > y_hi:
                    y_lo, y_hi = self._inside_range(box[1], box[3], win_h, h)
            x0, y0 = self._rand_origin(x_lo, x_hi, y_lo, y_hi)

        patch = self._extract(img, x0, y0, win_w, win_h)
        if scale != (1.0, 1.0):
            shrunk = cv2.resize(patch, (cw, ch), interpolation=cv2.INTER_AREA)
            # cv2 drops a trailing channel axis of size 1: put it back.
            patch = shrunk.reshape((ch, cw) + patch.shape[2:])
            sf = results.get('scale_factor', (1.0, 1.0))
            results['scale_factor'] = (sf[0] * scale[0], sf[1] * scale[1])
        results['img'] = patch
        results['img_shape'] = patch.shape[:2]
        results['crop_offset'] = (float(x0), float(y0))
        results['crop_scale'] = scale
        results['crop_clipped'] = clipped
        if boxes is not None:
            self._crop_boxes(results, boxes_np, x0, y0, scale,
                             keep=pick if len(candidates) and clipped else -1)
        return results

    def _fits(self, box: np.ndarray) -> bool:
        """Whether an integer origin can hold ``box`` in a crop."""
        span_w, span_h = crop_span(box)
        return (span_w <= self.crop_size[0] + _EPS
                and span_h <= self.crop_size[1] + _EPS)

    @staticmethod
    def _inside_range(lo_edge: float, hi_edge: float, c: int,
                      size: int) -> tuple[int, int]:
        """Origins whose crop lies inside [lo_edge, hi_edge] and the image."""
        lo = int(np.ceil(lo_edge))
        hi = int(np.floor(hi_edge - c))
        lo, hi = max(lo, min(0, size - c)), min(hi, max(0, size - c))
        return (lo, hi) if lo <= hi else (hi, hi)

    def _tissue_origin(self, img: np.ndarray) -> tuple[int, int]:
        """Origin of a crop that lands mostly on non-zero pixels."""
        h, w = img.shape[:2]
        cw, ch = self.crop_size
        if w <= cw and h <= ch:
            return min(0, w - cw) // 2, min(0, h - ch) // 2
        s = max(1, self.tissue_stride)
        mask = img[::s, ::s]
        if mask.ndim == 3:
            mask = mask[..., 0]
        mask = (mask > 0).astype(np.float64)
        # Fraction of tissue in every coarse window (summed-area table).
        kw, kh = max(1, min(cw // s, mask.shape[1])), max(
            1, min(ch // s, mask.shape[0]))
        sat = np.pad(mask.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        frac = (sat[kh:, kw:] - sat[:-kh, kw:] - sat[kh:, :-kw]
                + sat[:-kh, :-kw]) / (kw * kh)
        ok = np.argwhere(frac >= self.min_tissue)
        if len(ok):
            cy, cx = ok[self._rand_index(len(ok))]
        else:
            cy, cx = np.unravel_index(int(np.argmax(frac)), frac.shape)
        x0 = min(int(cx) * s, max(0, w - cw)) if w > cw else (w - cw) // 2
        y0 = min(int(cy) * s, max(0, h - ch)) if h > ch else (h - ch) // 2
        return x0, y0

    def _extract(self, img: np.ndarray, x0: int, y0: int, cw: int,
                 ch: int) -> np.ndarray:
        """img[y0:y0+ch, x0:x0+cw], padded with ``pad_val`` outside."""
        h, w = img.shape[:2]
        if 0 <= x0 and 0 <= y0 and x0 + cw <= w and y0 + ch <= h:
            return np.ascontiguousarray(img[y0:y0 + ch, x0:x0 + cw])
        out = np.full((ch, cw) + img.shape[2:], self.pad_val, dtype=img.dtype)
        sx0, sy0 = max(x0, 0), max(y0, 0)
        sx1, sy1 = min(x0 + cw, w), min(y0 + ch, h)
        if sx1 > sx0 and sy1 > sy0:
            out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
        return out

    def _crop_boxes(self, results: dict, boxes: np.ndarray, x0: int, y0: int,
                    scale: tuple[float, float], keep: int) -> None:
        cw, ch = self.crop_size
        shifted = boxes - np.array([x0, y0, x0, y0], dtype=boxes.dtype)
        if scale != (1.0, 1.0):
            shifted = shifted * np.array(scale * 2)
        clipped = shifted.copy()
        clipped[:, 0::2] = clipped[:, 0::2].clip(0, cw)
        clipped[:, 1::2] = clipped[:, 1::2].clip(0, ch)
        area = np.prod(np.clip(shifted[:, 2:] - shifted[:, :2], 0, None), 1)
        vis = np.prod(np.clip(clipped[:, 2:] - clipped[:, :2], 0, None), 1)
        frac = np.where(area > 0, vis / np.maximum(area, 1e-12), 0.0)
        ignore = np.asarray(results.get('gt_ignore_flags',
                                        np.zeros(len(boxes), bool)), bool)
        visible = vis > 0
        low = frac < self.min_visible - 1e-9
        if keep >= 0:
            low[keep] = False
        if self.cut_policy == 'drop':
            valid = visible & ~low
            new_ignore = ignore
        else:
            valid = visible
            new_ignore = ignore | low
        results['gt_bboxes'] = HorizontalBoxes(
            clipped[valid], dtype=results['gt_bboxes'].tensor.dtype)
        if 'gt_bboxes_labels' in results:
            results['gt_bboxes_labels'] = results['gt_bboxes_labels'][valid]
        results['gt_ignore_flags'] = new_ignore[valid]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'min_visible={self.min_visible}, '
                f'cut_policy={self.cut_policy!r}, '
                f'large_mass={self.large_mass!r}, margin={self.margin}, '
                f'min_tissue={self.min_tissue}, '
                f'tissue_stride={self.tissue_stride}, '
                f'pad_val={self.pad_val})')
