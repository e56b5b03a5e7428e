"""Shared fixtures of the test suite.

``synthetic_release`` (session scope)
    A small synthetic INbreast release written once per test session by
    :func:`mmdet_inbreast.datasets.synthetic.make_synthetic_release`
    (6 patients, scale 1/16, seed 0, mass fraction 0.6: 22 images of
    160 x 208 or 208 x 255 pixels, both plate sizes, 15 masses, negatives,
    calcification point ROIs). Returns ``(release_dir, images)``: the
    ``INbreast Release 1.0`` folder (str) and the list of
    :class:`~mmdet_inbreast.datasets.synthetic.SyntheticImage` (the ground
    truth: keys, patients, sizes, mass boxes). Treat it as read-only; copy
    it (``shutil.copytree``) to break things.

``handmade_release`` (function scope)
    A tiny release in the real layout written by code that shares nothing
    with ``synthetic.py``: OsiriX XML from a string template (``<real>``,
    ``<integer>``, ``<string>(x, y)</string>``, every ROI key, tabs as
    OsiriX writes them), a CSV typed by hand with the real header and its
    quirks, and DICOMs written with pydicom directly in Implicit VR Little
    Endian. Returns a :class:`Handmade` with the folder and the expected
    values. Use it when the reader must be checked against an independent
    writer.

The writers (:func:`osirix_xml`, :func:`write_dicom`, :func:`write_csv`) are
plain functions of this module so that tests can write broken variants, and
:func:`flatten` turns a config into ``{'a.b.0.c': leaf}`` for config diffs;
import them with ``from conftest import ...`` (pytest puts ``tests/`` on
``sys.path``).
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass, field

import numpy as np
import pytest

pytest_plugins = ["engine_fixtures"]

if os.environ.get('PYTEST_XDIST_WORKER'):
    # Under pytest-xdist (make test: one worker per core) each worker, and
    # every subprocess a test starts, computes on one thread: two workers
    # of two torch threads each on two cores run slower than one.
    for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[_var] = '1'
    import torch
    torch.set_num_threads(1)


def flatten(node, prefix: str = '') -> dict:
    """``{'a.b.0.c': leaf}`` for every leaf of nested dicts and of lists
    that hold dicts or lists (plain lists are leaves)."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, (list, tuple)) and any(
            isinstance(v, (dict, list, tuple)) for v in node):
        items = enumerate(node)
    else:
        return {prefix: node}
    out = {}
    for k, v in items:
        out.update(flatten(v, f'{prefix}.{k}' if prefix else str(k)))
    return out


# --------------------------------------------------------------- OsiriX XML
_PLIST_HEAD = '''<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" \
"http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>Images</key>
\t<array>
\t\t<dict>
\t\t\t<key>ImageHeight</key>
\t\t\t<integer>{height}</integer>
\t\t\t<key>ImageIndex</key>
\t\t\t<integer>0</integer>
\t\t\t<key>ImageWidth</key>
\t\t\t<integer>{width}</integer>
\t\t\t<key>NumberOfROIs</key>
\t\t\t<integer>{num_rois}</integer>
\t\t\t<key>ROIs</key>
\t\t\t<array>
'''
_PLIST_TAIL = '''\t\t\t</array>
\t\t</dict>
\t</array>
</dict>
</plist>
'''
_ROI = '''\t\t\t\t<dict>
\t\t\t\t\t<key>Area</key>
\t\t\t\t\t<real>{area:.6f}</real>
\t\t\t\t\t<key>Center</key>
\t\t\t\t\t<string>({cx:.6f}, {cy:.6f}, 0.000000)</string>
\t\t\t\t\t<key>Dev</key>
\t\t\t\t\t<real>113.471237</real>
\t\t\t\t\t<key>IndexInImage</key>
\t\t\t\t\t<integer>{index}</integer>
\t\t\t\t\t<key>Max</key>
\t\t\t\t\t<real>2611</real>
\t\t\t\t\t<key>Mean</key>
\t\t\t\t\t<real>1875.25</real>
\t\t\t\t\t<key>Min</key>
\t\t\t\t\t<real>1409</real>
\t\t\t\t\t<key>Name</key>
\t\t\t\t\t<string>{name}</string>
\t\t\t\t\t<key>NumberOfPoints</key>
\t\t\t\t\t<integer>{num_points}</integer>
\t\t\t\t\t<key>Point_mm</key>
\t\t\t\t\t<array>
{point_mm}\t\t\t\t\t</array>
\t\t\t\t\t<key>Point_px</key>
\t\t\t\t\t<array>
{point_px}\t\t\t\t\t</array>
\t\t\t\t\t<key>Total</key>
\t\t\t\t\t<real>{total:.1f}</real>
\t\t\t\t\t<key>Type</key>
\t\t\t\t\t<integer>{roi_type}</integer>
\t\t\t\t</dict>
'''


def osirix_xml(rois, height: int, width: int,
               num_points: dict | None = None) -> str:
    """OsiriX ROI export text, written from a template (not plistlib).

    Args:
        rois (list[tuple[str, np.ndarray]]): (Name as written, (N, 2) x, y
            points in pixels).
        height, width (int): Image size for ImageHeight/ImageWidth.
        num_points (dict, optional): ROI index -> NumberOfPoints to write
            instead of the true count (to write a broken file).
    """
    body = []
    for i, (name, pts) in enumerate(rois):
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        cx, cy = pts.mean(0) * 0.07
        area = 0.0
        if len(pts) > 2:
            x, y = pts[:, 0], pts[:, 1]
            area = 0.5 * abs(x @ np.roll(y, 1) - y @ np.roll(x, 1))
        body.append(_ROI.format(
            area=area * 0.0049 / 100, cx=cx, cy=cy, index=i, name=name,
            num_points=(num_points or {}).get(i, len(pts)),
            point_mm=''.join(f'\t\t\t\t\t\t<string>({x * 0.07:.6f}, '
                             f'{y * 0.07:.6f}, 0.000000)</string>\n'
                             for x, y in pts),
            point_px=''.join(f'\t\t\t\t\t\t<string>({x:.6f}, {y:.6f})'
                             '</string>\n' for x, y in pts),
            total=1875.25 * max(len(pts), 1),
            roi_type=15 if len(pts) > 2 else 19))
    return (_PLIST_HEAD.format(height=height, width=width,
                               num_rois=len(rois))
            + ''.join(body) + _PLIST_TAIL)


# ------------------------------------------------------------------- DICOM
def write_dicom(path: str, pixels: np.ndarray, patient: str = 'ANON',
                laterality: str = 'R', view: str = 'CC',
                photometric: str = 'MONOCHROME2', bits_stored: int = 14,
                transfer_syntax: str | None = None, **extra) -> None:
    """Write a single-frame grayscale DICOM with pydicom directly.

    Implicit VR Little Endian by default (``synthetic.py`` writes Explicit
    VR); ``extra`` sets further header keywords (e.g. ``WindowCenter``,
    ``RescaleIntercept``).
    """
    from pydicom import dcmwrite
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ImplicitVRLittleEndian, generate_uid

    pixels = np.asarray(pixels)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.1.2'
    meta.MediaStorageSOPInstanceUID = generate_uid(
        entropy_srcs=[osp.basename(path)])
    meta.TransferSyntaxUID = transfer_syntax or ImplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = 'MG'
    ds.PatientID = patient
    ds.ImageLaterality = laterality
    ds.ViewPosition = view
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == 'i' else 0
    ds.PixelSpacing = [0.07, 0.07]
    for key, value in extra.items():
        setattr(ds, key, value)
    ds.PixelData = pixels.astype(pixels.dtype.newbyteorder('<')).tobytes()
    dcmwrite(path, ds, enforce_file_format=True)


def breast_pixels(height: int, width: int, laterality: str = 'R',
                  seed: int = 0) -> np.ndarray:
    """(H, W) uint16 14-bit tissue against one side edge, 0 elsewhere."""
    rng = np.random.default_rng(seed)
    img = rng.integers(900, 2400, size=(height, width)).astype(np.uint16)
    x = np.arange(width)
    dist = x if laterality == 'R' else width - 1 - x
    img[:, dist >= int(0.7 * width)] = 0
    return img


# --------------------------------------------------------------------- CSV
CSV_HEADER = ('Patient ID;Patient age;Laterality;View;Acquisition date;'
              'File Name;ACR;Bi-Rads')


def write_csv(path: str, lines: list[str]) -> None:
    """The header, then ``lines`` as given, CRLF, two blank lines and a
    row of bare separators at the end, as the real file has."""
    with open(path, 'w', newline='') as f:
        f.write('\r\n'.join([CSV_HEADER] + lines) + '\r\n;;;;;;;\r\n\r\n\r\n')


# ---------------------------------------------------------------- releases
def lobulated(cx: float, cy: float, rx: float, ry: float,
              n: int = 40) -> np.ndarray:
    """A closed lobulated contour (n, 2), points at irrational positions."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = 1 + 0.07 * np.cos(3 * t + 0.4) + 0.04 * np.sin(5 * t)
    return np.stack([cx + rx * r * np.cos(t), cy + ry * r * np.sin(t)], 1)


def box_of(pts: np.ndarray) -> list[float]:
    """[x1, y1, x2, y2]: min/max of the points."""
    pts = np.asarray(pts)
    return [*pts.min(0).tolist(), *pts.max(0).tolist()]


@dataclass
class Handmade:
    """A hand-written release and what a correct reader must find.

    Attributes:
        root (str): The release folder.
        keys (list[str]): Image keys in CSV order (all have DICOM and row).
        patients (dict[str, str]): key -> patient hash.
        sizes (dict[str, tuple[int, int]]): key -> (height, width).
        boxes (dict[str, list[tuple[list[float], str]]]): key -> expected
            ([x1, y1, x2, y2], lesion type) of every polygon ROI whose name
            is known, lesion types 'mass', 'cluster', 'spiculated region',
            'asymmetry'.
        negatives (list[str]): Keys without XML.
        birads (dict[str, str]), acr (dict[str, int]): From the CSV.
        dicom_paths (dict[str, str]): key -> DICOM path.
    """
    root: str
    keys: list = field(default_factory=list)
    patients: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)
    boxes: dict = field(default_factory=dict)
    negatives: list = field(default_factory=list)
    birads: dict = field(default_factory=dict)
    acr: dict = field(default_factory=dict)
    lateralities: dict = field(default_factory=dict)
    views: dict = field(default_factory=dict)
    dicom_paths: dict = field(default_factory=dict)

    def masses(self, key: str) -> list:
        return [b for b, t in self.boxes[key] if t == 'mass']

    def xml_path(self, key: str) -> str:
        return osp.join(self.root, 'AllXML', f'{key}.xml')


P1, P2 = '0a1b2c3d4e5f6789', 'fedcba9876543210'


def make_handmade_release(parent: str) -> Handmade:
    """Write the hand-made release (see the module docstring) under
    ``parent/INbreast Release 1.0`` and return what it holds.

    Images (key, patient, side, view, size h x w, ROIs):

    - 22678622 P1 R CC 120 x 96: 'Mass' polygon, 'Calcification' 1 point,
      ' calcifications ' 2 points, 'Assymetry' polygon, 'Nodule' polygon
      (unknown name).
    - 22678646 P1 R ML 120 x 96: ' MASS ' and 'mass' polygons,
      'Espiculated Region' polygon. Bi-Rads '4a'.
    - 22678670 P1 L CC 120 x 96: negative, no XML.
    - 50994408 P2 L ML 100 x 78: 'Spiculated Region ' and 'Cluster'
      polygons, 'Mass' polygon touching the image border.
    - 50994432 P2 L CC 100 x 78: negative, no XML. Bi-Rads '1'.
    """
    root = osp.join(parent, 'INbreast Release 1.0')
    for d in ('AllDICOMs', 'AllXML', 'AllROI', 'MedicalReports'):
        os.makedirs(osp.join(root, d), exist_ok=True)
    h = Handmade(root=root)
    big, small = (120, 96), (100, 78)
    spec = [
        ('22678622', P1, 'R', 'CC', big, '4', ' 4c', [
            ('Mass', lobulated(30.3, 50.7, 12.1, 15.3), 'mass'),
            ('Calcification', [[60.25, 20.5]], None),
            (' calcifications ', [[61.5, 22.25], [63.75, 24.125]], None),
            ('Assymetry', lobulated(40.1, 90.2, 8.3, 6.2, 24), 'asymmetry'),
            ('Nodule', lobulated(20.2, 20.9, 5.1, 5.3, 16), None),
        ]),
        ('22678646', P1, 'R', 'ML', big, '4', '4a', [
            (' MASS ', lobulated(25.55, 30.45, 9.9, 8.1), 'mass'),
            ('mass', lobulated(50.05, 80.95, 14.4, 19.6, 60), 'mass'),
            ('Espiculated Region', lobulated(30.7, 100.1, 6.6, 7.7, 20),
             'spiculated region'),
        ]),
        ('22678670', P1, 'L', 'CC', big, '4', '2', []),
        ('50994408', P2, 'L', 'ML', small, '2', '5', [
            ('Spiculated Region ', lobulated(50.5, 40.5, 7.7, 9.9, 30),
             'spiculated region'),
            ('Cluster', lobulated(60.3, 70.7, 4.4, 3.3, 12), 'cluster'),
            ('Mass', np.array([[77.0, 60.0], [70.5, 52.25], [64.0, 61.5],
                               [71.125, 99.5]]), 'mass'),
        ]),
        ('50994432', P2, 'L', 'CC', small, '2', '1', []),
    ]
    lines = []
    for i, (key, patient, side, view, (height, width), acr, birads,
            rois) in enumerate(spec):
        name = f'{key}_{patient}_MG_{side}_{view}_ANON.dcm'
        path = osp.join(root, 'AllDICOMs', name)
        write_dicom(path, breast_pixels(height, width, side, seed=i),
                    patient, side, view)
        if rois:
            with open(h.xml_path(key), 'w') as f:
                f.write(osirix_xml([(n, p) for n, p, _ in rois], height,
                                   width))
        else:
            h.negatives.append(key)
        # The real CSV: 'removed' ids, MLO in the View column, stray
        # spaces here and there.
        csv_view = 'MLO' if view == 'ML' else view
        pad = ' ' if i % 2 else ''
        lines.append(f'removed;removed; {side};{csv_view}{pad};2008{i:02d};'
                     f'{pad}{key}{pad};{acr};{birads}')
        if i == 2:
            lines.append('')  # a blank line in the middle
        h.keys.append(key)
        h.patients[key] = patient
        h.sizes[key] = (height, width)
        h.lateralities[key] = side
        h.views[key] = view
        h.birads[key] = birads.strip()
        h.acr[key] = int(acr)
        h.dicom_paths[key] = path
        h.boxes[key] = [(box_of(p), t) for _, p, t in rois
                        if t is not None and len(np.asarray(p)) > 2]
    write_csv(osp.join(root, 'INbreast.csv'), lines)
    return h


@pytest.fixture
def handmade_release(tmp_path) -> Handmade:
    """A hand-written tiny release; see :func:`make_handmade_release`."""
    return make_handmade_release(str(tmp_path))


@pytest.fixture(scope='session')
def synthetic_release(tmp_path_factory):
    """``(release_dir, images)`` of a small synthetic release, written once.

    ``make_synthetic_release(root, num_patients=6, scale=1/16, seed=0,
    mass_fraction=0.6)``; ``release_dir`` is ``root/'INbreast Release 1.0'``
    (str), ``images`` the list of ``SyntheticImage``. Read-only: copy it to
    modify it.
    """
    from mmdet_inbreast.datasets.synthetic import make_synthetic_release
    root = tmp_path_factory.mktemp('synthetic')
    images = make_synthetic_release(
        str(root), num_patients=6, scale=1 / 16, seed=0, mass_fraction=0.6)
    return str(root / 'INbreast Release 1.0'), images


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` when torch sees no CUDA device."""
    gpu_items = [item for item in items if 'gpu' in item.keywords]
    if not gpu_items:
        return
    import torch
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA device (marker gpu)')
    for item in gpu_items:
        item.add_marker(skip)
