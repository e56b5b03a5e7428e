"""Patient-grouped, mass-stratified splits and folds."""
import os.path as osp

import numpy as np
import pytest

from mmdet_inbreast.datasets.release import ImageRecord, read_split_file
from mmdet_inbreast.datasets.splits import (_allocate, describe_split,
                                            group_patients, split_by_ratios,
                                            split_folds, write_split)


def make_records(num_patients=40, positive_every=4, seed=0):
    """4 images per patient (2 for every 5th), masses on one image of
    every ``positive_every``-th patient."""
    rng = np.random.default_rng(seed)
    records, key = [], 20000000
    for p in range(num_patients):
        pid = f'{p:016x}'
        for i in range(2 if p % 5 == 4 else 4):
            key += int(rng.integers(1, 100))
            boxes = [([1.0, 2.0, 30.0, 40.0], 'mass')] if (
                p % positive_every == 0 and i == 1) else []
            records.append(ImageRecord(
                file_name=str(key), patient_id=pid, img_path='', height=10,
                width=10, laterality='R', view='CC', birads='2',
                birads_category=2, acr=1, boxes=boxes))
    return records


@pytest.mark.parametrize('n, ratios, expected', [
    (10, (0.7, 0.1, 0.2), [7, 1, 2]),
    (7, (0.7, 0.1, 0.2), [5, 1, 1]),  # 4.9, 0.7, 1.4: remainders .9, .7
    (3, (0.7, 0.1, 0.2), [2, 0, 1]),  # 2.1, 0.3, 0.6
    (116, (0.7, 0.1, 0.2), [81, 12, 23]),  # 81.2, 11.6, 23.2
    (5, (1, 1, 1), [2, 2, 1]),
    (0, (0.5, 0.5), [0, 0]),
    (9, (2, 0, 1), [6, 0, 3]),
])
def test_allocate_largest_remainder(n, ratios, expected):
    assert _allocate(n, ratios) == expected
    assert sum(_allocate(n, ratios)) == n


def test_patients_never_straddle_and_stratified():
    records = make_records()
    images, positive = group_patients(records)
    assert len(images) == 40 and sum(positive.values()) == 10
    parts = split_by_ratios(records, (0.7, 0.1, 0.2), seed=3)
    patient_of = {r.file_name: r.patient_id for r in records}
    sets = [{patient_of[k] for k in part} for part in parts]
    for i in range(3):
        for j in range(i + 1, 3):
            assert not sets[i] & sets[j]
    # Every image in exactly one part; record order kept within a part.
    keys = [r.file_name for r in records]
    assert sorted(sum(parts, [])) == sorted(keys)
    for part in parts:
        assert part == [k for k in keys if k in set(part)]
    # Patient counts by largest remainder, separately for the 10 patients
    # with masses (7, 1, 2) and the 30 without (21, 3, 6).
    assert [len(s) for s in sets] == [28, 4, 8]
    assert [sum(positive[p] for p in s) for s in sets] == [7, 1, 2]
    assert [describe_split(records, p)['positive_images'] for p in parts] \
        == [7, 1, 2]


def test_seeded_determinism():
    records = make_records()
    a = split_by_ratios(records, (0.7, 0.1, 0.2), seed=0)
    b = split_by_ratios(records, (0.7, 0.1, 0.2), seed=0)
    c = split_by_ratios(records, (0.7, 0.1, 0.2), seed=1)
    assert a == b and a != c


def test_folds_partition_patients():
    records = make_records(num_patients=23, positive_every=3)
    folds = split_folds(records, 5, seed=2)
    assert len(folds) == 5
    keys = sorted(r.file_name for r in records)
    assert sorted(sum(folds, [])) == keys
    patient_of = {r.file_name: r.patient_id for r in records}
    fold_patients = [{patient_of[k] for k in f} for f in folds]
    assert sum(len(s) for s in fold_patients) == 23  # disjoint
    # 8 positive patients over 5 folds: 2, 2, 2, 1, 1 in some order.
    _, positive = group_patients(records)
    assert sorted(sum(positive[p] for p in s) for s in fold_patients) == [
        1, 1, 2, 2, 2]
    with pytest.raises(ValueError, match='folds must be >= 2, got 1'):
        split_folds(records, 1)


@pytest.mark.parametrize('ratios', [(), (0.5, -0.1), (0, 0)])
def test_bad_ratios(ratios):
    with pytest.raises(ValueError, match='ratios must be >= 0'):
        split_by_ratios(make_records(4), ratios)


def test_write_and_read_back(tmp_path):
    path = str(tmp_path / 'splits' / 'train.txt')
    write_split(path, ['22678622', '22678646'], header='seed=0\nratios=x')
    with open(path) as f:
        assert f.read() == '# seed=0\n# ratios=x\n22678622\n22678646\n'
    assert read_split_file(path) == ['22678622', '22678646']
    assert osp.isdir(tmp_path / 'splits')


def test_describe_split(synthetic_release):
    from mmdet_inbreast.datasets.release import scan_release
    root, images = synthetic_release
    records, _ = scan_release(root)
    keys = [im.file_name for im in images[:6]]
    d = describe_split(records, keys)
    assert d == dict(
        images=6, patients=len({im.patient_id for im in images[:6]}),
        positive_images=sum(bool(im.mass_boxes) for im in images[:6]),
        masses=sum(len(im.mass_boxes) for im in images[:6]))
