#!/usr/bin/env bash
# Run the test suite in the project's virtual environment (installing it
# first if needed). Extra arguments go to pytest.
#
# Example:
#   bash tools/run_tests.sh            # whole suite
#   bash tools/run_tests.sh -k crop    # a subset
#   bash tools/run_tests.sh -m "not slow"   # make test-fast: no training runs
#
# Markers (pytest.ini): ``slow`` (trains a model or starts a subprocess),
# ``gpu`` (needs CUDA).
#
# Tests run in one pytest-xdist worker per core, at most 8 (PYTEST_WORKERS
# overrides it; PYTEST_WORKERS=0 runs them in this process), a test file's
# tests in one worker, each worker on one thread (tests/conftest.py).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
workers=${PYTEST_WORKERS:-$(( $(nproc) < 8 ? $(nproc) : 8 ))}
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore::DeprecationWarning,ignore::UserWarning}
exec "$ROOT/.venv/bin/python" -m pytest -q --durations=30 \
    -n "$workers" --dist loadfile "$@"
