"""DicomVisualizationHook: the picture of a DICOM (pixel checks), its name,
and end to end: a tiny model trained for 2 iterations with the TensorBoard
runtime (event files written), then ``tools/test.py --show-dir`` on it."""
import json
import os
import os.path as osp
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmdet_inbreast.engine.hooks import DicomVisualizationHook
from mmdet_inbreast.utils import set_data_root

REPO = Path(__file__).resolve().parents[3]


def is_red(px):
    return px[0] > 200 and px[1] < 60 and px[2] < 60


def is_blue(px):
    return px[2] > 200 and px[0] < 60 and px[1] < 60


def test_render_draws_gt_red_and_predictions_blue(synthetic_release):
    release, images = synthetic_release
    img = next(i for i in images if i.mass_boxes)
    path = img.dicom_path
    gt = [float(v) for v in img.mass_boxes[0]]
    x1, y1 = int(gt[0]), int(gt[1])
    # One prediction away from the mass, one below the threshold.
    pred = [[2, 2, 40, 50], [60, 60, 90, 90]]
    sample = DetDataSample(metainfo=dict(
        img_path=path, file_name=img.file_name, scale_factor=(1.0, 1.0),
        instances=[dict(bbox=gt, bbox_label=0, ignore_flag=0)]))
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor(pred, dtype=torch.float32),
        scores=torch.tensor([0.9, 0.1]),
        labels=torch.zeros(2, dtype=torch.long))
    from mmdet.visualization import DetLocalVisualizer
    DetLocalVisualizer.get_instance('test_dicom_visualization_hook')
    hook = DicomVisualizationHook(score_thr=0.3, max_size=None)
    pic = hook.render(sample)
    assert pic.shape == (img.height, img.width, 3) and pic.dtype == np.uint8
    assert is_red(pic[y1, (x1 + int(gt[2])) // 2])  # GT top edge
    assert is_blue(pic[30, 2])  # left edge of the kept prediction
    assert not is_blue(pic[75, 60])  # the 0.1 prediction is not drawn
    assert hook.picture_name(sample) == f'{img.file_name}.png'
    # Without the `instances` meta key: gt_instances / scale_factor.
    sample2 = DetDataSample(metainfo=dict(img_path=path,
                                          scale_factor=(0.5, 0.5)))
    sample2.gt_instances = InstanceData(
        bboxes=torch.tensor([gt], dtype=torch.float32) * 0.5,
        labels=torch.zeros(1, dtype=torch.long))
    boxes = DicomVisualizationHook._gt_bboxes(sample2)
    np.testing.assert_allclose(boxes, [gt], atol=1e-4)
    assert hook.picture_name(sample2) == osp.basename(path) + '.png'


@pytest.fixture(scope='module')
def tiny_run(synthetic_release, tmp_path_factory):
    """The demo full-image config, shrunk, trained for 2 iterations with the
    TensorBoard runtime; returns (config path, checkpoint, work dir)."""
    from mmengine.runner import Runner

    from mmdet_inbreast.datasets.stats import compute_split_stats
    release, images = synthetic_release
    tmp = tmp_path_factory.mktemp('dicom_vis')
    pos = [i for i in images if i.mass_boxes][:3]
    neg = [i for i in images if not i.mass_boxes][:1]
    split = tmp / 'split.txt'
    split.write_text(''.join(f'{i.file_name}\n' for i in pos + neg))
    stats, _ = compute_split_stats(release, str(split))
    cfg = Config.fromfile(str(REPO / 'configs/demo/retina_demo_full.py'))
    tb = Config.fromfile(str(REPO / 'configs/_base_/runtime_tensorboard.py'))
    cfg.visualizer = tb.visualizer
    set_data_root(cfg, release, str(stats))
    cfg.load_from = None
    cfg.work_dir = str(tmp / 'work')
    # A fresh visualizer: mmengine's Visualizer.get_instance hands back the
    # instance of the same name (the runtime names it 'visualizer') that an
    # earlier Runner of this process made, with that run's save_dir.
    cfg.experiment_name = f'dicom_vis_{uuid.uuid4().hex[:8]}'
    cfg.visualizer.name = cfg.experiment_name
    cfg.custom_hooks = []
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=100)
    cfg.param_scheduler = []
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2,
                                        by_epoch=False)
    cfg.log_processor = dict(by_epoch=False)
    cfg.model.test_cfg.score_thr = 0.0
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.ann_file = str(split)
        cfg[key].num_workers = 0
        cfg[key].persistent_workers = False
    cfg.train_dataloader.batch_size = 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    config = tmp / 'tiny.py'
    cfg.dump(str(config))
    return str(config), osp.join(cfg.work_dir, 'iter_2.pth'), cfg.work_dir, \
        [i.file_name for i in pos + neg]


@pytest.mark.slow
def test_tensorboard_event_files_written(tiny_run):
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    _, _, work_dir, _ = tiny_run
    events = [
        osp.join(root, f) for root, _, files in os.walk(work_dir)
        for f in files if f.startswith('events.out.tfevents')
    ]
    assert len(events) == 1
    acc = EventAccumulator(events[0])
    acc.Reload()
    tags = acc.Tags()['scalars']
    assert 'loss' in tags and 'lr' in tags
    losses = [e.value for e in acc.Scalars('loss')]
    assert len(losses) == 2 and all(np.isfinite(losses))
    # The same numbers as mmengine's own scalars.json.
    scalars = [json.loads(line) for root, _, files in os.walk(work_dir)
               for f in files if f == 'scalars.json'
               for line in open(osp.join(root, f))]
    assert [s['loss'] for s in scalars if 'loss' in s] == pytest.approx(
        losses, rel=1e-5)


@pytest.mark.slow
def test_test_tool_show_dir_on_dicoms(tiny_run, tmp_path):
    config, ckpt, _, names = tiny_run
    work = tmp_path / 'test_work'
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'test.py'), config, ckpt,
         '--work-dir', str(work), '--show-dir', 'vis'],
        cwd=str(REPO), env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    pictures = sorted(str(p.relative_to(work)) for p in work.rglob('*.png'))
    assert len(pictures) == len(names)
    assert sorted(osp.basename(p) for p in pictures) == sorted(
        f'{n}.png' for n in names)
    assert all(p.split(os.sep)[1] == 'vis' for p in pictures)  # <ts>/vis
    import cv2
    reds = 0
    for p in work.rglob('*.png'):
        pic = cv2.imread(str(p))[..., ::-1]
        assert pic.shape[2] == 3 and pic.max() > 0
        reds += bool(((pic[..., 0] > 200) & (pic[..., 1] < 60) &
                      (pic[..., 2] < 60)).any())
    assert reds == 3  # the three images with a mass show their GT in red
