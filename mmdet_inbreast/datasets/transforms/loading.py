"""LoadDicomImage: full-range mammogram pixels from DICOM."""
from __future__ import annotations

import os.path as osp
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from ..release import (DECODER_HINT, ReleaseError, check_pixel_header,
                       missing_decoder)


def _decoder_plugins(tsyntax) -> list[str]:
    """Names of the installed pydicom decoder plugins for a syntax."""
    try:
        from pydicom.pixels import get_decoder
        return list(get_decoder(tsyntax).available_plugins)
    except Exception:
        return ['unknown']


def read_dicom_pixels(path: str,
                      apply_voi_lut: bool = False) -> tuple[np.ndarray, dict]:
    """Decode one single-frame grayscale DICOM to a 2-D array.

    The DICOM display chain is followed in its order: rescale slope and
    intercept (modality LUT) first; then, with ``apply_voi_lut``, the
    file's VOI LUT or window (on the rescaled values, as the standard
    defines it); MONOCHROME1 is inverted last (``top - x``, ``top`` being
    the largest value of the range: ``(2**BitsStored - 1) * slope +
    intercept`` (``2**(BitsStored - 1) - 1`` for signed data) or the VOI
    output maximum) so that 0 is black background,
    as in MONOCHROME2. The result stays ``uint16``/``uint8`` when the
    rescale is the identity, the data are unsigned and no VOI LUT applies
    (INbreast); otherwise it is ``float32``.

    Args:
        path (str): DICOM file.
        apply_voi_lut (bool): Apply the VOI LUT / window. Defaults to False
            (full 14-bit range, as the zero-ignoring statistics expect).

    Returns:
        tuple[np.ndarray, dict]: (H, W) pixels and a few header values
        (``bits_stored``, ``photometric``, ``pixel_spacing``,
        ``transfer_syntax``).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: Not DICOM, truncated, no pixel data, colour, multi-frame
            or 3-D data, an unsupported bit depth or a damaged header value;
            each message names the file and the fix.
        RuntimeError: Compressed pixel data that no installed decoder
            decodes (the message names the packages to install).
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: DICOM file not found')
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as e:
        raise ValueError(f'{path}: not a DICOM file ({e}); pass .dcm files '
                         'of the release (AllDICOMs/)') from None
    except Exception as e:
        raise ValueError(
            f'{path}: unreadable DICOM ({type(e).__name__}: {e}); the file is '
            'truncated or damaged, copy it again') from None
    if 'PixelData' not in ds:
        raise ValueError(
            f'{path}: no pixel data (SOP class '
            f"{ds.get('SOPClassUID', 'unknown')}); the file is truncated "
            '(copy it again) or not an image (a report, plan or DICOMDIR): '
            'pass mammogram images only')
    try:
        header = check_pixel_header(ds, path)
    except ReleaseError as e:
        raise ValueError(str(e)) from None
    tsyntax = header.transfer_syntax
    try:
        pixels = ds.pixel_array
    except Exception as e:
        if tsyntax is not None and tsyntax.is_compressed:
            reason = missing_decoder(tsyntax) or (
                f'{tsyntax.name}: the installed decoder(s) '
                f'({", ".join(_decoder_plugins(tsyntax))}) failed on it')
            raise RuntimeError(
                f'{path}: pixel data are compressed with {reason}; '
                f'{DECODER_HINT}. pydicom said: {type(e).__name__}: '
                f'{e}') from None
        raise ValueError(
            f'{path}: cannot decode pixel data ({type(e).__name__}: {e}); '
            'the file is truncated or damaged, copy it again') from None
    if pixels.ndim != 2:
        raise ValueError(
            f'{path}: decoded pixel array has shape {pixels.shape}; expected '
            '(rows, columns) of a 2-D mammogram')

    try:
        slope = float(ds.get('RescaleSlope', 1) or 1)
        intercept = float(ds.get('RescaleIntercept', 0) or 0)
    except (TypeError, ValueError):
        raise ValueError(
            f"{path}: RescaleSlope {ds.get('RescaleSlope')!r} / "
            f"RescaleIntercept {ds.get('RescaleIntercept')!r} are not "
            'numbers; the header is damaged, copy the file again') from None
    if (slope, intercept) != (1.0, 0.0) or pixels.dtype.kind == 'i':
        pixels = pixels.astype(np.float32) * np.float32(slope) + np.float32(
            intercept)
    # Largest value of the current range, for MONOCHROME1 inversion.
    stored_max = 2**(header.bits_stored - header.pixel_representation) - 1
    top = stored_max * slope + intercept
    if apply_voi_lut:
        from pydicom.pixels import apply_voi_lut as _voi
        voi = _voi(pixels.astype(np.float32), ds)
        if ds.get('VOILUTSequence'):
            top = float(2**int(ds.VOILUTSequence[0].LUTDescriptor[2]) - 1)
        pixels = np.asarray(voi, dtype=np.float32)
    if header.photometric == 'MONOCHROME1':
        if pixels.dtype.kind == 'u':
            top_int = np.asarray(int(round(top)), dtype=pixels.dtype)
            pixels = top_int - np.minimum(pixels, top_int)
        else:
            pixels = (np.float32(top) - pixels).astype(np.float32)
    if pixels.dtype not in (np.uint16, np.uint8, np.float32):
        pixels = pixels.astype(np.float32)
    spacing = ds.get('PixelSpacing') or ds.get('ImagerPixelSpacing')
    meta = dict(
        bits_stored=header.bits_stored,
        photometric=header.photometric,
        pixel_spacing=tuple(float(s) for s in spacing) if spacing else None,
        transfer_syntax=str(tsyntax.name) if tsyntax is not None else None)
    return pixels, meta


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
        lazy_rows (bool): For uncompressed DICOMs, hand on a
            :class:`~mmdet_inbreast.datasets.dicom_rows.DicomRows` (array-like,
            rows read from the file when sliced) instead of decoding the
            whole image; compressed files are decoded as usual. Only for
            pipelines whose next image transform is
            ``MassPreservingRandomCrop`` (which slices it). Ignored with
            ``apply_voi_lut`` or ``to_float32``. Defaults to False.
    """

    def __init__(self,
                 apply_voi_lut: bool = False,
                 to_float32: bool = False,
                 cache_dir: Optional[str] = None,
                 lazy_rows: bool = False) -> None:
        self.apply_voi_lut = apply_voi_lut
        self.to_float32 = to_float32
        self.cache_dir = cache_dir
        self.lazy_rows = lazy_rows

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
            img = None
            if self.lazy_rows and not (self.apply_voi_lut or self.to_float32):
                from ..dicom_rows import open_dicom_rows
                img = open_dicom_rows(path)
            if img is not None:
                meta = img.meta
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
                f'cache_dir={self.cache_dir!r}, '
                f'lazy_rows={self.lazy_rows})')
