"""Fail early: a model on CUDA with an mmcv built without CUDA ops stops at
start-up, naming the config field, when it would call an mmcv CUDA kernel.

"Device is CUDA, mmcv has no CUDA ops" is simulated on the CPU by patching
the two probes of mmdet_inbreast.engine.mmcv_ops_check.
"""
import copy
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import mmdet_inbreast  # noqa: F401  (registration)
from mmdet_inbreast.engine import mmcv_ops_check
from mmdet_inbreast.engine.mmcv_ops_check import (check_mmcv_cuda_ops,
                                                  mmcv_cuda_calls,
                                                  mmcv_has_cuda_ops)
from mmdet_inbreast.utils import set_data_root
from mmdet_inbreast.utils.errors import InputError

CUDA = torch.device('cuda', 0)


def _model(**head):
    from mmdet.registry import MODELS
    cfg = Config.fromfile('configs/demo/retina_demo_patch.py')
    cfg.model.bbox_head.update(head)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg.model)


@pytest.fixture
def cpu_only_mmcv(monkeypatch):
    monkeypatch.setattr(mmcv_ops_check, 'mmcv_has_cuda_ops', lambda: False)


def test_probe_on_this_build():
    """This machine's mmcv is the CPU-only build."""
    from mmcv.ops import get_compiling_cuda_version
    assert mmcv_has_cuda_ops() == (
        get_compiling_cuda_version() != 'not available')


def test_default_configs_call_no_mmcv_cuda_kernel(cpu_only_mmcv):
    for path in ('configs/retina_patch.py', 'configs/retina_full.py',
                 'configs/retina_resized.py', 'configs/retina_patch_fast.py'):
        from mmdet.registry import MODELS
        cfg = Config.fromfile(path)
        cfg.model.backbone.init_cfg = None
        with DefaultScope.overwrite_default_scope('mmdet'):
            model = MODELS.build(cfg.model)
        assert mmcv_cuda_calls(model) == [], path
        check_mmcv_cuda_ops(model, CUDA)  # no error


@pytest.mark.parametrize('head,fields', [
    (dict(loss_cls=dict(type='FocalLoss')), ['model.bbox_head.loss_cls.type']),
    (dict(type='RetinaHead'), ['model.bbox_head.type']),
    (dict(type='RetinaHead', loss_cls=dict(type='FocalLoss')),
     ['model.bbox_head.type', 'model.bbox_head.loss_cls.type']),
])
def test_stock_components_are_named(cpu_only_mmcv, head, fields):
    model = _model(**head)
    assert [f for f, _ in mmcv_cuda_calls(model)] == fields
    with pytest.raises(InputError) as err:
        check_mmcv_cuda_ops(model, CUDA)
    msg = str(err.value)
    assert '\n' not in msg and 'built without CUDA ops' in msg
    for field in fields:
        assert field in msg
    if 'loss_cls' in ''.join(fields):
        assert "'TorchSigmoidFocalLoss'" in msg
    if 'model.bbox_head.type' in fields:
        assert "'TorchNMSRetinaHead'" in msg
    # On the CPU, or with mmcv's CUDA ops, nothing is missing.
    check_mmcv_cuda_ops(model, torch.device('cpu'))
    check_mmcv_cuda_ops(model)  # the model's own device: CPU
    with pytest.MonkeyPatch.context() as m:
        m.setattr(mmcv_ops_check, 'mmcv_has_cuda_ops', lambda: True)
        check_mmcv_cuda_ops(model, CUDA)


def test_mmcv_op_layers_are_named(cpu_only_mmcv):
    from mmcv.ops import RoIAlign
    model = _model()
    model.bbox_head.extra = RoIAlign(7)
    assert mmcv_cuda_calls(model)[0][0] == 'model.bbox_head.extra.type'


@pytest.fixture(scope='module')
def tiny_data(synthetic_release, tmp_path_factory):
    from mmdet_inbreast.datasets.stats import compute_split_stats
    root, images = synthetic_release
    keys = [im.file_name for im in images[:2]]
    tmp = tmp_path_factory.mktemp('opscheck')
    (tmp / 'train.txt').write_text('\n'.join(keys) + '\n')
    stats_file, _ = compute_split_stats(root, str(tmp / 'train.txt'))
    return root, str(tmp / 'train.txt'), stats_file


@pytest.mark.slow
def test_runner_stops_before_the_first_step(cpu_only_mmcv, monkeypatch,
                                            tiny_data, tmp_path):
    """Runner.train() with mmdet's FocalLoss "on CUDA": InputError from
    MMCVOpsCheckHook (a default hook of every config) at iteration 0."""
    root, split, stats = tiny_data
    cfg = Config.fromfile('configs/demo/retina_demo_patch.py')
    assert cfg.default_hooks.mmcv_ops_check.type == 'MMCVOpsCheckHook'
    set_data_root(cfg, root, stats)
    cfg.train_dataloader.dataset.dataset.ann_file = split
    cfg.model.bbox_head.loss_cls.type = 'FocalLoss'
    for k in ('val', 'test'):
        cfg[f'{k}_cfg'] = cfg[f'{k}_dataloader'] = cfg[f'{k}_evaluator'] = None
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'opscheck_{uuid.uuid4().hex[:8]}'
    runner = Runner.from_cfg(cfg)
    monkeypatch.setattr(mmcv_ops_check, 'model_device', lambda model: CUDA)
    from mmdet_inbreast.engine.hooks import mmcv_ops_check_hook
    monkeypatch.setattr(mmcv_ops_check_hook, 'model_device',
                        lambda model: CUDA)
    steps = []
    monkeypatch.setattr(runner.model, 'train_step',
                        lambda *a, **k: steps.append(1))
    with pytest.raises(InputError, match='model.bbox_head.loss_cls.type'):
        runner.train()
    assert steps == [] and runner.iter == 0
