"""FreezeBackboneHook: backbone weights and BatchNorm statistics stay fixed."""
import glob
import os.path as osp
import uuid
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch import nn

import mmdet_inbreast  # noqa: F401  (registration)
from mmdet_inbreast.engine.hooks.freeze_backbone_hook import (
    FreezeBackboneHook, freeze_module)
from mmdet_inbreast.utils import set_data_root

#: The seed's keras-retinanet R50 fine-tune: 12,821,805 trainable of
#: 36,276,717 (keras counts BatchNorm moving statistics as parameters).
R50_TRAINABLE, R50_TOTAL = 12_821_805, 36_329_837


@pytest.fixture(scope='module', autouse=True)
def _one_thread():
    """One intra-op thread: on a small shared CPU, two OpenMP threads make
    a RetinaNet-R18 step ~10x slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _count(module, trainable=False):
    return sum(p.numel() for p in module.parameters()
               if p.requires_grad or not trainable)


def _fake_runner(model):
    logger = MMLogger.get_instance(f'freeze-{uuid.uuid4().hex[:8]}')
    return SimpleNamespace(model=model, logger=logger)


class _Detector(nn.Module):

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.neck = nn.Conv2d(8, 8, 1)
        self.bbox_head = nn.Sequential(nn.Conv2d(8, 4, 3), nn.BatchNorm2d(4))

    def forward(self, x):
        return self.bbox_head(self.neck(self.backbone(x)))


def _generic_backbone():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8),
                         nn.ReLU(), nn.Dropout(0.5))


# ------------------------------------------------------------ freeze_module
def test_freeze_generic_module_stays_eval():
    torch.manual_seed(0)
    model = _Detector(_generic_backbone())
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    assert freeze_module(model.backbone) == 'eval-train'
    model.train()  # what mmengine does at every epoch
    assert model.training and model.bbox_head.training
    assert not any(m.training for m in model.backbone.modules())
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(p.requires_grad for p in model.neck.parameters())
    x = torch.randn(2, 3, 8, 8)
    out1 = model.backbone(x)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                          weight_decay=0.1)
    for _ in range(3):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()
    # Dropout off, BatchNorm on running statistics: same output twice.
    assert torch.equal(model.backbone(x), out1)
    after = model.backbone.state_dict()
    assert after.keys() == before.keys()
    for k, v in before.items():
        assert torch.equal(after[k], v), k
    assert after['1.num_batches_tracked'].item() == 0
    # The head's BatchNorm did train.
    assert model.bbox_head[1].num_batches_tracked.item() == 3


def test_unfrozen_control_changes_bn_statistics():
    """Without the freeze, ``requires_grad=False`` alone does not stop
    BatchNorm from updating its statistics in ``train()``."""
    torch.manual_seed(0)
    model = _Detector(_generic_backbone())
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    before = model.backbone[1].running_mean.clone()
    model.train()
    model(torch.randn(2, 3, 8, 8))
    assert not torch.equal(model.backbone[1].running_mean, before)
    assert model.backbone[1].num_batches_tracked.item() == 1


def test_freeze_resnet_through_frozen_stages():
    from mmdet.models.backbones import ResNet
    torch.manual_seed(0)
    resnet = ResNet(depth=18, frozen_stages=-1, norm_eval=False,
                    init_cfg=None)
    before = {k: v.clone() for k, v in resnet.state_dict().items()}
    assert freeze_module(resnet) == 'frozen_stages'
    assert resnet.frozen_stages == 4 and resnet.norm_eval
    resnet.train()
    assert not any(m.training for m in resnet.modules())
    assert not any(p.requires_grad for p in resnet.parameters())
    resnet(torch.randn(2, 3, 32, 32))
    for k, v in resnet.state_dict().items():
        assert torch.equal(v, before[k]), k


# ----------------------------------------------------------- hook, no loop
def test_hook_logs_counts():
    torch.manual_seed(0)
    model = _Detector(_generic_backbone())
    total = _count(model)
    backbone = _count(model.backbone)
    runner = _fake_runner(model)
    with mock.patch.object(runner.logger, 'info') as info:
        FreezeBackboneHook().before_train(runner)
    info.assert_called_once_with(
        f'FreezeBackboneHook: froze backbone (Sequential, via eval-train); '
        f'trainable parameters {total - backbone:,} of {total:,}')
    assert _count(model, trainable=True) == total - backbone


def test_hook_dotted_module_and_missing_module():
    from mmdet.models.backbones import ResNet
    model = _Detector(ResNet(depth=18, init_cfg=None, frozen_stages=-1,
                             norm_eval=False))
    FreezeBackboneHook(module='backbone.layer1').before_train(
        _fake_runner(model))
    model.train()
    assert not model.backbone.layer1.training
    assert model.backbone.layer2.training
    assert not any(p.requires_grad for p in model.backbone.layer1.parameters())
    assert all(p.requires_grad for p in model.backbone.layer2.parameters())
    with pytest.raises(AttributeError, match="'backbone.layer9'"):
        FreezeBackboneHook(module='backbone.layer9').before_train(
            _fake_runner(model))


def test_hook_repr():
    assert repr(FreezeBackboneHook()) == \
        "FreezeBackboneHook(module='backbone')"
    assert repr(FreezeBackboneHook('neck')) == \
        "FreezeBackboneHook(module='neck')"


def test_retinanet_r50_counts():
    """configs/retina_full.py's RetinaNet-R50-FPN, 1 class: the frozen
    backbone leaves neck + head, 12,821,805 of 36,329,837 parameters (the
    seed's keras-retinanet R50 fine-tune trained 12,821,805 of 36,276,717)."""
    from mmdet.registry import MODELS
    cfg = Config.fromfile('configs/retina_full.py')
    assert dict(type='FreezeBackboneHook') in cfg.custom_hooks
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    assert model.backbone.depth == 50 and model.bbox_head.num_classes == 1
    runner = _fake_runner(model)
    with mock.patch.object(runner.logger, 'info') as info:
        FreezeBackboneHook().before_train(runner)
    assert _count(model) == R50_TOTAL
    assert _count(model, trainable=True) == R50_TRAINABLE
    assert R50_TRAINABLE == _count(model.neck) + _count(model.bbox_head)
    assert info.call_args.args[0].endswith(
        'trainable parameters 12,821,805 of 36,329,837')
    assert 'via frozen_stages' in info.call_args.args[0]


def test_full_configs_freeze_at_construction():
    """Phase 2 is frozen as the model is built, before any wrapper or
    optimizer: ResNet with frozen_stages=num_stages and norm_eval, and no
    find_unused_parameters for DDP."""
    from mmdet.registry import MODELS
    from mmdet_inbreast.models.backbones import is_frozen
    for path in ('configs/retina_full.py', 'configs/retina_full_r18.py',
                 'configs/demo/retina_demo_full.py'):
        cfg = Config.fromfile(path)
        assert 'model_wrapper_cfg' not in cfg, path
        assert not cfg.get('find_unused_parameters', False), path
        cfg.model.backbone.init_cfg = None
        with DefaultScope.overwrite_default_scope('mmdet'):
            model = MODELS.build(cfg.model)
        assert is_frozen(model.backbone), path
        model.train()  # ResNet re-applies frozen_stages here
        assert is_frozen(model.backbone), path
        assert all(p.requires_grad for p in model.bbox_head.parameters())


def test_frozen_backbone_builder_keeps_state_dict_keys():
    from mmdet.registry import MODELS
    from mmdet_inbreast.models.backbones import is_frozen
    inner = dict(type='ResNet', depth=18, base_channels=16, init_cfg=None,
                 frozen_stages=-1, norm_eval=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        plain = MODELS.build(inner)
        frozen = MODELS.build(dict(type='FrozenBackbone', backbone=inner))
    assert type(frozen).__name__ == 'ResNet'
    assert frozen.state_dict().keys() == plain.state_dict().keys()
    assert not is_frozen(plain) and is_frozen(frozen)
    frozen.train()
    assert is_frozen(frozen)


def test_hook_refuses_wrapped_unfrozen_backbone():
    """Under DDP the hook comes too late to freeze: it refuses, and only
    checks and logs when the backbone was frozen at construction."""
    from mmdet_inbreast.utils.errors import InputError
    torch.manual_seed(0)
    model = _Detector(_generic_backbone())
    wrapper = SimpleNamespace(module=model)
    runner = SimpleNamespace(model=wrapper, logger=_fake_runner(model).logger)
    path = 'mmdet_inbreast.engine.hooks.freeze_backbone_hook.is_model_wrapper'
    with mock.patch(path, return_value=True):
        with pytest.raises(InputError, match='frozen_stages=4'):
            FreezeBackboneHook().before_train(runner)
        freeze_module(model.backbone)
        FreezeBackboneHook().before_train(runner)
    assert _count(model, trainable=True) == _count(model) - _count(
        model.backbone)


# ----------------------------------------------------- a real training run
class _Snapshot(Hook):
    """State dict as training starts (after init_weights and the freeze)."""
    priority = 'LOWEST'

    def before_train(self, runner):
        self.state = {k: v.detach().clone()
                      for k, v in runner.model.state_dict().items()}


class _RequiresGradOnly(Hook):
    """The naive freeze: flip requires_grad, nothing else."""
    priority = 'VERY_HIGH'

    def before_train(self, runner):
        for p in runner.model.backbone.parameters():
            p.requires_grad_(False)


@pytest.fixture(scope='module')
def tiny_data(synthetic_release, tmp_path_factory):
    """Split of one positive and one negative image, and its statistics."""
    from mmdet_inbreast.datasets.stats import compute_split_stats
    root, images = synthetic_release
    keys = [next(im.file_name for im in images if im.mass_boxes),
            next(im.file_name for im in images if not im.mass_boxes)]
    tmp = tmp_path_factory.mktemp('freeze')
    (tmp / 'train.txt').write_text('\n'.join(keys) + '\n')
    stats_file, _ = compute_split_stats(root, str(tmp / 'train.txt'))
    return root, str(tmp / 'train.txt'), stats_file


def _runner(tiny_data, work_dir, custom_hooks=()):
    """configs/demo/retina_demo_patch.py (RetinaNet-R18, random init,
    frozen_stages=-1, norm_eval=False): 64 x 64 crops, 2 images, one
    repeat each, batch 2, 2 epochs of one iteration, no validation."""
    root, split, stats = tiny_data
    cfg = Config.fromfile('configs/demo/retina_demo_patch.py')
    assert cfg.model.backbone.frozen_stages == -1
    assert cfg.model.backbone.norm_eval is False
    set_data_root(cfg, root, stats)
    ds = cfg.train_dataloader.dataset
    ds.pos_times, ds.neg_times = 1, 1
    ds.dataset.ann_file = split
    ds.dataset.pipeline[2].crop_size = (64, 64)
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2,
                         val_interval=100)
    for k in ('val', 'test'):
        cfg[f'{k}_cfg'] = cfg[f'{k}_dataloader'] = cfg[f'{k}_evaluator'] = None
    cfg.default_hooks.checkpoint = None
    cfg.custom_hooks = list(custom_hooks)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'freeze_{uuid.uuid4().hex[:8]}'
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    snapshot = _Snapshot()
    runner.register_hook(snapshot)
    return runner, snapshot


def _bn_buffers(state, prefix):
    return {k for k in state if k.startswith(prefix) and k.endswith(
        ('running_mean', 'running_var', 'num_batches_tracked'))}


@pytest.mark.slow
def test_training_keeps_backbone_bit_identical(tiny_data, tmp_path):
    runner, snap = _runner(tiny_data, tmp_path,
                           [dict(type='FreezeBackboneHook')])
    runner.train()
    model = runner.model
    after = model.state_dict()
    backbone = [k for k in after if k.startswith('backbone.')]
    buffers = _bn_buffers(after, 'backbone.')
    # R18: 20 convolutions and 20 BatchNorms (weight, bias, 3 buffers).
    assert len(backbone) == 20 + 5 * 20 and len(buffers) == 3 * 20
    for k in backbone:
        assert torch.equal(after[k], snap.state[k]), k
    assert all(after[k].item() == 0 for k in buffers
               if k.endswith('num_batches_tracked'))
    # Neck and head did train: every parameter moved.
    for name, p in model.named_parameters():
        if name.startswith(('neck.', 'bbox_head.')):
            assert p.requires_grad
            assert not torch.equal(p.detach(), snap.state[name]), name
    assert model.training and not model.backbone.training
    assert runner.iter == 2 and runner.epoch == 2
    # The hook's log line, with the real counts.
    total = _count(model)
    trainable = total - _count(model.backbone)
    assert _count(model, trainable=True) == trainable
    log = open(glob.glob(osp.join(runner.log_dir, '*.log'))[0]).read()
    assert (f'FreezeBackboneHook: froze backbone (ResNet, via '
            f'frozen_stages); trainable parameters {trainable:,} of '
            f'{total:,}') in log


@pytest.mark.slow
def test_requires_grad_only_lets_bn_statistics_change(tiny_data, tmp_path):
    """The trap the hook avoids: with requires_grad flipped only, the
    backbone weights stay but its BatchNorm statistics move."""
    runner, snap = _runner(tiny_data, tmp_path)
    runner.register_hook(_RequiresGradOnly())
    runner.train()
    after = runner.model.state_dict()
    weights = [k for k, _ in runner.model.backbone.named_parameters()]
    for k in weights:
        assert torch.equal(after[f'backbone.{k}'], snap.state[f'backbone.{k}'])
    changed = [k for k in _bn_buffers(after, 'backbone.')
               if not torch.equal(after[k], snap.state[k])]
    assert len(changed) == 3 * 20  # every statistic of all 20 BNs moved
    assert after['backbone.bn1.num_batches_tracked'].item() == 2
