"""A shrunken study (K = 2, two variants) on the 22-image synthetic release,
with a stand-in interpreter (``fake_runs.py``) for training and testing:
the out-of-fold bookkeeping, the report's numbers against brute force,
resume after a kill, retry and failure reporting, the Ray launcher."""
import csv
import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mmdet_inbreast.datasets import read_split_file, scan_release
from mmdet_inbreast.evaluation.functional.bootstrap import (
    coco_matches, draw_patient_counts, patient_index, t_interval)
from mmdet_inbreast.evaluation.functional.froc import (froc_curve,
                                                       match_images,
                                                       sensitivity_at)
from mmdet_inbreast.study import load_study, run_study
from mmdet_inbreast.utils.errors import InputError

HERE = Path(__file__).resolve().parent
FAKE = [sys.executable, str(HERE / 'fake_runs.py')]
CONFIG = textwrap.dedent('''
    train_dataloader = dict(dataset=dict(
        type='MassRepeatDataset',
        dataset=dict(type='INbreastDataset', ann_file='splits/train.txt')))
    val_dataloader = dict(dataset=dict(ann_file='splits/val.txt'))
    test_dataloader = dict(dataset=dict(ann_file='splits/test.txt'))
''')


@pytest.fixture
def study(tmp_path, synthetic_release):
    """Two variant configs, a study file (K = 2, 'bad' is the baseline,
    'good' has two stages), the work root with gt.json."""
    release, images = synthetic_release
    for name in ('good', 'bad', 'good_phase1'):
        (tmp_path / f'{name}.py').write_text(CONFIG)
    spec = tmp_path / 'mini.py'
    spec.write_text(textwrap.dedent(f'''
        folds = 2
        seed = 3
        bootstrap = 25
        cfg_options = ['train_cfg.max_epochs=1']
        baseline = 'bad'
        variants = [
            dict(name='bad', config='{tmp_path}/bad.py'),
            dict(name='good', config=['{tmp_path}/good_phase1.py',
                                      '{tmp_path}/good.py'],
                 stage_cfg_options=[['a=1'], ['b=2']]),
        ]
    '''))
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'gt.json').write_text(json.dumps({
        i.file_name: dict(patient=i.patient_id, boxes=i.mass_boxes)
        for i in images}))
    return dict(spec=str(spec), release=release, work=str(work),
                images=images)


def calls(work):
    path = Path(work) / 'calls.jsonl'
    return [json.loads(x) for x in path.read_text().splitlines()] \
        if path.exists() else []


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def repeat(arrays, idx, row):
    out = []
    for p, k in enumerate(row):
        for _ in range(int(k)):
            out += [a for a, q in zip(arrays, idx) if q == p]
    return out


def fake_predictions(images, variant):
    """The stand-in's predictions, rebuilt independently (fake_runs.py)."""
    out = {}
    for i in images:
        boxes = np.asarray(i.mass_boxes, dtype=np.float64).reshape(-1, 4)
        if variant == 'good':
            out[i.file_name] = (np.vstack([boxes, [[0, 0, 5, 5]]]),)
        else:
            w = boxes[:, 2:3] - boxes[:, 0:1]
            out[i.file_name] = (np.vstack(
                [boxes + np.hstack([w, 0 * w, w, 0 * w]), boxes]),)
    return out


@pytest.mark.slow
def test_study_end_to_end(study):
    lines = []
    spec = load_study(study['spec'])
    out = run_study(spec, study['release'], study['work'], python=FAKE,
                    echo=lines.append)
    work = Path(study['work'])
    assert {s['status'] for s in out['runs'].values()} == {'done'}

    # Folds: patient-grouped, every image tested exactly once, val carved
    # from the training patients; statistics belong to the train split.
    records, _ = scan_release(study['release'])
    patient = {r.file_name: r.patient_id for r in records}
    tested = []
    for k in range(2):
        parts = {n: read_split_file(str(work / 'folds' / f'fold{k}' /
                                        f'{n}.txt'))
                 for n in ('train', 'val', 'test')}
        groups = {n: {patient[x] for x in v} for n, v in parts.items()}
        assert not groups['train'] & groups['val']
        assert not groups['train'] & groups['test']
        assert not groups['val'] & groups['test']
        assert parts['val'] and any(
            r.boxes for r in records if r.file_name in parts['val'])
        tested += parts['test']
        stats = json.loads((work / 'folds' / f'fold{k}' /
                            'train.stats.json').read_text())
        assert stats['split_sha256'] == hashlib.sha256(
            (work / 'folds' / f'fold{k}' / 'train.txt').read_bytes()
        ).hexdigest()
    assert sorted(tested) == sorted(patient)

    # Runs: every (fold, variant) trained with its fold's files, stage 1
    # of 'good' from stage 0's checkpoint, tested once on its fold's test.
    c = calls(study['work'])
    tests = [x for x in c if x['tool'] == 'test']
    assert sorted((x['variant'], x['fold']) for x in tests) == [
        ('bad', 0), ('bad', 1), ('good', 0), ('good', 1)]
    for x in c:
        fold_dir = str(work / 'folds' / f"fold{x['fold']}")
        assert x['stats'] == fold_dir + '/train.stats.json'
        assert x['options']['test_dataloader.dataset.ann_file'] == \
            fold_dir + '/test.txt'
        assert x['options']['val_dataloader.dataset.ann_file'] == \
            fold_dir + '/val.txt'
        assert x['options'][
            'train_dataloader.dataset.dataset.ann_file'] == \
            fold_dir + '/train.txt'
        assert x['options']['train_cfg.max_epochs'] == '1'
        # Every run trains and tests with the study's seed.
        assert x['options']['randomness.seed'] == '3'
    # The stand-in names a call by its config: stage 0 is good_phase1.
    stages = [[x for x in c if x['variant'] == name and x['tool'] ==
               'train' and x['fold'] == 0]
              for name in ('good_phase1', 'good')]
    assert [len(s_) for s_ in stages] == [1, 1]
    assert stages[0][0]['options']['a'] == '1'
    assert 'load_from' not in stages[0][0]['options']
    assert stages[1][0]['options']['b'] == '2'
    assert stages[1][0]['options']['load_from'].endswith(
        'runs/fold0/good/stage0/epoch_1.pth')

    rows = read_csv(work / 'results.csv')
    get = {(r['section'], r['variant'], r['metric']): r for r in rows}
    # Across folds: AP of 'good' is 0.4 and 0.5 on folds 0 and 1.
    s = t_interval([0.4, 0.5])
    r = get[('folds', 'good', 'AP')]
    assert float(r['value']) == pytest.approx(0.45)
    assert float(r['ci_low']) == pytest.approx(s.low)
    assert float(r['ci_high']) == pytest.approx(s.high)
    assert r['per_fold'] == '0.4000;0.5000'

    # Pooled out-of-fold: brute force on the rebuilt predictions.
    images = sorted(study['images'], key=lambda i: i.file_name)
    gts = [np.asarray(i.mass_boxes, float).reshape(-1, 4) for i in images]
    _, idx = patient_index([i.patient_id for i in images])
    counts = draw_patient_counts(idx.max() + 1, 25, seed=3)
    metric = {}
    for v in ('good', 'bad'):
        preds = fake_predictions(images, v)
        metric[v] = [preds[i.file_name][0] for i in images]
    # Scores depend on the position in the fold's test split: read them
    # back from the predictions the stand-in wrote, then evaluate.
    scored = {}
    for v in ('good', 'bad'):
        per_key = {}
        for k in range(2):
            with open(work / 'runs' / f'fold{k}' / v / 'test' /
                      'predictions.pkl', 'rb') as f:
                for s_ in pickle.load(f):
                    per_key[s_['file_name']] = np.asarray(
                        s_['pred_instances']['scores'], np.float64)
        scored[v] = [per_key[i.file_name] for i in images]
        for box, sc in zip(metric[v], scored[v]):
            assert len(box) == len(sc)
    for v in ('good', 'bad'):
        _, ap50 = coco_matches(gts, metric[v], scored[v])
        cpm = np.mean(sensitivity_at(froc_curve(
            match_images(metric[v], scored[v], gts))))
        assert float(get[('pooled', v, 'AP50')]['value']) == \
            pytest.approx(ap50)
        assert float(get[('pooled', v, 'CPM')]['value']) == \
            pytest.approx(cpm)
    assert float(get[('pooled', 'good', 'AP50')]['value']) == \
        pytest.approx(1.0)
    # Paired bootstrap, brute force: each sample's data set with the
    # patients' images repeated, both variants, pycocotools and the FROC.
    diffs = {'AP50': [], 'CPM': []}
    for row in counts:
        g = repeat(gts, idx, row)
        if sum(len(x) for x in g) == 0:
            continue
        vals = {}
        for v in ('good', 'bad'):
            b, s_ = repeat(metric[v], idx, row), repeat(scored[v], idx, row)
            vals[v] = (coco_matches(g, b, s_)[1], np.mean(sensitivity_at(
                froc_curve(match_images(b, s_, g)))))
        diffs['AP50'].append(vals['good'][0] - vals['bad'][0])
        diffs['CPM'].append(vals['good'][1] - vals['bad'][1])
    for m, d in diffs.items():
        r = get[('paired vs bad', 'good', m)]
        d = np.asarray(d)
        assert int(r['n']) == len(d)
        assert float(r['ci_low']) == pytest.approx(np.percentile(d, 2.5))
        assert float(r['ci_high']) == pytest.approx(np.percentile(d, 97.5))
        tail = min(1 + (d <= 0).sum(), 1 + (d >= 0).sum())
        assert float(r['p']) == pytest.approx(min(1, 2 * tail /
                                                  (len(d) + 1)))
    md = (work / 'results.md').read_text()
    assert '| good | CPM |' in md and 'bad (baseline)' in md
    assert (work / 'froc.png').stat().st_size > 0
    assert (work / 'history.png').stat().st_size > 0

    # Rerun without --resume: refused. With it: nothing runs again.
    with pytest.raises(InputError, match='pass --resume'):
        run_study(spec, study['release'], study['work'], python=FAKE,
                  echo=lines.append)
    n = len(calls(study['work']))
    run_study(spec, study['release'], study['work'], python=FAKE,
              resume=True, echo=lines.append)
    assert len(calls(study['work'])) == n


@pytest.mark.slow
def test_resume_after_kill_and_retry(study, tmp_path):
    """The driver is killed while fold 1's 'bad' trains; rerun with resume:
    finished runs are skipped, the killed stage resumes from its
    checkpoint. A run failing once is retried; one failing always is
    reported with its log."""
    work = Path(study['work'])
    (work / 'hang_bad_fold1').write_text('')
    script = textwrap.dedent(f'''
        from mmdet_inbreast.study import load_study, run_study
        run_study(load_study({study['spec']!r}), {study['release']!r},
                  {study['work']!r}, python={FAKE!r}, echo=print)
    ''')
    proc = subprocess.Popen([sys.executable, '-c', script],
                            start_new_session=True,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(600):
        if (work / 'hanging').exists() or proc.poll() is not None:
            break
        time.sleep(0.2)
    assert (work / 'hanging').exists(), 'the hanging run never started'
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = calls(study['work'])
    assert [(x['variant'], x['fold'], x['tool']) for x in before][-1] == \
        ('bad', 1, 'train')
    (work / 'hang_bad_fold1').unlink()
    (work / 'fail_once_good_phase1_fold1').write_text('')
    lines = []
    out = run_study(load_study(study['spec']), study['release'],
                    study['work'], python=FAKE, resume=True,
                    echo=lines.append)
    new = calls(study['work'])[len(before):]
    # fold 0 finished before the kill: not run again.
    assert all(x['fold'] == 1 for x in new)
    assert new[0]['variant'] == 'bad' and new[0]['resume']
    good = [(x['variant'], x['tool']) for x in new
            if x['variant'].startswith('good')]
    # good fold 1: stage 0 fails once, retried, then stage 1 and the test.
    assert good == [('good_phase1', 'train'), ('good_phase1', 'train'),
                    ('good', 'train'), ('good', 'test')]
    assert out['runs']['fold1/good']['attempts'] == 2
    assert {s['status'] for s in out['runs'].values()} == {'done'}

    # A run that always fails: retried once, reported with its log path;
    # its variant is left out of the pooled tables, named.
    (work / 'fail_good_phase1_fold0').write_text('')
    os.remove(work / 'runs' / 'fold0' / 'good' / '.done')
    for stage in ('stage0', 'stage1'):
        os.remove(work / 'runs' / 'fold0' / 'good' / stage / '.train_done')
        os.remove(work / 'runs' / 'fold0' / 'good' / stage /
                  'last_checkpoint')
    lines.clear()
    out = run_study(load_study(study['spec']), study['release'],
                    study['work'], python=FAKE, resume=True,
                    echo=lines.append)
    status = out['runs']['fold0/good']
    assert status['status'] == 'failed (stage 0 training, exit 1)'
    assert status['attempts'] == 2
    log = work / 'runs' / 'fold0' / 'good' / 'run.log'
    assert status['log'] == str(log)
    assert log.read_text().count('boom: loss is NaN') == 2
    md = (work / 'results.md').read_text()
    assert f'| fold0/good | failed (stage 0 training, exit 1) | 2 |' in md
    assert str(log) in md
    assert 'good: not pooled (a fold failed)' in lines
    rows = read_csv(work / 'results.csv')
    assert not [r for r in rows if r['section'] != 'folds'
                and r['variant'] == 'good']


@pytest.mark.slow
def test_ray_launcher_two_runs(study, tmp_path):
    ray = pytest.importorskip(
        'ray', reason='the ray extra is not installed (pip install -e .[ray])')
    spec_path = tmp_path / 'one.py'
    spec_path.write_text(textwrap.dedent(f'''
        folds = 2
        seed = 3
        bootstrap = 10
        variants = [dict(name='good', config='{tmp_path}/good.py')]
    '''))
    lines = []
    out = run_study(load_study(str(spec_path)), study['release'],
                    study['work'], launcher='ray', num_cpus=2, python=FAKE,
                    echo=lines.append)
    assert not ray.is_initialized()
    assert sorted(out['runs']) == ['fold0/good', 'fold1/good']
    assert {s['status'] for s in out['runs'].values()} == {'done'}
    assert sum('submitted' in line for line in lines) == 2
    tests = [x for x in calls(study['work']) if x['tool'] == 'test']
    assert sorted(x['fold'] for x in tests) == [0, 1]
    rows = read_csv(Path(study['work']) / 'results.csv')
    pooled = [r for r in rows if r['section'] == 'pooled' and
              r['metric'] == 'AP50']
    assert float(pooled[0]['value']) == pytest.approx(1.0)


def test_study_file_errors(tmp_path):
    bad = tmp_path / 's.py'
    bad.write_text("variants = [dict(name='a', config='nope.py')]\n")
    with pytest.raises(InputError, match="config 'nope.py' not found"):
        load_study(str(bad))
    bad.write_text("folds = 1\nvariants = []\n")
    with pytest.raises(InputError, match='no variants'):
        load_study(str(bad))
    cfg = tmp_path / 'c.py'
    cfg.write_text(CONFIG)
    bad.write_text(f"folds = 1\nvariants = [dict(name='a', config='{cfg}')]"
                   '\n')
    with pytest.raises(InputError, match='at least 2'):
        load_study(str(bad))
    bad.write_text(f"baseline = 'b'\nvariants = [dict(name='a', "
                   f"config='{cfg}')]\n")
    with pytest.raises(InputError, match="baseline 'b' is not a variant"):
        load_study(str(bad))
    bad.write_text(f"variants = [dict(name='a', config='{cfg}', "
                   "cfg_options='x=1')]\n")
    with pytest.raises(InputError, match='list of KEY=VALUE'):
        load_study(str(bad))


def test_shipped_studies_load():
    root = Path(__file__).resolve().parents[2] / 'configs' / 'studies'
    files = sorted(root.glob('*.py'))
    assert {f.stem for f in files} >= {
        'seed_focal', 'seed_anchors', 'seed_two_phase', 'seed_backbones',
        'seed_split_ratio', 'demo_two_phase'}
    for f in files:
        spec = load_study(str(f))
        assert spec.baseline in [v.name for v in spec.variants]
        assert len(spec.variants) >= 2
