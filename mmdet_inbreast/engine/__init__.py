from .amp import setup_amp
from .checkpoint import safe_torch_load
from .dist import init_cpu_dist
from .hooks import *  # noqa: F401,F403

__all__ = ['init_cpu_dist', 'safe_torch_load', 'setup_amp']
