from .amp import setup_amp
from .hooks import *  # noqa: F401,F403

__all__ = ['setup_amp']
