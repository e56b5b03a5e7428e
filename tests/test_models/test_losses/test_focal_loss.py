"""TorchSigmoidFocalLoss against mmdet's FocalLoss (CPU:
py_sigmoid_focal_loss).

mmcv's op-based ``sigmoid_focal_loss`` has no CPU implementation
("sigmoid_focal_loss_forward_impl: implementation for device cpu not
found"), so the op path is compared only in the CUDA test, skipped without a
GPU.
"""
import pytest
import torch
import torch.nn as nn
from mmdet.models.losses import FocalLoss

import mmdet_inbreast  # noqa: F401  (registration)
from mmdet_inbreast.models.losses import TorchSigmoidFocalLoss

# (num_priors, num_classes): a RetinaNet-like single-class level and a
# multi-class one.
SHAPES = [(20000, 1), (5000, 3)]
# (gamma, alpha): mmdet's default, the seed's (gamma 5, alpha near 1), others.
GAMMA_ALPHA = [(2.0, 0.25), (5.0, 0.95), (5.0, 0.999), (5.0, 0.9999),
               (0.0, 0.5), (1.5, 0.75)]
# (reduction, avg_factor)
REDUCTIONS = [('mean', None), ('sum', None), ('none', None), ('mean', 137.0)]
TOL = dict(rtol=1e-5, atol=1e-5)


def _inputs(num, num_classes, seed=0):
    """Logits with a RetinaNet-like spread and ~1% positives."""
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(num, num_classes, generator=g) * 4 - 2
    labels = torch.full((num, ), num_classes, dtype=torch.long)
    pos = torch.rand(num, generator=g) < 0.01
    labels[pos] = torch.randint(
        0, num_classes, (int(pos.sum()), ), generator=g)
    return pred, labels


def _weight(kind, num, num_classes, seed=1):
    g = torch.Generator().manual_seed(seed)
    if kind is None:
        return None
    if kind == 'prior':  # (N, ): RetinaNet's label_weights
        return (torch.rand(num, generator=g) > 0.1).float()
    if kind == 'element':  # (N, C)
        return torch.rand(num, num_classes, generator=g)
    if kind == 'flat':  # (N * C, ), FSAF style
        return torch.rand(num * num_classes, generator=g)
    raise ValueError(kind)


def _loss_and_grad(loss_fn, pred, target, **kwargs):
    pred = pred.clone().requires_grad_(True)
    loss = loss_fn(pred, target, **kwargs)
    # A fixed random cotangent for 'none' so that every element's gradient is
    # checked, not only their sum.
    g = torch.Generator().manual_seed(2)
    cot = torch.rand(loss.shape, generator=g) if loss.dim() else None
    loss.backward(cot)
    return loss.detach(), pred.grad


def _assert_close_grads(grad, grad_ref):
    """Gradients equal to 1e-5 relative, and 1e-5 of the largest absolute."""
    scale = grad_ref.abs().max().item()
    torch.testing.assert_close(
        grad, grad_ref, rtol=1e-5, atol=1e-5 * max(scale, 1e-12))


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('gamma,alpha', GAMMA_ALPHA)
@pytest.mark.parametrize('reduction,avg_factor', REDUCTIONS)
@pytest.mark.parametrize('target_form', ['label', 'onehot'])
def test_matches_mmdet_focal_loss(shape, gamma, alpha, reduction, avg_factor,
                                  target_form):
    pred, labels = _inputs(*shape)
    target = labels
    if target_form == 'onehot':
        target = nn.functional.one_hot(labels, shape[1] + 1)[:, :shape[1]]
    weight = _weight('prior', *shape)
    kwargs = dict(
        weight=weight, avg_factor=avg_factor, reduction_override=reduction)
    ours = TorchSigmoidFocalLoss(gamma=gamma, alpha=alpha, loss_weight=0.7)
    ref = FocalLoss(gamma=gamma, alpha=alpha, loss_weight=0.7)

    loss, grad = _loss_and_grad(ours, pred, target, **kwargs)
    loss_ref, grad_ref = _loss_and_grad(ref, pred, target, **kwargs)

    assert loss.dtype == torch.float32
    assert loss.shape == loss_ref.shape
    torch.testing.assert_close(loss, loss_ref, **TOL)
    _assert_close_grads(grad, grad_ref)


@pytest.mark.parametrize('weight_kind', [None, 'prior', 'element', 'flat'])
@pytest.mark.parametrize('shape', SHAPES)
def test_weight_forms(weight_kind, shape):
    pred, labels = _inputs(*shape)
    weight = _weight(weight_kind, *shape)
    ours = TorchSigmoidFocalLoss(gamma=5.0, alpha=0.999)
    ref = FocalLoss(gamma=5.0, alpha=0.999)
    for reduction in ('none', 'sum'):
        loss, grad = _loss_and_grad(
            ours, pred, labels, weight=weight, reduction_override=reduction)
        loss_ref, grad_ref = _loss_and_grad(
            ref, pred, labels, weight=weight, reduction_override=reduction)
        torch.testing.assert_close(loss, loss_ref, **TOL)
        _assert_close_grads(grad, grad_ref)


def test_soft_targets_match_mmdet():
    """Float targets in [0, 1] of pred's shape take the general formula."""
    pred, _ = _inputs(5000, 3)
    target = torch.rand(5000, 3, generator=torch.Generator().manual_seed(3))
    ours = TorchSigmoidFocalLoss(gamma=2.0, alpha=0.25)
    ref = FocalLoss(gamma=2.0, alpha=0.25)
    for reduction in ('none', 'mean'):
        loss, grad = _loss_and_grad(
            ours, pred, target, reduction_override=reduction)
        loss_ref, grad_ref = _loss_and_grad(
            ref, pred, target, reduction_override=reduction)
        torch.testing.assert_close(loss, loss_ref, **TOL)
        _assert_close_grads(grad, grad_ref)


@pytest.mark.parametrize('target_form', ['label', 'onehot'])
def test_activated_matches_mmdet(target_form):
    logits, labels = _inputs(5000, 3)
    prob = logits.sigmoid()
    target = labels if target_form == 'label' else \
        nn.functional.one_hot(labels, 4)[:, :3].float()
    ours = TorchSigmoidFocalLoss(gamma=2.0, alpha=0.25, activated=True)
    ref = FocalLoss(gamma=2.0, alpha=0.25, activated=True)
    loss, grad = _loss_and_grad(ours, prob, target, avg_factor=50.0)
    loss_ref, grad_ref = _loss_and_grad(ref, prob, target, avg_factor=50.0)
    torch.testing.assert_close(loss, loss_ref, **TOL)
    _assert_close_grads(grad, grad_ref)


def test_hand_computed_values():
    """Two logits at 0 (p = 0.5): positive and background, gamma 2.

    positive: alpha * 0.5**2 * log 2 = 0.25 * 0.25 * 0.693147 = 0.0433217
    negative: (1 - alpha) * 0.5**2 * log 2 = 0.75 * 0.25 * 0.693147 = 0.1299651
    """
    loss = TorchSigmoidFocalLoss(gamma=2.0, alpha=0.25, reduction='none')
    out = loss(torch.zeros(2, 1), torch.tensor([0, 1]))
    torch.testing.assert_close(
        out, torch.tensor([[0.0433217], [0.1299651]]), rtol=1e-6, atol=1e-7)
    # mean over both, and avg_factor: sum / (2 + float32 eps)
    assert loss(
        torch.zeros(2, 1), torch.tensor([0, 1]),
        reduction_override='mean').item() == pytest.approx(0.0866434)
    assert loss(
        torch.zeros(2, 1),
        torch.tensor([0, 1]),
        avg_factor=2,
        reduction_override='mean').item() == pytest.approx(0.0866434)


def test_bf16_autocast_cpu():
    """bf16 logits under CPU autocast: loss in float32, grads in bf16.

    Against the float32 loss of the same (bf16-rounded) logits the result is
    exact up to float32 rounding; against the unrounded float32 logits it is
    within 1e-2 relative (bf16 keeps 8 bits of mantissa).
    """
    pred, labels = _inputs(20000, 1)
    weight = _weight('prior', 20000, 1)
    ours = TorchSigmoidFocalLoss(gamma=5.0, alpha=0.95)
    ref = FocalLoss(gamma=5.0, alpha=0.95)
    pred_bf16 = pred.bfloat16().requires_grad_(True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = ours(pred_bf16, labels, weight, avg_factor=200.0)
    loss.backward()
    assert loss.dtype == torch.float32
    assert pred_bf16.grad.dtype == torch.bfloat16
    assert torch.isfinite(pred_bf16.grad.float()).all()

    same_logits = ref(
        pred_bf16.detach().float(), labels, weight, avg_factor=200.0)
    torch.testing.assert_close(loss.detach(), same_logits, **TOL)
    fp32 = ref(pred, labels, weight, avg_factor=200.0)
    torch.testing.assert_close(loss.detach(), fp32, rtol=1e-2, atol=0)


def test_bf16_autocast_cpu_through_a_conv():
    """The realistic case: the logits come out of a conv under autocast."""
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 3, 3, padding=1)
    feat = torch.randn(2, 8, 16, 16)
    labels = torch.randint(0, 4, (2 * 16 * 16, ))
    ours = TorchSigmoidFocalLoss()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits = conv(feat).permute(0, 2, 3, 1).reshape(-1, 3)
        assert logits.dtype == torch.bfloat16
        loss = ours(logits, labels, avg_factor=10.0)
    loss.backward()
    assert loss.dtype == torch.float32
    assert torch.isfinite(conv.weight.grad).all()
    with torch.no_grad():
        fp32 = FocalLoss()(
            conv(feat).permute(0, 2, 3, 1).reshape(-1, 3),
            labels,
            avg_factor=10.0)
    torch.testing.assert_close(loss.detach(), fp32, rtol=1e-2, atol=0)


def test_fp16_input_cpu():
    pred, labels = _inputs(5000, 3)
    loss = TorchSigmoidFocalLoss()(pred.half(), labels)
    ref = FocalLoss()(pred.half().float(), labels)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, ref, **TOL)


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('gamma,alpha', [(2.0, 0.25), (5.0, 0.9999)])
def test_extreme_logits_finite(dtype, gamma, alpha):
    # every combination of a +-50 / +-1e4 logit with a positive or a
    # background label
    pred = torch.tensor([[50.0], [-50.0], [50.0], [-50.0], [1e4], [-1e4],
                         [1e4], [-1e4]]).to(dtype).requires_grad_(True)
    labels = torch.tensor([0, 0, 1, 1, 0, 0, 1, 1])
    loss = TorchSigmoidFocalLoss(
        gamma=gamma, alpha=alpha, reduction='none')(pred, labels)
    loss.sum().backward()
    assert torch.isfinite(loss).all()
    assert torch.isfinite(pred.grad.float()).all()
    # confident and right: ~0; confident and wrong: alpha_t * |logit| (the
    # logit as stored: bf16 rounds 1e4 to 9984)
    assert loss[[0, 3, 4, 7]].max().item() < 1e-20
    wrong = [1, 2, 5, 6]
    alpha_t = torch.tensor([alpha, 1 - alpha, alpha, 1 - alpha])
    torch.testing.assert_close(
        loss[wrong, 0],
        alpha_t * pred.detach()[wrong, 0].float().abs(),
        rtol=1e-6,
        atol=0)
    if dtype == torch.float32:
        ref = FocalLoss(
            gamma=gamma, alpha=alpha, reduction='none')(pred.detach(), labels)
        torch.testing.assert_close(loss.detach(), ref, **TOL)


def test_fused_is_ignored_on_cpu():
    pred, labels = _inputs(5000, 3)
    fused = TorchSigmoidFocalLoss(fused=True)(pred, labels)
    eager = TorchSigmoidFocalLoss()(pred, labels)
    assert torch.equal(fused, eager)


def test_build_from_registry():
    from mmdet.registry import MODELS
    loss = MODELS.build(
        dict(type='TorchSigmoidFocalLoss', gamma=5.0, alpha=0.95,
             loss_weight=2.0))
    assert isinstance(loss, TorchSigmoidFocalLoss)
    assert (loss.gamma, loss.alpha, loss.loss_weight) == (5.0, 0.95, 2.0)


def test_in_retina_head_matches_focal_loss():
    """RetinaHead.loss gives the same losses with either focal loss."""
    from mmdet.models.dense_heads import RetinaHead
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)

    def head(loss_type):
        torch.manual_seed(0)
        return RetinaHead(
            num_classes=1,
            in_channels=8,
            stacked_convs=1,
            feat_channels=8,
            anchor_generator=dict(
                type='AnchorGenerator',
                octave_base_scale=4,
                scales_per_octave=3,
                ratios=[0.5, 1.0, 2.0],
                strides=[8, 16]),
            loss_cls=dict(
                type=loss_type, gamma=5.0, alpha=0.95, loss_weight=1.0),
            train_cfg=dict(
                assigner=dict(
                    type='MaxIoUAssigner',
                    pos_iou_thr=0.5,
                    neg_iou_thr=0.4,
                    min_pos_iou=0,
                    ignore_iof_thr=-1),
                sampler=dict(type='PseudoSampler'),
                allowed_border=-1,
                pos_weight=-1,
                debug=False))

    torch.manual_seed(1)
    feats = (torch.randn(1, 8, 16, 16), torch.randn(1, 8, 8, 8))
    sample = DetDataSample(
        metainfo=dict(img_shape=(128, 128), pad_shape=(128, 128)))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[20.0, 30.0, 60.0, 80.0]]),
        labels=torch.tensor([0]))
    losses = [
        head(t).loss(feats, [sample])
        for t in ('TorchSigmoidFocalLoss', 'FocalLoss')
    ]
    for ours, ref in zip(losses[0]['loss_cls'], losses[1]['loss_cls']):
        torch.testing.assert_close(ours, ref, **TOL)
        assert ours.item() > 0


@pytest.mark.parametrize('kwargs,match',
                         [(dict(use_sigmoid=False), 'use_sigmoid'),
                          (dict(reduction='average'), 'reduction')])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TorchSigmoidFocalLoss(**kwargs)


def test_bad_inputs():
    loss = TorchSigmoidFocalLoss()
    pred = torch.zeros(4, 2)
    with pytest.raises(ValueError, match='reduction_override'):
        loss(pred, torch.zeros(4, dtype=torch.long), reduction_override='avg')
    with pytest.raises(ValueError, match=r'\(3,\)'):
        loss(pred, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match='one-hot target'):
        loss(pred, torch.zeros(4, 3))
    with pytest.raises(ValueError, match='weight of shape'):
        loss(pred, torch.zeros(4, dtype=torch.long), weight=torch.ones(5))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_mmcv_kernel_and_runs_in_bf16():
    """On CUDA FocalLoss uses mmcv's kernel; ours matches it in float32, and
    runs (eager and fused) under bf16 autocast where the kernel cannot."""
    pred, labels = _inputs(20000, 1)
    pred, labels = pred.cuda(), labels.cuda()
    ours = TorchSigmoidFocalLoss(gamma=5.0, alpha=0.95)
    ref = FocalLoss(gamma=5.0, alpha=0.95)
    loss, grad = _loss_and_grad(ours, pred, labels, avg_factor=200.0)
    loss_ref, grad_ref = _loss_and_grad(ref, pred, labels, avg_factor=200.0)
    torch.testing.assert_close(loss, loss_ref, **TOL)
    _assert_close_grads(grad, grad_ref)
    for fused in (False, True):
        loss_fn = TorchSigmoidFocalLoss(gamma=5.0, alpha=0.95, fused=fused)
        pred_bf16 = pred.bfloat16().requires_grad_(True)
        with torch.autocast('cuda', dtype=torch.bfloat16):
            loss = loss_fn(pred_bf16, labels, avg_factor=200.0)
        loss.backward()
        torch.testing.assert_close(loss.detach(), loss_ref, rtol=1e-2, atol=0)
        assert torch.isfinite(pred_bf16.grad.float()).all()


def test_is_mmdets_focal_loss_without_the_name_clash():
    """A FocalLoss subclass (one cfg option from mmdet's), under a name that
    differs from mmcv.ops.SigmoidFocalLoss (which calls the CUDA kernel)."""
    import mmcv.ops
    assert issubclass(TorchSigmoidFocalLoss, FocalLoss)
    assert TorchSigmoidFocalLoss.__name__ != mmcv.ops.SigmoidFocalLoss.__name__


def test_out_of_range_labels_are_background():
    """-1 and num_classes count as background, as in mmcv's CUDA kernel
    (FocalLoss's CPU path raises in F.one_hot for -1)."""
    pred, _ = _inputs(6, 2)
    ours = TorchSigmoidFocalLoss(reduction='none')
    ref = FocalLoss(reduction='none')
    bg = torch.tensor([2] * 6)
    expected = ref(pred, bg)
    for labels in (torch.tensor([-1] * 6), torch.tensor([2, -1, 2, -1, 2,
                                                          -1])):
        torch.testing.assert_close(ours(pred, labels), expected, **TOL)
