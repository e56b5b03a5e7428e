"""On a CUDA GPU with an mmcv built without CUDA ops (tools/gpu_check.sh):
R50 patch model forward/backward in fp32/fp16/bf16, NMS on CUDA, full-image
inference, phase 2 with the backbone frozen. Skipped without CUDA."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmdet_inbreast  # noqa: F401  (registration)
from mmdet_inbreast.engine import check_mmcv_cuda_ops

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
]


def _model(config, **backbone):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.update(backbone)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model.cuda()


def _samples(n, h, w, boxes=True):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    out = []
    for i in range(n):
        s = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                        pad_shape=(h, w),
                                        scale_factor=(1.0, 1.0)))
        if boxes:
            s.gt_instances = InstanceData(
                bboxes=torch.tensor([[w * 0.3, h * 0.3, w * 0.5, h * 0.55]],
                                    device='cuda'),
                labels=torch.tensor([0], device='cuda'))
        out.append(s)
    return out


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16,
                                   torch.bfloat16])
def test_r50_patch_forward_backward(dtype):
    model = _model('configs/retina_patch.py')
    check_mmcv_cuda_ops(model)
    model.train()
    x = torch.randn(2, 3, 512, 512, device='cuda')
    with torch.autocast('cuda', dtype=dtype, enabled=dtype != torch.float32):
        losses = model(x, _samples(2, 512, 512), mode='loss')
    total = sum(v if torch.is_tensor(v) else sum(v) for v in losses.values())
    assert total.dtype == torch.float32 and torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_nms_on_cuda_equals_mmcv_cpu(seed):
    from mmcv.ops import batched_nms
    from mmdet_inbreast.models.layers import torch_nms_cfg
    g = torch.Generator().manual_seed(seed)
    n = 2000
    c = torch.rand(n, 2, generator=g) * 500
    wh = 10 + torch.rand(n, 2, generator=g) * 60
    boxes = torch.cat([c, c + wh], 1)
    scores = (torch.randperm(n, generator=g).float() + 1) / (n + 1)
    labels = torch.randint(0, 3, (n, ), generator=g)
    for extra in (dict(), dict(max_num=100)):
        cfg = dict(type='nms', iou_threshold=0.5, **extra)
        ref_dets, ref_keep = batched_nms(boxes, scores, labels, cfg)
        dets, keep = batched_nms(boxes.cuda(), scores.cuda(), labels.cuda(),
                                 torch_nms_cfg(cfg))
        assert keep.is_cuda
        assert torch.equal(keep.cpu(), ref_keep)
        assert torch.equal(dets.cpu(), ref_dets)


def test_full_image_inference_bf16():
    model = _model('configs/retina_full.py').eval()
    check_mmcv_cuda_ops(model)
    torch.nn.init.zeros_(model.bbox_head.retina_cls.bias)  # many detections
    x = torch.randn(1, 3, 4096, 3328, device='cuda')
    with torch.no_grad(), torch.autocast('cuda', dtype=torch.bfloat16):
        out = model(x, _samples(1, 4096, 3328, boxes=False), mode='predict')
    pred = out[0].pred_instances
    assert 0 < len(pred.bboxes) <= 100 and pred.bboxes.is_cuda


def test_phase2_frozen_backbone_trains_neck_and_head_only():
    model = _model('configs/retina_full.py')
    check_mmcv_cuda_ops(model)
    start = copy.deepcopy(model.state_dict())
    model.train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                          lr=0.01, momentum=0.9)
    x = torch.randn(2, 3, 1024, 832, device='cuda')
    for _ in range(2):
        opt.zero_grad()
        with torch.autocast('cuda', dtype=torch.bfloat16):
            losses = model(x, _samples(2, 1024, 832), mode='loss')
        sum(v if torch.is_tensor(v) else sum(v)
            for v in losses.values()).backward()
        opt.step()
    after = model.state_dict()
    for k, v in start.items():
        if k.startswith('backbone.'):
            assert torch.equal(after[k], v), k
    assert not torch.equal(after['bbox_head.retina_cls.weight'],
                           start['bbox_head.retina_cls.weight'])
