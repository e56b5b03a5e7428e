from .amp import setup_amp
from .checkpoint import (CheckpointError, CheckpointRefusedError,
                         safe_torch_load)
from .checkpoint_fit import check_checkpoint_fits
from .dist import init_cpu_dist
from .hooks import *  # noqa: F401,F403
from .mmcv_ops_check import check_mmcv_cuda_ops, mmcv_has_cuda_ops
from .resume import find_resume_checkpoint

__all__ = ['CheckpointError', 'CheckpointRefusedError',
           'check_checkpoint_fits', 'check_mmcv_cuda_ops',
           'find_resume_checkpoint', 'init_cpu_dist', 'mmcv_has_cuda_ops',
           'safe_torch_load', 'setup_amp']
