"""Pixel decoding of a DICOM file: :func:`read_dicom_pixels` follows the
DICOM display chain (modality LUT, optional VOI LUT, MONOCHROME1
inversion) and keeps the stored dtype where it can."""
from __future__ import annotations

import numpy as np

from .decoders import _decode_failure
from .errors import DicomError
from .header import _no_pixel_data, _read_dataset, check_pixel_header


def read_dicom_pixels(path: str,
                      apply_voi_lut: bool = False) -> tuple[np.ndarray, dict]:
    """Decode one single-frame grayscale DICOM to a 2-D array.

    The DICOM display chain is followed in its order: rescale slope and
    intercept (modality LUT) first; then, with ``apply_voi_lut``, the
    file's VOI LUT or window (on the rescaled values, as the standard
    defines it); MONOCHROME1 is inverted last (``top - x``, ``top`` being
    the largest value of the range: ``(2**BitsStored - 1) * slope +
    intercept`` (``2**(BitsStored - 1) - 1`` for signed data) or the VOI
    output maximum) so that 0 is black background, as in MONOCHROME2. The
    result stays ``uint16``/``uint8`` when the rescale is the identity, the
    data are unsigned and no VOI LUT applies (INbreast); otherwise it is
    ``float32``. The modality is not checked here (the release scan and
    inference check it with :func:`read_dicom_header`).

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
        DicomError: Not DICOM, truncated, no pixel data, colour, multi-frame
            or 3-D data, an unsupported bit depth or a damaged header value
            (a ``ValueError``).
        DecoderError: Compressed pixel data that no installed decoder
            decodes (also a ``RuntimeError``; names the packages to
            install).
    """
    ds = _read_dataset(path)
    if 'PixelData' not in ds:
        raise _no_pixel_data(ds, path)
    header = check_pixel_header(ds, path, modalities=None)
    tsyntax = header.transfer_syntax
    try:
        pixels = ds.pixel_array
    except Exception as e:
        if tsyntax is not None and tsyntax.is_compressed:
            raise _decode_failure(path, tsyntax, e) from None
        raise DicomError(
            f'{path}: cannot decode pixel data ({type(e).__name__}: {e}); '
            'the file is truncated or damaged, copy it again') from None
    if pixels.ndim != 2:
        raise DicomError(
            f'{path}: decoded pixel array has shape {pixels.shape}; expected '
            '(rows, columns) of a 2-D mammogram')

    try:
        slope = float(ds.get('RescaleSlope', 1) or 1)
        intercept = float(ds.get('RescaleIntercept', 0) or 0)
    except (TypeError, ValueError):
        raise DicomError(
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
