"""Read a crop's rows straight from an uncompressed DICOM file.

INbreast's DICOMs are uncompressed: the pixel data are the image's 16-bit
words, row after row, at a fixed byte offset. A 1024-row crop needs a third
of the file, yet ``pixel_array`` decodes all of it. :func:`open_dicom_rows`
finds the offset of the PixelData value once per file (pydicom reads the
header, deferring the pixels: ``RawDataElement.value_tell``), and returns a
:class:`DicomRows`, an array-like whose slices ``numpy.memmap`` only the
rows they need; the modality LUT (slope, intercept) and the MONOCHROME1
inversion are applied to the slice alone, with the same arithmetic as
:func:`~mmdet_inbreast.datasets.transforms.loading.read_dicom_pixels`, so
the result is bit-identical to slicing the fully decoded image.

Compressed, deflated, multi-frame, colour or unusual files give None:
callers decode them with ``read_dicom_pixels`` (which also explains what is
wrong with a bad file).
"""
from __future__ import annotations

import os.path as osp
from typing import Any, Optional

import numpy as np

#: Tag of PixelData.
_PIXEL_DATA = 0x7FE00010
#: Undefined length: encapsulated (compressed) pixel data.
_UNDEFINED = 0xFFFFFFFF


class DicomRows:
    """Lazy (H, W) pixels of an uncompressed single-frame grayscale DICOM.

    Behaves as the array ``read_dicom_pixels(path)[0]`` (without VOI LUT)
    for what a crop needs: ``shape``, ``ndim``, ``dtype``, ``len()``,
    indexing with slices / integers (``img[y0:y1, x0:x1]``,
    ``img[::s, ::s]``), which returns a NumPy array, and ``np.asarray``
    (the whole image). Only the rows of the slice are read from the file.

    Args:
        path (str): The DICOM file.
        offset (int): Byte offset of the pixel data in the file.
        rows (int): Rows (H).
        columns (int): Columns (W).
        stored_dtype (np.dtype): dtype of the stored words, byte order
            included (e.g. ``'<u2'``, ``'>i2'``, ``'u1'``).
        bits_stored (int): BitsStored.
        slope (float): RescaleSlope.
        intercept (float): RescaleIntercept.
        photometric (str): ``'MONOCHROME1'`` or ``'MONOCHROME2'``.
        meta (dict): What ``read_dicom_pixels`` returns beside the pixels.
    """

    ndim = 2

    def __init__(self, path: str, offset: int, rows: int, columns: int,
                 stored_dtype: np.dtype, bits_stored: int, slope: float,
                 intercept: float, photometric: str, meta: dict) -> None:
        self.path = path
        self.offset = int(offset)
        self.shape = (int(rows), int(columns))
        self.stored_dtype = np.dtype(stored_dtype)
        self.bits_stored = int(bits_stored)
        self.slope = float(slope)
        self.intercept = float(intercept)
        self.photometric = photometric
        self.meta = meta
        signed = self.stored_dtype.kind == 'i'
        self._rescale = (self.slope, self.intercept) != (1.0, 0.0) or signed
        # Largest value of the range, for MONOCHROME1 (read_dicom_pixels).
        stored_max = 2**(self.bits_stored - int(signed)) - 1
        self._top = stored_max * self.slope + self.intercept
        native = self.stored_dtype.newbyteorder('=')
        self.dtype = np.dtype(np.float32) if self._rescale else native
        self._mm: Optional[np.memmap] = None

    def __len__(self) -> int:
        return self.shape[0]

    def _memmap(self) -> np.memmap:
        if self._mm is None:
            self._mm = np.memmap(self.path, dtype=self.stored_dtype, mode='r',
                                 offset=self.offset, shape=self.shape)
        return self._mm

    def __getstate__(self) -> dict:
        # No open map in pickles (loader workers reopen their own).
        state = dict(self.__dict__)
        state['_mm'] = None
        return state

    def __getitem__(self, key: Any) -> np.ndarray:
        """The pixels of ``key``, read from the file and converted."""
        raw = np.array(self._memmap()[key])  # reads only these rows
        return self._finish(raw)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        full = self[:, :]
        return full if dtype is None else full.astype(dtype)

    def _finish(self, raw: np.ndarray) -> np.ndarray:
        """Stored words -> the decode path's values (same arithmetic)."""
        pixels = raw.astype(raw.dtype.newbyteorder('='), copy=False)
        bits = pixels.dtype.itemsize * 8
        if pixels.dtype.kind == 'i' and self.bits_stored < bits:
            # Sign-extend from BitsStored, as pydicom does.
            shift = bits - self.bits_stored
            pixels = (pixels << shift) >> shift
        if self._rescale:
            pixels = pixels.astype(np.float32) * np.float32(
                self.slope) + np.float32(self.intercept)
        if self.photometric == 'MONOCHROME1':
            if pixels.dtype.kind == 'u':
                top_int = np.asarray(int(round(self._top)), dtype=pixels.dtype)
                pixels = top_int - np.minimum(pixels, top_int)
            else:
                pixels = (np.float32(self._top) - pixels).astype(np.float32)
        if pixels.dtype not in (np.uint16, np.uint8, np.float32):
            pixels = pixels.astype(np.float32)
        return pixels

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.path!r}, shape='
                f'{self.shape}, dtype={self.dtype}, offset={self.offset})')


def _int(ds, name: str, default: Optional[int] = None) -> Optional[int]:
    try:
        value = ds.get(name, default)
        return default if value is None or value == '' else int(value)
    except (TypeError, ValueError):
        return None


def open_dicom_rows(path: str) -> Optional[DicomRows]:
    """A :class:`DicomRows` for ``path``, or None when it is not one the
    row reader handles (then decode it with ``read_dicom_pixels``).

    Handled: native (uncompressed, not deflated) little- or big-endian
    transfer syntaxes, one frame, one sample, MONOCHROME1/2, 8 or 16 bits
    allocated, the whole pixel data present.

    Args:
        path (str): DICOM file.

    Returns:
        DicomRows | None: The lazy pixels.
    """
    import pydicom

    if not osp.isfile(path):
        return None
    try:
        ds = pydicom.dcmread(path, defer_size=1024)
        meta = getattr(ds, 'file_meta', None)
        tsyntax = meta.get('TransferSyntaxUID') if meta is not None else None
        if tsyntax is None or tsyntax.is_compressed or tsyntax.is_deflated \
                or not tsyntax.is_transfer_syntax:
            return None
        elem = ds.get_item(_PIXEL_DATA, keep_deferred=True)
        value_tell = getattr(elem, 'value_tell', None)
        length = getattr(elem, 'length', None)
    except Exception:
        return None
    rows, columns = _int(ds, 'Rows'), _int(ds, 'Columns')
    bits_alloc = _int(ds, 'BitsAllocated')
    bits_stored = _int(ds, 'BitsStored', bits_alloc)
    pixel_rep = _int(ds, 'PixelRepresentation', 0)
    photometric = str(ds.get('PhotometricInterpretation', 'MONOCHROME2'))
    if (value_tell is None or length in (None, _UNDEFINED) or not rows
            or not columns or _int(ds, 'SamplesPerPixel', 1) != 1
            or _int(ds, 'NumberOfFrames', 1) != 1
            or bits_alloc not in (8, 16) or bits_stored is None
            or not 1 < bits_stored <= bits_alloc or pixel_rep not in (0, 1)
            or photometric not in ('MONOCHROME1', 'MONOCHROME2')):
        return None
    kind = 'i' if pixel_rep else 'u'
    order = '<' if tsyntax.is_little_endian else '>'
    stored = np.dtype(f'{order}{kind}{bits_alloc // 8}')
    if length < rows * columns * stored.itemsize or \
            osp.getsize(path) < value_tell + rows * columns * stored.itemsize:
        return None
    try:
        slope = float(ds.get('RescaleSlope', 1) or 1)
        intercept = float(ds.get('RescaleIntercept', 0) or 0)
    except (TypeError, ValueError):
        return None
    spacing = ds.get('PixelSpacing') or ds.get('ImagerPixelSpacing')
    info = dict(
        bits_stored=bits_stored,
        photometric=photometric,
        pixel_spacing=tuple(float(s) for s in spacing) if spacing else None,
        transfer_syntax=str(tsyntax.name))
    return DicomRows(path, value_tell, rows, columns, stored, bits_stored,
                     slope, intercept, photometric, info)
