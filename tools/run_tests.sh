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
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore::DeprecationWarning,ignore::UserWarning}
exec "$ROOT/.venv/bin/python" -m pytest -q --durations=30 "$@"
