"""Errors of the DICOM reader: every refusal is a :class:`DicomError`
(an :class:`~mmdet_inbreast.utils.errors.InputError`) whose message names
the file, what is wrong and the fix."""
from ...utils.errors import InputError


class DicomError(InputError):
    """A DICOM file that cannot be used; the message names the file, what
    is wrong and the fix."""


class ModalityError(DicomError):
    """A DICOM of a modality that is not allowed (not a mammogram)."""


class DecoderError(DicomError, RuntimeError):
    """Compressed pixel data that no installed decoder decodes; the
    message names the package to install."""
