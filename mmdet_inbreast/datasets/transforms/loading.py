"""LoadDicomImage: full-range mammogram pixels from DICOM."""
from __future__ import annotations

import os.path as osp
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from ..dicom import read_dicom_pixels

__all__ = ['LoadDicomImage', 'read_dicom_pixels']


@TRANSFORMS.register_module()
class LoadDicomImage(BaseTransform):
    """Load a mammogram from a DICOM file, one channel, full range.

    The image stays single-channel and, for INbreast (slope 1, intercept 0,
    unsigned), ``uint16``: no float copy of the full image is made here.
    Cropping comes next and normalisation and the 3-channel copy after it,
    on the crop only (see :class:`ZeroIgnoringNormalize`).

    If ``cache_dir`` is set and ``<cache_dir>/<file_name>.npy`` exists
    (written once by ``tools/cache_images.py``, see
    :mod:`mmdet_inbreast.datasets.cache`), it is memory-mapped instead of
    decoding the DICOM. This transform does not compare the file with the
    DICOM: rerun the cache tool when the release changes.

    Required Keys:

    - img_path

    Modified Keys:

    - img (np.ndarray): (H, W) ``uint16`` (or ``float32`` when a rescale,
      signed data or a VOI LUT apply); 0 is background.
    - img_shape (tuple[int, int]): (H, W)
    - ori_shape (tuple[int, int]): (H, W)

    Added Keys:

    - scale_factor (tuple[float, float]): (1.0, 1.0): no resize yet (heads
      need it to rescale predictions when the pipeline has no ``Resize``).

    - dicom_meta (dict): bits_stored, photometric, pixel_spacing (mm),
      transfer_syntax.

    Args:
        apply_voi_lut (bool): Apply the file's VOI LUT / window. Defaults
            to False.
        to_float32 (bool): Convert to ``float32`` right away (costs a full
            float copy; only for pipelines without a crop). Defaults to
            False.
        cache_dir (str, optional): Folder of decoded ``<key>.npy`` files.
            Defaults to None.
    """

    def __init__(self,
                 apply_voi_lut: bool = False,
                 to_float32: bool = False,
                 cache_dir: Optional[str] = None) -> None:
        self.apply_voi_lut = apply_voi_lut
        self.to_float32 = to_float32
        self.cache_dir = cache_dir

    def transform(self, results: dict) -> dict:
        """Load the pixels of ``results['img_path']``.

        Args:
            results (dict): Result dict with ``img_path``.

        Returns:
            dict: With ``img``, ``img_shape``, ``ori_shape``, ``dicom_meta``.
        """
        path = results['img_path']
        cached = self._cache_path(results)
        if cached is not None:
            img = np.load(cached, mmap_mode='r')
            meta = dict(bits_stored=None, photometric='MONOCHROME2',
                        pixel_spacing=None, transfer_syntax='cache')
        else:
            img, meta = read_dicom_pixels(path, self.apply_voi_lut)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results['scale_factor'] = (1.0, 1.0)
        results['dicom_meta'] = meta
        return results

    def _cache_path(self, results: dict) -> Optional[str]:
        if not self.cache_dir or self.apply_voi_lut:
            return None
        key = results.get('file_name') or osp.splitext(
            osp.basename(results['img_path']))[0]
        path = osp.join(self.cache_dir, f'{key}.npy')
        return path if osp.isfile(path) else None

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'apply_voi_lut={self.apply_voi_lut}, '
                f'to_float32={self.to_float32}, '
                f'cache_dir={self.cache_dir!r})')
