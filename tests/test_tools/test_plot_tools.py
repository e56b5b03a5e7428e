"""Run tools/plot_froc.py, tools/plot_history.py and tools/analysis_tools/benchmark_froc.py
once each, in a subprocess, on tiny files."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmdet_inbreast.evaluation import FROCMetric

# Every test here starts a tool in a subprocess.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def run_tool(name, *args):
    result = subprocess.run([sys.executable, str(REPO / 'tools' / name)] +
                            [str(a) for a in args],
                            cwd=REPO,
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def write_froc_run(work_dir, shift, bootstrap):
    """A test run's FROC file, written by FROCMetric itself."""
    metric = FROCMetric(
        outfile_prefix=str(work_dir / 'test'), bootstrap=bootstrap)
    metric.dataset_meta = dict(classes=('mass', ))
    samples = []
    for img_id in range(4):
        gt = [10.0 * img_id, 0.0, 10.0 * img_id + 10, 10.0]
        samples.append(
            dict(
                img_id=img_id,
                patient_id=img_id // 2,
                instances=[dict(bbox=gt, bbox_label=0, ignore_flag=0)],
                pred_instances=dict(
                    bboxes=torch.tensor([gt, [300.0, 300, 320, 320]]),
                    scores=torch.tensor([0.9 - shift * img_id, 0.5]),
                    labels=torch.zeros(2, dtype=torch.int64))))
    metric.process({}, samples)
    metric.evaluate(len(samples))
    return work_dir / 'test.froc.json'


def test_plot_froc(tmp_path):
    a = write_froc_run(tmp_path / 'retina_a', 0.0, 0)
    write_froc_run(tmp_path / 'retina_b', 0.15, 20)
    out = tmp_path / 'figs' / 'froc.png'
    stdout = run_tool('plot_froc.py', a, tmp_path / 'retina_b', '--out', out)
    assert out.stat().st_size > 1000
    lines = stdout.splitlines()
    assert lines[0] == f'retina_a: {a}'
    assert lines[2].split()[0] == 'run' and lines[3].split()[0] == 'retina_a'
    assert lines[3].split()[-1] == '1.000'  # all found before any FP
    assert stdout.rstrip().endswith(f'saved {out}')
    # --labels, and a count mismatch is refused.
    run_tool('plot_froc.py', a, '--out', tmp_path / 'one.svg', '--labels',
             'default anchors')
    assert (tmp_path / 'one.svg').stat().st_size > 1000
    bad = subprocess.run([
        sys.executable,
        str(REPO / 'tools' / 'plot_froc.py'),
        str(a), '--out',
        str(tmp_path / 'x.png'), '--labels', 'p', 'q'
    ], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode != 0 and '1 runs but 2 labels' in bad.stderr


def write_history(work_dir, epochs, with_cpm):
    vis = work_dir / '20240101_100000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = []
    for epoch in range(1, epochs + 1):
        for k in (1, 2):
            lines.append(
                dict(lr=0.01, data_time=0.01, loss=2.0 / epoch + k / 10,
                     loss_cls=1.0 / epoch, loss_bbox=1.0 / epoch,
                     time=0.3, epoch=epoch, iter=2 * (epoch - 1) + k,
                     memory=1000, step=2 * (epoch - 1) + k))
        val = {'coco/bbox_mAP': 0.1 * epoch, 'coco/bbox_mAP_50': 0.2 * epoch}
        if with_cpm:
            val['froc/CPM'] = 0.15 * epoch
        val.update(data_time=0.01, time=0.1, step=epoch)
        lines.append(val)
    (vis / 'scalars.json').write_text(''.join(
        json.dumps(line) + '\n' for line in lines))


def test_plot_history(tmp_path):
    write_history(tmp_path / 'retina_resized', 3, True)
    write_history(tmp_path / 'retina_two_phase', 4, False)
    out = tmp_path / 'figs' / 'history'
    stdout = run_tool('plot_history.py', tmp_path / 'retina_resized',
                      tmp_path / 'retina_two_phase', '--out', out,
                      '--labels', 'resized', 'two-phase', '--metrics',
                      'coco/bbox_mAP_50', 'froc/CPM')
    for suffix in ('.png', '.svg'):
        path = Path(f'{out}{suffix}')
        assert path.stat().st_size > 1000, path
    lines = stdout.splitlines()
    assert lines[1].split()[:3] == ['resized', '3', '0.8167']
    assert '0.4500 (epoch 3)' in lines[1]
    assert lines[2].split()[:2] == ['two-phase', '4']
    assert f'saved {out}.svg' in stdout
    # Default labels: the work dirs' names; default metrics.
    stdout = run_tool('plot_history.py', tmp_path / 'retina_resized', '--out',
                      tmp_path / 'h2')
    assert stdout.splitlines()[1].startswith('retina_resized')
    assert os.path.getsize(tmp_path / 'h2.png') > 1000


def test_benchmark_froc():
    stdout = run_tool('analysis_tools/benchmark_froc.py', '--images', 20, '--preds', 10,
                      '--small-images', 8, '--small-preds', 5, '--bootstrap',
                      10, '--repeat', 1)
    assert 'vectorised, 20 images x 10 predictions:' in stdout
    assert 'max |difference| 0.0e+00' in stdout
    assert 'bootstrap, 10 samples of 2 patients' in stdout
