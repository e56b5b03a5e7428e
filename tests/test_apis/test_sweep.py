"""Sweep orchestration without training: a fake interpreter stands in for
``python -m mmdet_inbreast.apis.train`` / ``.test`` and writes what mmengine
would (checkpoints, scalars, the test-metrics JSON)."""
import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mmdet_inbreast.apis import (SUMMARY_COLUMNS, SweepRun, collect_row,
                                 find_checkpoint, find_test_metrics,
                                 plan_sweep, run_state, run_sweep,
                                 train_time_from_scalars)
from mmdet_inbreast.utils.errors import InputError

REPO = Path(__file__).resolve().parents[2]

#: Called as ``python fake.py -m MODULE CONFIG ...``; appends its argv to
#: ``<work_root>/calls.jsonl``. train: one session of 125 s (25 iterations
#: logged in scalars.json, 5 s each),
#: epoch_1.pth + last_checkpoint; fails if the config name has 'broken'.
#: test: metrics from the config name's last digit d: AP = d / 10.
FAKE = textwrap.dedent('''
    import json, os, os.path as osp, sys
    assert sys.argv[1] == '-m', sys.argv
    tool = sys.argv[2].rsplit('.', 1)[1] + '.py'
    del sys.argv[1]
    config = sys.argv[2]
    name = osp.splitext(osp.basename(config))[0]
    work_dir = sys.argv[sys.argv.index('--work-dir') + 1]
    root = osp.dirname(work_dir if tool == 'train.py' else
                       osp.dirname(work_dir))
    with open(osp.join(root, 'calls.jsonl'), 'a') as f:
        f.write(json.dumps([tool, name] + sys.argv[3:]) + '\\n')
    if 'broken' in name:
        sys.exit('boom: training diverged')
    ts = '20240101_100000' if tool == 'train.py' else '20240101_110000'
    os.makedirs(osp.join(work_dir, ts), exist_ok=True)
    if tool == 'train.py':
        os.makedirs(osp.join(work_dir, ts, 'vis_data'))
        with open(osp.join(work_dir, ts, 'vis_data', 'scalars.json'),
                  'w') as f:
            for it in (10, 20, 25):
                f.write(json.dumps(dict(loss=1.0, time=5.0, epoch=1,
                                        iter=it, step=it)) + '\\n')
            f.write(json.dumps({'coco/bbox_mAP_50': 0.1, 'time': 9.0,
                                'step': 1}) + '\\n')
        ckpt = osp.join(work_dir, 'epoch_1.pth')
        open(ckpt, 'w').close()
        with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
            f.write(ckpt)
    else:
        assert osp.isfile(sys.argv[3]), sys.argv[3]
        d = int(name[-1]) / 10
        with open(osp.join(work_dir, ts, ts + '.json'), 'w') as f:
            json.dump({'coco/bbox_mAP': d, 'coco/bbox_mAP_50': d + 0.05,
                       'froc/sens@1': d + 0.1, 'froc/CPM': d + 0.02,
                       'time': 1.0}, f)
''')


@pytest.fixture
def sweep_env(tmp_path):
    configs = []
    for name in ('run_a1', 'run_b2', 'run_c3'):
        path = tmp_path / 'configs' / f'{name}.py'
        path.parent.mkdir(exist_ok=True)
        path.write_text("_base_ = 'nothing.py'\n")
        configs.append(str(path))
    fake = tmp_path / 'fake.py'
    fake.write_text(FAKE)
    root = tmp_path / 'work'
    root.mkdir()
    return dict(configs=configs, python=[sys.executable, str(fake)],
                root=str(root))


def calls(root):
    path = Path(root) / 'calls.jsonl'
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_full_sweep_then_skip(sweep_env):
    env = sweep_env
    out = []
    rows = run_sweep(env['configs'], env['root'], data_root='/data/IN R 1.0',
                     cfg_options=['train_cfg.max_epochs=1'],
                     python=env['python'], echo=out.append)
    assert [c[:2] for c in calls(env['root'])] == [
        ['train.py', 'run_a1'], ['test.py', 'run_a1'],
        ['train.py', 'run_b2'], ['test.py', 'run_b2'],
        ['train.py', 'run_c3'], ['test.py', 'run_c3']
    ]
    train_args = calls(env['root'])[0][2:]
    assert train_args == [
        '--work-dir', os.path.join(env['root'], 'run_a1'), '--data-root',
        '/data/IN R 1.0', '--cfg-options', 'train_cfg.max_epochs=1'
    ]
    test_args = calls(env['root'])[1][2:]
    assert test_args[0] == os.path.join(env['root'], 'run_a1', 'epoch_1.pth')
    assert test_args[1:3] == ['--work-dir',
                              os.path.join(env['root'], 'run_a1', 'test')]
    assert [r['status'] for r in rows] == ['done'] * 3
    assert rows[1]['AP'] == pytest.approx(0.2)
    assert rows[1]['AP50'] == pytest.approx(0.25)
    assert rows[1]['CPM'] == pytest.approx(0.22)
    assert rows[1]['sens@1'] == pytest.approx(0.3)
    assert rows[1]['train_time_s'] == pytest.approx(125.0)
    table = read_csv(Path(env['root']) / 'summary.csv')
    assert list(table[0]) == list(SUMMARY_COLUMNS)
    assert [r['run'] for r in table] == ['run_a1', 'run_b2', 'run_c3']
    assert float(table[2]['AP']) == pytest.approx(0.3)
    assert float(table[2]['train_time_s']) == 125.0
    md = (Path(env['root']) / 'summary.md').read_text()
    assert '| run_b2 | 0.2000 | 0.2500 | 0.2200 | 0.3000 | 125 | done |' in md
    for run in plan_sweep(env['configs'], env['root']):
        assert run_state(run) == 'done'
        done = json.loads((Path(run.work_dir) / '.done').read_text())
        assert done['metrics_file'].endswith('.json')
    # Second call: everything is finished, nothing runs, same summary.
    out.clear()
    rows2 = run_sweep(env['configs'], env['root'], python=env['python'],
                      echo=out.append)
    assert len(calls(env['root'])) == 6
    assert sum('finished, skipped' in line for line in out) == 3
    assert rows2 == rows


def test_resume_after_kill(sweep_env):
    """A killed sweep: run_a1 finished, run_b2 killed while training (a
    checkpoint, no .train_done), run_c3 killed while testing."""
    env = sweep_env
    run_sweep(env['configs'][:1], env['root'], python=env['python'],
              echo=lambda s: None)
    b2 = Path(env['root']) / 'run_b2'
    b2.mkdir()
    (b2 / 'epoch_1.pth').write_text('')
    (b2 / 'last_checkpoint').write_text(str(b2 / 'epoch_1.pth'))
    c3 = Path(env['root']) / 'run_c3'
    c3.mkdir()
    (c3 / 'epoch_2.pth').write_text('')
    (c3 / 'last_checkpoint').write_text(str(c3 / 'epoch_2.pth'))
    (c3 / '.train_done').write_text(json.dumps(dict(wall_s=50.0)))
    runs = plan_sweep(env['configs'], env['root'])
    assert [run_state(r) for r in runs] == ['done', 'resume', 'trained']
    before = len(calls(env['root']))
    rows = run_sweep(env['configs'], env['root'], python=env['python'],
                     echo=lambda s: None)
    new = calls(env['root'])[before:]
    assert [c[:2] for c in new] == [['train.py', 'run_b2'],
                                    ['test.py', 'run_b2'],
                                    ['test.py', 'run_c3']]
    assert '--resume' in new[0]
    assert new[2][2] == str(c3 / 'epoch_2.pth')
    assert [r['status'] for r in rows] == ['done'] * 3
    # run_c3 has no training log: its time comes from the marker.
    assert rows[2]['train_time_s'] == 50.0


def test_failure_does_not_stop_the_sweep(sweep_env, tmp_path):
    env = sweep_env
    broken = tmp_path / 'configs' / 'broken_9.py'
    broken.write_text('')
    configs = [str(broken)] + env['configs'][:1]
    lines = []
    rows = run_sweep(configs, env['root'], python=env['python'],
                     echo=lines.append)
    assert [r['status'] for r in rows] == ['failed (train, exit 1)', 'done']
    assert rows[0]['AP'] is None
    assert any('boom: training diverged' in line for line in lines)
    assert run_state(plan_sweep(configs, env['root'])[0]) == 'new'
    table = read_csv(Path(env['root']) / 'summary.csv')
    assert table[0]['AP'] == '' and table[1]['AP'] != ''


def test_dry_run_prints_commands(sweep_env):
    env = sweep_env
    run_sweep(env['configs'][:1], env['root'], python=env['python'],
              echo=lambda s: None)
    n_files = sum(len(f) for _, _, f in os.walk(env['root']))
    lines = []
    assert run_sweep(env['configs'], env['root'], python=['py'],
                     data_root='/d d', echo=lines.append,
                     dry_run=True) == []
    assert sum(len(f) for _, _, f in os.walk(env['root'])) == n_files
    text = '\n'.join(lines)
    assert '[1/3] run_a1: finished, skipped' in text
    b2 = os.path.join(env['root'], 'run_b2')
    assert (f"py -m mmdet_inbreast.apis.train {env['configs'][1]} "
            f"--work-dir {b2} --data-root '/d d'") in text
    assert f"--work-dir {b2}/test --data-root '/d d'" in text
    assert '<last checkpoint of' in text
    assert len(calls(env['root'])) == 2  # nothing ran


def test_summary_from_work_dirs(tmp_path):
    """Work dirs trained by hand (no sweep markers): metrics from the newest
    test JSON, training time summed over two sessions (one resumed)."""
    wd = tmp_path / 'retina_x'
    # Session 1: iterations 1-20 at 30 s; session 2 (resumed at 20):
    # iterations 21-30 at 3 s.
    for ts, lines in {'20240101_100000': [(10, 30.0), (20, 30.0)],
                      '20240101_120000': [(30, 3.0)]}.items():
        (wd / ts / 'vis_data').mkdir(parents=True)
        (wd / ts / 'vis_data' / 'scalars.json').write_text(''.join(
            json.dumps(dict(loss=1.0, time=t, epoch=1, iter=it, step=it))
            + '\n' for it, t in lines))
    # A test run into the work dir itself (no Epoch(train): not training).
    (wd / '20240102_090000').mkdir()
    (wd / '20240102_090000' / 'vis_data').mkdir()
    (wd / '20240102_090000' / 'vis_data' / 'scalars.json').write_text(
        json.dumps({'coco/bbox_mAP': 0.1, 'time': 500.0, 'step': 1}) + '\n')
    for ts, ap in (('20240102_080000', 0.1), ('20240102_090000', 0.4)):
        d = wd / 'test' / ts
        d.mkdir(parents=True, exist_ok=True)
        (d / f'{ts}.json').write_text(json.dumps(
            {'coco/bbox_mAP': ap, 'coco/bbox_mAP_50': 0.5, 'froc/CPM': 0.6,
             'froc/sens@1': 0.7}))
    # A training run's scalars JSON (vis_data/) is not a test result.
    path, metrics = find_test_metrics(str(wd))
    assert path.endswith('20240102_090000.json') and metrics[
        'coco/bbox_mAP'] == 0.4
    assert train_time_from_scalars(str(wd)) == 600 + 30
    config = tmp_path / 'retina_x.py'
    config.write_text('')
    empty = tmp_path / 'retina_y.py'
    empty.write_text('')
    rows = run_sweep([str(config), str(empty)], str(tmp_path),
                     summary_only=True, echo=lambda s: None)
    assert rows[0] == dict(run='retina_x', AP=0.4, AP50=0.5, CPM=0.6,
                           **{'sens@1': 0.7}, train_time_s=630.0,
                           status='tested (outside the sweep)',
                           checkpoint='')
    assert rows[1]['status'] == 'not run' and rows[1]['AP'] is None
    md = (tmp_path / 'summary.md').read_text()
    assert '| retina_x | 0.4000 | 0.5000 | 0.6000 | 0.7000 | 630 |' in md


def test_train_time_resumed(tmp_path):
    """A session killed after iteration 30, resumed from the checkpoint at
    20: both sessions count (30 x 1 s, then 2 x 10 x 2 s); lines without
    ``iter`` (validation) do not."""
    for ts, lines in {'20241231_235900': [(10, 1.0), (20, 1.0), (30, 1.0)],
                      '20250101_000500': [(30, 2.0), (40, 2.0)]}.items():
        (tmp_path / ts / 'vis_data').mkdir(parents=True)
        (tmp_path / ts / 'vis_data' / 'scalars.json').write_text(''.join(
            json.dumps({'train/loss': 1.0, 'train/time': t, 'epoch': 1,
                        'iter': it, 'step': it}) + '\n'
            for it, t in lines) + json.dumps({'time': 99.0, 'step': 1}))
    assert train_time_from_scalars(str(tmp_path)) == 30 + 40
    assert train_time_from_scalars(str(tmp_path / 'none')) is None


def test_find_checkpoint(tmp_path):
    assert find_checkpoint(str(tmp_path)) is None
    for name in ('epoch_2.pth', 'epoch_10.pth',
                 'best_coco_bbox_mAP_50_epoch_2.pth'):
        (tmp_path / name).write_text('')
    # Without last_checkpoint: the highest epoch.
    assert find_checkpoint(str(tmp_path)).endswith('epoch_10.pth')
    # last_checkpoint written in another place (work dir moved).
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/epoch_2.pth')
    assert find_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    assert find_checkpoint(str(tmp_path), 'best').endswith(
        'best_coco_bbox_mAP_50_epoch_2.pth')
    with pytest.raises(ValueError, match="'last' or 'best'"):
        find_checkpoint(str(tmp_path), 'first')


def test_plan_checks(tmp_path):
    a = tmp_path / 'a' / 'cfg.py'
    b = tmp_path / 'b' / 'cfg.py'
    for p in (a, b):
        p.parent.mkdir()
        p.write_text('')
    runs = plan_sweep([str(a)], 'wr')
    assert runs == [SweepRun('cfg', str(a), os.path.join('wr', 'cfg'))]
    assert runs[0].test_dir == os.path.join('wr', 'cfg', 'test')
    with pytest.raises(ValueError, match="same name 'cfg'"):
        plan_sweep([str(a), str(b)], 'wr')
    with pytest.raises(InputError, match='nope.py'):
        plan_sweep([str(tmp_path / 'nope.py')], 'wr')
    with pytest.raises(ValueError, match='no config'):
        plan_sweep([], 'wr')
    assert collect_row(runs[0])['status'] == 'not run'


@pytest.mark.slow
def test_sweep_tool_dry_run(tmp_path):
    """tools/sweep.py --dry-run on the real variant configs."""
    configs = sorted(str(p) for p in (REPO / 'configs' / 'variants').glob(
        'retina_patch_gamma*.py'))
    assert len(configs) == 3 + 2
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'sweep.py'), *configs,
         '--work-root', str(tmp_path / 'sw'), '--data-root',
         'data/INbreast Release 1.0', '--cfg-options',
         'train_cfg.max_epochs=2', '--dry-run'],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith('[1/5] retina_patch_gamma3.5_alpha0.95: new')
    assert sum(line.strip().startswith(sys.executable) for line in lines) == 10
    assert ("--data-root 'data/INbreast Release 1.0' --cfg-options "
            'train_cfg.max_epochs=2') in lines[1]
    assert not (tmp_path / 'sw').exists()
