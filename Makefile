# The commands of the README. Each installs what it needs into ./.venv
# first (tools/setup_env.sh; idempotent).
#   make demo       the demo on a synthetic release
#   make test       the whole test suite (what CI runs)
#   make test-fast  the tests not marked slow (no training runs or
#                   subprocesses): the edit-test loop
.PHONY: demo test test-fast setup

setup:
	bash tools/setup_env.sh

demo: setup
	.venv/bin/python tools/demo.py --out-dir demo_output

test: setup
	bash tools/run_tests.sh

test-fast: setup
	bash tools/run_tests.sh -m "not slow"
