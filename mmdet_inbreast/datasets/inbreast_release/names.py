"""Names of the release: DICOM file names, lesion (ROI) names.

``AllDICOMs/<FileName>_<PatientHash>_MG_<L|R>_<CC|ML>_ANON.dcm``:
``<FileName>`` (8 digits) is the image key everywhere; ``<PatientHash>``
(16 hex digits) is the only reliable patient identifier.
"""
from __future__ import annotations

import os
import os.path as osp
import re
from dataclasses import dataclass

from .errors import ReleaseError

#: ``<FileName>_<PatientHash>_MG_<L|R>_<CC|ML>_ANON.dcm``
DICOM_NAME_RE = re.compile(
    r'^(?P<key>\d{8})_(?P<patient>[0-9a-fA-F]{16})_MG_(?P<lat>[LR])_'
    r'(?P<view>CC|MLO|ML)_ANON\.dcm$', re.IGNORECASE)

#: Normalised ROI name (lower case, single spaces) -> canonical lesion type.
#: The left column holds the spellings found in the real release, including
#: its misspellings ('assymetry', 'espiculated region'). Extend it here, in
#: one place, when a release with other names turns up.
LESION_NAMES: dict[str, str] = {
    'mass': 'mass',
    'masses': 'mass',
    'calcification': 'calcification',
    'calcifications': 'calcification',
    'calcificacion': 'calcification',
    'cluster': 'cluster',
    'clusters': 'cluster',
    'spiculated region': 'spiculated region',
    'spiculated regions': 'spiculated region',
    'espiculated region': 'spiculated region',
    'asymmetry': 'asymmetry',
    'assymetry': 'asymmetry',
    'asymetry': 'asymmetry',
    'distortion': 'distortion',
    'architectural distortion': 'distortion',
    'pectoral muscle': 'pectoral muscle',
}

#: Lesion types the release annotates with 1-2 point ROIs by design
#: (single calcifications). A point ROI of any other requested type (a mass
#: of 1-2 points) is an annotation fault and is reported with its file.
POINT_LESIONS = frozenset({'calcification'})


@dataclass
class DicomName:
    """The parts of a DICOM file name of the release."""
    file_name: str
    patient_id: str
    laterality: str
    view: str
    path: str


def normalize_lesion_name(name: str) -> str:
    """Lower-case, strip and collapse inner white space: ``' Mass  '`` ->
    ``'mass'``."""
    return ' '.join(str(name).split()).lower()


def lesion_type(name: str) -> str | None:
    """Canonical lesion type of an ROI name, or None if unknown.

    Args:
        name (str): ``Name`` of an ROI as written in the XML.

    Returns:
        str | None: A value of :data:`LESION_NAMES` (e.g. ``'Assymetry '``
        -> ``'asymmetry'``), or None for a name not in the table.
    """
    return LESION_NAMES.get(normalize_lesion_name(name))


def parse_dicom_name(path: str) -> DicomName | None:
    """Split ``<key>_<hash>_MG_<L|R>_<CC|ML>_ANON.dcm`` into its parts.

    Args:
        path (str): Path or file name of a DICOM file.

    Returns:
        DicomName | None: The parts (``patient_id`` lower-cased, ``view``
        upper-cased with ``'ML'`` kept as written), or None if the name does
        not follow the release's pattern.
    """
    m = DICOM_NAME_RE.match(osp.basename(path))
    if m is None:
        return None
    return DicomName(
        file_name=m['key'],
        patient_id=m['patient'].lower(),
        laterality=m['lat'].upper(),
        view=m['view'].upper(),
        path=path)


def list_dicoms(folder: str,
                duplicates: dict[str, str] | None = None
                ) -> tuple[dict[str, DicomName], list[str]]:
    """Index ``AllDICOMs/`` by image key.

    Args:
        folder (str): The ``AllDICOMs`` folder.
        duplicates (dict[str, str], optional): If given, a key carried by
            more than one file is left out of the index and stored here with
            a message naming the files. Defaults to None: a duplicate
            raises.

    Returns:
        tuple: (key -> :class:`DicomName`, names that do not follow the
        release's pattern).

    Raises:
        FileNotFoundError: If the folder does not exist.
        ReleaseError: If (without ``duplicates``) two DICOM files carry the
            same key.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f'{folder}: AllDICOMs/ not found; data_root must be the release '
            'folder')
    found: dict[str, DicomName] = {}
    odd: list[str] = []
    repeated: dict[str, list[str]] = {}
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith('.dcm'):
            continue
        parts = parse_dicom_name(name)
        if parts is None:
            odd.append(name)
            continue
        parts.path = osp.join(folder, name)
        if parts.file_name in found:
            first = osp.basename(found[parts.file_name].path)
            if duplicates is None:
                raise ReleaseError(
                    f'{folder}: duplicate image key {parts.file_name} in '
                    f'{first} and {name}; remove the copy')
            repeated.setdefault(parts.file_name, [first]).append(name)
            continue
        found[parts.file_name] = parts
    for key, names in repeated.items():
        del found[key]
        duplicates[key] = (
            f'{folder}: image key {key} in {len(names)} files {names}; the '
            'image is left out: remove the copies')
    return found, odd
