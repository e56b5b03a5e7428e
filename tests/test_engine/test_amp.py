"""setup_amp on plain mmengine Configs (no training)."""
from unittest import mock

import pytest
import torch
from mmengine.config import Config

from mmdet_inbreast.engine import setup_amp


def _cfg(**overrides):
    """A RetinaNet-shaped training config (only the fields setup_amp reads)."""
    cfg = dict(
        model=dict(
            type='RetinaNet',
            bbox_head=dict(
                type='RetinaHead',
                num_classes=1,
                loss_cls=dict(
                    type='FocalLoss',
                    use_sigmoid=True,
                    gamma=5.0,
                    alpha=0.95,
                    loss_weight=1.0),
                loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9),
            clip_grad=dict(max_norm=35, norm_type=2)))
    cfg.update(overrides)
    return Config(cfg)


def test_float16_default():
    cfg = _cfg()
    assert setup_amp(cfg, None) == 'float16'
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'float16'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    # the rest of the wrapper is kept, and float16 keeps mmcv's FocalLoss
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.optim_wrapper.clip_grad.max_norm == 35
    assert cfg.model.bbox_head.loss_cls.type == 'FocalLoss'


def test_bfloat16_swaps_focal_loss_and_warns():
    cfg = _cfg()
    with mock.patch('mmdet_inbreast.engine.amp.print_log') as log:
        assert setup_amp(cfg, 'bfloat16') == 'bfloat16'
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.optim_wrapper.loss_scale == 1.0
    assert cfg.model.bbox_head.loss_cls.to_dict() == dict(
        type='TorchSigmoidFocalLoss',
        use_sigmoid=True,
        gamma=5.0,
        alpha=0.95,
        loss_weight=1.0)
    assert cfg.model.bbox_head.loss_bbox.type == 'L1Loss'
    messages = ' '.join(call.args[0] for call in log.call_args_list)
    assert 'model.bbox_head.loss_cls' in messages
    assert 'BFloat16' in messages


def test_bfloat16_swapped_loss_builds():
    import mmdet_inbreast  # noqa: F401  (registration)
    from mmdet.registry import MODELS
    cfg = _cfg()
    setup_amp(cfg, 'bfloat16')
    loss = MODELS.build(cfg.model.bbox_head.loss_cls)
    assert type(loss).__name__ == 'TorchSigmoidFocalLoss'
    assert (loss.gamma, loss.alpha) == (5.0, 0.95)


def test_scoped_focal_loss_name_keeps_scope():
    cfg = _cfg()
    cfg.model.bbox_head.loss_cls.type = 'mmdet.FocalLoss'
    setup_amp(cfg, 'bfloat16')
    assert cfg.model.bbox_head.loss_cls.type == 'mmdet.TorchSigmoidFocalLoss'


@pytest.mark.parametrize('cfg_dtype,arg,expected', [
    ('bfloat16', None, 'bfloat16'),
    ('float16', None, 'float16'),
    ('float16', 'bfloat16', 'bfloat16'),
    (None, 'bfloat16', 'bfloat16'),
])
def test_config_field_and_argument_priority(cfg_dtype, arg, expected):
    cfg = _cfg(amp_dtype=cfg_dtype) if cfg_dtype else _cfg()
    assert setup_amp(cfg, arg) == expected
    assert cfg.optim_wrapper.dtype == expected


def test_torch_dtype_accepted():
    cfg = _cfg()
    assert setup_amp(cfg, torch.bfloat16) == 'bfloat16'
    assert cfg.optim_wrapper.dtype == 'bfloat16'


@pytest.mark.parametrize('dtype', ['bf16', 'float32', 'half', 'int8'])
def test_unknown_dtype(dtype):
    with pytest.raises(ValueError, match=f"'{dtype}' is not supported"):
        setup_amp(_cfg(), dtype)


def test_unknown_dtype_from_config():
    with pytest.raises(ValueError, match="'fp16' is not supported"):
        setup_amp(_cfg(amp_dtype='fp16'), None)


def test_existing_amp_wrapper_same_dtype_keeps_loss_scale():
    cfg = _cfg(
        optim_wrapper=dict(
            type='AmpOptimWrapper',
            dtype='float16',
            loss_scale=512.0,
            optimizer=dict(type='SGD', lr=0.01)))
    assert setup_amp(cfg, 'float16') == 'float16'
    assert cfg.optim_wrapper.loss_scale == 512.0


def test_existing_amp_wrapper_without_dtype():
    cfg = _cfg(
        optim_wrapper=dict(
            type='AmpOptimWrapper', optimizer=dict(type='SGD', lr=0.01)))
    setup_amp(cfg, 'bfloat16')
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.optim_wrapper.loss_scale == 1.0


def test_existing_amp_wrapper_other_dtype():
    cfg = _cfg(
        optim_wrapper=dict(
            type='AmpOptimWrapper',
            dtype='float16',
            optimizer=dict(type='SGD', lr=0.01)))
    with pytest.raises(ValueError, match="dtype='float16'.*'bfloat16'"):
        setup_amp(cfg, 'bfloat16')


def test_optim_wrapper_without_type_is_optim_wrapper():
    cfg = _cfg(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)))
    setup_amp(cfg, 'float16')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'


def test_other_optim_wrapper_rejected():
    cfg = _cfg(
        optim_wrapper=dict(
            type='ApexOptimWrapper', optimizer=dict(type='SGD', lr=0.01)))
    with pytest.raises(ValueError, match='ApexOptimWrapper'):
        setup_amp(cfg, 'float16')


def test_no_optim_wrapper():
    cfg = _cfg()
    cfg.pop('optim_wrapper')
    with pytest.raises(ValueError, match='optim_wrapper'):
        setup_amp(cfg, 'float16')


def test_focal_losses_found_anywhere_in_the_model():
    """Every FocalLoss in the model is swapped, e.g. in lists of heads."""
    cfg = _cfg()
    cfg.model.roi_head = dict(bbox_head=[
        dict(loss_cls=dict(type='FocalLoss', gamma=2.0)),
        dict(loss_cls=dict(type='CrossEntropyLoss'))
    ])
    with mock.patch('mmdet_inbreast.engine.amp.print_log') as log:
        setup_amp(cfg, 'bfloat16')
    assert cfg.model.roi_head.bbox_head[0].loss_cls.type == \
        'TorchSigmoidFocalLoss'
    assert cfg.model.roi_head.bbox_head[1].loss_cls.type == \
        'CrossEntropyLoss'
    messages = ' '.join(call.args[0] for call in log.call_args_list)
    assert 'model.roi_head.bbox_head[0].loss_cls' in messages
