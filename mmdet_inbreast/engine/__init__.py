from .amp import setup_amp
from .checkpoint import (CheckpointError, CheckpointRefusedError,
                         safe_torch_load)
from .checkpoint_fit import check_checkpoint_fits
from .dist import init_cpu_dist
from .hooks import *  # noqa: F401,F403
from .resume import find_resume_checkpoint

__all__ = ['CheckpointError', 'CheckpointRefusedError',
           'check_checkpoint_fits', 'find_resume_checkpoint', 'init_cpu_dist',
           'safe_torch_load', 'setup_amp']
