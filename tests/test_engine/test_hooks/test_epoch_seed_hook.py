"""EpochSeedHook and SeededSampler: a run resumed from an epoch checkpoint
ends with the same weights as the uninterrupted run, with the project's own
demo config, crops drawn in the main process (num_workers=0) or in two
persistent loader workers."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmdet_inbreast.apis.demo import write_splits_and_stats
from mmdet_inbreast.engine.hooks.epoch_seed_hook import epoch_seed

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def test_epoch_seed_depends_on_seed_and_epoch():
    assert epoch_seed(0, 1) == epoch_seed(0, 1)
    assert len({epoch_seed(s, e) for s in range(3) for e in range(3)}) == 9


def _train(release, work_dir, options=(), args=()):
    """Train 2 epochs; ``options``: more ``--cfg-options`` (later ones
    win), ``args``: more arguments."""
    cmd = [sys.executable, 'tools/train.py',
           'configs/demo/retina_demo_patch.py', '--work-dir', work_dir,
           '--data-root', release, *args, '--cfg-options',
           'train_cfg.max_epochs=2', 'train_cfg.val_interval=10',
           'train_dataloader.batch_size=4', 'randomness.seed=7',
           'default_hooks.checkpoint.save_best=None',
           'default_hooks.checkpoint.max_keep_ckpts=3', *options]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={'OMP_NUM_THREADS': '1',
                                            'PATH': '/usr/bin:/bin'})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize('loader', [
    (),
    ('train_dataloader.num_workers=2',
     'train_dataloader.persistent_workers=True'),
], ids=['main-process', 'persistent-workers'])
def test_resume_gives_same_weights(synthetic_release, tmp_path, loader):
    src, _ = synthetic_release
    release = str(tmp_path / 'INbreast Release 1.0')
    shutil.copytree(src, release)
    write_splits_and_stats(release)

    full, part = str(tmp_path / 'full'), str(tmp_path / 'part')
    _train(release, full, loader)
    # Interrupted run: the same seeded run stopped after epoch 1 (its
    # epoch-1 checkpoint in a fresh work dir), then resumed.
    os.makedirs(part)
    shutil.copy(osp.join(full, 'epoch_1.pth'), part)
    log = _train(release, part, loader,
                 ('--resume', osp.join(part, 'epoch_1.pth')))
    assert 'resumed epoch: 1' in log
    a = torch.load(osp.join(full, 'epoch_2.pth'), weights_only=False)
    b = torch.load(osp.join(part, 'epoch_2.pth'), weights_only=False)
    diff = [k for k in a['state_dict']
            if not torch.equal(a['state_dict'][k], b['state_dict'][k])]
    assert not diff, f'{len(diff)} tensors differ, e.g. {diff[:3]}'
    # And training did move the weights between the epochs.
    e1 = torch.load(osp.join(part, 'epoch_1.pth'), weights_only=False)
    assert any(not torch.equal(e1['state_dict'][k], b['state_dict'][k])
               for k in b['state_dict'])
    assert np.isfinite([v.float().sum().item()
                        for v in b['state_dict'].values()]).all()
