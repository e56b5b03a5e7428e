from .amp import setup_amp
from .checkpoint import safe_torch_load
from .hooks import *  # noqa: F401,F403

__all__ = ['safe_torch_load', 'setup_amp']
