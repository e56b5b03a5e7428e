"""A tiny two-phase run end to end through the tools, as a user runs them:
split, stats, phase 1 on patches, phase 2 from its checkpoint with the
backbone frozen, test with CocoMetric and FROCMetric."""
import json
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run(*args, **kw):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=600, **kw)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_two_phase_train_and_test(synthetic_release, tmp_path):
    src, _ = synthetic_release
    release = str(tmp_path / 'INbreast Release 1.0')
    shutil.copytree(src, release)
    out = run('tools/split_patients.py', release, '--ratios', '0.5', '0.25',
              '0.25')
    assert 'train.txt' in out
    run('tools/compute_stats.py', release, '--split', 'splits/train.txt')
    stats = json.load(open(osp.join(release, 'splits', 'train.stats.json')))
    assert 1000 < stats['mean'] < 2000 and stats['std'] > 0

    common = ['--data-root', release, '--cfg-options',
              'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
              'train_dataloader.batch_size=4']
    wd1, wd2 = str(tmp_path / 'patch'), str(tmp_path / 'full')
    log1 = run('tools/train.py', 'configs/demo/retina_demo_patch.py',
               '--work-dir', wd1, *common)
    assert 'Epoch(val) [1]' in log1 and 'coco/bbox_mAP_50' in log1
    assert osp.isfile(osp.join(wd1, 'epoch_1.pth'))

    # Phase 2 resolves load_from=<work dir> to its last checkpoint.
    log2 = run('tools/train.py', 'configs/demo/retina_demo_full.py',
               '--work-dir', wd2, *common, f'load_from={wd1}')
    assert 'Load checkpoint from' in log2 and 'epoch_1.pth' in log2
    assert 'FreezeBackboneHook: froze backbone' in log2
    ck1 = torch.load(osp.join(wd1, 'epoch_1.pth'), weights_only=False)
    ck2 = torch.load(osp.join(wd2, 'epoch_1.pth'), weights_only=False)
    backbone = [k for k in ck1['state_dict'] if k.startswith('backbone.')]
    head = [k for k in ck1['state_dict'] if k.startswith('bbox_head.')]
    assert backbone and head
    for k in backbone:  # weights and BN statistics unchanged by phase 2
        assert torch.equal(ck1['state_dict'][k], ck2['state_dict'][k]), k
    assert any(not torch.equal(ck1['state_dict'][k], ck2['state_dict'][k])
               for k in head)

    metrics = str(tmp_path / 'metrics.json')
    log3 = run('tools/test.py', 'configs/demo/retina_demo_full.py',
               osp.join(wd2, 'epoch_1.pth'), '--work-dir',
               str(tmp_path / 'test'), '--data-root', release,
               '--metrics-out', metrics)
    assert 'Epoch(test)' in log3
    m = json.load(open(metrics))
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'froc/CPM',
                'froc/sens@1'):
        assert key in m and 0.0 <= m[key] <= 1.0
