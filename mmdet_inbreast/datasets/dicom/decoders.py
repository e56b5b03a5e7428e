"""Compressed pixel data: which pydicom decoder plugin handles a transfer
syntax, which package to install when none does, and the
:class:`~.errors.DecoderError` that says so."""
from __future__ import annotations

from .errors import DecoderError

#: Install hint for pydicom pixel decoders.
DECODER_HINT = ('pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg '
                '(JPEG, JPEG-LS, JPEG 2000; RLE is built in) or pip install '
                'python-gdcm (all, and streams the others refuse)')

#: Transfer syntax name fragment -> the package that decodes it.
_DECODER_PACKAGES = (
    ('JPEG-LS', 'pylibjpeg pylibjpeg-libjpeg (or pyjpegls)'),
    ('JPEG 2000', 'pylibjpeg pylibjpeg-openjpeg'),
    ('HTJ2K', 'pylibjpeg pylibjpeg-openjpeg'),
    ('JPEG', 'pylibjpeg pylibjpeg-libjpeg'),
    ('RLE', 'pylibjpeg pylibjpeg-rle'),
)


def decoder_package(tsyntax) -> str:
    """``pip install`` argument for a compressed transfer syntax.

    Args:
        tsyntax (pydicom.uid.UID): The transfer syntax.

    Returns:
        str: e.g. ``'pylibjpeg pylibjpeg-openjpeg'`` for JPEG 2000,
        ``'python-gdcm'`` when nothing more specific is known.
    """
    name = str(getattr(tsyntax, 'name', tsyntax))
    for fragment, package in _DECODER_PACKAGES:
        if fragment in name:
            return package
    return 'python-gdcm'


def missing_decoder(tsyntax) -> str | None:
    """Why pixel data of this transfer syntax cannot be decoded here, or
    None if a pydicom decoder plugin is installed for it.

    Args:
        tsyntax (pydicom.uid.UID | None): Transfer syntax of the file.

    Returns:
        str | None: e.g. ``"JPEG-LS Lossless Image Compression: no decoder
        installed (gdcm - requires gdcm>=3.0.10, ...)"``.
    """
    if tsyntax is None or not tsyntax.is_compressed:
        return None
    try:
        from pydicom.pixels import get_decoder
        decoder = get_decoder(tsyntax)
    except NotImplementedError:
        return f'{tsyntax.name}: pydicom has no decoder for it at all'
    if decoder.is_available:
        return None
    missing = '; '.join(getattr(decoder, 'missing_dependencies', []) or [])
    return (f'{tsyntax.name}: no decoder installed'
            + (f' ({missing})' if missing else ''))


def _decoder_plugins(tsyntax) -> list[str]:
    """Names of the installed pydicom decoder plugins for a syntax."""
    try:
        from pydicom.pixels import get_decoder
        return list(get_decoder(tsyntax).available_plugins)
    except Exception:
        return ['unknown']


def _decode_failure(path: str, tsyntax, error: Exception) -> DecoderError:
    """The :class:`DecoderError` for compressed data that did not decode."""
    reason = missing_decoder(tsyntax)
    if reason is None:
        reason = (f'{tsyntax.name}: the installed decoder(s) '
                  f'({", ".join(_decoder_plugins(tsyntax))}) failed on it; '
                  'pip install python-gdcm decodes streams they refuse')
    else:
        reason += f'; pip install {decoder_package(tsyntax)}'
    return DecoderError(
        f'{path}: pixel data are compressed with {reason} ({DECODER_HINT}). '
        f'pydicom said: {type(error).__name__}: '
        f'{" ".join(str(error).split())[:300]}')
