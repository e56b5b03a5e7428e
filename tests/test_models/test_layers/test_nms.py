"""torch_nms / torch_nms_cfg against mmcv's NMS (CPU kernel) on random boxes.

torchvision's PyPI wheels are linked to torch's CUDA libraries and do not
load with a CPU-only torch; its kernel is compared with mmcv's here only
where it loads (and on CUDA in tests/test_gpu). The wrapper logic (score
threshold, max_num, class offsets, per-class split) is checked with a
brute-force greedy kernel written below.
"""
import functools

import pytest
import torch
from mmcv.ops import batched_nms, nms

from mmdet_inbreast.models.layers import nms as torch_nms_module
from mmdet_inbreast.models.layers import (torch_nms, torch_nms_cfg,
                                          torchvision_nms_kernel)
from mmdet_inbreast.utils.errors import InputError


def greedy_nms(boxes, scores, iou_threshold):
    """Brute-force greedy NMS: highest score first, drop IoU > threshold.

    IoU of every pair, ``inter / (area_kept + area_other - inter)`` in the
    boxes' dtype (the kernels' formula), then the greedy pass in Python.
    """
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    w = (torch.minimum(boxes[:, None, 2], boxes[None, :, 2]) -
         torch.maximum(boxes[:, None, 0], boxes[None, :, 0])).clamp(min=0)
    h = (torch.minimum(boxes[:, None, 3], boxes[None, :, 3]) -
         torch.maximum(boxes[:, None, 1], boxes[None, :, 1])).clamp(min=0)
    inter = w * h
    over = (inter / (area[:, None] + area[None, :] - inter) >
            iou_threshold).tolist()
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    keep = []
    for i in order:
        if not any(over[j][i] for j in keep):
            keep.append(i)
    return torch.tensor(keep, dtype=torch.long)


def random_dets(seed, num=300, num_classes=3, size=200.0):
    """Clustered random boxes; scores distinct (a permutation), no ties."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(num // 10 + 1, 2, generator=g) * size
    c = centres[torch.randint(0, len(centres), (num, ), generator=g)]
    c = c + torch.randn(num, 2, generator=g) * 6
    wh = 10 + torch.rand(num, 2, generator=g) * 40
    boxes = torch.cat([c - wh / 2, c + wh / 2], 1)
    scores = (torch.randperm(num, generator=g).float() + 1) / (num + 1)
    labels = torch.randint(0, num_classes, (num, ), generator=g)
    return boxes, scores, labels


def _kernels():
    kernels = [('greedy', greedy_nms)]
    try:
        kernels.append(('torchvision', torchvision_nms_kernel()))
    except RuntimeError:
        pass
    return kernels


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('iou', [0.3, 0.6])
@pytest.mark.parametrize('score_threshold,max_num', [(0, -1), (0.4, -1),
                                                     (0, 25), (0.2, 10)])
def test_single_class_equals_mmcv(seed, iou, score_threshold, max_num):
    boxes, scores, _ = random_dets(seed)
    ref_dets, ref_inds = nms(boxes, scores, iou,
                             score_threshold=score_threshold, max_num=max_num)
    assert 10 < len(ref_inds) < len(boxes) or max_num > 0
    for name, kernel in _kernels() + [('default', None)]:
        dets, inds = torch_nms(boxes, scores, iou,
                               score_threshold=score_threshold,
                               max_num=max_num, kernel=kernel)
        assert torch.equal(inds, ref_inds), name
        assert torch.equal(dets, ref_dets), name


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('num_classes', [1, 3, 7])
@pytest.mark.parametrize('extra', [dict(), dict(max_num=40),
                                   dict(split_thr=50),
                                   dict(split_thr=50, max_num=40),
                                   dict(class_agnostic=True)])
def test_batched_equals_mmcv(seed, num_classes, extra):
    """mmcv's batched_nms with our kernel keeps exactly mmcv's boxes."""
    boxes, scores, labels = random_dets(seed, num_classes=num_classes)
    cfg = dict(type='nms', iou_threshold=0.5, **extra)
    ref_dets, ref_keep = batched_nms(boxes, scores, labels, cfg)
    for name, kernel in _kernels():
        ours = torch_nms_cfg(cfg)
        ours['type'] = functools.partial(torch_nms, kernel=kernel)
        dets, keep = batched_nms(boxes, scores, labels, ours)
        assert torch.equal(keep, ref_keep), name
        assert torch.equal(dets, ref_dets), name
    dets, keep = batched_nms(boxes, scores, labels, torch_nms_cfg(cfg))
    assert torch.equal(keep, ref_keep)
    # Several classes: boxes of different classes never suppress each other.
    if num_classes > 1 and not extra:
        agnostic, _ = batched_nms(boxes, scores, labels,
                                  dict(cfg, class_agnostic=True))
        assert len(agnostic) < len(ref_dets)


def test_kernel_is_called_and_empty_input():
    calls = []

    def spy(b, s, t):
        calls.append(len(b))
        return greedy_nms(b, s, t)

    boxes, scores, _ = random_dets(0, num=20)
    torch_nms(boxes, scores, 0.5, score_threshold=0.5, kernel=spy)
    assert calls == [int((scores > 0.5).sum())]
    dets, inds = torch_nms(boxes[:0], scores[:0], 0.5, kernel=greedy_nms)
    assert dets.shape == (0, 5) and inds.numel() == 0


def test_cfg_copies_and_refuses_other_types():
    cfg = dict(type='nms', iou_threshold=0.5)
    out = torch_nms_cfg(cfg)
    assert out['type'] is torch_nms and cfg['type'] == 'nms'
    assert out['iou_threshold'] == 0.5
    assert torch_nms_cfg(None) is None
    assert torch_nms_cfg(dict(iou_threshold=0.6))['type'] is torch_nms
    with pytest.raises(InputError,
                       match=r"model.test_cfg.nms.type='soft_nms'"):
        torch_nms_cfg(dict(type='soft_nms', iou_threshold=0.5))
    with pytest.raises(InputError, match='offset=1'):
        torch_nms(*random_dets(0, num=5)[:2], 0.5, offset=1)


def test_cuda_kernel_is_torchvision(monkeypatch):
    """On CUDA tensors the kernel is torchvision's (never mmcv's)."""
    sentinel = object()
    monkeypatch.setattr(torch_nms_module, 'torchvision_nms_kernel',
                        lambda: sentinel)
    assert torch_nms_module._kernel(torch.device('cuda', 0)) is sentinel
    assert torch_nms_module._kernel(torch.device('cpu')) is not sentinel


def test_torchvision_missing_is_explained(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith('torchvision'):
            raise RuntimeError('operator torchvision::nms does not exist')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', fake_import)
    with pytest.raises(RuntimeError, match='torchvision built for your torch'):
        torchvision_nms_kernel()
