from .amp import setup_amp
from .checkpoint import safe_torch_load
from .dist import init_cpu_dist
from .hooks import *  # noqa: F401,F403
from .mmcv_ops_check import check_mmcv_cuda_ops, mmcv_has_cuda_ops

__all__ = ['check_mmcv_cuda_ops', 'init_cpu_dist', 'mmcv_has_cuda_ops',
           'safe_torch_load', 'setup_amp']
