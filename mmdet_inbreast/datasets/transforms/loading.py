"""LoadDicomImage: full-range mammogram pixels from DICOM."""
from __future__ import annotations

import os.path as osp
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

#: Packages that give pydicom decoders, by transfer-syntax family.
_DECODER_HINT = ('pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg '
                 '(JPEG, JPEG-LS, JPEG 2000) or pip install python-gdcm')


def read_dicom_pixels(path: str,
                      apply_voi_lut: bool = False) -> tuple[np.ndarray, dict]:
    """Decode one single-frame grayscale DICOM to a 2-D array.

    Rescale slope/intercept are applied (the result stays ``uint16`` when
    they are the identity and the data are unsigned, ``float32``
    otherwise); MONOCHROME1 is inverted so that 0 is black background, as in
    MONOCHROME2; with ``apply_voi_lut`` the VOI LUT or window of the file is
    applied (``float32``).

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
            or 3-D data, an unsupported bit depth; each message names the
            file and the fix.
        RuntimeError: Compressed pixel data without an installed decoder
            (the message names the packages to install).
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
            f"{ds.get('SOPClassUID', 'unknown')}); this is not an image, "
            '(a report, plan or DICOMDIR?): pass mammogram images only')
    samples = int(ds.get('SamplesPerPixel', 1) or 1)
    frames = int(ds.get('NumberOfFrames', 1) or 1)
    photometric = str(ds.get('PhotometricInterpretation', 'MONOCHROME2'))
    bits_alloc = int(ds.get('BitsAllocated', 0) or 0)
    bits_stored = int(ds.get('BitsStored', bits_alloc) or bits_alloc)
    if samples != 1 or not photometric.startswith('MONOCHROME'):
        raise ValueError(
            f'{path}: {samples}-sample {photometric} image; a mammogram is '
            'single-channel MONOCHROME1/2 grayscale: this file is not one')
    if frames != 1:
        raise ValueError(
            f'{path}: {frames} frames (3-D or multi-frame data, e.g. '
            'tomosynthesis); only 2-D single-frame mammograms are supported: '
            'export the 2-D (synthesised or FFDM) image instead')
    if bits_alloc not in (8, 16) or not 1 < bits_stored <= bits_alloc:
        raise ValueError(
            f'{path}: BitsAllocated={bits_alloc}, BitsStored={bits_stored}; '
            'expected 8 or 16 bits allocated (INbreast: 16, 14 stored): '
            'this is not a mammogram export this loader understands')
    tsyntax = ds.file_meta.get('TransferSyntaxUID') if 'file_meta' in dir(
        ds) and ds.file_meta is not None else None
    try:
        pixels = ds.pixel_array
    except (RuntimeError, NotImplementedError) as e:
        if tsyntax is not None and tsyntax.is_compressed:
            raise RuntimeError(
                f'{path}: pixel data are compressed ({tsyntax.name}) and no '
                f'installed package decodes them; {_DECODER_HINT}. '
                f'pydicom said: {e}') from None
        raise ValueError(
            f'{path}: cannot decode pixel data ({type(e).__name__}: {e}); '
            'the file is truncated or damaged, copy it again') from None
    except Exception as e:  # ValueError on a short PixelData, etc.
        raise ValueError(
            f'{path}: cannot decode pixel data ({type(e).__name__}: {e}); '
            'the file is truncated or damaged, copy it again') from None
    if pixels.ndim != 2:
        raise ValueError(
            f'{path}: decoded pixel array has shape {pixels.shape}; expected '
            '(rows, columns) of a 2-D mammogram')

    slope = float(ds.get('RescaleSlope', 1) or 1)
    intercept = float(ds.get('RescaleIntercept', 0) or 0)
    if (slope, intercept) != (1.0, 0.0) or pixels.dtype.kind == 'i':
        pixels = pixels.astype(np.float32) * slope + intercept
    if photometric == 'MONOCHROME1':
        top = (2**bits_stored - 1) * slope + intercept
        pixels = (top - pixels).astype(pixels.dtype, copy=False)
    if apply_voi_lut:
        from pydicom.pixels import apply_voi_lut as _voi
        pixels = _voi(pixels.astype(np.float32), ds).astype(np.float32)
    if pixels.dtype not in (np.uint16, np.uint8, np.float32):
        pixels = pixels.astype(np.float32)
    spacing = ds.get('PixelSpacing') or ds.get('ImagerPixelSpacing')
    meta = dict(
        bits_stored=bits_stored,
        photometric=photometric,
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
    (written once by ``tools/cache_images.py``), it is memory-mapped instead
    of decoding the DICOM.

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
