"""Timing helpers behind ``tools/analysis_tools/benchmark_*.py`` (as
``mmdet.utils.benchmark`` is behind mmdet's ``tools/analysis_tools/
benchmark.py``): the train step and loader (:mod:`.train`), the data
pipeline against the decode floor (:mod:`.pipeline`) and building a
VinDr-Mammo dataset from its CSVs (:mod:`.vindr_build`). Not imported by
``mmdet_inbreast``; nothing here is a registered component."""
