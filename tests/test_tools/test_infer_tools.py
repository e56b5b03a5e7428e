"""tools/infer.py, tools/visualize.py and tools/inbreast_to_coco.py, each run
in a subprocess on the 1/16-scale synthetic release with an untrained tiny
R18 RetinaNet (score_thr 0 so that it predicts boxes).

Non-mammogram DICOMs (decided in :mod:`mmdet_inbreast.apis.inference`): by
default any Modality other than MG is refused with a message naming it
(CT_small.dcm: a CT decodes fine, but boxes on it mean nothing); with
``--any-modality`` the CT runs, and files that cannot be one grayscale 2-D
frame are still skipped with the decoder's reason.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]

# Every test here starts a tool in a subprocess.
pytestmark = pytest.mark.slow

TINY_CONFIG = '''
_base_ = '@REPO@/configs/retina_resized.py'
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32, stacked_convs=1,
                   anchor_generator=dict(octave_base_scale=2)),
    test_cfg=dict(score_thr=0.0))
test_pipeline = [
    dict(type='LoadDicomImage'),
    dict(type='Resize', scale=(128, 96), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='ZeroIgnoringNormalize', stats_file='@STATS@'),
    dict(type='PackDetInputs', meta_keys={{_base_.test_meta_keys}}),
]
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='@SPLIT@', pipeline=test_pipeline))
val_dataloader = test_dataloader
'''


def run_tool(name, *args, ok=True):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / name)] + [str(a) for a in args],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    if ok:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope='module')
def tiny(synthetic_release, tmp_path_factory):
    from mmdet_inbreast.apis import init_inbreast_detector
    release, images = synthetic_release
    tmp = tmp_path_factory.mktemp('infer_tools')
    stats = tmp / 'stats.json'
    stats.write_text(json.dumps(dict(mean=1450.0, std=220.0)))
    chosen = [i for i in images if i.mass_boxes][:2] + [
        i for i in images if not i.mass_boxes][:1]
    split = tmp / 'test.txt'
    split.write_text(''.join(f'{i.file_name}\n' for i in chosen))
    config = tmp / 'tiny.py'
    config.write_text(TINY_CONFIG.replace('@REPO@', str(REPO)).replace(
        '@STATS@', str(stats)).replace('@SPLIT@', str(split)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = init_inbreast_detector(str(config), data_root=release)
    ckpt = tmp / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('mass', )))), ckpt)
    # --data-root moves the config's statistics file with it: name ours.
    yield dict(release=release, images=chosen, config=str(config),
               ckpt=str(ckpt), tmp=tmp, stats=str(stats),
               root_args=['--data-root', release, '--stats-file', str(stats)])
    torch.set_num_threads(threads)


def pydicom_file(name):
    import pydicom.data
    return pydicom.data.get_testdata_file(name, download=False)


def dataset_predictions(config, ckpt, release, stats):
    """Predictions through the config's dataset and full test pipeline (the
    frame FROCMetric evaluates in), by DICOM file name."""
    from mmdet.registry import DATASETS

    from mmdet_inbreast.apis import init_inbreast_detector
    model = init_inbreast_detector(config, ckpt, data_root=release,
                                   stats_file=stats)
    dataset = DATASETS.build(dict(model.cfg.test_dataloader.dataset))
    out = {}
    for i in range(len(dataset)):
        data = dataset[i]
        with torch.no_grad():
            sample = model.test_step(dict(inputs=[data['inputs']],
                                          data_samples=[data['data_samples']
                                                        ]))[0]
        out[Path(sample.metainfo['img_path']).name] = sample
    return out


def test_infer_tool(tiny, tmp_path):
    inp = tmp_path / 'in'
    inp.mkdir()
    for img in tiny['images']:
        shutil.copy(img.dicom_path, inp)
    # A mammogram cut short: MG, so it reaches the decoder, which refuses.
    data = Path(tiny['images'][0].dicom_path).read_bytes()
    (inp / 'cut_MG.dcm').write_bytes(data[:len(data) // 2])
    pyd = ['CT_small.dcm', 'rtplan.dcm', 'SC_rgb_small_odd.dcm',
           'MR_truncated.dcm']
    for name in pyd:
        shutil.copy(pydicom_file(name), inp)
    (inp / 'notes.dcm').write_text('not a DICOM file')
    out = tmp_path / 'out'
    result = run_tool('infer.py', tiny['config'], tiny['ckpt'], inp, '--out',
                      out, '--score-thr', '0.0', *tiny['root_args'],
                      '--max-size', '128')
    assert f'3 written, 6 skipped -> {out}' in result.stdout
    err = result.stderr
    assert "CT_small.dcm: Modality 'CT' (CT Image Storage) is not a " \
        'mammogram' in err
    assert "rtplan.dcm: Modality 'RTPLAN'" in err
    assert "SC_rgb_small_odd.dcm: Modality 'OT'" in err
    assert "MR_truncated.dcm: Modality 'MR'" in err
    assert 'cut_MG.dcm: cannot decode pixel data' in err
    assert 'notes.dcm: not a DICOM file' in err
    assert 'Traceback' not in err
    report = json.loads((out / 'infer_report.json').read_text())
    assert len(report['written']) == 3 and len(report['skipped']) == 6

    reference = dataset_predictions(tiny['config'], tiny['ckpt'],
                                    tiny['release'], tiny['stats'])
    for img in tiny['images']:
        name = Path(img.dicom_path).name  # <name>.dcm.json: unique names
        record = json.loads((out / f'{name}.json').read_text())
        assert record['file'] == str(inp / name)
        assert record['size'] == dict(width=img.width, height=img.height)
        assert record['box_format'].endswith('original-image pixels')
        boxes = np.asarray(record['boxes'])
        assert boxes.shape == (len(record['scores']), 4) and len(boxes) > 10
        assert set(record['labels']) == {0}
        # Inside the original image, and beyond the resized one.
        assert boxes.min() >= -1e-3
        assert boxes[:, [0, 2]].max() <= img.width + 1e-3
        assert boxes[:, [1, 3]].max() <= img.height + 1e-3
        ref = reference[name]
        rh, rw = ref.metainfo['img_shape']
        assert boxes[:, 2].max() > rw + 1 or boxes[:, 3].max() > rh + 1
        # The same boxes as the dataset's test pipeline gives.
        order = torch.argsort(ref.pred_instances.scores, descending=True,
                              stable=True)
        np.testing.assert_allclose(
            boxes, ref.pred_instances.bboxes[order].numpy(), atol=2e-3)
        np.testing.assert_allclose(
            record['scores'], ref.pred_instances.scores[order].numpy(),
            atol=1e-6)
        png = out / f'{name}.png'
        import cv2
        overlay = cv2.imread(str(png))
        assert max(overlay.shape[:2]) == 128
        assert (overlay[..., 0] > 200).any()  # blue boxes (BGR on disk)

    # --any-modality: the CT runs; the others are refused for what they are.
    only = tmp_path / 'pydicom'
    only.mkdir()
    for name in pyd:
        shutil.copy(pydicom_file(name), only)
    result = run_tool('infer.py', tiny['config'], tiny['ckpt'], only,
                      '--out', tmp_path / 'out2', '--score-thr', '0.0',
                      *tiny['root_args'], '--any-modality',
                      '--no-overlay')
    assert '1 written, 3 skipped' in result.stdout
    ct = json.loads((tmp_path / 'out2' / 'CT_small.dcm.json').read_text())
    assert ct['size'] == dict(width=128, height=128)
    assert ct['modality'] == 'CT'
    assert not (tmp_path / 'out2' / 'CT_small.dcm.png').exists()
    err = result.stderr
    assert 'rtplan.dcm: no pixel data' in err
    assert 'SC_rgb_small_odd.dcm: 3-sample RGB image' in err
    assert 'MR_truncated.dcm: cannot decode pixel data' in err

    # No DICOM at all: one line, exit 2 (run_tool), no traceback.
    empty = tmp_path / 'empty'
    empty.mkdir()
    result = run_tool('infer.py', tiny['config'], tiny['ckpt'], empty,
                      *tiny['root_args'], ok=False)
    assert result.returncode == 2
    assert f'error: {empty}: no DICOM file found' in result.stderr
    assert 'Traceback' not in result.stderr


def test_visualize_tool(tiny, tmp_path):
    import cv2
    out = tmp_path / 'vis'
    result = run_tool('visualize.py', tiny['config'], tiny['ckpt'],
                      '--split', 'test', '--out', out, '--score-thr', '0.0',
                      '--max-size', '120', '--num', '1', *tiny['root_args'])
    assert f'3 images -> {out}' in result.stdout
    for img in tiny['images']:
        png = cv2.imread(str(out / f'{img.file_name}.png'))
        assert max(png.shape[:2]) == 120
        if img.mass_boxes:
            assert (png[..., 2] > 200).any()  # red ground truth (BGR)
    assert (out / 'contact_sheet.png').stat().st_size > 1000
    lines = (out / 'hits.csv').read_text().splitlines()
    assert lines[0] == 'rank,file_name,png,tp,fp,missed,num_gt'
    assert len(lines) == 4


def test_inbreast_to_coco_tool(tiny, tmp_path):
    from pycocotools.coco import COCO
    split = tiny['tmp'] / 'test.txt'
    out = tmp_path / 'coco' / 'test.json'
    result = run_tool('inbreast_to_coco.py', tiny['release'], '--split',
                      split, '--out', out, '--png-dir', tmp_path / 'png')
    n_boxes = sum(len(i.mass_boxes) for i in tiny['images'])
    assert (f"3 images (1 without boxes), {n_boxes} boxes, categories "
            f"['mass'] -> {out}") in result.stdout
    coco = COCO(str(out))
    assert sorted(coco.getImgIds()) == sorted(
        int(i.file_name) for i in tiny['images'])
    assert len(list((tmp_path / 'png').glob('*.png'))) == 3
