# The two commands of the README. Both install what they need into ./.venv
# first (tools/setup_env.sh; idempotent).
.PHONY: demo test setup

setup:
	bash tools/setup_env.sh

demo: setup
	.venv/bin/python tools/demo.py --out-dir demo_output

test: setup
	bash tools/run_tests.sh
