"""Run the data tools once each on a tiny release: split_patients and
compute_stats in subprocesses (start-up and arguments as a user runs
them), make_synthetic_inbreast, split_patients --folds and
benchmark_pipeline in-process with ``runpy`` (faster; no timing asserts)."""
import json
import os
import os.path as osp
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmdet_inbreast.datasets.release import read_split_file, scan_release
from mmdet_inbreast.datasets.transforms.loading import read_dicom_pixels

REPO = Path(__file__).resolve().parents[2]


def run_tool_here(name, *args, monkeypatch, capsys):
    """Run ``tools/<name>`` as ``__main__`` in this process; its stdout."""
    monkeypatch.setattr(sys, 'argv', [name] + [str(a) for a in args])
    runpy.run_path(str(REPO / 'tools' / name), run_name='__main__')
    return capsys.readouterr().out


def run_tool(name, *args):
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / name)] + [str(a) for a in args],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def tool_release(tmp_path, monkeypatch, capsys):
    """A release written by tools/make_synthetic_inbreast.py."""
    out = tmp_path / 'tools'
    stdout = run_tool_here('make_synthetic_inbreast.py', out,
                           '--num-patients', 8, '--scale', 1 / 32, '--seed',
                           3, '--mass-fraction', 0.5,
                           monkeypatch=monkeypatch, capsys=capsys)
    root = out / 'INbreast Release 1.0'
    n = len(os.listdir(root / 'AllDICOMs'))
    assert stdout.startswith(f'wrote {n} images (')
    assert '8 patients) to ' in stdout and str(root) in stdout
    return root


@pytest.mark.slow
def test_split_and_stats_tools(tool_release):
    root = tool_release
    stdout = run_tool('split_patients.py', root, '--ratios', 0.5, 0.25, 0.25,
                      '--seed', 1)
    lines = stdout.splitlines()
    assert lines[0].split() == ['split', 'images', 'patients', 'positive',
                                'masses']
    assert [ln.split()[0] for ln in lines[1:4]] == ['train.txt', 'val.txt',
                                                   'test.txt']
    assert lines[-1] == f'written to {root / "splits"}'
    records, _ = scan_release(str(root))
    patient_of = {r.file_name: r.patient_id for r in records}
    splits = {n: read_split_file(str(root / 'splits' / f'{n}.txt'))
              for n in ('train', 'val', 'test')}
    # The 8 patients are never shared; every image is in one split.
    patients = {n: {patient_of[k] for k in keys}
                for n, keys in splits.items()}
    assert sum(len(p) for p in patients.values()) == 8
    assert len(set().union(*patients.values())) == 8
    assert sorted(sum(splits.values(), [])) == sorted(patient_of)
    for line, (name, keys) in zip(lines[1:4], splits.items()):
        images, n_patients = map(int, line.split()[1:3])
        assert (images, n_patients) == (len(keys), len(patients[name]))
    with open(root / 'splits' / 'train.txt') as f:
        assert f.readline() == '# split_patients.py seed=1 ratios=[0.5, ' \
            '0.25, 0.25]\n'

    # compute_stats on the train split, checked against NumPy.
    out = root / 'splits' / 'train.stats.json'
    stdout = run_tool('compute_stats.py', root, '--split', 'splits/train.txt')
    assert stdout.strip().endswith(f'(0 skipped) -> {out}')
    with open(out) as f:
        stats = json.load(f)
    pixels = [read_dicom_pixels(r.img_path)[0] for r in records
              if r.file_name in set(splits['train'])]
    ref = np.concatenate([p[p != 0] for p in pixels]).astype(np.float64)
    assert stats['num_images'] == len(splits['train'])
    assert stats['num_pixels'] == ref.size
    assert stats['mean'] == pytest.approx(ref.mean(), rel=1e-9)
    assert stats['std'] == pytest.approx(ref.std(), rel=1e-9)
    assert stats['split_file'] == 'splits/train.txt'
    assert stats['command'] == (f'python tools/compute_stats.py "{root}" '
                                '--split splits/train.txt')
    assert f"mean {stats['mean']:.4f}  std {stats['std']:.4f}" in stdout


@pytest.mark.slow
def test_compute_stats_never_clobbers_another_split(tool_release):
    """The command that used to overwrite splits/train_stats.json (every
    config's statistics) with a ratio split's numbers now writes beside
    that split, and --out at another split's file is refused."""
    from mmdet_inbreast.datasets.splits import write_split
    root = tool_release
    records, _ = scan_release(str(root))
    keys = [r.file_name for r in records]
    write_split(str(root / 'splits' / 'train.txt'), keys[::2])
    write_split(str(root / 'splits' / 'ratio8-2' / 'train.txt'), keys[1::2])
    run_tool('compute_stats.py', root, '--split', 'splits/train.txt')
    main = root / 'splits' / 'train.stats.json'
    before = main.read_bytes()

    run_tool('compute_stats.py', root, '--split', 'splits/ratio8-2/train.txt')
    assert main.read_bytes() == before
    other = json.loads((root / 'splits' / 'ratio8-2' /
                        'train.stats.json').read_text())
    assert other['split_file'] == 'splits/ratio8-2/train.txt'
    assert other['mean'] != json.loads(before)['mean']

    env = dict(os.environ, PYTHONWARNINGS='ignore')
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'compute_stats.py'), str(root),
         '--split', 'splits/ratio8-2/train.txt', '--out', str(main)],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith(f'error: --out {main}: the statistics of '
                                    'splits/ratio8-2/train.txt belong beside')
    assert main.read_bytes() == before
    # --out at the split's own file is accepted.
    own = root / 'splits' / 'ratio8-2' / 'train.stats.json'
    run_tool('compute_stats.py', root, '--split', 'splits/ratio8-2/train.txt',
             '--out', own)
    assert main.read_bytes() == before


def test_split_patients_folds(tool_release, tmp_path, monkeypatch, capsys):
    """--folds, run in-process (the subprocess run above covers the
    script's start-up)."""
    stdout = run_tool_here('split_patients.py', tool_release, '--folds', 3,
                           '--out-dir', tmp_path, monkeypatch=monkeypatch,
                           capsys=capsys)
    assert [ln.split()[0] for ln in stdout.splitlines()[1:10]] == [
        f'fold{k}/{n}.txt' for k in range(3)
        for n in ('train', 'val', 'test')]
    records, _ = scan_release(str(tool_release))
    all_keys = sorted(r.file_name for r in records)
    tests = [read_split_file(str(tmp_path / f'fold{k}' / 'test.txt'))
             for k in range(3)]
    assert sorted(sum(tests, [])) == all_keys  # held-out parts partition
    for k in range(3):
        train = read_split_file(str(tmp_path / f'fold{k}' / 'train.txt'))
        val = read_split_file(str(tmp_path / f'fold{k}' / 'val.txt'))
        assert sorted(train + val + tests[k]) == all_keys


def test_benchmark_pipeline_tool(tmp_path, monkeypatch, capsys):
    out = tmp_path / 'bench.json'
    stdout = run_tool_here('analysis_tools/benchmark_pipeline.py', '--scale', 1 / 32,
                           '--num-images', 2, '--repeats', 1, '--crop-size',
                           64, '--out', out, monkeypatch=monkeypatch,
                           capsys=capsys)
    lines = stdout.splitlines()
    table = lines[lines.index(next(ln for ln in lines
                                   if ln.startswith('pipeline'))):]
    assert [ln.split()[0] for ln in table[1:5]] == [
        'floor', 'project', 'naive', 'cached']
    assert table[5].startswith('a = floor, b = project, c = naive, '
                               'd = cached: b/a = ')
    with open(out) as f:
        report = json.load(f)
    assert report['images'] == 2 and report['repeats'] == 1
    assert report['dtype'] == 'uint16'
    res = report['results']
    assert set(res) == {'floor', 'project', 'naive', 'cached'}
    for name in ('project', 'naive', 'cached'):
        assert res[name]['shape'] == [3, 64, 64]
        assert len(res[name]['per_image_ms']) == 2 and res[name]['ms'] > 0


def test_benchmark_format_table():
    from mmdet_inbreast.utils.benchmark.pipeline import format_table, time_pipelines
    results = dict(floor=dict(ms=20.0), project=dict(ms=30.0, shape=(3, 8, 8)),
                   naive=dict(ms=150.0, shape=(3, 8, 8)),
                   cached=dict(ms=10.0, shape=(3, 8, 8)))
    assert format_table(results, header='8 images').splitlines() == [
        '8 images',
        'pipeline     ms/sample   x floor  inputs',
        'floor             20.0      1.00  -',
        'project           30.0      1.50  3x8x8',
        'naive            150.0      7.50  3x8x8',
        'cached            10.0      0.50  3x8x8',
        'a = floor, b = project, c = naive, d = cached: b/a = 1.50, '
        'c/a = 7.50, d/a = 0.50']
    with pytest.raises(ValueError, match='repeats must be >= 1'):
        time_pipelines([{}], {}, repeats=0)
    with pytest.raises(ValueError, match='no images'):
        time_pipelines([], {})
