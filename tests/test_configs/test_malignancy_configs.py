"""configs/retina_{patch,full}_malignancy.py: two classes (benign and
malignant masses) from the image's BI-RADS, built on the synthetic
release, and per-class FROC and COCO AP after a few iterations."""
import csv
import json
import os.path as osp
import shutil

import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import mmdet_inbreast  # noqa: F401
from mmdet_inbreast.utils import set_data_root

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSES = ('benign_mass', 'malignant_mass')
#: BI-RADS of the synthetic release's mass images -> label (default rule).
LABEL = {'2': 0, '3': 0, '4a': 1, '4b': 1, '4c': 1, '5': 1}


@pytest.fixture(scope='module')
def release(synthetic_release, tmp_path_factory):
    """A copy of the shared synthetic release with splits and statistics,
    and the expected label of every mass: key -> [label, ...] from the
    CSV's BI-RADS (read here with the csv module)."""
    from mmdet_inbreast.apis.demo import write_splits_and_stats
    src, images = synthetic_release
    dst = str(tmp_path_factory.mktemp('malignancy') / 'INbreast Release 1.0')
    shutil.copytree(src, dst)
    write_splits_and_stats(dst)
    with open(osp.join(dst, 'INbreast.csv'), newline='') as f:
        rows = list(csv.reader(f, delimiter=';'))
    birads = {r[5].strip(): r[7].strip() for r in rows[1:]
              if len(r) > 7 and r[5].strip()}
    expected = {im.file_name: [LABEL[birads[im.file_name]]] *
                len(im.mass_boxes) if im.mass_boxes else []
                for im in images}
    return dst, expected


def _cfg(name, root):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    cfg.model.backbone.init_cfg = None  # no downloads here
    set_data_root(cfg, root)
    return cfg


@pytest.mark.parametrize('name', ['retina_patch_malignancy.py',
                                  'retina_full_malignancy.py'])
def test_config_builds_with_two_classes(release, name):
    from mmdet.registry import DATASETS, MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    root, expected = release
    cfg = _cfg(name, root)
    assert cfg.model.bbox_head.num_classes == 2
    model = MODELS.build(cfg.model)
    assert model.bbox_head.num_classes == 2
    seen = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = DATASETS.build(cfg[loader].dataset)
        inner = getattr(ds, 'dataset', ds)  # MassRepeatDataset in phase 1
        assert inner.metainfo['classes'] == CLASSES
        for i in range(len(inner)):
            info = inner.get_data_info(i)
            labels = [x['bbox_label'] for x in info['instances']]
            assert labels == expected[info['file_name']]
            seen[info['file_name']] = labels
        sample = ds[0]
        batch = model.data_preprocessor(pseudo_collate([sample]), False)
        assert batch['inputs'].shape[1] == 3
    # The three splits cover the release: 3 benign and 12 malignant masses.
    assert len(seen) == 22
    assert sum(v.count(0) for v in seen.values()) == 3
    assert sum(v.count(1) for v in seen.values()) == 12
    if name == 'retina_full_malignancy.py':
        assert cfg.load_from == 'workdir://work_dirs/retina_patch_malignancy'


@pytest.mark.slow
def test_per_class_froc_and_coco_after_a_few_iterations(release, tmp_path):
    """Three iterations of the demo-sized model, then validation on all 22
    images: FROC and COCO report both classes, over the right boxes."""
    from mmengine.runner import Runner
    root, _ = release
    cfg = _cfg('retina_patch_malignancy.py', root)
    demo = Config.fromfile(osp.join(ROOT, 'configs', 'demo',
                                    '_demo_settings.py'))
    cfg.merge_from_dict(dict(model=demo.demo_model))
    cfg.optim_wrapper = demo.demo_optim_wrapper
    cfg.optim_wrapper.pop('_delete_', None)
    for t in cfg.train_dataloader.dataset.dataset.pipeline:
        if t['type'] == 'MassPreservingRandomCrop':
            t.update(crop_size=(96, 96))
    cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                persistent_workers=False)
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.val_dataloader.dataset.ann_file = ''  # both classes: every image
    froc_prefix = osp.join(str(tmp_path), 'val')
    for metric in cfg.val_evaluator:
        if metric['type'] == 'FROCMetric':
            metric['outfile_prefix'] = froc_prefix
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3,
                         val_interval=3)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0,
                                by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=3,
                                        by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False)
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    keys = ['froc/CPM', 'coco/bbox_mAP_50']
    for name in CLASSES:
        keys += [f'froc/{name}_CPM', f'froc/{name}_sens@1',
                 f'coco/bbox_{name}_mAP', f'coco/bbox_{name}_mAP_50']
    for key in keys:
        assert 0.0 <= hub.get_scalar(f'val/{key}').current() <= 1.0, key
    with open(f'{froc_prefix}.froc.json') as f:
        froc = json.load(f)
    assert froc['num_images'] == 22 and froc['num_boxes'] == 15
    assert {k: v['num_boxes'] for k, v in froc['per_class'].items()} == {
        'benign_mass': 3, 'malignant_mass': 12}
