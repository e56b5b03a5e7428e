"""tools/dist_train.sh on the CPU: two torchrun processes (gloo backend,
loopback only) train the demo phase-1 config for one short epoch, with the
lr scaled by the total batch size (--auto-scale-lr)."""
import glob
import json
import math
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


def rank_iters(num_samples: int, world: int = 2, batch: int = 2) -> int:
    """Iterations of one epoch per rank: mmengine's DefaultSampler gives
    each rank ceil(n / world) samples, in batches (the last one short)."""
    return math.ceil(math.ceil(num_samples / world) / batch)


@pytest.mark.slow
def test_dist_train_two_cpu_processes(tiny_release, tmp_path):
    root, num_train = tiny_release
    iters = rank_iters(num_train)
    # One sample per image; each rank reads half of them.
    assert num_train >= 5 and iters < math.ceil(num_train / 2)
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
        # One sample per image.
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
    # Each rank reads half of the samples.
    assert f'Epoch(train) [1][{iters}/{iters}]' in log
    assert f'[1][{iters + 1}/' not in log
    # auto_scale_lr: base lr 1e-3 for 8 images, real batch 2 ranks x 2.
    real = 2 * batch_size
    assert (f'LR is set based on batch size of 8 and the current batch size '
            f'is {real}. Scaling the original LR by {real / 8}.') in log

    ckpt_path = work_dir / 'epoch_1.pth'
    assert ckpt_path.is_file()
    with open(work_dir / 'last_checkpoint') as f:
        assert f.read().strip() == str(ckpt_path)
    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=False)
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == iters
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
        'custom_hooks.0.type': (None, 'ChannelsLastHook'),
        'train_dataloader.num_workers': (2, 16),
        # Gray patches through the workers, 3 channels on the device.
        'train_dataloader.dataset.dataset.pipeline.4.num_channels': (None, 1),
        'model.data_preprocessor.expand_channels': (None, 3),
        'auto_scale_lr.enable': (False, True),
    }


_DUMP_HOOK = '''
import json
import math
import os

import torch
from mmdet.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook


@HOOKS.register_module()
class DumpRankStateHook(Hook):
    """Each rank saves its model's state dict and its DDP settings."""
    priority = 'LOWEST'

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def after_run(self, runner):
        ddp = runner.model
        model = ddp.module
        rank = get_rank()
        torch.save({k: v.detach().clone()
                    for k, v in model.state_dict().items()},
                   os.path.join(self.out_dir, f'rank{rank}.pth'))
        info = dict(
            wrapper=type(ddp).__name__,
            find_unused_parameters=ddp.find_unused_parameters,
            reduced=sum(p.numel() for p in ddp.parameters()
                        if p.requires_grad),
            backbone_trainable=sum(p.numel() for p in
                                   model.backbone.parameters()
                                   if p.requires_grad),
            iters=runner.iter)
        with open(os.path.join(self.out_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(info, f)
'''


@pytest.mark.slow
def test_phase2_ddp_backbone_frozen_without_unused_parameter_search(
        tiny_release, tmp_path):
    """configs/demo/retina_demo_full.py on two gloo ranks, one epoch,
    DDP without find_unused_parameters: the backbone, BatchNorm statistics
    included, ends bit-identical to the loaded weights on both ranks; neck
    and head moved, identically on both ranks."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmdet.registry import MODELS

    root, num_train = tiny_release
    cfg = Config.fromfile(str(REPO / 'configs/demo/retina_demo_full.py'))
    assert 'model_wrapper_cfg' not in cfg
    assert cfg.model.backbone.frozen_stages == 4
    assert cfg.model.backbone.norm_eval
    # "Phase-1" weights: random, BatchNorm statistics random too.
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    state = model.state_dict()
    for k, v in state.items():
        if k.endswith('running_mean'):
            v.copy_(torch.randn_like(v) * 0.1)
        elif k.endswith('running_var'):
            v.copy_(torch.rand_like(v) + 0.5)
        elif k.endswith('num_batches_tracked'):
            v.fill_(1234)
    start = tmp_path / 'phase1.pth'
    torch.save(dict(state_dict=state, meta=dict()), start)

    helper = tmp_path / 'helper'
    helper.mkdir()
    (helper / 'dump_rank_state.py').write_text(_DUMP_HOOK)
    dump = tmp_path / 'dump'
    dump.mkdir()
    config = tmp_path / 'phase2_ddp.py'
    config.write_text(
        f"_base_ = [{str(REPO / 'configs/demo/retina_demo_full.py')!r}]\n"
        "custom_imports = dict(imports=['mmdet_inbreast', "
        "'dump_rank_state'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='FreezeBackboneHook'), "
        f"dict(type='DumpRankStateHook', out_dir={str(dump)!r})]\n")
    work_dir = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()),
               MASTER_ADDR='127.0.0.1', OMP_NUM_THREADS='1',
               PYTHONWARNINGS='ignore',
               PYTHONPATH=os.pathsep.join(
                   [str(helper), os.environ.get('PYTHONPATH', '')]))
    cmd = [
        'bash', 'tools/dist_train.sh', str(config), '2', '--work-dir',
        str(work_dir), '--data-root', str(root), '--cfg-options',
        'env_cfg.dist_cfg.backend=gloo', f'load_from={start}',
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2',
        'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
        'default_hooks.logger.interval=1', 'default_hooks.checkpoint=None'
    ]
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, \
        result.stdout[-3000:] + result.stderr[-3000:]

    infos = [json.loads((dump / f'rank{r}.json').read_text())
             for r in (0, 1)]
    ranks = [torch.load(dump / f'rank{r}.pth', weights_only=True)
             for r in (0, 1)]
    total_backbone = sum(v.numel() for k, v in state.items()
                         if k.startswith('backbone.') and 'running' not in k
                         and 'num_batches' not in k)
    for info in infos:
        assert info['wrapper'] == 'MMDistributedDataParallel'
        assert info['find_unused_parameters'] is False
        assert info['backbone_trainable'] == 0
        assert info['iters'] == rank_iters(num_train) >= 2
        # DDP reduces the neck and head only.
        assert info['reduced'] == sum(
            v.numel() for k, v in state.items()
            if k.startswith(('neck.', 'bbox_head.')))
    assert total_backbone > 0
    backbone = [k for k in state if k.startswith('backbone.')]
    assert any(k.endswith('running_mean') for k in backbone)
    for after in ranks:
        assert after.keys() == state.keys()
        for k in backbone:
            assert torch.equal(after[k], state[k]), k
        moved = [k for k in after if k.startswith(('neck.', 'bbox_head.'))
                 and not torch.equal(after[k], state[k])]
        assert len(moved) == sum(
            1 for k in state if k.startswith(('neck.', 'bbox_head.')))
    for k in state:
        assert torch.equal(ranks[0][k], ranks[1][k]), k
