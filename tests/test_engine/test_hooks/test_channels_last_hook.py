"""ChannelsLastHook on a small RetinaNet-R18."""
from unittest import mock

import torch
from mmengine.logging import MMLogger

import mmdet_inbreast  # noqa: F401  (registration)
from mmdet_inbreast.engine import ChannelsLastHook


def _retinanet_r18():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.registry import DefaultScope
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = _build(MODELS)
    return model.eval()


def _build(models):
    return models.build(
        dict(
            type='RetinaNet',
            data_preprocessor=dict(type='DetDataPreprocessor'),
            backbone=dict(
                type='ResNet',
                depth=18,
                num_stages=4,
                out_indices=(0, 1, 2, 3),
                norm_cfg=dict(type='BN', requires_grad=True),
                style='pytorch',
                init_cfg=None),
            neck=dict(
                type='FPN',
                in_channels=[64, 128, 256, 512],
                out_channels=32,
                start_level=1,
                add_extra_convs='on_input',
                num_outs=5),
            bbox_head=dict(
                type='RetinaHead',
                num_classes=1,
                in_channels=32,
                stacked_convs=1,
                feat_channels=32,
                anchor_generator=dict(
                    type='AnchorGenerator',
                    octave_base_scale=4,
                    scales_per_octave=3,
                    ratios=[0.5, 1.0, 2.0],
                    strides=[8, 16, 32, 64, 128]),
                bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
                loss_cls=dict(type='TorchSigmoidFocalLoss'),
                loss_bbox=dict(type='L1Loss')),
            test_cfg=dict(
                nms_pre=100,
                score_thr=0.05,
                nms=dict(type='nms', iou_threshold=0.5),
                max_per_img=10)))


def _runner(model):
    return mock.Mock(
        model=model, logger=MMLogger.get_instance('test_channels_last'))


def _outputs(model, x):
    with torch.no_grad():
        cls_scores, bbox_preds = model._forward(x)
    return list(cls_scores) + list(bbox_preds)


def test_converts_and_keeps_outputs():
    model = _retinanet_r18()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    before = _outputs(model, x)
    params_before = [id(p) for p in model.parameters()]
    conv1 = model.backbone.conv1.weight
    assert not conv1.is_contiguous(memory_format=torch.channels_last)

    runner = _runner(model)
    with mock.patch.object(runner.logger, 'info') as info:
        ChannelsLastHook().before_run(runner)

    four_d = [p for p in model.parameters() if p.dim() == 4]
    # backbone: conv1 + 16 block convs + 3 downsample convs; FPN: 3 lateral
    # + 3 output + 2 extra convs; head: cls conv, reg conv, retina_cls,
    # retina_reg
    assert len(four_d) == 20 + 8 + 4
    assert all(
        p.is_contiguous(memory_format=torch.channels_last) for p in four_d)
    assert model.backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last)
    # the optimizer's Parameter objects are still the model's
    assert [id(p) for p in model.parameters()] == params_before
    info.assert_called_once()
    assert '(32 4-D parameters and buffers)' in info.call_args.args[0]

    after = _outputs(model, x)
    assert len(after) == len(before) == 10
    for a, b in zip(after, before):
        assert a.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_unwraps_model_wrapper():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    wrapper = mock.Mock(module=model)
    with mock.patch(
            'mmdet_inbreast.engine.hooks.channels_last_hook.is_model_wrapper',
            return_value=True):
        ChannelsLastHook().before_run(_runner(wrapper))
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_registered():
    from mmdet.registry import HOOKS
    hook = HOOKS.build(dict(type='ChannelsLastHook'))
    assert isinstance(hook, ChannelsLastHook)
    assert hook.priority == 'VERY_HIGH'
