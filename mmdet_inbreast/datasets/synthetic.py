"""A synthetic INbreast release in the exact layout of the real one.

The real images are not public, so tests, the demo and benchmarks run on a
release written here: same folder and file names (8-digit keys, 16-hex
patient hashes), the same ';' CSV with its stray spaces and blank lines, full
OsiriX plist XML with every ROI key and the real name quirks, calcification
point ROIs, negatives without XML, both plate sizes, 14-bit MONOCHROME2
DICOMs with a tissue-like breast against one side edge and black (0)
background. Masses are brighter, lobulated blobs whose sizes follow the real
distribution of the 116 INbreast mass boxes (log sqrt(w h) ~ N(5.61, 0.60),
log(h / w) ~ N(-0.03, 0.23); widths 73-977 px, median 281 px at full size).

The same arguments and seed give the same bytes.
"""
from __future__ import annotations

import csv
import io
import os
import os.path as osp
import plistlib
from dataclasses import dataclass

import numpy as np

from .synthetic_draw import (mass_polygon, place_lesion, tissue, uid,
                             write_dicom)

#: (width, height) of the two plate sizes of the real release.
PLATE_SIZES = ((3328, 4084), (2560, 3328))
PIXEL_SPACING_MM = 0.07

MASS_NAMES = ('Mass', 'mass', ' Mass ', 'MASS', 'Mass ')
CALC_NAMES = ('Calcification', 'Calcifications', 'calcification ',
              ' Calcifications')
OTHER_NAMES = ('Cluster', 'Assymetry', 'Asymmetry', 'Espiculated Region',
               'Spiculated Region', 'Distortion')


@dataclass
class SyntheticImage:
    """What was written for one image (the ground truth of the generator)."""
    file_name: str
    patient_id: str
    laterality: str
    view: str
    width: int
    height: int
    mass_boxes: list  # [x1, y1, x2, y2] of each mass polygon's points
    dicom_path: str


def _fmt_point(x: float, y: float) -> str:
    return f'({x:.3f}, {y:.3f})'


def _roi_dict(name: str, pts: np.ndarray, index: int, img: np.ndarray,
              roi_type: int) -> dict:
    """An OsiriX ROI dict with every key of the real export."""
    x1, y1 = np.floor(pts.min(0)).astype(int)
    x2, y2 = np.ceil(pts.max(0)).astype(int) + 1
    patch = img[max(y1, 0):y2, max(x1, 0):x2]
    vals = patch[patch > 0] if patch.size else np.zeros(1)
    vals = vals if vals.size else np.zeros(1)
    area_px = 0.0
    if len(pts) > 2:
        x, y = pts[:, 0], pts[:, 1]
        area_px = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    c = pts.mean(0)
    mm = pts * PIXEL_SPACING_MM
    return {
        'Area': float(area_px * PIXEL_SPACING_MM**2 / 100),  # cm^2
        'Center': f'({c[0] * PIXEL_SPACING_MM:.6f}, '
                  f'{c[1] * PIXEL_SPACING_MM:.6f}, 0.000000)',
        'Dev': float(vals.std()),
        'IndexInImage': index,
        'Max': float(vals.max()),
        'Mean': float(vals.mean()),
        'Min': float(vals.min()),
        'Name': name,
        'NumberOfPoints': len(pts),
        'Point_mm': [f'({a:.6f}, {b:.6f}, 0.000000)' for a, b in mm],
        'Point_px': [_fmt_point(a, b) for a, b in pts],
        'Total': float(vals.sum()),
        'Type': roi_type,
    }


def _write_dicom(path: str, pixels: np.ndarray, seed: int, key: str,
                 patient: str, laterality: str, view: str) -> None:
    """An INbreast-like 14-bit MONOCHROME2 mammogram."""
    write_dicom(
        path, pixels, seed, key, uid(seed, patient, 'study'),
        uid(seed, key, 'series'), 14, PatientID=patient,
        PatientName='ANON', Manufacturer='SYNTHETIC (mmdet_inbreast)',
        ImageLaterality=laterality,
        ViewPosition='MLO' if view == 'ML' else view, StudyDate='20080101',
        PhotometricInterpretation='MONOCHROME2',
        PixelSpacing=[PIXEL_SPACING_MM, PIXEL_SPACING_MM],
        WindowCenter=2048, WindowWidth=4096)


def make_synthetic_release(out_dir: str,
                           num_patients: int = 115,
                           scale: float = 1.0,
                           seed: int = 0,
                           mass_fraction: float = 0.26,
                           mastectomy_fraction: float = 0.22,
                           contrast: float = 450.0,
                           release_name: str = 'INbreast Release 1.0'
                           ) -> list[SyntheticImage]:
    """Write a synthetic release to ``out_dir/release_name``.

    Args:
        out_dir (str): Parent folder; created if needed.
        num_patients (int): Patients (cases). 4 images each, 2 for
            mastectomy cases. Defaults to 115 (the real count).
        scale (float): Shrinks image sizes and mass sizes together (0.125
            gives 416 x 510 images). Defaults to 1.0 (real size).
        seed (int): Random seed; same arguments, same bytes. Defaults to 0.
        mass_fraction (float): Probability that an image holds masses (the
            real release: 107 of 410, 0.26). Defaults to 0.26.
        mastectomy_fraction (float): Cases with 2 images (real: 25 of 115).
        contrast (float): Peak brightness of a mass over the tissue, in
            14-bit units (tissue std is about 222). Defaults to 450.
        release_name (str): Folder name of the release.

    Returns:
        list[SyntheticImage]: What was written, mass boxes included (the
        min/max of each mass polygon's points, full precision).
    """
    rng = np.random.default_rng(seed)
    root = osp.join(out_dir, release_name)
    dirs = {d: osp.join(root, d) for d in
            ('AllDICOMs', 'AllXML', 'AllROI', 'MedicalReports')}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)

    keys = rng.choice(np.arange(20586000, 53590000), size=num_patients * 4,
                      replace=False)
    key_iter = iter(sorted(int(k) for k in keys))
    written: list[SyntheticImage] = []
    rows = []
    for p in range(num_patients):
        patient = ''.join(rng.choice(list('0123456789abcdef'), size=16))
        mastectomy = rng.random() < mastectomy_fraction
        sides = [rng.choice(['L', 'R'])] if mastectomy else ['R', 'L']
        plate = PLATE_SIZES[0] if rng.random() < 0.7 else PLATE_SIZES[1]
        width = max(64, int(round(plate[0] * scale)))
        height = max(64, int(round(plate[1] * scale)))
        acr = int(rng.integers(1, 5))
        with open(osp.join(dirs['MedicalReports'], f'{patient}.txt'), 'w') as f:
            f.write('Synthetic case: no report.\n')
        for side in sides:
            for view in ('CC', 'ML'):
                key = str(next(key_iter))
                img, masses, rois = _render_image(
                    rng, height, width, side, scale, mass_fraction, contrast)
                name = f'{key}_{patient}_MG_{side}_{view}_ANON.dcm'
                path = osp.join(dirs['AllDICOMs'], name)
                _write_dicom(path, img, seed, key, patient, side, view)
                if rois:
                    xml_rois = [
                        _roi_dict(n, pts, i, img, t)
                        for i, (n, pts, t) in enumerate(rois)
                    ]
                    plist = {'Images': [{
                        'ImageHeight': height, 'ImageIndex': 0,
                        'ImageWidth': width, 'NumberOfROIs': len(xml_rois),
                        'ROIs': xml_rois}]}
                    with open(osp.join(dirs['AllXML'], key + '.xml'), 'wb') as f:
                        f.write(plistlib.dumps(plist, fmt=plistlib.FMT_XML,
                                               sort_keys=True))
                birads = (str(rng.choice(['4a', '4b', '4c', '5', '3']))
                          if masses else str(rng.choice(['1', '2'])))
                rows.append(['removed', 'removed', side,
                             'MLO' if view == 'ML' else 'CC',
                             str(200 * 1000 + int(rng.integers(1, 999))),
                             key, str(acr), birads])
                written.append(SyntheticImage(
                    file_name=key, patient_id=patient, laterality=side,
                    view=view, width=width, height=height,
                    mass_boxes=masses, dicom_path=path))
    _write_csv(osp.join(root, 'INbreast.csv'), rows, rng)
    return written


def _render_image(rng: np.random.Generator, h: int, w: int, side: str,
                  scale: float, mass_fraction: float, contrast: float):
    """Pixels (h, w) uint16, mass boxes, and ROIs (name, points, type)."""
    img, inside, extent = tissue(rng, h, w, side, scale)
    masses, rois = [], []
    n_mass = 0
    if rng.random() < mass_fraction:
        n_mass = int(rng.choice([1, 2, 3], p=[0.86, 0.11, 0.03]))
    for _ in range(n_mass):
        placed = place_lesion(rng, img, extent, side, scale, masses,
                               contrast)
        if placed is not None:
            masses.append(placed[1])
            rois.append((str(rng.choice(MASS_NAMES)), placed[0], 15))
    # Calcifications: 1-2 point ROIs on bright specks.
    for _ in range(int(rng.poisson(1.0))):
        cy = rng.uniform(0.2, 0.8) * h
        d = rng.uniform(0.1, 0.8) * extent[int(cy)]
        cx = d if side == 'R' else w - 1 - d
        r = max(1, int(round(3 * scale * 4)))
        yi, xi = int(cy), int(cx)
        img[max(yi - r, 0):yi + r, max(xi - r, 0):xi + r] += 600
        n_pts = int(rng.choice([1, 2]))
        pts = np.array([[cx, cy], [cx + r, cy + r]][:n_pts])
        rois.append((str(rng.choice(CALC_NAMES)), pts, 19 if n_pts == 1 else 14))
    # Now and then a non-mass lesion outline with one of the real spellings.
    if rng.random() < 0.15:
        cy = rng.uniform(0.3, 0.7) * h
        d = rng.uniform(0.3, 0.6) * extent[int(cy)]
        cx = d if side == 'R' else w - 1 - d
        pts, _ = mass_polygon(rng, cx, cy, 40 * scale * 4, 30 * scale * 4)
        pts = np.clip(pts, 0, [w - 1, h - 1])
        rois.append((str(rng.choice(OTHER_NAMES)), pts, 15))
    pixels = np.where(inside, np.clip(img, 1, 16383), 0)
    return np.rint(pixels).astype(np.uint16), masses, rois


def _write_csv(path: str, rows: list, rng: np.random.Generator) -> None:
    """The release's ';' CSV, with stray spaces and blank trailing lines."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=';', lineterminator='\r\n')
    writer.writerow(['Patient ID', 'Patient age', 'Laterality', 'View',
                     'Acquisition date', 'File Name', 'ACR', 'Bi-Rads'])
    for row in rows:
        pad = rng.random(len(row)) < 0.15
        writer.writerow([f' {c} ' if p else c for c, p in zip(row, pad)])
    buf.write(';;;;;;;\r\n\r\n\r\n')
    with open(path, 'w', newline='') as f:
        f.write(buf.getvalue())
