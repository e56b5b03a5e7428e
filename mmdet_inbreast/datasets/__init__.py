from .base_mammo import BaseMammoDataset
from .dicom import (DecoderError, DicomError, ModalityError,
                    read_dicom_header, read_dicom_pixels)
from .inbreast import INbreastDataset
from .inbreast_release import (ImageRecord, ReleaseError, ScanReport,
                               format_report, iter_pixels, scan_release)
from .mass_repeat import MassRepeatDataset
from .samplers import SeededIndex, SeededSampler, sample_seed, seed_sample
from .splits import make_folds, read_split_file
from .transforms import *  # noqa: F401,F403
from .vindr_mammo import VinDrMammoDataset

__all__ = ['BaseMammoDataset', 'INbreastDataset', 'MassRepeatDataset',
           'SeededIndex', 'SeededSampler', 'VinDrMammoDataset', 'sample_seed',
           'seed_sample', 'ImageRecord', 'ReleaseError', 'ScanReport',
           'format_report', 'iter_pixels', 'scan_release', 'read_split_file',
           'make_folds', 'DicomError', 'DecoderError', 'ModalityError',
           'read_dicom_header', 'read_dicom_pixels']
