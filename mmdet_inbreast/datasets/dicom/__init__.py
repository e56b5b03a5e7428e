"""One place that reads DICOM: header checks and pixel decoding.

Every reader of the project goes through here: the release scan
(:func:`read_dicom_header` at scan time), :class:`LoadDicomImage`
(:func:`read_dicom_pixels`), the cache and COCO export, and inference
(:func:`read_dicom_header` with its own ``modalities``).

What is refused, by name, with the file and the fix:

- not DICOM, a truncated header, no pixel data;
- a ``Modality`` other than the allowed ones (``('MG',)`` by default);
- more than one frame, more than one sample per pixel, a photometric
  interpretation other than ``MONOCHROME1``/``MONOCHROME2``, a bit depth
  other than 8 or 16 bits allocated;
- for native (uncompressed) transfer syntaxes, pixel data shorter or longer
  than ``Rows x Columns x BitsAllocated / 8 x frames``, read from the
  element's length in the header without loading the pixels;
- for compressed transfer syntaxes, a file that no installed decoder
  decodes: :func:`read_dicom_header` decodes it once (``decode=True``), so
  that it is refused while the release is scanned, not in a training
  worker, with the decoder package to install.

Modules: :mod:`.errors` (:class:`DicomError` and its subclasses),
:mod:`.decoders` (decoder plugins and install hints), :mod:`.header`
(:func:`read_dicom_header` and its checks) and :mod:`.pixels`
(:func:`read_dicom_pixels`).
"""
from .decoders import DECODER_HINT, decoder_package, missing_decoder
from .errors import DecoderError, DicomError, ModalityError
from .header import (DEFAULT_MODALITIES, PixelHeader, check_modality,
                     check_pixel_header, read_dicom_header, read_dicom_size)
from .pixels import read_dicom_pixels

__all__ = [
    'DEFAULT_MODALITIES', 'DECODER_HINT', 'DicomError', 'ModalityError',
    'DecoderError', 'PixelHeader', 'decoder_package', 'missing_decoder',
    'check_modality', 'check_pixel_header', 'read_dicom_header',
    'read_dicom_size', 'read_dicom_pixels'
]
