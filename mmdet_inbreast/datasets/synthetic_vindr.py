"""A synthetic VinDr-Mammo release in the layout of the real one.

The real images need credentialed access, so tests, the demo and benchmarks
run on a release written here: ``breast-level_annotations.csv``,
``finding_annotations.csv`` (comma-separated, written as pandas writes
them: ``finding_categories`` a quoted list literal, empty box cells for
``No Finding``), ``metadata.csv`` and ``images/<study_id>/<image_id>.dicom``
with 32-hex ids, four views per study (L/R x CC/MLO), the official ``split``
column (``training`` / ``test``), boxes with several categories
(``['Mass', 'Suspicious Calcification']``), and DICOMs from three
manufacturers in both photometric interpretations: MONOCHROME1 files store
``2**BitsStored - 1 - x``, so that after the inversion of
:class:`LoadDicomImage` every image has a black (0) background. Tissue and
masses are drawn with the helpers of :mod:`.synthetic`.

:func:`make_vindr_placeholder_layout` writes the CSVs and empty
placeholder files only, for timing the dataset build at the real scale.

The same arguments and seed give the same bytes.
"""
from __future__ import annotations

import csv
import os
import os.path as osp
from dataclasses import dataclass, field

import numpy as np

from .synthetic_draw import place_lesion, tissue, uid, write_dicom
from .vindr_release.csv import BREAST_CSV, FINDING_CSV, IMAGE_DIR

#: (width, height) of the two image sizes written (the most common sizes
#: of the real release, approximately).
VINDR_SIZES = ((2800, 3518), (1914, 2294))
#: (manufacturer, photometric interpretation, bits stored).
MANUFACTURERS = (('SIEMENS', 'MONOCHROME2', 12),
                 ('IMS GIOTTO', 'MONOCHROME1', 12),
                 ('Planmed', 'MONOCHROME2', 14))
#: Category lists of the boxes written; the first is forced onto the first
#: finding so that every release has a multi-category box.
FINDING_COMBOS = (("Mass", "Suspicious Calcification"), ("Mass", ),
                  ("Mass", ), ("Suspicious Calcification", ),
                  ("Focal Asymmetry", ), ("Architectural Distortion", ),
                  ("Mass", "Architectural Distortion"), ("Asymmetry", ))
FINDING_BIRADS = ('BI-RADS 3', 'BI-RADS 4', 'BI-RADS 4', 'BI-RADS 5',
                  'BI-RADS 2')

BREAST_HEADER = ['study_id', 'series_id', 'image_id', 'laterality',
                 'view_position', 'height', 'width', 'breast_birads',
                 'breast_density', 'split']
FINDING_HEADER = BREAST_HEADER[:-1] + [
    'finding_categories', 'finding_birads', 'xmin', 'ymin', 'xmax', 'ymax',
    'split']


@dataclass
class SyntheticFinding:
    """One finding row written (the ground truth)."""
    categories: tuple
    birads: str  # as written, 'BI-RADS 4' or ''
    box: list | None  # [xmin, ymin, xmax, ymax] as written (2 decimals)


@dataclass
class SyntheticVinDrImage:
    """What was written for one image."""
    image_id: str
    study_id: str
    series_id: str
    laterality: str
    view: str
    width: int
    height: int
    photometric: str
    split: str
    breast_birads: str
    density: str
    dicom_path: str
    findings: list = field(default_factory=list)


def _hex(rng: np.random.Generator) -> str:
    return rng.bytes(16).hex()


def _write_dicom(path: str, pixels: np.ndarray, seed: int,
                 image: SyntheticVinDrImage, manufacturer: str,
                 bits_stored: int) -> None:
    """A DX mammogram; MONOCHROME1 stores the inverted values."""
    top = 2**bits_stored - 1
    stored = np.minimum(pixels, top)
    if image.photometric == 'MONOCHROME1':
        stored = top - stored
    write_dicom(
        path, stored, seed, image.image_id, uid(seed, image.study_id),
        uid(seed, image.series_id), bits_stored, PatientID='ANON',
        Manufacturer=manufacturer, ImageLaterality=image.laterality,
        ViewPosition=image.view,
        PhotometricInterpretation=image.photometric,
        ImagerPixelSpacing=[0.085, 0.085])


def _render(rng: np.random.Generator, h: int, w: int, side: str,
            scale: float, combos: list, contrast: float):
    """(h, w) uint16 pixels (0 background) and one box per finding (None
    where there was no room)."""
    img, inside, extent = tissue(rng, h, w, side, scale)
    boxes: list = []
    for categories in combos:
        mass = 'Mass' in categories
        placed = place_lesion(
            rng, img, extent, side, scale,
            [b for b in boxes if b is not None],
            contrast * (1 if mass else .5), size_factor=1.0 if mass else 0.6,
            max_fraction=0.5, decimals=2)
        boxes.append(None if placed is None else placed[1])
    pixels = np.where(inside, np.clip(img, 1, 4095), 0)
    return np.rint(pixels).astype(np.uint16), boxes


def _write_csvs(root: str, images: list) -> None:
    """The two annotation CSVs and metadata.csv, as pandas writes them."""
    with open(osp.join(root, BREAST_CSV), 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(BREAST_HEADER)
        for im in images:
            w.writerow([im.study_id, im.series_id, im.image_id,
                        im.laterality, im.view, im.height, im.width,
                        im.breast_birads, im.density, im.split])
    with open(osp.join(root, FINDING_CSV), 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(FINDING_HEADER)
        for im in images:
            head = [im.study_id, im.series_id, im.image_id, im.laterality,
                    im.view, im.height, im.width, im.breast_birads,
                    im.density]
            for fd in im.findings:
                box = ([f'{v:.2f}' for v in fd.box] if fd.box is not None
                       else ['', '', '', ''])
                w.writerow(head + [str(list(fd.categories)), fd.birads]
                           + box + [im.split])
    with open(osp.join(root, 'metadata.csv'), 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(['SOP Instance UID', 'Photometric Interpretation',
                    'Rows', 'Columns'])
        for im in images:
            w.writerow([im.image_id, im.photometric, im.height, im.width])


def _plan_study(rng: np.random.Generator, index: int, num_studies: int,
                scale: float, finding_fraction: float, test_every: int,
                first: bool) -> tuple[list, str, tuple]:
    """The images of one study: ids, size, split and finding categories."""
    study_id = _hex(rng)
    maker = MANUFACTURERS[index % len(MANUFACTURERS)]
    size = VINDR_SIZES[0] if rng.random() < 0.7 else VINDR_SIZES[1]
    width = max(64, int(round(size[0] * scale)))
    height = max(64, int(round(size[1] * scale)))
    split = 'test' if test_every and index % test_every == test_every - 1 \
        else 'training'
    density = 'DENSITY ' + str(rng.choice(list('ABCD')))
    plans = []
    for side in ('L', 'R'):
        series_id = _hex(rng)
        for view in ('CC', 'MLO'):
            combos = []
            if first and not plans:
                combos = [FINDING_COMBOS[0]]
            elif rng.random() < finding_fraction:
                n = int(rng.choice([1, 2], p=[0.8, 0.2]))
                combos = [FINDING_COMBOS[int(rng.integers(
                    len(FINDING_COMBOS)))] for _ in range(n)]
            plans.append(dict(
                image=SyntheticVinDrImage(
                    image_id=_hex(rng), study_id=study_id,
                    series_id=series_id, laterality=side, view=view,
                    width=width, height=height, photometric=maker[1],
                    split=split, breast_birads='', density=density,
                    dicom_path=''),
                combos=combos))
    return plans, study_id, maker


def make_synthetic_vindr(out_dir: str,
                         num_studies: int = 10,
                         scale: float = 0.0625,
                         seed: int = 0,
                         finding_fraction: float = 0.4,
                         test_every: int = 5,
                         contrast: float = 450.0,
                         release_name: str = 'vindr-mammo'
                         ) -> list[SyntheticVinDrImage]:
    """Write a synthetic VinDr-Mammo release to ``out_dir/release_name``.

    Args:
        out_dir (str): Parent folder; created if needed.
        num_studies (int): Studies, four images each. Defaults to 10.
        scale (float): Image and lesion size relative to the real release
            (0.0625 gives 175 x 220 or 120 x 143 images). Defaults to 0.0625.
        seed (int): Random seed; same arguments, same bytes. Defaults to 0.
        finding_fraction (float): Probability that an image has boxed
            findings (1 or 2). The first image always has a ``['Mass',
            'Suspicious Calcification']`` box. Defaults to 0.4.
        test_every (int): Every ``test_every``-th study is in the official
            ``test`` split, the others in ``training``. Defaults to 5.
        contrast (float): Peak brightness of a mass over the tissue.
        release_name (str): Folder name of the release.

    Returns:
        list[SyntheticVinDrImage]: What was written, in CSV order, with the
        findings as written (``'No Finding'`` rows included).
    """
    rng = np.random.default_rng(seed)
    root = osp.join(out_dir, release_name)
    os.makedirs(osp.join(root, IMAGE_DIR), exist_ok=True)
    images: list[SyntheticVinDrImage] = []
    for s in range(num_studies):
        plans, study_id, maker = _plan_study(
            rng, s, num_studies, scale, finding_fraction, test_every, s == 0)
        folder = osp.join(root, IMAGE_DIR, study_id)
        os.makedirs(folder, exist_ok=True)
        for plan in plans:
            im, combos = plan['image'], plan['combos']
            pixels, boxes = _render(rng, im.height, im.width, im.laterality,
                                    scale, combos, contrast)
            for categories, box in zip(combos, boxes):
                if box is None:  # no room in this breast: not written
                    continue
                im.findings.append(SyntheticFinding(
                    categories=tuple(categories),
                    birads=str(rng.choice(FINDING_BIRADS)), box=box))
            if not im.findings:
                im.findings.append(SyntheticFinding(('No Finding', ), '',
                                                    None))
                im.breast_birads = str(rng.choice(['BI-RADS 1',
                                                   'BI-RADS 2']))
            else:
                im.breast_birads = max(f.birads for f in im.findings)
            im.dicom_path = osp.join(folder, im.image_id + '.dicom')
            _write_dicom(im.dicom_path, pixels, seed, im, maker[0], maker[2])
            images.append(im)
    _write_csvs(root, images)
    return images


def make_vindr_placeholder_layout(out_dir: str, num_images: int = 20000,
                                  seed: int = 0,
                                  release_name: str = 'vindr-mammo'
                                  ) -> str:
    """The CSVs of a VinDr-Mammo-sized release with empty DICOM files.

    For timing the dataset build: rows as the real release has them (four
    images a study, about 11 % of images with 1-2 boxes, the rest one
    ``No Finding`` row), and a zero-byte ``.dicom`` file for each image.

    Args:
        out_dir (str): Parent folder.
        num_images (int): Images (rounded up to whole studies). Defaults to
            20000.
        seed (int): Random seed.
        release_name (str): Folder name of the release.

    Returns:
        str: The release folder.
    """
    rng = np.random.default_rng(seed)
    root = osp.join(out_dir, release_name)
    os.makedirs(osp.join(root, IMAGE_DIR), exist_ok=True)
    images = []
    for s in range((num_images + 3) // 4):
        study_id = _hex(rng)
        os.makedirs(osp.join(root, IMAGE_DIR, study_id), exist_ok=True)
        split = 'test' if s % 5 == 4 else 'training'
        for side in ('L', 'R'):
            series_id = _hex(rng)
            for view in ('CC', 'MLO'):
                w, h = VINDR_SIZES[0]
                im = SyntheticVinDrImage(
                    image_id=_hex(rng), study_id=study_id,
                    series_id=series_id, laterality=side, view=view,
                    width=w, height=h, photometric='MONOCHROME2',
                    split=split, breast_birads='BI-RADS 1',
                    density='DENSITY C', dicom_path='')
                if rng.random() < 0.11:
                    for _ in range(int(rng.choice([1, 2], p=[0.8, 0.2]))):
                        x1, y1 = rng.uniform(0, w - 400), rng.uniform(0,
                                                                      h - 400)
                        bw, bh = rng.uniform(50, 400, size=2)
                        cats = FINDING_COMBOS[int(rng.integers(
                            len(FINDING_COMBOS)))]
                        im.findings.append(SyntheticFinding(
                            cats, str(rng.choice(FINDING_BIRADS)),
                            [x1, y1, x1 + bw, y1 + bh]))
                    im.breast_birads = max(f.birads for f in im.findings)
                else:
                    im.findings.append(SyntheticFinding(('No Finding', ), '',
                                                        None))
                im.dicom_path = osp.join(root, IMAGE_DIR, study_id,
                                         im.image_id + '.dicom')
                open(im.dicom_path, 'wb').close()
                images.append(im)
    _write_csvs(root, images)
    return root
