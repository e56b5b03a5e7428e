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

#: (width, height) of the two plate sizes of the real release.
PLATE_SIZES = ((3328, 4084), (2560, 3328))
PIXEL_SPACING_MM = 0.07
#: Statistics of the real mass boxes (full-size pixels), see module docstring.
LOG_SIZE_MEAN, LOG_SIZE_STD = 5.61, 0.60
LOG_ASPECT_MEAN, LOG_ASPECT_STD = -0.03, 0.23
MIN_SIZE_PX, MAX_SIZE_PX = 73.0, 985.0
#: Mean and std of non-zero pixels the tissue is drawn with (the seed
#: thesis' training-set figures, 14-bit values).
TISSUE_MEAN, TISSUE_STD = 1449.49, 221.67

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


def _uid(seed: int, *parts) -> str:
    from pydicom.uid import generate_uid
    return generate_uid(entropy_srcs=[str(seed)] + [str(p) for p in parts])


def _texture(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Smooth unit-variance noise of shape (h, w), float32: coarse noise
    blurred and bilinearly upsampled (cheap at full size)."""
    from scipy import ndimage
    gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
    coarse = ndimage.gaussian_filter(rng.standard_normal((gh, gw)), 1.0)
    coarse = (coarse - coarse.mean()) / (coarse.std() + 1e-9)
    up = ndimage.zoom(coarse.astype(np.float32), (h / gh, w / gw), order=1)
    return up[:h, :w]


def _breast_extent(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Per row, how far (pixels) the breast reaches from the chest-wall edge."""
    depth = rng.uniform(0.55, 0.8) * w
    cy = rng.uniform(0.45, 0.55) * h
    half = rng.uniform(0.42, 0.5) * h
    y = np.arange(h, dtype=np.float32)
    t = np.clip(1 - ((y - cy) / half)**2, 0, None)
    return (depth * np.sqrt(t)).astype(np.float32)


def _mass_polygon(rng: np.random.Generator, cx: float, cy: float, bw: float,
                  bh: float) -> tuple[np.ndarray, np.ndarray]:
    """A lobulated closed contour (N, 2) in pixels and its harmonic
    parameters (for rasterising the same shape)."""
    k = np.arange(2, 6)
    amp = rng.uniform(0.0, 0.08, size=k.size)
    phase = rng.uniform(0, 2 * np.pi, size=k.size)
    n = int(np.clip(np.sqrt(bw * bh) / 4, 24, 160))
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = 1 + (amp[:, None] * np.cos(k[:, None] * theta + phase[:, None])).sum(0)
    pts = np.stack([cx + bw / 2 * r * np.cos(theta),
                    cy + bh / 2 * r * np.sin(theta)], axis=1)
    return pts, np.stack([k, amp, phase])


def _draw_mass(img: np.ndarray, pts: np.ndarray, harm: np.ndarray, cx: float,
               cy: float, bw: float, bh: float, contrast: float) -> None:
    """Add a bright blob bounded by the contour of :func:`_mass_polygon`."""
    h, w = img.shape
    x1, y1 = np.floor(pts.min(0)).astype(int)
    x2, y2 = np.ceil(pts.max(0)).astype(int)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2 + 1, w), min(y2 + 1, h)
    yy, xx = np.mgrid[y1:y2, x1:x2].astype(np.float32)
    dx, dy = (xx + 0.5 - cx) / (bw / 2), (yy + 0.5 - cy) / (bh / 2)
    rho = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    k, amp, phase = harm
    r = 1 + (amp[:, None, None] * np.cos(k[:, None, None] * theta
                                          + phase[:, None, None])).sum(0)
    u = np.clip(1 - (rho / r)**2, 0, None)
    img[y1:y2, x1:x2] += contrast * np.sqrt(u)


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
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.1.2'  # DX mammo
    meta.MediaStorageSOPInstanceUID = _uid(seed, key, 'sop')
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = _uid(0, 'mmdet_inbreast')
    ds = FileDataset(path, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = _uid(seed, patient, 'study')
    ds.SeriesInstanceUID = _uid(seed, key, 'series')
    ds.PatientID = patient
    ds.PatientName = 'ANON'
    ds.Modality = 'MG'
    ds.Manufacturer = 'SYNTHETIC (mmdet_inbreast)'
    ds.ImageLaterality = laterality
    ds.ViewPosition = 'MLO' if view == 'ML' else view
    ds.StudyDate = '20080101'
    ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.SamplesPerPixel = 1
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = 14
    ds.HighBit = 13
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [PIXEL_SPACING_MM, PIXEL_SPACING_MM]
    ds.RescaleSlope = 1
    ds.RescaleIntercept = 0
    ds.WindowCenter = 2048
    ds.WindowWidth = 4096
    ds.PixelData = np.ascontiguousarray(pixels, dtype='<u2').tobytes()
    ds.save_as(path, enforce_file_format=True)


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
    extent = _breast_extent(rng, h, w)
    x = np.arange(w, dtype=np.float32)
    dist = x[None, :] if side == 'R' else (w - 1 - x)[None, :]
    inside = dist < extent[:, None]
    # Tissue: brighter near the chest wall, smooth texture, darker skin line.
    rel = np.clip(dist / np.maximum(extent[:, None], 1), 0, 1)
    cell = max(4, int(round(96 * scale)))
    img = (TISSUE_MEAN + 120 - 240 * rel**2
           + 0.75 * TISSUE_STD * _texture(rng, h, w, cell)).astype(np.float32)
    img += rng.normal(0, 25, size=(h, w)).astype(np.float32)

    masses, rois = [], []
    n_mass = 0
    if rng.random() < mass_fraction:
        n_mass = int(rng.choice([1, 2, 3], p=[0.86, 0.11, 0.03]))
    for _ in range(n_mass):
        for _attempt in range(50):
            size = np.exp(rng.normal(LOG_SIZE_MEAN, LOG_SIZE_STD))
            size = np.clip(size, MIN_SIZE_PX, MAX_SIZE_PX) * scale
            aspect = np.exp(rng.normal(LOG_ASPECT_MEAN, LOG_ASPECT_STD))
            bw, bh = size / np.sqrt(aspect), size * np.sqrt(aspect)
            bw, bh = min(bw, 0.6 * w), min(bh, 0.6 * h)
            cy = rng.uniform(bh * 0.6, h - bh * 0.6)
            reach = extent[int(cy)]
            if reach < bw * 1.4:
                continue
            d = rng.uniform(bw * 0.6, reach - bw * 0.6)
            cx = d if side == 'R' else w - 1 - d
            pts, harm = _mass_polygon(rng, cx, cy, bw, bh)
            if (pts.min() < 0 or pts[:, 0].max() > w - 1
                    or pts[:, 1].max() > h - 1):
                continue
            box = [float(pts[:, 0].min()), float(pts[:, 1].min()),
                   float(pts[:, 0].max()), float(pts[:, 1].max())]
            if any(_overlap(box, b) for b in masses):
                continue
            _draw_mass(img, pts, harm, cx, cy, bw, bh,
                       contrast * rng.uniform(0.8, 1.2))
            masses.append(box)
            rois.append((str(rng.choice(MASS_NAMES)), pts, 15))
            break
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
        pts, _ = _mass_polygon(rng, cx, cy, 40 * scale * 4, 30 * scale * 4)
        pts = np.clip(pts, 0, [w - 1, h - 1])
        rois.append((str(rng.choice(OTHER_NAMES)), pts, 15))
    pixels = np.where(inside, np.clip(img, 1, 16383), 0)
    return np.rint(pixels).astype(np.uint16), masses, rois


def _overlap(a: list, b: list) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


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
