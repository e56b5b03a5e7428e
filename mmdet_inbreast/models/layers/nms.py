"""NMS with mmcv's signature that runs on CUDA without mmcv's CUDA ops.

mmcv's ``batched_nms`` (what every mmdet dense head calls at test time) is
plain Python around one kernel, ``mmcv.ops.nms``, whose CUDA version exists
only in an mmcv compiled with ``nvcc``. :func:`torch_nms` has the same
signature and returns the same thing; it runs torchvision's NMS kernel on
CUDA tensors and mmcv's own CPU kernel on CPU tensors (present in every mmcv
build with ops, the CPU-only one included). Both kernels are the same greedy
algorithm: boxes sorted by decreasing score, a box is dropped when its IoU
(``inter / (area_a + area_b - inter)``, areas ``(x2 - x1) * (y2 - y1)``)
with a kept box is strictly above ``iou_threshold``.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from mmdet_inbreast.utils.errors import InputError

#: nms_cfg types that :func:`torch_nms_cfg` can replace (mmcv's plain NMS).
PLAIN_NMS_TYPES = ('nms', None)


def torchvision_nms_kernel() -> Callable[[Tensor, Tensor, float], Tensor]:
    """``torchvision.ops.nms``, or raise ``RuntimeError`` saying why not.

    torchvision's wheels on PyPI are linked against torch's CUDA libraries:
    with a CPU-only torch its ``import`` raises ``RuntimeError`` (operator
    ``torchvision::nms`` does not exist), not ``ImportError``.

    Returns:
        Callable: ``nms(boxes, scores, iou_threshold) -> keep``.
    """
    try:
        from torchvision.ops import nms
    except Exception as e:  # ImportError, or RuntimeError from its _C
        raise RuntimeError(
            f'torchvision NMS is unavailable ({type(e).__name__}: {e}); '
            'install the torchvision built for your torch (same index URL as '
            'torch, e.g. torchvision==0.28.0 for torch 2.13)') from None
    return nms


def _kernel(device: torch.device,
            kernel: Optional[Callable] = None) -> Callable:
    """The NMS kernel for tensors on ``device``: ``kernel`` if given,
    torchvision's on CUDA, mmcv's on the CPU."""
    if kernel is not None:
        return kernel
    if device.type == 'cuda':
        return torchvision_nms_kernel()
    from mmcv.utils import ext_loader
    ext = ext_loader.load_ext('_ext', ['nms'])
    return lambda b, s, t: ext.nms(b, s, iou_threshold=float(t), offset=0)


def torch_nms(boxes: Tensor,
              scores: Tensor,
              iou_threshold: float,
              offset: int = 0,
              score_threshold: float = 0,
              max_num: int = -1,
              kernel: Optional[Callable] = None) -> tuple[Tensor, Tensor]:
    """``mmcv.ops.nms`` for tensors, on CUDA through torchvision.

    Same steps as mmcv's ``NMSop``: drop scores ``<= score_threshold`` (when
    it is above 0), run the kernel, keep the first ``max_num`` (when above
    0), map back to the input indices.

    Args:
        boxes (Tensor): (N, 4) x1, y1, x2, y2.
        scores (Tensor): (N, ) scores.
        iou_threshold (float): Boxes with IoU above this are suppressed.
        offset (int): Must be 0 (``x2 - x1`` widths; mmcv's legacy 1 is not
            supported by torchvision). Defaults to 0.
        score_threshold (float): Scores at or below it are dropped first.
            Defaults to 0.
        max_num (int): Keep at most this many (-1: all). Defaults to -1.
        kernel (Callable, optional): ``kernel(boxes, scores, iou) -> keep``
            replacing the device's kernel (for tests). Defaults to None.

    Returns:
        tuple[Tensor, Tensor]: ``dets`` (K, 5) kept boxes with their score,
        by decreasing score, and ``inds`` (K, ) their indices in ``boxes``.
    """
    if offset != 0:
        raise InputError(
            f'NMS offset={offset}: torchvision computes widths as x2 - x1 '
            '(offset 0); set model.test_cfg.nms.offset=0 or drop it')
    valid_inds = None
    b, s = boxes, scores
    if score_threshold > 0:
        valid = scores > score_threshold
        b, s = boxes[valid], scores[valid]
        valid_inds = torch.nonzero(valid, as_tuple=False).squeeze(1)
    inds = _kernel(boxes.device, kernel)(b, s.to(b.dtype),
                                         float(iou_threshold))
    if max_num > 0:
        inds = inds[:max_num]
    if valid_inds is not None:
        inds = valid_inds[inds]
    dets = torch.cat((boxes[inds], scores[inds].reshape(-1, 1)), dim=1)
    return dets, inds


def torch_nms_cfg(nms_cfg: Optional[dict], field: str = 'model.test_cfg.nms'
                  ) -> Optional[dict]:
    """A copy of an mmdet ``nms`` config that runs :func:`torch_nms`.

    mmcv's ``batched_nms`` takes ``type`` as a name it evaluates or as a
    callable; the copy names :func:`torch_nms`, so the class offsets, the
    per-class split above ``split_thr`` and ``max_num`` stay mmcv's code.

    Args:
        nms_cfg (dict, optional): E.g. ``dict(type='nms', iou_threshold=0.5)``;
            None (no NMS) is returned unchanged.
        field (str): Config path of ``nms_cfg``, for the error message.
            Defaults to ``'model.test_cfg.nms'``.

    Returns:
        dict | None: The copy.

    Raises:
        InputError: ``type`` is not plain NMS (``soft_nms`` etc.).
    """
    if nms_cfg is None:
        return None
    cfg = dict(nms_cfg)
    nms_type = cfg.get('type', 'nms')
    if nms_type is not torch_nms and nms_type not in PLAIN_NMS_TYPES:
        raise InputError(
            f'{field}.type={nms_type!r}: the torch NMS head runs plain NMS '
            f"only; set {field}.type='nms', or use mmdet's head (and mmcv's "
            'kernels) for other NMS types')
    cfg['type'] = torch_nms
    return cfg
