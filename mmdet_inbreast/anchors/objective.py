"""Objectives on best-anchor IoU and the search space of anchor sets.

An anchor set is scored from the best IoU of each ground-truth box over all
anchors (see :mod:`.iou`). RetinaNet's ``MaxIoUAssigner`` makes an anchor
positive at ``IoU >= pos_iou_thr`` (0.5); a box whose best IoU is below it
still gets its best anchor through ``min_pos_iou=0``, but only as a
low-quality match: such a box is counted as *unmatched*.
"""
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

OBJECTIVES = ('focal', 'avg', 'unmatched')

# Clip IoU before the log of the focal objective (a box no anchor touches).
_EPS = 1e-12


def objective_value(best_iou: np.ndarray,
                    objective: str = 'focal',
                    pos_iou_thr: float = 0.5) -> np.ndarray:
    """Score anchor sets from their boxes' best IoU (lower is better).

    - ``focal``: ``mean(-(1 - iou) ** 2 * log(iou))``, the peer tool's
      (martinzlocha/anchor-optimization) focal-loss-shaped penalty: 0 at
      IoU 1, about 0.17 at 0.5, growing without bound towards 0, so boxes
      far below the positive threshold dominate.
    - ``avg``: ``1 - mean(iou)``.
    - ``unmatched``: the number of boxes with ``iou < pos_iou_thr``, ties
      broken by ``1 - mean(iou)`` (which is < 1, so the count always wins).

    Args:
        best_iou (np.ndarray): ``(N,)`` or ``(P, N)`` best IoU per box.
        objective (str): One of ``focal``, ``avg``, ``unmatched``.
            Defaults to ``'focal'``.
        pos_iou_thr (float): Positive IoU threshold of the assigner.
            Defaults to 0.5.

    Returns:
        np.ndarray: float64 scalar array (or ``(P,)``).
    """
    iou = np.asarray(best_iou, dtype=np.float64)
    if objective == 'focal':
        clipped = np.clip(iou, _EPS, 1.0)
        return np.mean(-(1 - clipped)**2 * np.log(clipped), axis=-1)
    if objective == 'avg':
        return 1 - np.mean(iou, axis=-1)
    if objective == 'unmatched':
        return np.sum(iou < pos_iou_thr, axis=-1) + (1 - np.mean(iou, axis=-1))
    raise ValueError(f'objective {objective!r} is not one of {OBJECTIVES}; '
                     f'pick one with --objective')


@dataclass(frozen=True)
class AnchorSpace:
    """The search space: ``num_ratios`` ratios and ``num_scales`` scales.

    Parameters live in log2 space (scale-free steps for differential
    evolution). Ratios are symmetric around 1 (``r`` and ``1 / r``, plus
    ``1`` when ``num_ratios`` is odd, as in the peer tool) unless
    ``symmetric_ratios`` is False, in which case each ratio is free in
    ``[1 / ratio_max, ratio_max]``.

    Args:
        num_ratios (int): Ratios per anchor position.
        num_scales (int): Scales per anchor position.
        ratio_bounds (tuple[float, float]): Bounds of a symmetric ratio
            parameter ``r >= 1`` (``h / w``; ``1 / r`` follows). Free ratios
            take ``[1 / hi, hi]``.
        scale_bounds (tuple[float, float]): Bounds of a scale (multiplier of
            the stride, as ``AnchorGenerator(scales=...)``).
        symmetric_ratios (bool): See above. Defaults to True.
    """
    num_ratios: int
    num_scales: int
    ratio_bounds: Tuple[float, float]
    scale_bounds: Tuple[float, float]
    symmetric_ratios: bool = True

    def __post_init__(self) -> None:
        if self.num_ratios < 1 or self.num_scales < 1:
            raise ValueError(f'need at least 1 ratio and 1 scale, got '
                             f'num_ratios={self.num_ratios}, '
                             f'num_scales={self.num_scales}')
        lo, hi = self.ratio_bounds
        if not 1 <= lo < hi:
            raise ValueError(f'ratio bounds {self.ratio_bounds} must satisfy '
                             f'1 <= lo < hi (ratios are h/w >= 1; 1/r is '
                             f'added); e.g. --ratio-bounds 1 4')
        lo, hi = self.scale_bounds
        if not 0 < lo < hi:
            raise ValueError(f'scale bounds {self.scale_bounds} must satisfy '
                             f'0 < lo < hi; e.g. --scale-bounds 1 32')

    @property
    def num_ratio_params(self) -> int:
        """int: Free ratio parameters."""
        if self.symmetric_ratios:
            return self.num_ratios // 2
        return self.num_ratios

    @property
    def bounds(self) -> List[Tuple[float, float]]:
        """list[tuple[float, float]]: log2 bounds, ratios first."""
        r_lo, r_hi = np.log2(self.ratio_bounds)
        if not self.symmetric_ratios:
            r_lo = -r_hi
        s_lo, s_hi = np.log2(self.scale_bounds)
        return ([(float(r_lo), float(r_hi))] * self.num_ratio_params +
                [(float(s_lo), float(s_hi))] * self.num_scales)

    def decode(self, params: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Turn parameter vectors into sorted ratios and scales.

        Args:
            params (np.ndarray): ``(D,)`` or ``(D, P)`` (scipy's vectorised
                layout) log2 parameters, ratios first.

        Returns:
            tuple[np.ndarray, np.ndarray]: ratios ``(R,)`` / ``(P, R)`` and
            scales ``(S,)`` / ``(P, S)``, each sorted ascending.
        """
        params = np.asarray(params, dtype=np.float64)
        single = params.ndim == 1
        x = params[:, None] if single else params
        x = x.T  # (P, D)
        k = self.num_ratio_params
        r = np.exp2(x[:, :k])
        if self.symmetric_ratios:
            parts = [r, 1 / r]
            if self.num_ratios % 2:
                parts.append(np.ones((len(x), 1)))
            ratios = np.concatenate(parts, axis=1)
        else:
            ratios = r
        scales = np.exp2(x[:, k:])
        ratios, scales = np.sort(ratios, axis=1), np.sort(scales, axis=1)
        return (ratios[0], scales[0]) if single else (ratios, scales)

    def at_bounds(self, params: np.ndarray, tol: float = 1e-3) -> List[str]:
        """Names of parameters that sit on a bound (the bound may cut off
        the optimum)."""
        names = ([f'ratio {i}' for i in range(self.num_ratio_params)] +
                 [f'scale {i}' for i in range(self.num_scales)])
        hits = []
        for name, value, (lo, hi) in zip(names, params, self.bounds):
            # r = 1 is no cut-off for a symmetric pair (it repeats ratio 1).
            free_lo = (
                self.symmetric_ratios and name.startswith('ratio')
                and self.ratio_bounds[0] == 1)
            if abs(value - hi) < tol or (abs(value - lo) < tol
                                         and not free_lo):
                hits.append(f'{name} = {2 ** value:.4g}')
        return hits
