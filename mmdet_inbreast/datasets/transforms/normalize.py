"""ZeroIgnoringNormalize: (x - mean) / std with non-zero-pixel statistics."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from ...utils.errors import InputError
from ..stats import load_stats


def load_norm_stats(stats_file: Optional[str] = None,
                    mean: Optional[float] = None,
                    std: Optional[float] = None) -> tuple[float, float]:
    """Resolve (mean, std) from explicit values or a stats JSON.

    Args:
        stats_file (str, optional): JSON written by ``tools/compute_stats.py``
            (``<split>.stats.json``), read and validated by
            :func:`~mmdet_inbreast.datasets.stats.load_stats`.
        mean (float, optional): Explicit mean; wins over the file.
        std (float, optional): Explicit std; wins over the file.

    Returns:
        tuple[float, float]: (mean, std) in raw pixel units.

    Raises:
        InputError: The file is missing or invalid (NaN, Infinity, std <= 0,
            not a JSON object, truncated), neither source gives both values,
            or an explicit value is not finite or std <= 0.
    """
    if (mean is None or std is None) and stats_file:
        stats = load_stats(stats_file)
        mean = stats['mean'] if mean is None else mean
        std = stats['std'] if std is None else std
    if mean is None or std is None:
        raise InputError('ZeroIgnoringNormalize needs mean and std, or a '
                         'stats_file from tools/compute_stats.py')
    if not math.isfinite(mean):
        raise InputError(f'ZeroIgnoringNormalize: mean must be finite, got '
                         f'{mean}')
    if not (math.isfinite(std) and std > 0):
        raise InputError(f'ZeroIgnoringNormalize: std must be > 0 and '
                         f'finite, got {std}')
    return float(mean), float(std)


@TRANSFORMS.register_module()
class ZeroIgnoringNormalize(BaseTransform):
    """Normalise with statistics of the non-zero (breast) pixels, then copy
    the single channel to ``num_channels``.

    ``out = (img - mean) / std`` in ``float32`` for every pixel; ``mean``
    and ``std`` come from the training split's **non-zero** pixels only
    (``tools/compute_stats.py``), so the black background does not drag
    them down. The background (raw 0) maps to ``background_value =
    -mean / std``; that value is recorded so that padding after this step
    (:class:`BackgroundPadDetDataPreprocessor`) pads with it, not with 0.

    Put it after the crop: it works on the crop only.

    Required Keys:

    - img (np.ndarray): (H, W) or (H, W, 1), any numeric dtype.

    Modified Keys:

    - img (np.ndarray): (H, W, num_channels) ``float32``, a view of a
      channels-first buffer (``PackDetInputs`` packs it without a copy).

    Added Keys:

    - img_norm_cfg (dict): mean, std, to_rgb=False.
    - background_value (float): -mean / std.

    Args:
        mean (float, optional): Mean of non-zero pixels (raw units).
        std (float, optional): Std of non-zero pixels (raw units).
        stats_file (str, optional): JSON of ``tools/compute_stats.py``
            (``<split>.stats.json``), validated when loaded; used for
            whichever of mean/std is not given.
        num_channels (int): Channels of the output (3 for ImageNet
            backbones). Defaults to 3.
    """

    def __init__(self,
                 mean: Optional[float] = None,
                 std: Optional[float] = None,
                 stats_file: Optional[str] = None,
                 num_channels: int = 3) -> None:
        self.stats_file = stats_file
        self.mean, self.std = load_norm_stats(stats_file, mean, std)
        if num_channels < 1:
            raise InputError(f'ZeroIgnoringNormalize: num_channels must be '
                             f'>= 1, got {num_channels}')
        self.num_channels = num_channels

    @property
    def background_value(self) -> float:
        """The normalised value of a raw 0 pixel."""
        return -self.mean / self.std

    def transform(self, results: dict) -> dict:
        """Normalise ``results['img']``.

        Args:
            results (dict): Result dict with a single-channel ``img``.

        Returns:
            dict: With ``img`` (H, W, C) float32, ``img_norm_cfg`` and
            ``background_value``.
        """
        img = results['img']
        if img.ndim == 3:
            if img.shape[2] != 1:
                raise ValueError(
                    f"{results.get('img_path', 'image')}: expected one "
                    f'channel before ZeroIgnoringNormalize, got shape '
                    f'{img.shape}; put it before any channel expansion')
            img = img[..., 0]
        # Written channels-first and returned as an (H, W, C) view, so that
        # PackDetInputs' transpose to (C, H, W) needs no copy.
        out = np.empty((self.num_channels, ) + img.shape, dtype=np.float32)
        np.subtract(img, np.float32(self.mean), out=out[0], dtype=np.float32)
        out[0] *= np.float32(1.0 / self.std)
        out[1:] = out[0]
        results['img'] = out.transpose(1, 2, 0)
        results['img_norm_cfg'] = dict(
            mean=self.mean, std=self.std, to_rgb=False)
        results['background_value'] = self.background_value
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mean={self.mean}, std={self.std}, '
                f'stats_file={self.stats_file!r}, '
                f'num_channels={self.num_channels})')
