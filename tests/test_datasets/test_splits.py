"""Patient-grouped, stable splits, folds and split files."""
import os.path as osp

import numpy as np
import pytest

from mmdet_inbreast.datasets.inbreast_release import ImageRecord, scan_release
from mmdet_inbreast.datasets.splits import (carve_val, describe_split,
                                            group_patients, make_folds,
                                            patient_u, read_split_file,
                                            split_by_ratios, split_folds,
                                            write_split)


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


def part_of_patients(records, parts):
    patient_of = {r.file_name: r.patient_id for r in records}
    out = {}
    for i, part in enumerate(parts):
        for k in part:
            assert out.setdefault(patient_of[k], i) == i  # no straddling
    return out


def test_patient_u_is_a_hash_of_seed_and_id():
    assert patient_u('0a1b2c3d4e5f6789', 0) == patient_u('0a1b2c3d4e5f6789')
    assert patient_u('0a1b2c3d4e5f6789', 1) != patient_u('0a1b2c3d4e5f6789')
    assert patient_u('x', 0, 'val') != patient_u('x', 0, 'part')
    u = [patient_u(f'{p:016x}') for p in range(2000)]
    assert 0 <= min(u) and max(u) < 1
    # Uniform: each tenth of [0, 1) holds 200 +- 4 sd.
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.all(np.abs(counts - 200) < 4 * np.sqrt(2000 * 0.1 * 0.9))


def test_parts_follow_the_hash_thresholds():
    records = make_records(num_patients=60)
    ratios = (0.7, 0.1, 0.2)
    parts = split_by_ratios(records, ratios, seed=3)
    part = part_of_patients(records, parts)
    for p, i in part.items():
        u = patient_u(p, 3)
        assert [0, 0.7, 0.8, 1.0][i] <= u < [0.7, 0.8, 1.0, 1.0][i], (p, u)
    # Every image in exactly one part, record order within a part.
    keys = [r.file_name for r in records]
    assert sorted(sum(parts, [])) == sorted(keys)
    for p in parts:
        assert p == [k for k in keys if k in set(p)]


def test_a_patient_keeps_its_part_when_another_leaves_or_joins():
    records = make_records(num_patients=60)
    for seed in (0, 1):
        base = part_of_patients(
            records, split_by_ratios(records, (0.7, 0.1, 0.2), seed))
        patients = sorted(base)
        for gone in patients:
            rest = [r for r in records if r.patient_id != gone]
            now = part_of_patients(
                rest, split_by_ratios(rest, (0.7, 0.1, 0.2), seed))
            assert now == {p: i for p, i in base.items() if p != gone}
        # A new patient joins: nobody else moves.
        extra = records + [ImageRecord(
            file_name='99999999', patient_id='ffffffffffffffff', img_path='',
            height=10, width=10, laterality='L', view='CC', birads='1',
            birads_category=1, acr=1)]
        now = part_of_patients(
            extra, split_by_ratios(extra, (0.7, 0.1, 0.2), seed))
        del now['ffffffffffffffff']
        assert now == base


def test_one_dropped_image_moves_nobody():
    """A broken file of a patient with other images: that patient and all
    others keep their parts."""
    records = make_records(num_patients=30)
    base = split_by_ratios(records, (0.5, 0.25, 0.25))
    dropped = records[5].file_name
    rest = [r for r in records if r.file_name != dropped]
    now = split_by_ratios(rest, (0.5, 0.25, 0.25))
    assert now == [[k for k in p if k != dropped] for p in base]


def test_small_release_gets_every_part_and_a_positive_in_each():
    # 6 patients, 2 with masses: without the repair a 0.1 part would
    # usually be empty.
    records = make_records(num_patients=6, positive_every=3)
    _, positive = group_patients(records)
    for seed in range(20):
        parts = split_by_ratios(records, (0.7, 0.1, 0.2), seed)
        assert all(parts)
        part = part_of_patients(records, parts)
        with_mass = {i for p, i in part.items() if positive[p]}
        assert len(with_mass) == 2  # the 2 positives are in 2 parts
    records = make_records(num_patients=9, positive_every=3)  # 3 positives
    _, positive = group_patients(records)
    for seed in range(20):
        part = part_of_patients(
            records, split_by_ratios(records, (0.7, 0.1, 0.2), seed))
        assert {i for p, i in part.items() if positive[p]} == {0, 1, 2}


def test_seeded_determinism():
    records = make_records()
    a = split_by_ratios(records, (0.7, 0.1, 0.2), seed=0)
    b = split_by_ratios(records, (0.7, 0.1, 0.2), seed=0)
    c = split_by_ratios(records, (0.7, 0.1, 0.2), seed=1)
    assert a == b and a != c


def test_folds_partition_patients():
    records = make_records(num_patients=23, positive_every=3)
    folds = split_folds(records, 5, seed=2)
    assert len(folds) == 5 and all(folds)
    keys = sorted(r.file_name for r in records)
    assert sorted(sum(folds, [])) == keys
    part = part_of_patients(records, folds)
    assert len(part) == 23
    _, positive = group_patients(records)
    assert {i for p, i in part.items() if positive[p]} == set(range(5))
    with pytest.raises(ValueError, match='folds must be >= 2, got 1'):
        split_folds(records, 1)


def test_make_folds():
    records = make_records(num_patients=48, positive_every=3)
    _, positive = group_patients(records)
    patient_of = {r.file_name: r.patient_id for r in records}
    folds = make_folds(records, 4, seed=1, val_fraction=0.125)
    assert len(folds) == 4
    all_keys = sorted(patient_of)
    tests = [f['test'] for f in folds]
    assert sorted(sum(tests, [])) == all_keys  # each image in one test
    assert tests == split_folds(records, 4, seed=1)
    for f in folds:
        assert set(f) == {'train', 'val', 'test'}
        assert sorted(f['train'] + f['val'] + f['test']) == all_keys
        sets = {n: {patient_of[k] for k in f[n]} for n in f}
        assert not sets['train'] & sets['val']
        assert not sets['train'] & sets['test']
        assert not sets['val'] & sets['test']
        assert any(positive[p] for p in sets['val'])
        assert any(positive[p] for p in sets['test'])
        pool = sets['train'] | sets['val']
        # val is the patients of the pool whose 'val' hash is under 1/8
        # (no repair needed at this size).
        assert sets['val'] == {p for p in pool
                               if patient_u(p, 1, 'val') < 0.125}
        assert 0.03 < len(sets['val']) / len(pool) < 0.3
    # Stable: a patient removed, every other keeps test fold and val/train.
    gone = sorted(positive)[7]
    rest = [r for r in records if r.patient_id != gone]
    again = make_folds(rest, 4, seed=1, val_fraction=0.125)
    for f, g in zip(folds, again):
        for n in f:
            assert g[n] == [k for k in f[n] if patient_of[k] != gone]


def test_carve_val_small_pool_keeps_one_of_each():
    records = make_records(num_patients=5, positive_every=2)  # 3 positives
    keys = [r.file_name for r in records]
    _, positive = group_patients(records)
    patient_of = {r.file_name: r.patient_id for r in records}
    for seed in range(10):
        train, val = carve_val(records, keys, 0.125, seed)
        assert sorted(train + val) == sorted(keys)
        assert any(positive[patient_of[k]] for k in val)
        assert any(positive[patient_of[k]] for k in train)
    assert carve_val(records, keys, 0.0) == (keys, [])
    with pytest.raises(ValueError, match='val_fraction'):
        carve_val(records, keys, 1.0)


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
    root, images = synthetic_release
    records, _ = scan_release(root)
    keys = [im.file_name for im in images[:6]]
    d = describe_split(records, keys)
    assert d == dict(
        images=6, patients=len({im.patient_id for im in images[:6]}),
        positive_images=sum(bool(im.mass_boxes) for im in images[:6]),
        masses=sum(len(im.mass_boxes) for im in images[:6]))


# ------------------------------------------------- tools/split_patients.py
def run_split_tool(*args, capsys):
    """Run tools/split_patients.py in this process; (exit code, stdout,
    stderr)."""
    import runpy
    import sys
    from pathlib import Path
    from unittest import mock
    tool = Path(__file__).resolve().parents[2] / 'tools' / 'split_patients.py'
    capsys.readouterr()
    code = 0
    with mock.patch.object(sys, 'argv', [str(tool)] + [str(a) for a in args]):
        try:
            runpy.run_path(str(tool), run_name='__main__')
        except SystemExit as e:
            code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def release_copy(synthetic_release, tmp_path):
    import shutil
    src, images = synthetic_release
    root = tmp_path / 'INbreast Release 1.0'
    shutil.copytree(src, root)
    return root, images


def test_tool_val_fraction_carves_val_from_train(release_copy, tmp_path,
                                                 capsys):
    root, _ = release_copy
    plain, carved = tmp_path / 'plain', tmp_path / 'carved'
    code, out, _ = run_split_tool(root, '--ratios', 0.8, 0.2, '--names',
                                  'train', 'test', '--out-dir', plain,
                                  capsys=capsys)
    assert code == 0 and sorted(p.name for p in plain.iterdir()) == [
        'test.txt', 'train.txt']
    code, out, _ = run_split_tool(root, '--ratios', 0.8, 0.2, '--names',
                                  'train', 'test', '--val-fraction', 0.125,
                                  '--out-dir', carved, capsys=capsys)
    assert code == 0
    assert [ln.split()[0] for ln in out.splitlines()[1:4]] == [
        'train.txt', 'val.txt', 'test.txt']
    read = {d: {n: read_split_file(str(d / f'{n}.txt'))
                for n in ('train', 'val', 'test') if (d / f'{n}.txt').exists()}
            for d in (plain, carved)}
    # test is untouched (the 8:2 train:test assignment stays), val comes out
    # of train only, by patient.
    assert read[carved]['test'] == read[plain]['test']
    assert read[carved]['val']
    assert sorted(read[carved]['train'] + read[carved]['val']) == sorted(
        read[plain]['train'])
    records, _ = scan_release(str(root))
    patient_of = {r.file_name: r.patient_id for r in records}
    assert not ({patient_of[k] for k in read[carved]['val']}
                & {patient_of[k] for k in read[carved]['train']})
    with open(carved / 'val.txt') as f:
        assert f.readline() == ('# split_patients.py seed=0 ratios=[0.8, '
                                '0.2] val_fraction=0.125\n')


def test_tool_folds_write_train_val_test(release_copy, tmp_path, capsys):
    root, _ = release_copy
    code, out, _ = run_split_tool(root, '--folds', 3, '--out-dir', tmp_path,
                                  capsys=capsys)
    assert code == 0
    assert [ln.split()[0] for ln in out.splitlines()[1:10]] == [
        f'fold{k}/{n}.txt' for k in range(3) for n in ('train', 'val',
                                                       'test')]
    records, _ = scan_release(str(root))
    expected = make_folds(records, 3, 0, 0.125)
    for k in range(3):
        for n in ('train', 'val', 'test'):
            assert read_split_file(str(tmp_path / f'fold{k}' / f'{n}.txt')) \
                == expected[k][n]


def test_tool_names_dropped_images_and_keeps_assignment(release_copy,
                                                        tmp_path, capsys):
    root, images = release_copy
    clean = tmp_path / 'clean'
    code, _, _ = run_split_tool(root, '--ratios', 0.5, 0.5, '--names', 'a',
                                'b', '--out-dir', clean, capsys=capsys)
    assert code == 0
    # One image broken, one orphan XML.
    victim = images[7]
    path = root / 'AllDICOMs' / osp.basename(victim.dicom_path)
    path.write_bytes(path.read_bytes()[:-300])
    (root / 'AllXML' / '99999999.xml').write_text('<plist/>')
    broken = tmp_path / 'broken'
    code, out, _ = run_split_tool(root, '--ratios', 0.5, 0.5, '--names', 'a',
                                  'b', '--out-dir', broken, capsys=capsys)
    assert code == 0
    lines = out.splitlines()
    assert '2 image(s) or file(s) left out of the splits:' in lines
    assert f'  unusable DICOM (1): {victim.file_name}' in lines
    assert '  XML without CSV row (1): 99999999' in lines
    assert any(ln.startswith('scan: 22 images listed, 21 read, ')
               for ln in lines)
    for n in ('a', 'b'):
        before = read_split_file(str(clean / f'{n}.txt'))
        after = read_split_file(str(broken / f'{n}.txt'))
        assert after == [k for k in before if k != victim.file_name]


def test_tool_input_errors_are_one_line(release_copy, capsys):
    root, _ = release_copy
    code, out, err = run_split_tool(root, '--ratios', 0.5, 0.5, '--names',
                                    'a', capsys=capsys)
    assert code == 2
    assert err.splitlines()[0] == ('error: --ratios has 2 values but '
                                   '--names 1; give one name per ratio')
    code, _, err = run_split_tool(root, '--ratios', 0.6, 0.2, 0.2,
                                  '--val-fraction', 0.1, capsys=capsys)
    assert code == 2 and 'do not also name a val split' in err
