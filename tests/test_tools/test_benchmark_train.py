"""tools/analysis_tools/benchmark_train.py once on the CPU with tiny settings (a synthetic
release written by the tool, random 64 x 64 inputs, 2 steps); the table's
shape and the JSON are checked, never the timings."""
import pytest
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_train_tool_cpu(tmp_path):
    out = tmp_path / 'bench.json'
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'analysis_tools' / 'benchmark_train.py'),
         'configs/demo/retina_demo_patch.py', '--iters', '2', '--warmup',
         '1', '--data-iters', '2', '--synthetic-input', '64x64',
         '--batch-size', '2', '--synthetic-patients', '2',
         '--synthetic-scale', '0.0625', '--threads', '1', '--device', 'cpu',
         '--out', str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    lines = result.stdout.splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith(
        'configs/demo/retina_demo_patch.py: '))
    assert lines[i].endswith(', 1 threads, batch 2, float32, random 64x64 '
                             'inputs')
    assert lines[i + 1].split() == ['img/s', 'peak', 'MiB', 'speed', 'x',
                                    'stock', 'mem', 'x', 'stock']
    ours, stock, data = (ln.split() for ln in lines[i + 2:i + 5])
    assert ours[:4] == ['train', 'step', '(ours:', 'SigmoidFocalLoss)']
    assert stock[:4] == ['train', 'step', '(stock', 'FocalLoss)']
    assert stock[-2:] == ['1.00', '1.00']
    assert data[:4] == ['data', 'pipeline', '(0', 'workers)']
    assert data[-3:] == ['-', '-', '-']
    for row in (ours, stock):
        rate, mem = float(row[-4]), float(row[-3])
        assert rate > 0 and mem > 0
    assert lines[i + 5].startswith('data pipeline / train step (ours): ')
    assert lines[i + 5].endswith('x (target >= 2 on GPU)')

    report = json.loads(out.read_text())
    assert report['device'] == 'cpu' and report['batch_size'] == 2
    assert report['input'] == 'random 64x64 inputs'
    assert report['data_root'] == 'synthetic'
    assert len(report['ours']['seconds']) == len(report['stock']['seconds']) \
        == 2
    assert report['ours']['items'] == [2, 2]
    assert report['ours']['error'] is None and report['stock']['error'] is None
    assert abs(report['ours']['rate'] - float(ours[-4])) <= 0.005
    assert report['data']['items'] == [2, 2]
    assert report['table'] in result.stdout
