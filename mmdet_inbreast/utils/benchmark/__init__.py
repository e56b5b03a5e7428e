"""Timing helpers behind ``tools/analysis_tools/benchmark_*.py`` (as
``mmdet.utils.benchmark`` is behind mmdet's ``tools/analysis_tools/
benchmark.py``): the train step (:mod:`.train`) and its inputs and loader
(:mod:`.train_data`), the data pipeline against the decode floor
(:mod:`.pipeline`) and building a VinDr-Mammo dataset from its CSVs
(:mod:`.vindr_build`), measured with :mod:`.measure` (timed calls, peak
memory). Not imported by ``mmdet_inbreast``; nothing here is a registered
component."""
