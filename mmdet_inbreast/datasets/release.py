"""Compatibility re-exports: the release readers live in
:mod:`mmdet_inbreast.datasets.inbreast_release`, DICOM reading in
:mod:`mmdet_inbreast.datasets.dicom` and split files in
:mod:`mmdet_inbreast.datasets.splits`. New code imports from there."""
from .dicom import (DECODER_HINT, PixelHeader, check_pixel_header,
                    missing_decoder, read_dicom_header, read_dicom_size)
from .inbreast_release import *  # noqa: F401,F403
from .inbreast_release import __all__ as _release_all
from .splits import read_split_file

__all__ = list(_release_all) + [
    'DECODER_HINT', 'PixelHeader', 'check_pixel_header', 'missing_decoder',
    'read_dicom_header', 'read_dicom_size', 'read_split_file'
]
