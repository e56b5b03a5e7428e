"""DICOM inference: the derived pipeline, predictions in original pixels
(checked against the dataset's own test pipeline), header checks, split
visualisation. An untrained, tiny R18 RetinaNet on the 1/16-scale synthetic
release; score_thr 0 so that it predicts boxes."""
import json
import os
import os.path as osp
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_inbreast.apis import (check_dicom_header,
                                 dicom_inference_pipeline_cfg,
                                 find_dicom_files, infer_dicoms,
                                 init_inbreast_detector, load_split_infos,
                                 output_names, predict_dicom,
                                 visualize_split)

REPO = Path(__file__).resolve().parents[2]

TINY_CONFIG = '''
_base_ = '@REPO@/configs/@BASE@.py'
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32, stacked_convs=1,
                   anchor_generator=dict(octave_base_scale=2)),
    test_cfg=dict(score_thr=0.0))
test_pipeline = [
    dict(type='LoadDicomImage'),
    @RESIZE@
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='ZeroIgnoringNormalize', stats_file='@STATS@'),
    dict(type='PackDetInputs', meta_keys={{_base_.test_meta_keys}}),
]
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root='@ROOT@/', ann_file='@SPLIT@',
                 pipeline=test_pipeline))
val_dataloader = test_dataloader
'''


def write_tiny_config(path, release, stats, split, resize):
    """A tiny config inheriting a real one (Resize in the test pipeline
    when ``resize``)."""
    text = (TINY_CONFIG.replace('@REPO@', str(REPO))
            .replace('@BASE@', 'retina_resized' if resize else 'retina_patch')
            .replace('@RESIZE@', "dict(type='Resize', scale=(128, 96), "
                     'keep_ratio=True),' if resize else '')
            .replace('@STATS@', str(stats)).replace('@ROOT@', release)
            .replace('@SPLIT@', str(split)))
    path.write_text(text)
    return str(path)


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Tiny convolutions run fastest on one thread (and the test machine's
    cores are shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def tiny(synthetic_release, tmp_path_factory):
    """Configs (with and without Resize), a checkpoint, the split's images."""
    release, images = synthetic_release
    tmp = tmp_path_factory.mktemp('tiny_model')
    stats = tmp / 'stats.json'
    stats.write_text(json.dumps(dict(mean=1450.0, std=220.0)))
    # Two positives (both plate sizes if possible) and one negative.
    pos = [i for i in images if i.mass_boxes]
    pos = sorted(pos, key=lambda i: i.width)
    chosen = [pos[0], pos[-1]] + [next(i for i in images if not i.mass_boxes)]
    split = tmp / 'test.txt'
    split.write_text(''.join(f'{i.file_name}\n' for i in chosen))
    configs = {
        resize: write_tiny_config(tmp / f'tiny_{int(resize)}.py', release,
                                  stats, split, resize)
        for resize in (False, True)
    }
    torch.manual_seed(0)
    model = init_inbreast_detector(configs[True])
    ckpt = tmp / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('mass', )))), ckpt)
    return dict(release=release, images=chosen, configs=configs,
                ckpt=str(ckpt), stats=str(stats), split=str(split), tmp=tmp)


def dataset_predictions(model, split_file=None):
    """Predictions of ``model`` through the config's full test pipeline and
    dataset (what tools/test.py evaluates), by file name."""
    from mmengine.registry import init_default_scope
    from mmdet.registry import DATASETS
    init_default_scope('mmdet')
    ds_cfg = dict(model.cfg.test_dataloader.dataset)
    dataset = DATASETS.build(ds_cfg)
    out = {}
    for i in range(len(dataset)):
        data = dataset[i]
        batch = dict(inputs=[data['inputs']],
                     data_samples=[data['data_samples']])
        with torch.no_grad():
            sample = model.test_step(batch)[0]
        out[sample.metainfo['img_path']] = sample
    return out


def test_pipeline_cfg_drops_annotations():
    cfg = Config.fromfile(str(REPO / 'configs/retina_resized.py'))
    pipeline = dicom_inference_pipeline_cfg(cfg)
    assert [t['type'] for t in pipeline] == [
        'LoadDicomImage', 'Resize', 'ZeroIgnoringNormalize', 'PackDetInputs'
    ]
    keys = pipeline[-1]['meta_keys']
    assert 'instances' not in keys and 'background_value' in keys
    assert 'scale_factor' in keys
    # The config itself is not modified.
    assert cfg.test_dataloader.dataset.pipeline[2]['type'] == 'LoadAnnotations'
    # A pipeline that does not start from a DICOM is refused.
    cfg.test_dataloader.dataset.pipeline[0] = dict(type='LoadImageFromFile')
    with pytest.raises(ValueError, match='LoadDicomImage'):
        dicom_inference_pipeline_cfg(cfg)


@pytest.mark.parametrize('resize', [False, True])
def test_predictions_in_original_pixels(tiny, resize):
    model = init_inbreast_detector(tiny['configs'][resize], tiny['ckpt'])
    assert model.dataset_meta['classes'] == ('mass', )
    reference = dataset_predictions(model)
    assert len(reference) == 3
    for path, sample in reference.items():
        pred = predict_dicom(model, path)
        ref = sample.pred_instances
        order = torch.argsort(ref.scores, descending=True, stable=True)
        assert len(pred.scores) == len(ref.scores) > 10
        np.testing.assert_allclose(pred.scores, ref.scores[order].numpy(),
                                   rtol=1e-6)
        np.testing.assert_allclose(pred.bboxes, ref.bboxes[order].numpy(),
                                   atol=1e-3)
        h, w = sample.metainfo['ori_shape']
        assert (pred.width, pred.height) == (w, h)
        b = pred.bboxes
        assert b[:, [0, 2]].min() >= -1e-3 and b[:, [0, 2]].max() <= w + 1e-3
        assert b[:, [1, 3]].min() >= -1e-3 and b[:, [1, 3]].max() <= h + 1e-3
        assert (b[:, 2] >= b[:, 0]).all() and (b[:, 3] >= b[:, 1]).all()
        assert np.all(np.diff(pred.scores) <= 0)
        if resize:
            # The network saw a ~0.6x image; boxes reach beyond its size.
            rh, rw = sample.metainfo['img_shape']
            assert rw < w and rh < h
            assert b[:, 2].max() > rw + 1 or b[:, 3].max() > rh + 1


def test_check_dicom_header(tiny, tmp_path):
    import pydicom.data
    ct = pydicom.data.get_testdata_file('CT_small.dcm', download=False)
    with pytest.raises(ValueError, match=r"Modality 'CT'.*--any-modality"):
        check_dicom_header(ct)
    assert check_dicom_header(ct, modalities=None)['modality'] == 'CT'
    assert check_dicom_header(ct, modalities=('ct', ))['modality'] == 'CT'
    mammo = tiny['images'][0].dicom_path
    header = check_dicom_header(mammo)
    assert header['modality'] == 'MG' and header['rows'] == tiny['images'][
        0].height
    (tmp_path / 'x.dcm').write_text('not a dicom')
    with pytest.raises(ValueError, match='x.dcm: not a DICOM file'):
        check_dicom_header(str(tmp_path / 'x.dcm'))
    with pytest.raises(FileNotFoundError, match='missing.dcm'):
        check_dicom_header(str(tmp_path / 'missing.dcm'))


def test_find_dicom_files(tiny, tmp_path):
    src = tiny['images'][0].dicom_path
    shutil.copy(src, tmp_path / 'b.dcm')
    shutil.copy(src, tmp_path / 'a.DCM')
    shutil.copy(src, tmp_path / 'noext')  # DICM magic: taken
    (tmp_path / 'notes').write_text('x' * 200)  # no magic: left out
    (tmp_path / 'readme.txt').write_text('hello')
    os.mkdir(tmp_path / 'sub.dcm')
    found = [Path(p).name for p in find_dicom_files(str(tmp_path))]
    assert found == ['a.DCM', 'b.dcm', 'noext']
    assert find_dicom_files(src) == [src]
    with pytest.raises(FileNotFoundError):
        find_dicom_files(str(tmp_path / 'nowhere'))


def test_infer_dicoms_skips_bad_files(tiny, tmp_path):
    model = init_inbreast_detector(tiny['configs'][False], tiny['ckpt'])
    src = tiny['images'][0].dicom_path
    inp = tmp_path / 'in'
    inp.mkdir()
    good = str(inp / Path(src).name)
    shutil.copy(src, good)
    bad = inp / 'truncated.dcm'
    data = Path(src).read_bytes()
    bad.write_bytes(data[:len(data) - 1000])
    out = tmp_path / 'out'
    report = infer_dicoms(model, [str(bad), good], str(out), score_thr=0.0)
    assert list(report.skipped) == [str(bad)]
    assert 'truncated' in report.skipped[str(bad)]
    assert [r['file'] for r in report.written] == [good]
    name = Path(good).name  # extension kept: <name>.dcm.json
    record = json.loads((out / f'{name}.json').read_text())
    assert record['file'] == good
    assert record['size'] == dict(width=tiny['images'][0].width,
                                  height=tiny['images'][0].height)
    assert len(record['boxes']) == len(record['scores']) == len(
        record['labels']) > 0
    assert set(record['label_names']) == {'mass'}
    assert record['modality'] == 'MG'
    assert (out / f'{name}.png').stat().st_size > 500
    summary = json.loads((out / 'infer_report.json').read_text())
    assert list(summary['skipped']) == [str(bad)]
    assert summary['written'][0]['json'] == str(out / f'{name}.json')


def test_output_names_unique(tmp_path):
    d = tmp_path / 'in'
    assert output_names([str(d / 'a'), str(d / 'a.dcm'), str(d / 'a.dicom'),
                         str(d / 'sub' / 'a.dcm'), str(d / 'a.dcm')]) == {
        str(d / 'a'): 'a', str(d / 'a.dcm'): 'a.dcm',
        str(d / 'a.dicom'): 'a.dicom',
        str(d / 'sub' / 'a.dcm'): osp.join('sub', 'a.dcm')}
    assert output_names([str(d / 'x.dcm')]) == {str(d / 'x.dcm'): 'x.dcm'}
    assert output_names([]) == {}


def test_infer_dicoms_same_stem_distinct_outputs(tiny, tmp_path):
    """``a``, ``a.dcm`` and ``a.dicom`` (different images) write three JSON
    and three PNG files, and the report points each at its own."""
    model = init_inbreast_detector(tiny['configs'][False], tiny['ckpt'])
    inp = tmp_path / 'in'
    inp.mkdir()
    sources = [i.dicom_path for i in tiny['images']]
    for name, src in zip(('a', 'a.dcm', 'a.dicom'), sources):
        shutil.copy(src, inp / name)
    files = find_dicom_files(str(inp))
    assert [Path(f).name for f in files] == ['a', 'a.dcm', 'a.dicom']
    out = tmp_path / 'out'
    report = infer_dicoms(model, files, str(out), score_thr=0.0,
                          max_size=64)
    assert not report.skipped
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ['a.json', 'a.png', 'a.dcm.json', 'a.dcm.png', 'a.dicom.json',
         'a.dicom.png', 'infer_report.json'])
    for r, img in zip(report.written, tiny['images']):
        record = json.loads(Path(r['json']).read_text())
        assert record['file'] == r['file']
        assert Path(r['json']).name == Path(r['file']).name + '.json'
        assert Path(r['png']).name == Path(r['file']).name + '.png'
        # Each JSON holds its own image's predictions.
        assert record['size'] == dict(width=img.width, height=img.height)
        assert record['boxes'] == [[round(float(v), 3) for v in b]
                                   for b in predict_dicom(model, r['file'])
                                   .bboxes]
    assert len({r['json'] for r in report.written}) == 3


def test_score_thr_lowers_model_threshold(tiny):
    cfg = Config.fromfile(tiny['configs'][False])
    cfg.model.test_cfg.score_thr = 0.5
    assert init_inbreast_detector(
        cfg, score_thr=0.1).cfg.model.test_cfg.score_thr == 0.1
    assert init_inbreast_detector(
        cfg, score_thr=0.9).cfg.model.test_cfg.score_thr == 0.5
    assert cfg.model.test_cfg.score_thr == 0.5  # the caller's cfg untouched


def test_visualize_split(tiny, tmp_path):
    model = init_inbreast_detector(tiny['configs'][True], tiny['ckpt'])
    infos = load_split_infos(model.cfg, 'test')
    assert [i['file_name'] for i in infos] == [
        i.file_name for i in tiny['images']
    ]
    # A split file given as a path gives the same images.
    assert [i['file_name'] for i in load_split_infos(
        model.cfg, tiny['split'])] == [i['file_name'] for i in infos]
    rows = visualize_split(model, infos, str(tmp_path), score_thr=0.0,
                           max_size=100, num=1)
    assert [r['rank'] for r in rows] == [1, 2, 3]
    assert sum(r['num_gt'] for r in rows) == sum(
        len(i.mass_boxes) for i in tiny['images'])
    # Best first: fewer missed boxes, then fewer false positives.
    keys = [(r['missed'], r['fp']) for r in rows]
    assert keys == sorted(keys)
    import cv2
    for r in rows:
        img = cv2.imread(r['png'])
        assert max(img.shape[:2]) == 100
    sheet = cv2.imread(str(tmp_path / 'contact_sheet.png'))
    assert sheet.shape[0] > 2 * 320 and sheet.shape[1] > 320


def test_any_modality(tiny, tmp_path):
    """CT_small.dcm runs with modalities=None (it decodes: a 128 x 128
    signed CT); nothing usable gives an empty ``written``."""
    import pydicom.data
    model = init_inbreast_detector(tiny['configs'][False], tiny['ckpt'])
    ct = pydicom.data.get_testdata_file('CT_small.dcm', download=False)
    plan = pydicom.data.get_testdata_file('rtplan.dcm', download=False)
    report = infer_dicoms(model, [ct, plan], str(tmp_path), score_thr=0.0,
                          overlay=False, modalities=None)
    assert [r['file'] for r in report.written] == [ct]
    assert 'no pixel data' in report.skipped[plan]
    report = infer_dicoms(model, [plan], str(tmp_path / 'b'))
    assert report.written == [] and "Modality 'RTPLAN'" in report.skipped[
        plan]


def test_checkpoint_must_fit(tiny, tmp_path):
    state = torch.load(tiny['ckpt'], weights_only=True)
    state['state_dict'].pop('bbox_head.retina_cls.weight')
    bad = tmp_path / 'bad.pth'
    torch.save(state, bad)
    with pytest.raises(ValueError, match=r'(?s)bad.pth: its weights do not '
                       'fit .*retina_cls'):
        init_inbreast_detector(tiny['configs'][False], str(bad))
    model = init_inbreast_detector(tiny['configs'][False], str(bad),
                                   strict=False)
    assert model.dataset_meta['classes'] == ('mass', )
