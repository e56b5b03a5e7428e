from . import losses  # noqa: F401

__all__ = ['losses']
