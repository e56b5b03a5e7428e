"""mmdet-inbreast: an MMDetection 3.x plugin for mass detection on INbreast.

Importing the package registers every component with mmdet's registries, so a
config needs one line::

    custom_imports = dict(imports=['mmdet_inbreast'], allow_failed_imports=False)

The anchor optimiser (:mod:`mmdet_inbreast.anchors`) is numpy/scipy only and is
not imported here.
"""
# Registration on import (utils: the workdir:// checkpoint scheme).
from . import datasets, engine, evaluation, models, utils  # noqa: F401
from .version import __version__

__all__ = ['__version__', 'datasets', 'engine', 'evaluation', 'models']
