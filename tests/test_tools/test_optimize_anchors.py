"""Run tools/optimize_anchors.py once, in a subprocess, on a tiny CSV."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

# Every test here starts the tool in a subprocess.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

BOXES = """file_name,x1,y1,x2,y2
a,0,0,90.5,110.2
a,400.0,310.5,640.0,560.0
b,120.3,801.9,300.0,1002.5
b,1500.0,1500.0,2310.0,2250.0
c,33.3,44.4,95.0,150.0
c,700.0,20.0,1100.0,300.0
"""


@pytest.mark.slow
def test_optimize_anchors_tool(tmp_path):
    csv_path = tmp_path / 'boxes.csv'
    csv_path.write_text(BOXES)
    out = tmp_path / 'anchors'
    result = subprocess.run([
        sys.executable, '-X', 'importtime',
        str(REPO / 'tools' / 'optimize_anchors.py'), '--boxes',
        str(csv_path), '--out-dir',
        str(out), '--with-stride', '--num-ratios', '3', '--num-scales', '2',
        '--objective', 'avg', '--popsize', '6', '--seed', '3'
    ],
                            cwd=REPO,
                            capture_output=True,
                            text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr

    # -X importtime lists every module imported: the CSV path must stay
    # clear of torch and mmdet (and of mmdet_inbreast/__init__.py's imports)
    imported = {
        line.rsplit('|', 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith('import time:')
    }
    assert 'mmdet_inbreast.anchors.optimizer' in imported
    assert not {'torch', 'mmdet', 'mmengine', 'mmcv'} & imported
    assert 'mmdet_inbreast.datasets' not in imported

    stdout = result.stdout
    assert '6 boxes from' in stdout
    assert 'mmdet default' in stdout and 'optimised' in stdout
    assert 'on the anchor grid' in stdout

    payload = json.loads((out / 'anchors.json').read_text())
    assert payload['seed'] == 3 and payload['objective'] == 'avg'
    assert payload['mode'] == 'grid' and payload['num_boxes'] == 6
    assert len(payload['ratios']) == 3 and len(payload['scales']) == 2
    assert payload['objective_value'] <= payload['default']['objective_value']
    snippet = (out / 'anchors.py').read_text()
    assert '_base_ =' not in snippet  # no --base/--config: a fragment
    assert f"scales={payload['scales']}" in snippet.replace("'", '')
    assert '--seed 3' in snippet
    assert (out / 'anchors.png').stat().st_size > 0


@pytest.mark.slow
def test_optimize_anchors_tool_bad_csv(tmp_path):
    """A broken CSV ends in one line and exit 2, still without mmdet."""
    csv_path = tmp_path / 'boxes.csv'
    csv_path.write_text('file_name,x1,y1,x2,y2\na,10,10,5,20\n')
    result = subprocess.run([
        sys.executable, str(REPO / 'tools' / 'optimize_anchors.py'),
        '--boxes', str(csv_path), '--out-dir', str(tmp_path / 'out')
    ], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith(f'error: {csv_path}: line 2: box '
                                    '[10.0, 10.0, 5.0, 20.0] is empty')


@pytest.mark.slow
def test_optimize_anchors_tool_from_config(tmp_path):
    from mmengine.config import Config

    from mmdet_inbreast.datasets.synthetic import make_synthetic_release
    images = make_synthetic_release(
        str(tmp_path), num_patients=3, scale=0.125, seed=2, mass_fraction=0.8)
    data_root = tmp_path / 'INbreast Release 1.0'
    (data_root / 'splits').mkdir()
    (data_root / 'splits' / 'train.txt').write_text(''.join(f'{i.file_name}\n'
                                                            for i in images))
    # Only the training split's masses count: half the images.
    train = images[::2]
    (data_root / 'splits' / 'train.txt').write_text(''.join(
        f'{i.file_name}\n' for i in train))
    num_masses = sum(len(i.mass_boxes) for i in train)
    assert num_masses < sum(len(i.mass_boxes) for i in images)
    out = tmp_path / 'anchors'
    result = subprocess.run([
        sys.executable,
        str(REPO / 'tools' / 'optimize_anchors.py'), '--config',
        str(REPO / 'configs' / 'retina_resized.py'), '--data-root',
        str(data_root), '--out-dir',
        str(out), '--num-scales', '1', '--num-ratios', '1', '--popsize', '5'
    ],
                            cwd=REPO,
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert f'{num_masses} boxes from' in result.stdout
    assert 'resized' in result.stdout
    payload = json.loads((out / 'anchors.json').read_text())
    assert payload['ratios'] == [1.0] and len(payload['scales']) == 1
    # anchors.py inherits the config it was fitted for
    cfg = Config.fromfile(str(out / 'anchors.py'))
    assert cfg.model.bbox_head.anchor_generator.scales == payload['scales']
    assert cfg.train_dataloader.batch_size == 2  # from retina_resized.py
