"""Fixtures of the engine tests (a pytest plugin that tests/conftest.py loads:
a second conftest.py would shadow ``from conftest import ...``).

``tiny_config``, ``run_a``, ``train_py`` (session scope):
configs/demo/retina_demo_patch.py cut down to seconds of CPU time, a
2-epoch run of it, and tools/train.py run in this process.
``single_thread`` (module scope): one intra-op thread while a module runs.
"""
import os
import os.path as osp
import runpy
import sys
import uuid
from unittest import mock

import pytest
import torch
from mmengine.config import Config

from mmdet_inbreast.utils import set_data_root

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def single_thread():
    """One intra-op thread: on a small shared CPU, two OpenMP threads make
    a RetinaNet-R18 step ~10x slower. Use it per module:
    ``pytestmark = pytest.mark.usefixtures('single_thread')``."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# --------------------------------------------------------- a tiny real run
@pytest.fixture(scope='session')
def tiny_config(synthetic_release, tmp_path_factory):
    """configs/demo/retina_demo_patch.py cut down and written to a file:
    RetinaNet-R18 on 64 x 64 crops of 2 positive and 2 negative images (one
    repeat each), batch 2, 2 epochs of 2 iterations, seed 0, no validation,
    a checkpoint every epoch.

    One non-persistent loader worker: mmengine seeds it with the run's
    seed at every epoch, so the crops of an epoch do not depend on what
    ran before. With ``num_workers=0`` the crops come from the main
    process' numpy generator, which a checkpoint does not hold, and a
    resumed run would draw other crops than the uninterrupted one.
    """
    from mmdet_inbreast.datasets.stats import compute_split_stats
    root, images = synthetic_release
    keys = ([im.file_name for im in images if im.mass_boxes][:2]
            + [im.file_name for im in images if not im.mass_boxes][:2])
    tmp = tmp_path_factory.mktemp('ckpt')
    (tmp / 'train.txt').write_text('\n'.join(keys) + '\n')
    # train.stats.json beside the split, with its hash (StatsSplitCheckHook).
    stats_file, _ = compute_split_stats(root, str(tmp / 'train.txt'))

    cfg = Config.fromfile(osp.join(REPO, 'configs/demo/retina_demo_patch.py'))
    set_data_root(cfg, root, stats_file)
    ds = cfg.train_dataloader.dataset
    ds.pos_times, ds.neg_times = 1, 1
    ds.dataset.ann_file = str(tmp / 'train.txt')
    ds.dataset.pipeline[2].crop_size = (64, 64)
    cfg.train_dataloader.update(batch_size=2, num_workers=1,
                                persistent_workers=False)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2,
                         val_interval=100)
    for k in ('val', 'test'):
        cfg[f'{k}_cfg'] = cfg[f'{k}_dataloader'] = cfg[f'{k}_evaluator'] = None
    cfg.default_hooks.checkpoint = dict(type='SafeCheckpointHook',
                                        interval=1, max_keep_ckpts=-1)
    cfg.randomness = dict(seed=0)
    path = str(tmp / 'tiny_retina.py')
    cfg.dump(path)
    return path




def _train_py(*args):
    """Run tools/train.py in this process with ``args`` (one intra-op
    thread)."""
    argv = ['tools/train.py', *args, '--cfg-options',
            f'experiment_name=run_{uuid.uuid4().hex[:8]}']
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with mock.patch.object(sys, 'argv', argv), \
                mock.patch.dict(os.environ):
            runpy.run_path(osp.join(REPO, 'tools/train.py'),
                           run_name='__main__')
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def train_py():
    """``train_py(*args)``: run tools/train.py in this process."""
    return _train_py


@pytest.fixture(scope='session')
def run_a(tiny_config, tmp_path_factory):
    """Two epochs of ``tiny_config`` without interruption (all checkpoints
    kept); returns the work dir."""
    work_dir = str(tmp_path_factory.mktemp('run_a'))
    _train_py(tiny_config, '--work-dir', work_dir)
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) == [
        'epoch_1.pth', 'epoch_2.pth']
    return work_dir
