"""The synthetic VinDr-Mammo writer: layout, determinism, placeholders."""
import csv
import filecmp
import os
import os.path as osp

from mmdet_inbreast.datasets.synthetic_vindr import (
    make_synthetic_vindr, make_vindr_placeholder_layout)


def _files(root):
    return sorted(osp.relpath(osp.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)


def test_layout_and_determinism(tmp_path):
    a = make_synthetic_vindr(str(tmp_path / 'a'), num_studies=5, seed=3)
    b = make_synthetic_vindr(str(tmp_path / 'b'), num_studies=5, seed=3)
    c = make_synthetic_vindr(str(tmp_path / 'c'), num_studies=5, seed=4)
    ra, rb = str(tmp_path / 'a' / 'vindr-mammo'), str(tmp_path / 'b' /
                                                      'vindr-mammo')
    files = _files(ra)
    assert files == _files(rb)
    assert len([f for f in files if f.endswith('.dicom')]) == 20
    match, mismatch, errors = filecmp.cmpfiles(ra, rb, files, shallow=False)
    assert mismatch == [] and errors == []
    assert [i.image_id for i in a] == [i.image_id for i in b]
    assert [i.image_id for i in a] != [i.image_id for i in c]
    for im in a:
        assert im.dicom_path == osp.join(ra, 'images', im.study_id,
                                         im.image_id + '.dicom')
        assert len(im.image_id) == len(im.study_id) == 32
    # 4 views a study, one split per study, every 5th study in 'test'.
    studies = {}
    for im in a:
        studies.setdefault(im.study_id, []).append(im)
    assert all(sorted((i.laterality, i.view) for i in v) == [
        ('L', 'CC'), ('L', 'MLO'), ('R', 'CC'), ('R', 'MLO')]
        for v in studies.values())
    assert [v[0].split for v in studies.values()] == ['training'] * 4 + [
        'test']
    assert {im.photometric for im in a} == {'MONOCHROME1', 'MONOCHROME2'}
    assert a[0].findings[0].categories == ('Mass', 'Suspicious Calcification')
    with open(osp.join(ra, 'finding_annotations.csv'), newline='') as f:
        rows = list(csv.DictReader(f))
    no_finding = [r for r in rows if r['finding_categories'] ==
                  "['No Finding']"]
    assert no_finding and all(r['xmin'] == '' and r['finding_birads'] == ''
                              for r in no_finding)
    boxed = [r for r in rows if r['xmin']]
    assert len(boxed) == sum(1 for im in a for f in im.findings if f.box)
    for r in boxed:
        assert 0 <= float(r['xmin']) < float(r['xmax']) <= int(r['width'])
        assert 0 <= float(r['ymin']) < float(r['ymax']) <= int(r['height'])


def test_placeholder_layout(tmp_path):
    root = make_vindr_placeholder_layout(str(tmp_path), num_images=40)
    with open(osp.join(root, 'breast-level_annotations.csv')) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 40
    for r in rows:
        path = osp.join(root, 'images', r['study_id'], r['image_id'] +
                        '.dicom')
        assert osp.getsize(path) == 0
