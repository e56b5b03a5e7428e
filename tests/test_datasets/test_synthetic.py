"""The synthetic release: determinism, layout, plate sizes, negatives,
point ROIs, name quirks, and mass sizes that follow the real ones."""
import hashlib
import os
import os.path as osp

import numpy as np
import pydicom

from mmdet_inbreast.datasets.inbreast_release import (
    DICOM_NAME_RE, lesion_type, normalize_lesion_name, read_csv, read_xml)
from mmdet_inbreast.datasets.synthetic import (PLATE_SIZES,
                                               make_synthetic_release)


def file_hashes(folder):
    """Relative path -> sha256 of every file under ``folder``."""
    out = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, folder)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out


def test_same_seed_same_bytes(tmp_path):
    kwargs = dict(num_patients=3, scale=1 / 32, mass_fraction=0.5)
    make_synthetic_release(str(tmp_path / 'a'), seed=7, **kwargs)
    make_synthetic_release(str(tmp_path / 'b'), seed=7, **kwargs)
    make_synthetic_release(str(tmp_path / 'c'), seed=8, **kwargs)
    a, b, c = (file_hashes(tmp_path / n) for n in 'abc')
    assert len(a) >= 3 * 2 + 1  # DICOMs, reports, CSV at least
    assert a == b
    assert any(p.endswith('.xml') for p in a)
    # Another seed: other keys and other bytes.
    assert set(a) != set(c)
    assert not set(a.values()) & set(c.values()) - {
        hashlib.sha256(b'Synthetic case: no report.\n').hexdigest()}


def test_layout(synthetic_release):
    root, images = synthetic_release
    assert sorted(os.listdir(root)) == ['AllDICOMs', 'AllROI', 'AllXML',
                                        'INbreast.csv', 'MedicalReports']
    dicoms = sorted(os.listdir(osp.join(root, 'AllDICOMs')))
    assert len(dicoms) == len(images) == 22
    assert all(DICOM_NAME_RE.match(n) for n in dicoms)
    rows = read_csv(osp.join(root, 'INbreast.csv'))
    assert sorted(rows) == sorted(im.file_name for im in images)
    with open(osp.join(root, 'INbreast.csv')) as f:
        text = f.read()
    assert text.startswith('Patient ID;Patient age;Laterality;View;'
                           'Acquisition date;File Name;ACR;Bi-Rads')
    assert ';;;;;;;' in text and text.endswith('\n\n\n')
    assert ' ' in text.replace('Patient ID', '').replace(
        'Patient age', '').replace('Acquisition date', '').replace(
            'File Name', '')  # stray spaces
    assert {r.view for r in rows.values()} == {'CC', 'MLO'}
    # Patients: 4 images (2 sides x 2 views) or 2 (mastectomy).
    per_patient = {}
    for im in images:
        per_patient.setdefault(im.patient_id, []).append(im)
    assert len(per_patient) == 6
    for ims in per_patient.values():
        assert len(ims) in (2, 4)
        assert {im.view for im in ims} == {'CC', 'ML'}
        assert len({(im.width, im.height) for im in ims}) == 1


def test_plate_sizes(synthetic_release):
    """Both plate sizes appear, in the real proportions (w / h of
    3328 x 4084 is 0.815, of 2560 x 3328 0.769), and the DICOM headers
    agree with them."""
    _, images = synthetic_release
    sizes = {(im.width, im.height) for im in images}
    assert sizes == {(208, 255), (160, 208)}  # 1/16 of the two plates
    ratios = sorted({round(w / h, 3) for w, h in sizes})
    real = sorted(w / h for w, h in PLATE_SIZES)
    np.testing.assert_allclose(ratios, real, atol=0.005)
    for im in images[:4]:
        ds = pydicom.dcmread(im.dicom_path)
        assert (ds.Rows, ds.Columns) == (im.height, im.width)
        assert (ds.BitsAllocated, ds.BitsStored) == (16, 14)
        assert ds.PhotometricInterpretation == 'MONOCHROME2'
        px = ds.pixel_array
        assert px.dtype == np.uint16 and px.max() <= 16383
        # Background 0 on the side away from the chest wall.
        far = px[:, -1] if im.laterality == 'R' else px[:, 0]
        near = px[:, 0] if im.laterality == 'R' else px[:, -1]
        assert (far == 0).all() and (near > 0).mean() > 0.5


def test_rois_negatives_and_name_quirks(synthetic_release):
    root, images = synthetic_release
    xml_dir = osp.join(root, 'AllXML')
    with_xml = {osp.splitext(n)[0] for n in os.listdir(xml_dir)}
    # Negatives without XML exist; every image with masses has an XML.
    assert {im.file_name for im in images if im.mass_boxes} <= with_xml
    assert any(im.file_name not in with_xml for im in images)
    names, point_calcs = [], 0
    for key in with_xml:
        im = next(i for i in images if i.file_name == key)
        rois = read_xml(osp.join(xml_dir, key + '.xml'), im.height, im.width)
        names += [r.name for r in rois]
        point_calcs += sum(r.is_point and r.lesion == 'calcification'
                           for r in rois)
        masses = [r for r in rois if r.lesion == 'mass']
        assert len(masses) == len(im.mass_boxes)
        assert all(not r.is_point for r in masses)
    assert point_calcs > 0
    # Every name is known once normalised, and some are written with
    # other case or stray spaces, or a plural, than the canonical type.
    assert all(lesion_type(n) is not None for n in names)
    assert any(n != normalize_lesion_name(n) for n in names)
    assert any(normalize_lesion_name(n) != lesion_type(n) for n in names)


def test_mass_sizes_follow_real_distribution(tmp_path):
    """Real INbreast mass boxes: median sqrt(w h) about 281 px at full
    size. 30 patients at scale 1/16 (about 1.5 s) give some 38 masses."""
    scale = 1 / 16
    images = make_synthetic_release(str(tmp_path), num_patients=30,
                                     scale=scale, seed=0)
    boxes = np.array([b for im in images for b in im.mass_boxes])
    assert len(boxes) >= 20
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    size = np.sqrt(w * h) / scale
    assert 200 < np.median(size) < 380
    assert 0.3 < np.std(np.log(size)) < 0.9
    assert size.max() < 1100  # the real largest is about 980 px
    # About a quarter of the images hold masses (real: 107 of 410).
    frac = np.mean([bool(im.mass_boxes) for im in images])
    assert 0.12 < frac < 0.42
    # Boxes lie inside their images.
    for im in images:
        for x1, y1, x2, y2 in im.mass_boxes:
            assert 0 <= x1 < x2 <= im.width and 0 <= y1 < y2 <= im.height



def test_contrast_scales_the_masses_only(tmp_path):
    """Same seed, contrast 0 / 125 / 250: the same images and boxes, and
    the pixels the masses add grow in proportion to the contrast (the demo
    lowers it to keep its detector off the ceiling)."""
    pixels, boxes = {}, {}
    for c in (0.0, 125.0, 250.0):
        images = make_synthetic_release(
            str(tmp_path / str(c)), num_patients=3, scale=1 / 16, seed=4,
            mass_fraction=1.0, contrast=c)
        boxes[c] = [i.mass_boxes for i in images]
        pixels[c] = [pydicom.dcmread(i.dicom_path).pixel_array.astype(float)
                     for i in images]
    assert boxes[0.0] == boxes[125.0] == boxes[250.0]
    assert sum(len(b) for b in boxes[0.0]) >= 3
    added = {c: np.concatenate([(a - z).ravel() for a, z in
                                zip(pixels[c], pixels[0.0])])
             for c in (125.0, 250.0)}
    # Outside the masses nothing changes (a mass never reaches the
    # 14-bit ceiling at these contrasts).
    inside = added[250.0] > 0
    assert inside.any() and (added[125.0][~inside] == 0).all()
    # Inside, twice the contrast adds twice the brightness (to rounding).
    big = added[250.0] > 50
    ratio = added[250.0][big] / added[125.0][big]
    assert np.abs(ratio - 2).max() < 0.05
    assert added[250.0].max() <= 250 * 1.2 + 1


def test_lesions_placed_inside_the_breast_and_apart():
    from mmdet_inbreast.datasets.synthetic_draw import (overlap, place_lesion,
                                                        tissue)
    rng = np.random.default_rng(0)
    img, inside, extent = tissue(rng, 400, 320, 'L', 0.25)
    before = img.copy()
    taken = []
    for _ in range(4):
        placed = place_lesion(rng, img, extent, 'L', 0.25, taken, 400.0)
        if placed is None:
            continue
        pts, box = placed
        x1, y1, x2, y2 = box
        assert 0 <= x1 < x2 <= 319 and 0 <= y1 < y2 <= 399
        assert box == [pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(),
                       pts[:, 1].max()]
        assert not any(overlap(box, b) for b in taken)
        # Drawn inside the breast (L: chest wall on the right), brighter.
        cy, cx = int((y1 + y2) / 2), int((x1 + x2) / 2)
        assert inside[cy, cx]
        assert img[cy, cx] - before[cy, cx] > 100
        taken.append(box)
    assert len(taken) >= 2
