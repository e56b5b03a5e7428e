"""tools/make_synthetic_inbreast.py --layout vindr and
tools/split_patients.py on a VinDr-Mammo layout (study-grouped splits,
--ratios, --val-fraction, --folds, --official-split), run in-process with
``runpy``. The release is read back here with the csv module."""
import csv
import filecmp
import os
import os.path as osp
import runpy
import sys
from pathlib import Path

import pytest

from mmdet_inbreast.datasets.records import read_key_file
from mmdet_inbreast.datasets.synthetic_vindr import make_synthetic_vindr

REPO = Path(__file__).resolve().parents[2]


def run_tool_here(name, *args, monkeypatch, capsys):
    """Run ``tools/<name>`` as ``__main__`` in this process; (stdout,
    stderr, exit code)."""
    monkeypatch.setattr(sys, 'argv', [name] + [str(a) for a in args])
    code = 0
    try:
        runpy.run_path(str(REPO / 'tools' / name), run_name='__main__')
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return out.out, out.err, code


def breast_rows(root):
    """image_id -> (study_id, split) from breast-level_annotations.csv."""
    with open(osp.join(root, 'breast-level_annotations.csv'),
              newline='') as f:
        return {r['image_id']: (r['study_id'], r['split'])
                for r in csv.DictReader(f)}


def read(path):
    return read_key_file(str(path), r'[0-9a-f]{32}')


@pytest.fixture(scope='module')
def vindr_release(tmp_path_factory):
    """10 studies (40 images, 8 studies in the official training split)
    written by the tool, checked against a direct call."""
    out = tmp_path_factory.mktemp('vindr_tools')
    mp = pytest.MonkeyPatch()
    argv = ['make_synthetic_inbreast.py', str(out), '--layout', 'vindr',
            '--num-patients', '10', '--scale', '0.03125', '--seed', '4',
            '--mass-fraction', '0.5']
    mp.setattr(sys, 'argv', argv)
    try:
        from contextlib import redirect_stdout
        from io import StringIO
        buf = StringIO()
        with redirect_stdout(buf):
            runpy.run_path(str(REPO / 'tools' / 'make_synthetic_inbreast.py'),
                           run_name='__main__')
    finally:
        mp.undo()
    root = str(out / 'vindr-mammo')
    return root, buf.getvalue(), str(out)


def test_make_synthetic_vindr_layout(vindr_release, tmp_path):
    root, stdout, _ = vindr_release
    rows = breast_rows(root)
    assert len(rows) == 40
    assert len({s for s, _ in rows.values()}) == 10
    n_test = sum(1 for _, split in rows.values() if split == 'test')
    assert n_test == 8  # every fifth study: 2 studies of 4 images
    assert stdout.startswith('wrote 40 images (')
    assert (f'10 studies, {n_test} images in the official test split) to '
            f'{root}') in stdout
    for image_id, (study, _) in rows.items():
        assert osp.isfile(osp.join(root, 'images', study,
                                   f'{image_id}.dicom'))
    # The tool writes what make_synthetic_vindr writes with those arguments.
    images = make_synthetic_vindr(str(tmp_path), num_studies=10,
                                  scale=0.03125, seed=4,
                                  finding_fraction=0.5)
    boxes = sum(1 for i in images for f in i.findings if f.box is not None)
    assert f'wrote 40 images ({boxes} boxed findings, ' in stdout
    for name in ('breast-level_annotations.csv', 'finding_annotations.csv'):
        assert filecmp.cmp(osp.join(root, name),
                           osp.join(str(tmp_path), 'vindr-mammo', name),
                           shallow=False)


def test_split_patients_groups_vindr_by_study(vindr_release, tmp_path,
                                              monkeypatch, capsys):
    """Auto-detected layout; --ratios 0.5 0.5 of the official training
    split: no study in both parts, every training image in one part, the
    official test split untouched."""
    root, _, _ = vindr_release
    rows = breast_rows(root)
    training = sorted(k for k, (_, s) in rows.items() if s == 'training')
    out, err, code = run_tool_here(
        'split_patients.py', root, '--ratios', 0.5, 0.5, '--names', 'train',
        'val', '--seed', 2, '--out-dir', tmp_path,
        monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ['split', 'images', 'studies', 'positive',
                                'masses']
    parts = {n: read(tmp_path / f'{n}.txt') for n in ('train', 'val')}
    studies = {n: {rows[k][0] for k in keys} for n, keys in parts.items()}
    assert studies['train'] and studies['val']
    assert not studies['train'] & studies['val']
    assert sorted(parts['train'] + parts['val']) == training
    for line, name in zip(lines[1:3], ('train', 'val')):
        assert line.split()[:3] == [f'{name}.txt', str(len(parts[name])),
                                    str(len(studies[name]))]
    assert lines[3].startswith('scan: 32 images listed, 32 read, ')
    assert lines[3].endswith(', 8 studies')
    assert lines[-1] == f'written to {tmp_path}'
    with open(tmp_path / 'train.txt') as f:
        assert f.readline() == ('# split_patients.py seed=2 ratios=[0.5, '
                                '0.5] layout=vindr official_split=training'
                                '\n')


def test_split_patients_vindr_val_fraction_and_all(vindr_release, tmp_path,
                                                   monkeypatch, capsys):
    """--val-fraction carves val by study out of train; --official-split
    all splits every image, the official test split included."""
    root, _, _ = vindr_release
    rows = breast_rows(root)
    out, err, code = run_tool_here(
        'split_patients.py', root, '--layout', 'vindr', '--official-split',
        'all', '--ratios', 0.7, 0.3, '--names', 'train', 'test',
        '--val-fraction', 0.3, '--out-dir', tmp_path,
        monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    parts = {n: read(tmp_path / f'{n}.txt') for n in ('train', 'val', 'test')}
    assert sorted(sum(parts.values(), [])) == sorted(rows)
    studies = [{rows[k][0] for k in keys} for keys in parts.values()]
    assert all(studies)
    assert sum(len(s) for s in studies) == 10  # no study in two parts
    assert 'scan: 40 images listed, 40 read, ' in out


def test_split_patients_vindr_folds(vindr_release, tmp_path, monkeypatch,
                                    capsys):
    root, _, _ = vindr_release
    rows = breast_rows(root)
    training = sorted(k for k, (_, s) in rows.items() if s == 'training')
    out, err, code = run_tool_here(
        'split_patients.py', root, '--folds', 4, '--val-fraction', 0.25,
        '--out-dir', tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    assert [ln.split()[0] for ln in out.splitlines()[1:13]] == [
        f'fold{k}/{n}.txt' for k in range(4) for n in ('train', 'val',
                                                       'test')]
    tests = [read(tmp_path / f'fold{k}' / 'test.txt') for k in range(4)]
    assert sorted(sum(tests, [])) == training  # held-out parts partition
    for k in range(4):
        fold = {n: read(tmp_path / f'fold{k}' / f'{n}.txt')
                for n in ('train', 'val', 'test')}
        assert sorted(sum(fold.values(), [])) == training
        studies = [{rows[i][0] for i in keys} for keys in fold.values()]
        assert sum(len(s) for s in studies) == 8


def test_split_patients_layout_errors(vindr_release, synthetic_release,
                                      tmp_path, monkeypatch, capsys):
    """--layout vindr on an INbreast release, a missing folder, an unknown
    official split: ``error: <one line>``, exit status 2, nothing
    written."""
    inbreast, _ = synthetic_release
    _, err, code = run_tool_here(
        'split_patients.py', inbreast, '--layout', 'vindr', '--out-dir',
        tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2
    assert err.startswith('error: ' + osp.join(
        inbreast, 'breast-level_annotations.csv') + ': not found; ')
    assert 'Traceback' not in err
    _, err, code = run_tool_here(
        'split_patients.py', str(tmp_path / 'none'), monkeypatch=monkeypatch,
        capsys=capsys)
    assert code == 2 and err.startswith('error: ') and 'not a folder' in err
    root, _, _ = vindr_release
    _, err, code = run_tool_here(
        'split_patients.py', root, '--official-split', 'validation',
        '--out-dir', tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2
    assert "split='validation' is not a value of the 'split' column" in err
    assert not os.listdir(tmp_path)
