"""tools/gpu_check.sh --dry-run on the CPU: install plan (with what is
missing), the gpu tests (skipped), the benchmark code paths at 64 x 64 and
the Markdown table / JSON."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_check_dry_run(tmp_path):
    out = tmp_path / 'out'
    env = dict(os.environ, PYTHON=sys.executable, OUT_DIR=str(out),
               WHEELS=str(tmp_path / 'no_wheels'), OMP_NUM_THREADS='1',
               PYTHONWARNINGS='ignore')
    result = subprocess.run(['bash', 'tools/gpu_check.sh', '--dry-run'],
                            cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=900)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    # Install plan, and what is missing (nothing is downloaded).
    assert 'dry run: would install from' in log
    assert 'FORCE_CUDA=0' in log and 'mmcv-2.1.0.tar.gz' in log
    assert 'missing in' in log and 'tools/gpu_check_prepare.sh' in log
    # gpu tests collected and skipped on the CPU.
    report = json.loads((out / 'gpu_check.json').read_text())
    assert report['dry_run'] is True
    assert 'skipped' in report['tests'] and 'failed' not in report['tests']
    runs = {r['run']: r for r in report['rows']}
    assert len(runs) == 4
    ours = next(r for k, r in runs.items() if k.startswith('phase 1, ours'))
    assert ours['rate'] > 0 and ours['input'] == 'random 64x64 inputs'
    phase2 = next(r for k, r in runs.items() if k.startswith('phase 2'))
    assert phase2['rate'] > 0 and not phase2['note']
    peer = next(r for k, r in runs.items() if 'torchvision' in k)
    assert peer['rate'] is not None or 'torchvision' in peer['note']
    assert '| run | batch | input |' in result.stdout
    assert 'not GPU figures' in result.stdout
