"""Tests marked ``gpu``: run by tools/gpu_check.sh on a CUDA machine, skipped
elsewhere."""


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'gpu: needs a CUDA GPU (tools/gpu_check.sh runs these)')
