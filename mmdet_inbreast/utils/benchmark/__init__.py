"""Timing helpers behind ``tools/analysis_tools/benchmark_*.py`` (as
``mmdet.utils.benchmark`` is behind mmdet's ``tools/analysis_tools/
benchmark.py``): the train step and loader (:mod:`.train`) and the data
pipeline against the decode floor (:mod:`.pipeline`). Not imported by
``mmdet_inbreast``; nothing here is a registered component."""
