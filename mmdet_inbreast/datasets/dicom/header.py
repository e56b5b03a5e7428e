"""Header checks of a DICOM file, without keeping its pixels.

- :func:`check_modality`, :func:`check_pixel_header`: the header values of
  one 2-D grayscale image, as a :class:`PixelHeader`;
- :func:`read_dicom_header`: reads a file with ``defer_size``, checks its
  header, the length of native pixel data against Rows x Columns x
  BitsAllocated, and decodes compressed pixel data once;
- :func:`read_dicom_size`: the checked ``(height, width)``.

:func:`_read_dataset` and :func:`_no_pixel_data` are shared with
:mod:`.pixels`.
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass
from typing import Optional, Sequence

from .decoders import (DECODER_HINT, _decode_failure, decoder_package,
                       missing_decoder)
from .errors import DecoderError, DicomError, ModalityError

#: Modalities a scan accepts by default: mammography only.
DEFAULT_MODALITIES = ('MG', )


def _short(value: object, limit: int = 60) -> str:
    """``repr`` of a value, cut to ``limit`` characters for messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


@dataclass
class PixelHeader:
    """The header values the readers rely on.

    Attributes:
        rows, columns (int): Image height and width (pixels).
        bits_allocated, bits_stored (int): INbreast: 16 and 14.
        pixel_representation (int): 0 unsigned, 1 signed.
        photometric (str): ``'MONOCHROME1'`` or ``'MONOCHROME2'``.
        transfer_syntax (UID | None): From the file meta, if any.
        modality (str): ``Modality`` upper-cased ('' if absent).
        sop_class (str): Name of the SOP class ('' if absent).
        frames (int): ``NumberOfFrames`` (1).
    """
    rows: int
    columns: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric: str
    transfer_syntax: object = None
    modality: str = ''
    sop_class: str = ''
    frames: int = 1

    @property
    def native_length(self) -> int:
        """Bytes of uncompressed pixel data the header asks for."""
        return (self.rows * self.columns * self.frames * self.bits_allocated
                // 8)


def _header_int(ds, keyword: str, path: str, default: int | None = None
                ) -> int | None:
    """``int(ds.<keyword>)`` or a :class:`DicomError` that shows the bad
    value (pydicom keeps an unparsable IS/US value as a string)."""
    value = ds.get(keyword, default)
    if value is None or value == '':
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DicomError(
            f'{path}: DICOM header {keyword} = {_short(value)} is not an '
            'integer; the header is damaged, copy the file again') from None


def check_modality(ds, path: str,
                   modalities: Optional[Sequence[str]] = DEFAULT_MODALITIES
                   ) -> str:
    """Refuse a ``Modality`` that is not in ``modalities``.

    Args:
        ds (pydicom.Dataset): The dataset (header only is enough).
        path (str): Its file, for messages.
        modalities (Sequence[str], optional): Accepted values (any case);
            None accepts every modality and a missing one. Defaults to
            ``('MG',)``.

    Returns:
        str: The modality, upper-cased ('' if absent).

    Raises:
        DicomError: Another modality, or none when ``modalities`` is set.
    """
    modality = str(ds.get('Modality', '') or '').strip().upper()
    if modalities is None:
        return modality
    allowed = {m.upper() for m in modalities}
    if modality not in allowed:
        sop = ds.get('SOPClassUID', None)
        sop_name = getattr(sop, 'name', str(sop)) if sop is not None else ''
        shown = repr(modality) if modality else 'missing'
        raise ModalityError(
            f'{path}: Modality {shown} ({sop_name or "unknown SOP class"}) '
            f'is not a mammogram (accepted: {"/".join(sorted(allowed))}); '
            'remove the file from the release, or allow the modality '
            'explicitly (allowed_modalities=...)')
    return modality


def check_pixel_header(ds, path: str,
                       modalities: Optional[Sequence[str]] = None
                       ) -> PixelHeader:
    """Check that a DICOM dataset holds one 2-D grayscale image.

    Only the header is looked at (works on a dataset read with
    ``stop_before_pixels=True`` or ``defer_size``); the presence and length
    of the pixel data are checked by :func:`read_dicom_header`.

    Args:
        ds (pydicom.Dataset): The dataset.
        path (str): Its file, for messages.
        modalities (Sequence[str], optional): See :func:`check_modality`.
            Defaults to None (any modality).

    Returns:
        PixelHeader: The checked values.

    Raises:
        DicomError: Another modality, missing Rows/Columns, colour or
            palette data, more than one frame (3-D or multi-frame), an
            unsupported bit depth, or an unparsable value.
    """
    modality = check_modality(ds, path, modalities)
    rows = _header_int(ds, 'Rows', path)
    columns = _header_int(ds, 'Columns', path)
    if not rows or not columns:
        raise DicomError(
            f'{path}: DICOM header has no image size (Rows={rows}, '
            f'Columns={columns}); the file is truncated or not an image: '
            'copy it again from the release')
    samples = _header_int(ds, 'SamplesPerPixel', path, 1)
    frames = _header_int(ds, 'NumberOfFrames', path, 1)
    bits_alloc = _header_int(ds, 'BitsAllocated', path, 0)
    bits_stored = _header_int(ds, 'BitsStored', path, bits_alloc)
    pixel_rep = _header_int(ds, 'PixelRepresentation', path, 0)
    photometric = str(ds.get('PhotometricInterpretation', 'MONOCHROME2')
                      ).strip()
    if samples != 1 or photometric not in ('MONOCHROME1', 'MONOCHROME2'):
        raise DicomError(
            f'{path}: {samples}-sample {photometric} image; a mammogram is '
            'single-channel MONOCHROME1/2 grayscale: this file is not one')
    if frames != 1:
        raise DicomError(
            f'{path}: {frames} frames (3-D or multi-frame data, e.g. '
            'tomosynthesis); only 2-D single-frame mammograms are supported: '
            'export the 2-D (synthesised or FFDM) image instead')
    if bits_alloc not in (8, 16) or not 1 < bits_stored <= bits_alloc:
        raise DicomError(
            f'{path}: BitsAllocated={bits_alloc or "missing"}, BitsStored='
            f'{bits_stored or "missing"}; expected 8 or 16 bits allocated '
            '(INbreast: 16, 14 stored): this is not a mammogram export this '
            'loader understands')
    meta = getattr(ds, 'file_meta', None)
    tsyntax = meta.get('TransferSyntaxUID') if meta is not None else None
    sop = ds.get('SOPClassUID', None)
    return PixelHeader(rows, columns, bits_alloc, bits_stored, pixel_rep,
                       photometric, tsyntax, modality,
                       getattr(sop, 'name', str(sop or '')), frames)


def _read_dataset(path: str, **kwargs):
    """``pydicom.dcmread(path, **kwargs)``, or a :class:`DicomError` for a
    file that is not DICOM or whose header does not read."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: DICOM file not found')
    try:
        return pydicom.dcmread(path, **kwargs)
    except InvalidDicomError as e:
        raise DicomError(f'{path}: not a DICOM file ({e}); pass .dcm files '
                         'of the release (AllDICOMs/)') from None
    except Exception as e:
        raise DicomError(
            f'{path}: cannot read the DICOM header ({type(e).__name__}: '
            f'{e}); the file is truncated or not DICOM, re-copy it from the '
            'release') from None


def _no_pixel_data(ds, path: str) -> DicomError:
    """The :class:`DicomError` for a dataset without pixel data."""
    return DicomError(
        f'{path}: no pixel data (SOP class '
        f"{ds.get('SOPClassUID', 'unknown')}); the file is truncated "
        '(copy it again) or not an image (a report, plan or DICOMDIR): '
        'pass mammogram images only')


def _check_native_length(ds, elem, header: PixelHeader, path: str) -> None:
    """Pixel-data length of an uncompressed file vs the header, from the
    element's length field (the pixels are not loaded)."""
    from pydicom.dataelem import RawDataElement
    length = getattr(elem, 'length', None)
    if length is None or length == 0xFFFFFFFF:
        return
    value = elem.value if isinstance(elem, RawDataElement) else None
    if isinstance(value, (bytes, bytearray)):
        available = len(value)
    elif getattr(elem, 'value_tell', None) is not None:
        available = os.path.getsize(path) - elem.value_tell
    else:
        return
    need = header.native_length
    have = min(length, available)
    sizes = (f'Rows x Columns x BitsAllocated ({header.rows} x '
             f'{header.columns} x {header.bits_allocated} bits) need {need}')
    if have < need:
        raise DicomError(
            f'{path}: pixel data hold {have} bytes but {sizes}; the file is '
            'truncated or its Rows/Columns are wrong, copy it again from the '
            'release')
    # An odd length is padded to even by one byte.
    if length > need + (need % 2):
        raise DicomError(
            f'{path}: pixel data hold {length} bytes but {sizes}; the '
            "header's Rows/Columns/BitsAllocated do not describe the pixels "
            '(edited or damaged header), copy the file again from the '
            'release')


def read_dicom_header(path: str,
                      modalities: Optional[Sequence[str]] = DEFAULT_MODALITIES,
                      decode: bool = True) -> PixelHeader:
    """Check, without keeping the pixels, that a file holds one usable 2-D
    grayscale image.

    The header is read with ``defer_size`` (native pixel data are never
    loaded); their length is checked against Rows x Columns x
    BitsAllocated and against the file size, so a truncated copy or an
    edited header is refused here. Compressed pixel data are decoded once
    (``decode=True``) and their shape compared with the header, so a file
    no installed decoder handles is refused here too.

    Args:
        path (str): DICOM file.
        modalities (Sequence[str], optional): Accepted ``Modality`` values;
            None accepts all. Defaults to ``('MG',)``.
        decode (bool): Decode compressed pixel data once. Defaults to True.

    Returns:
        PixelHeader: The checked header values.

    Raises:
        FileNotFoundError: If the file does not exist.
        DicomError: See the module docstring; :class:`DecoderError` for
            compressed data that do not decode.
    """
    from pydicom.tag import Tag
    ds = _read_dataset(path, defer_size=1024)
    elem = ds._dict.get(Tag(0x7FE00010)) if hasattr(ds, '_dict') else None
    if elem is None:
        # A plan, report or DICOMDIR under an image's name: say what it
        # is (its Modality, when it has one) before saying it has no pixels.
        if str(ds.get('Modality', '') or '').strip():
            check_modality(ds, path, modalities)
        raise _no_pixel_data(ds, path)
    header = check_pixel_header(ds, path, modalities)
    ts = header.transfer_syntax
    if ts is not None and ts.is_compressed:
        reason = missing_decoder(ts)
        if reason is not None:
            raise DecoderError(
                f'{path}: pixel data are compressed with {reason}; pip '
                f'install {decoder_package(ts)} ({DECODER_HINT})')
        if decode:
            try:
                pixels = _read_dataset(path).pixel_array
            except DicomError:
                raise
            except Exception as e:
                raise _decode_failure(path, ts, e) from None
            if pixels.shape != (header.rows, header.columns):
                raise DicomError(
                    f'{path}: decoded pixels have shape {pixels.shape} but '
                    f'the header says Rows x Columns = {header.rows} x '
                    f'{header.columns}; the file is damaged, copy it again')
    elif ts is None or not ts.is_deflated:
        _check_native_length(ds, elem, header, path)
    return header


def read_dicom_size(path: str,
                    modalities: Optional[Sequence[str]] = DEFAULT_MODALITIES
                    ) -> tuple[int, int]:
    """(height, width) of a checked file; see :func:`read_dicom_header`."""
    header = read_dicom_header(path, modalities)
    return header.rows, header.columns
