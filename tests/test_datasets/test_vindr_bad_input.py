"""Bad input in a VinDr-Mammo release: each problem is one line naming the
file and the row; the default skips and reports, ``strict=True`` raises.
(CSV height/width disagreeing with the DICOM: test_vindr_mammo.py.)"""
from __future__ import annotations

import csv
import os
import os.path as osp
import shutil

import pytest

from mmdet_inbreast.datasets import VinDrMammoDataset
from mmdet_inbreast.datasets.synthetic_vindr import make_synthetic_vindr
from mmdet_inbreast.datasets.vindr_release import (VinDrReleaseError,
                                                   parse_categories)
from mmdet_inbreast.utils.errors import InputError

BREAST = 'breast-level_annotations.csv'
FINDING = 'finding_annotations.csv'


@pytest.fixture(scope='module')
def vindr(tmp_path_factory):
    out = tmp_path_factory.mktemp('vindr_bad')
    images = make_synthetic_vindr(str(out), num_studies=3, seed=1)
    return str(out / 'vindr-mammo'), images


def edit(root: str, name: str, change) -> None:
    path = osp.join(root, name)
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    rows = change(rows[0], rows)
    with open(path, 'w', newline='') as f:
        csv.writer(f, lineterminator='\n').writerows(rows)


def first_mass_row(header, rows) -> int:
    col = header.index('finding_categories')
    return next(i for i, r in enumerate(rows) if 'Mass' in r[col])


def box_outside(header, rows):
    i = first_mass_row(header, rows)
    rows[i][header.index('xmax')] = str(float(rows[i][header.index('width')])
                                        + 50)
    return rows


def unknown_category(header, rows):
    i = first_mass_row(header, rows)
    rows[i][header.index('finding_categories')] = "['Mass', 'Calcified Blob']"
    return rows


def malformed_categories(header, rows):
    i = first_mass_row(header, rows)
    rows[i][header.index('finding_categories')] = "['Mass'"
    return rows


def duplicate_breast_row(header, rows):
    return rows[:3] + [rows[2]] + rows[3:]


def duplicate_finding_row(header, rows):
    i = first_mass_row(header, rows)
    return rows[:i + 1] + [rows[i]] + rows[i + 1:]


def malformed_box(header, rows):
    i = first_mass_row(header, rows)
    rows[i][header.index('ymin')] = 'abc'
    return rows


def mass_line_and_image(root):
    with open(osp.join(root, FINDING), newline='') as f:
        rows = list(csv.reader(f))
    i = first_mass_row(rows[0], rows)
    return i + 1, rows[i][rows[0].index('image_id')]


# (name, file edited, edit, file named in the message, expected message
#  part, image skipped?, summary reason)
CASES = [
    ('box outside the image', FINDING, box_outside, FINDING,
     'outside the', True, 'box outside the image'),
    ('unknown category', FINDING, unknown_category, FINDING,
     "unknown finding category 'Calcified Blob'", False, None),
    ('malformed category list', FINDING, malformed_categories, FINDING,
     'finding_categories', True, 'malformed finding_categories'),
    ('duplicate finding row', FINDING, duplicate_finding_row, FINDING,
     'repeats line', False, None),
    ('malformed box', FINDING, malformed_box, FINDING, 'not four numbers',
     True, 'malformed box'),
]


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_finding_problems(vindr, tmp_path, case):
    _, name, change, named, part, skipped, reason = case
    root = str(tmp_path / 'vindr-mammo')
    shutil.copytree(vindr[0], root)
    line, image_id = mass_line_and_image(root)
    edit(root, name, change)
    if change is duplicate_finding_row:
        line += 1  # the copy
    ds = VinDrMammoDataset(data_root=root)
    problems = ds.scan_report.problems
    assert len(problems) == 1, problems
    assert f'{osp.join(root, named)}:{line}: ' in problems[0]
    assert part in problems[0]
    assert '\n' not in problems[0]
    ids = [ds.get_data_info(i)['file_name'] for i in range(len(ds))]
    assert (image_id not in ids) == skipped
    if skipped:
        assert ds.scan_report.skipped == {reason: [image_id]}
        assert len(ds) == len(vindr[1]) - 1
    else:
        info = ds.get_data_info(ids.index(image_id))
        expected = [f.box for im in vindr[1] if im.image_id == image_id
                    for f in im.findings if f.box and 'Mass' in f.categories]
        assert [x['bbox'] for x in info['instances']] == expected
    with pytest.raises(VinDrReleaseError) as e:
        VinDrMammoDataset(data_root=root, strict=True)
    assert f'{osp.join(root, named)}:{line}: ' in str(e.value)
    assert isinstance(e.value, InputError)


def test_duplicate_breast_row(vindr, tmp_path):
    root = str(tmp_path / 'vindr-mammo')
    shutil.copytree(vindr[0], root)
    edit(root, BREAST, duplicate_breast_row)
    image_id = vindr[1][1].image_id  # data row 2 = line 3, copy on line 4
    ds = VinDrMammoDataset(data_root=root)
    assert ds.scan_report.skipped == {'duplicate CSV row': [image_id]}
    assert ds.scan_report.problems == [
        f'{osp.join(root, BREAST)}: image_id {image_id} on lines [3, 4]; '
        'the image is left out: remove all but one of these rows']
    assert image_id not in [ds.get_data_info(i)['file_name']
                            for i in range(len(ds))]
    assert len(ds) == len(vindr[1]) - 1
    with pytest.raises(VinDrReleaseError, match=r'on lines \[3, 4\]'):
        VinDrMammoDataset(data_root=root, strict=True)


def test_row_without_dicom(vindr, tmp_path):
    root = str(tmp_path / 'vindr-mammo')
    shutil.copytree(vindr[0], root)
    im = vindr[1][5]
    os.remove(osp.join(root, 'images', im.study_id, im.image_id + '.dicom'))
    ds = VinDrMammoDataset(data_root=root)
    assert ds.scan_report.skipped == {'CSV row without DICOM': [im.image_id]}
    (problem, ) = ds.scan_report.problems
    assert problem.startswith(f'{osp.join(root, BREAST)}:7: image '
                              f'{im.image_id} has no DICOM file')
    with pytest.raises(VinDrReleaseError, match=f'{BREAST}:7: '):
        VinDrMammoDataset(data_root=root, strict=True)


def test_missing_release_files(tmp_path):
    with pytest.raises(VinDrReleaseError, match=BREAST):
        VinDrMammoDataset(data_root=str(tmp_path))
    with pytest.raises(VinDrReleaseError, match='not a folder'):
        VinDrMammoDataset(data_root=str(tmp_path / 'nowhere'))


@pytest.mark.parametrize('text,expected', [
    ("['Mass']", ('Mass', )),
    ("['Mass', 'Skin Retraction']", ('Mass', 'Skin Retraction')),
    ('["No Finding"]', ('No Finding', )),
])
def test_parse_categories(text, expected):
    assert parse_categories(text) == expected


@pytest.mark.parametrize('text', [
    "['Mass'", 'Mass', '[]', '[1, 2]', "__import__('os').system('true')",
    "{'Mass'}", ''])
def test_parse_categories_refuses(text):
    with pytest.raises(ValueError):
        parse_categories(text)


def test_skipped_images_count_in_their_split_only(tmp_path):
    images = make_synthetic_vindr(str(tmp_path), num_studies=5, seed=1)
    vindr = (str(tmp_path / 'vindr-mammo'), images)
    root = vindr[0]
    edit(root, BREAST, duplicate_breast_row)
    image_id = vindr[1][1].image_id
    assert vindr[1][1].split == 'training'
    n_train = sum(1 for im in vindr[1] if im.split == 'training')
    train = VinDrMammoDataset(data_root=root, split='training')
    assert train.scan_report.listed == n_train
    assert train.scan_report.skipped == {'duplicate CSV row': [image_id]}
    assert len(train) == n_train - 1
    test = VinDrMammoDataset(data_root=root, split='test')
    assert test.scan_report.listed == len(vindr[1]) - n_train == len(test)
    assert test.scan_report.skipped == {}
    assert len(test.scan_report.problems) == 1  # the file's problem, named
