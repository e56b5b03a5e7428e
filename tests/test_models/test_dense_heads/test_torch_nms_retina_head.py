"""TorchNMSRetinaHead: the demo detector predicts the same boxes as with
mmdet's RetinaHead (mmcv's NMS), through the torch_nms path."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmdet_inbreast  # noqa: F401  (registration)
from mmdet_inbreast.models.dense_heads import TorchNMSRetinaHead
from mmdet_inbreast.models.layers import nms as nms_module
from mmdet_inbreast.utils.errors import InputError


def _build(cfg_model):
    from mmdet.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg_model)


@pytest.fixture(scope='module')
def detectors():
    """The demo model (configs/demo/retina_demo_patch.py) with both heads and
    the same weights; classification bias 0 so that thousands of anchors
    pass score_thr and NMS has work to do."""
    cfg = Config.fromfile('configs/demo/retina_demo_patch.py')
    assert cfg.model.bbox_head.type == 'TorchNMSRetinaHead'
    cfg.model.test_cfg.score_thr = 0.3
    torch.manual_seed(0)
    ours = _build(copy.deepcopy(cfg.model))
    ours.init_weights()
    torch.nn.init.zeros_(ours.bbox_head.retina_cls.bias)
    stock_cfg = copy.deepcopy(cfg.model)
    stock_cfg.bbox_head.type = 'RetinaHead'
    stock = _build(stock_cfg)
    stock.load_state_dict(ours.state_dict())
    assert isinstance(ours.bbox_head, TorchNMSRetinaHead)
    assert type(stock.bbox_head).__name__ == 'RetinaHead'
    return ours.eval(), stock.eval()


def _predict(model, seed=0):
    from mmdet.structures import DetDataSample
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(2, 3, 160, 192, generator=g)
    samples = [
        DetDataSample(metainfo=dict(img_shape=(160, 192), ori_shape=(160,
                                                                     192),
                                    pad_shape=(160, 192),
                                    scale_factor=(1.0, 1.0)))
        for _ in range(2)
    ]
    with torch.no_grad():
        return model(inputs, samples, mode='predict')


@pytest.mark.parametrize('seed', [0, 1])
def test_same_predictions_as_retina_head(detectors, monkeypatch, seed):
    ours, stock = detectors
    calls = []

    real_kernel = nms_module._kernel

    def spy_kernel(device, kernel=None):
        def run(b, s, t):
            calls.append(len(b))
            return real_kernel(device)(b, s, t)
        return run

    ref = _predict(stock, seed)
    # Our path, then again with a spy on its kernel (which shows that the
    # head really goes through torch_nms; torch_nms's kernels themselves
    # are compared with mmcv's in test_layers/test_nms.py).
    for patched in (False, True):
        if patched:
            monkeypatch.setattr(nms_module, '_kernel', spy_kernel)
        out = _predict(ours, seed)
        for a, b in zip(out, ref):
            pa, pb = a.pred_instances, b.pred_instances
            assert len(pb.bboxes) > 20
            assert torch.equal(pa.bboxes, pb.bboxes)
            assert torch.equal(pa.scores, pb.scores)
            assert torch.equal(pa.labels, pb.labels)
    assert len(calls) == 2 and min(calls) > len(ref[0].pred_instances)


def test_soft_nms_refused(detectors):
    ours, _ = detectors
    ours = copy.deepcopy(ours)
    ours.bbox_head.test_cfg.nms = dict(type='soft_nms', iou_threshold=0.5)
    with pytest.raises(InputError, match='model.test_cfg.nms.type'):
        _predict(ours)
