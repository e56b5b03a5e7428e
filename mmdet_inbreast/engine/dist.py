"""Distributed training on CPUs (``torchrun`` with the gloo backend)."""
from __future__ import annotations

import datetime

import torch
from mmengine.config import Config


def init_cpu_dist(cfg: Config) -> None:
    """Start the process group of a ``torchrun`` job on CPUs (gloo).

    Called by ``tools/train.py`` for ``--launcher pytorch`` when CUDA is
    not available.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` before
    ``init_process_group``, which fails without CUDA, and its default DDP
    wrapper passes ``device_ids=[LOCAL_RANK]``, which DDP refuses for a CPU
    module. The runner skips ``init_dist`` when a process group exists, so
    this starts one (``env://``, set by torchrun) and asks for DDP without
    device ids. (SyncBN has no CPU kernel: torch refuses it in the first
    forward pass.)
    """
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'nccl')
    if backend != 'gloo':
        raise RuntimeError(
            f'--launcher pytorch without CUDA: backend {backend!r} needs '
            'GPUs; pass --cfg-options env_cfg.dist_cfg.backend=gloo')
    if dist_cfg.get('timeout') is not None:
        dist_cfg['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    torch.distributed.init_process_group(backend='gloo', **dist_cfg)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
