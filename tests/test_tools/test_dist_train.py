"""tools/dist_train.sh on the CPU: two torchrun processes (gloo backend,
loopback only) train the demo phase-1 config for one short epoch, with the
lr scaled by the total batch size (--auto-scale-lr)."""
import glob
import os
import os.path as osp
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import flatten
from mmdet_inbreast.apis.demo import write_splits_and_stats
from mmdet_inbreast.datasets.synthetic import make_synthetic_release

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def tiny_release(tmp_path_factory):
    """4 patients at 1/16 scale (208 x 255 images), a 0.7/0.1/0.2 split
    (10 training images) and the training statistics."""
    out = tmp_path_factory.mktemp('dist')
    make_synthetic_release(str(out), num_patients=4, scale=1 / 16, seed=0,
                           mass_fraction=0.6)
    root = out / 'INbreast Release 1.0'
    parts = write_splits_and_stats(str(root), (0.7, 0.1, 0.2), seed=0)
    return root, len(parts[0])


@pytest.mark.slow
def test_dist_train_two_cpu_processes(tiny_release, tmp_path):
    root, num_train = tiny_release
    assert num_train == 10
    work_dir = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()),
               MASTER_ADDR='127.0.0.1', OMP_NUM_THREADS='1',
               PYTHONWARNINGS='ignore')
    batch_size = 2
    cmd = [
        'bash', 'tools/dist_train.sh', 'configs/demo/retina_demo_patch.py',
        '2', '--work-dir', str(work_dir), '--data-root', str(root),
        '--auto-scale-lr', '--cfg-options', 'env_cfg.dist_cfg.backend=gloo',
        'train_cfg.max_epochs=1', f'train_dataloader.batch_size={batch_size}',
        # One sample per image: 10 samples, 5 per rank, 3 iterations.
        'train_dataloader.dataset.pos_times=1',
        'train_dataloader.dataset.neg_times=1',
        'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
        'default_hooks.logger.interval=1'
    ]
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, \
        result.stdout[-3000:] + result.stderr[-3000:]

    logs = glob.glob(str(work_dir / '*' / '*.log'))
    assert len(logs) == 1
    with open(logs[0]) as f:
        log = f.read()
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    # Each rank reads half of the 10 samples: 3 iterations of 2, not 5.
    assert 'Epoch(train) [1][3/3]' in log and '[1][4/' not in log
    # auto_scale_lr: base lr 1e-3 for 8 images, real batch 2 ranks x 2.
    real = 2 * batch_size
    assert (f'LR is set based on batch size of 8 and the current batch size '
            f'is {real}. Scaling the original LR by {real / 8}.') in log

    ckpt_path = work_dir / 'epoch_1.pth'
    assert ckpt_path.is_file()
    with open(work_dir / 'last_checkpoint') as f:
        assert f.read().strip() == str(ckpt_path)
    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=False)
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 3
    groups = ckpt['optimizer']['param_groups']
    # initial_lr: what the schedulers start from, after scale_lr.
    assert [g['initial_lr'] for g in groups] == [
        pytest.approx(1e-3 * real / 8, rel=1e-12)
    ] * len(groups)
    # DDP without CUDA: the wrapper had no device ids.
    assert "device_ids=None" in open(work_dir / 'retina_demo_patch.py').read()
    assert not osp.exists(work_dir / 'epoch_2.pth')


def test_init_cpu_dist_refuses_nccl():
    """The CPU launcher path of tools/train.py asks for gloo by name."""
    from mmengine.config import Config

    from mmdet_inbreast.engine import init_cpu_dist
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    with pytest.raises(RuntimeError,
                       match="backend 'nccl' needs GPUs; pass --cfg-options "
                       'env_cfg.dist_cfg.backend=gloo'):
        init_cpu_dist(cfg)


def config_diff(name, base='retina_patch.py'):
    """{key: (base value, config value)} of the leaves that differ."""
    from mmengine.config import Config
    a = flatten(Config.fromfile(str(REPO / 'configs' / base)).to_dict())
    b = flatten(Config.fromfile(str(REPO / 'configs' / name)).to_dict())
    return {k: (a.get(k), b.get(k)) for k in set(a) | set(b)
            if a.get(k) != b.get(k)}


def test_syncbn_config_changes_only_the_norm():
    assert config_diff('retina_patch_syncbn.py') == {
        'model.backbone.norm_cfg.type': ('BN', 'SyncBN'),
        'model.backbone.norm_eval': (True, False),
        'env_cfg.cudnn_benchmark': (False, True),
    }


def test_fast_config_changes_only_the_recipe():
    assert config_diff('retina_patch_fast.py', 'retina_patch_cached.py') == {
        'amp_dtype': (None, 'bfloat16'),
        'model.bbox_head.loss_cls.type': ('FocalLoss', 'SigmoidFocalLoss'),
        'custom_hooks.0.type': (None, 'ChannelsLastHook'),
        'train_dataloader.num_workers': (2, 16),
        # Gray patches through the workers, 3 channels on the device.
        'train_dataloader.dataset.dataset.pipeline.4.num_channels': (None, 1),
        'model.data_preprocessor.expand_channels': (None, 3),
        'auto_scale_lr.enable': (False, True),
    }
