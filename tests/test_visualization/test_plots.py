"""Tests of the FROC and training-history plots on hand-written logs."""
import json
import os

import numpy as np
import pytest

from mmdet_inbreast.utils import InputError
from mmdet_inbreast.visualization import (find_froc_json, find_scalar_files,
                                          froc_table, history_panels,
                                          history_table, load_froc_json,
                                          load_history, plot_froc_curves,
                                          plot_histories, run_label)


def train_line(epoch, iteration, loss, loss_cls, loss_bbox, prefix=''):
    """A training line as mmengine's LoggerHook writes it (epoch-based)."""
    return {
        f'{prefix}base_lr': 0.01,
        f'{prefix}lr': 0.01,
        f'{prefix}data_time': 0.0132,
        f'{prefix}loss': loss,
        f'{prefix}loss_cls': loss_cls,
        f'{prefix}loss_bbox': loss_bbox,
        f'{prefix}time': 0.4714,
        'epoch': epoch,
        'iter': iteration,
        'memory': 3415,
        'step': iteration,
    }


def val_line(epoch, ap50, cpm=None, prefix=''):
    """A validation line: CocoMetric's keys (and FROCMetric's), step=epoch."""
    line = {
        f'{prefix}coco/bbox_mAP': round(ap50 / 2, 4),
        f'{prefix}coco/bbox_mAP_50': ap50,
        f'{prefix}coco/bbox_mAP_75': round(ap50 / 3, 4),
        f'{prefix}coco/bbox_mAP_s': -1.0,
        f'{prefix}coco/bbox_mAP_m': 0.1,
        f'{prefix}coco/bbox_mAP_l': 0.2,
    }
    if cpm is not None:
        line[f'{prefix}froc/sens@1'] = cpm + 0.05
        line[f'{prefix}froc/CPM'] = cpm
    line.update({f'{prefix}data_time': 0.0021, f'{prefix}time': 0.12,
                 'step': epoch})
    return line


def write_scalars(path, lines):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        for line in lines:
            f.write(json.dumps(line) + '\n')


@pytest.fixture
def resumed_run(tmp_path):
    """Epochs 1-2 and half of 3, then resumed from epoch 2: epochs 3-4.

    Two iterations logged per epoch (interval 50, 100 iterations/epoch).
    """
    work_dir = tmp_path / 'retina_gamma2'
    write_scalars(work_dir / '20240101_100000' / 'vis_data' / 'scalars.json', [
        train_line(1, 50, 1.0, 0.7, 0.3),
        train_line(1, 100, 0.8, 0.5, 0.3),
        val_line(1, 0.20, 0.30),
        train_line(2, 150, 0.7, 0.45, 0.25),
        train_line(2, 200, 0.5, 0.3, 0.2),
        val_line(2, 0.40, 0.45),
        train_line(3, 250, 9.0, 9.0, 0.0),  # crashed in epoch 3
    ])
    write_scalars(work_dir / '20240101_120000' / 'vis_data' / 'scalars.json', [
        train_line(3, 250, 0.45, 0.3, 0.15),
        train_line(3, 300, 0.35, 0.2, 0.15),
        val_line(3, 0.50, 0.55),
        train_line(4, 350, 0.3, 0.2, 0.1),
        train_line(4, 400, 0.2, 0.1, 0.1),
        val_line(4, 0.45, 0.60),
    ])
    # A test run in the same work dir: vis_data without scalars.json.
    os.makedirs(work_dir / '20240102_090000' / 'vis_data')
    return work_dir


def test_find_scalar_files_in_time_order(resumed_run):
    files = find_scalar_files(str(resumed_run))
    assert [os.path.relpath(f, resumed_run) for f in files] == [
        '20240101_100000/vis_data/scalars.json',
        '20240101_120000/vis_data/scalars.json',
    ]
    # A timestamp dir or the file itself also works.
    one = resumed_run / '20240101_120000'
    assert find_scalar_files(str(one)) == [
        str(one / 'vis_data' / 'scalars.json')
    ]


def test_load_history_resumed(resumed_run):
    history = load_history(str(resumed_run))
    assert history.losses['loss'] == pytest.approx({
        1: 0.9,
        2: 0.6,
        3: 0.4,  # the resumed epoch 3 replaces the crashed one
        4: 0.25
    })
    assert history.losses['loss_cls'][1] == pytest.approx(0.6)
    assert history.metrics['coco/bbox_mAP_50'] == {
        1: 0.2,
        2: 0.4,
        3: 0.5,
        4: 0.45
    }
    assert history.metrics['froc/CPM'] == {1: 0.3, 2: 0.45, 3: 0.55, 4: 0.6}
    assert 'time' not in history.metrics and 'lr' not in history.losses


def test_load_history_hierarchy_prefixes_and_timestamp_json(tmp_path):
    # log_with_hierarchy=True, and only vis_data/<timestamp>.json present.
    path = tmp_path / 'run' / '20240101_100000' / 'vis_data' / \
        '20240101_100000.json'
    write_scalars(path, [
        train_line(1, 10, 2.0, 1.5, 0.5, prefix='train/'),
        val_line(1, 0.1, prefix='val/')
    ])
    history = load_history(str(tmp_path / 'run'))
    assert history.losses['loss'] == {1: 2.0}
    assert history.metrics['coco/bbox_mAP_50'] == {1: 0.1}
    assert 'froc/CPM' not in history.metrics


def test_load_history_errors(tmp_path):
    with pytest.raises(InputError, match='no such file'):
        load_history(str(tmp_path / 'missing'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(InputError, match='vis_data/scalars.json'):
        load_history(str(tmp_path / 'empty'))
    bad = tmp_path / 'bad' / 'scalars.json'
    bad.parent.mkdir()
    bad.write_text(json.dumps(train_line(1, 1, 1, 1, 0)) + '\n{"loss": 1,\n')
    with pytest.raises(ValueError, match='scalars.json:2: not a JSON'):
        load_history(str(bad))
    iter_based = tmp_path / 'iter' / 'scalars.json'
    write_scalars(iter_based, [{'loss': 1.0, 'iter': 10, 'step': 10}])
    with pytest.raises(ValueError, match='only epoch-based'):
        load_history(str(iter_based))


def test_plot_histories(resumed_run, tmp_path):
    other = tmp_path / 'retina_gamma1' / '20240101_100000' / 'vis_data'
    write_scalars(other / 'scalars.json', [
        train_line(1, 50, 1.2, 0.9, 0.3),
        val_line(1, 0.1),  # no FROCMetric in this run
        train_line(2, 100, 1.0, 0.7, 0.3),
        val_line(2, 0.3),
    ])
    histories = {
        'gamma 2': load_history(str(resumed_run)),
        'gamma 1': load_history(str(tmp_path / 'retina_gamma1')),
    }
    assert history_panels(histories) == [('losses', 'loss'),
                                         ('metrics', 'coco/bbox_mAP_50'),
                                         ('metrics', 'froc/CPM')]
    assert history_panels(
        {'gamma 1': histories['gamma 1']},
        metrics=('coco/bbox_mAP_50', 'froc/CPM'),
        losses=('loss', 'loss_cls')) == [('losses', 'loss'),
                                         ('losses', 'loss_cls'),
                                         ('metrics', 'coco/bbox_mAP_50')]
    paths = plot_histories(histories, str(tmp_path / 'fig' / 'history.png'))
    assert paths == [
        str(tmp_path / 'fig' / 'history.png'),
        str(tmp_path / 'fig' / 'history.svg')
    ]
    for path in paths:
        assert os.path.getsize(path) > 1000
    import matplotlib.image
    height, width = matplotlib.image.imread(paths[0]).shape[:2]
    assert width > 2 * height  # three panels side by side
    table = history_table(histories)
    assert table[1].split()[:3] == ['gamma', '2', '4']
    assert '0.5000 (epoch 3)' in table[1] and '0.6000 (epoch 4)' in table[1]
    assert table[2].rstrip().endswith('-')  # no CPM in gamma 1
    with pytest.raises(ValueError, match='none of'):
        plot_histories(histories, str(tmp_path / 'x'), metrics=('nope', ),
                       losses=())


def froc_content(fps, sens, metrics):
    return dict(
        metrics=metrics,
        fpi=[0.125, 0.25, 0.5, 1, 2, 4, 8],
        fps_per_image=fps,
        sensitivity=sens,
        thresholds=list(np.linspace(0.9, 0.1, len(fps))),
        num_images=8,
        num_boxes=4)


POINTS = {
    'sens@0.125': 0.0,
    'sens@0.25': 0.25,
    'sens@0.5': 0.25,
    'sens@1': 0.75,
    'sens@2': 0.75,
    'sens@4': 0.75,
    'sens@8': 0.75,
    'CPM': 0.5
}


def test_find_and_load_froc_json(tmp_path):
    run = tmp_path / 'work_dirs' / 'retina_r50'
    old = run / '20240101' / 'test.froc.json'
    new = run / 'test.froc.json'
    for path, cpm in ((old, 0.1), (new, 0.5)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                froc_content([0.25, 1.0], [0.25, 0.75],
                             dict(POINTS, CPM=cpm))))
    os.utime(old, (1e9, 1e9))
    os.utime(new, (2e9, 2e9))
    assert find_froc_json(str(run)) == str(new)
    assert find_froc_json(str(old)) == str(old)
    assert run_label(str(run)) == 'retina_r50'
    assert run_label(str(new)) == 'retina_r50'
    content = load_froc_json(str(new))
    assert content['metrics']['CPM'] == 0.5
    assert content['fps_per_image'].dtype == np.float64
    (tmp_path / 'empty').mkdir()
    with pytest.raises(InputError, match=r'no \*\.froc\.json'):
        find_froc_json(str(tmp_path / 'empty'))
    with pytest.raises(InputError, match='no such file'):
        find_froc_json(str(tmp_path / 'missing'))
    bad = tmp_path / 'bad.froc.json'
    bad.write_text(json.dumps({'metrics': {}}))
    with pytest.raises(ValueError, match='missing'):
        load_froc_json(str(bad))


def test_plot_froc_curves(tmp_path):
    a = froc_content([0.25, 0.25, 0.5, 0.75, 1.0], [0, 0.25, 0.25, 0.75,
                                                   0.75], POINTS)
    b = froc_content([0.0, 0.5, 3.0], [0.5, 0.75, 1.0],
                     dict(POINTS, CPM=0.8, CPM_ci_low=0.7, CPM_ci_high=0.9))
    no_boxes = froc_content([0.5], [None], {k: None for k in POINTS})
    paths = []
    for i, content in enumerate((a, b, no_boxes)):
        paths.append(tmp_path / f'{i}.froc.json')
        paths[-1].write_text(json.dumps(content))
    runs = [load_froc_json(str(p)) for p in paths]
    assert np.isnan(runs[2]['sensitivity']).all()
    out = plot_froc_curves(runs, ['a', 'b', 'c'], str(tmp_path / 'f' /
                                                      'froc.png'))
    assert os.path.getsize(out) > 1000
    table = froc_table(runs, ['a', 'b', 'c'])
    assert table[0].split() == ['run'] + [
        f'sens@{f}' for f in ('0.125', '0.25', '0.5', '1', '2', '4', '8')
    ] + ['CPM']
    assert table[1].split()[-1] == '0.500'
    assert table[3].split()[1:] == ['-'] * 8
    with pytest.raises(ValueError, match='2 runs but 1 labels'):
        plot_froc_curves(runs[:2], ['a'], str(tmp_path / 'x.png'))
