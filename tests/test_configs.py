"""Every config loads, composes from its bases, builds its model, and its
datasets and pipelines build on a synthetic release."""
import glob
import os.path as osp
import shutil

import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import mmdet_inbreast  # noqa: F401
from mmdet_inbreast.datasets.release import scan_release
from mmdet_inbreast.apis.demo import write_splits_and_stats
from mmdet_inbreast.datasets.splits import write_split
from mmdet_inbreast.utils import set_data_root

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p and not osp.basename(p).startswith('_')
    and osp.sep + 'studies' + osp.sep not in p)  # study files: test_study


@pytest.fixture(scope='module')
def release(synthetic_release, tmp_path_factory):
    """The shared synthetic release plus the split files the configs name
    (splits/{train,val,test}.txt and the ratio variants' folders) and the
    training statistics."""
    src, _ = synthetic_release
    dst = str(tmp_path_factory.mktemp('cfg') / 'INbreast Release 1.0')
    shutil.copytree(src, dst)
    write_splits_and_stats(dst)
    records, _ = scan_release(dst)
    for folder in glob.glob(osp.join(ROOT, 'configs', 'variants', '*.py')):
        text = open(folder).read()
        for rel in set(__import__('re').findall(r"'(splits/[^']+\.txt)'",
                                                text)):
            path = osp.join(dst, rel)
            if not osp.exists(path):
                write_split(path, [r.file_name for r in records])
    return dst


def test_configs_found():
    names = {osp.relpath(p, osp.join(ROOT, 'configs')) for p in CONFIGS}
    for required in ('retina_patch.py', 'retina_full.py', 'retina_resized.py',
                     'retina_patch_r18.py', 'retina_patch_r34.py',
                     'retina_patch_r101.py', 'demo/retina_demo_patch.py',
                     'demo/retina_demo_full.py',
                     'demo/retina_demo_resized.py'):
        assert required in names


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds(path, release):
    from mmdet.registry import DATASETS, MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['mmdet_inbreast']
    # The pipeline normalises: the model must not normalise again.
    dp = cfg.model.data_preprocessor
    assert dp.type == 'BackgroundPadDetDataPreprocessor'
    assert dp.get('mean') is None and dp.get('std') is None
    assert cfg.model.bbox_head.num_classes == 1
    cfg.model.backbone.init_cfg = None  # no downloads here
    model = MODELS.build(cfg.model)
    assert model.bbox_head.num_classes == 1
    set_data_root(cfg, release)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = DATASETS.build(cfg[loader].dataset)
        assert len(ds) > 0
        sample = ds[0]
        assert sample['inputs'].shape[0] in (1, 3)
        assert 'background_value' in sample['data_samples'].metainfo
        # What the backbone sees: 3 channels (made by the data
        # preprocessor when the pipeline sends gray patches).
        batch = model.data_preprocessor(pseudo_collate([sample]), False)
        assert batch['inputs'].shape[1] == 3


def test_variant_changes_only_backbone():
    base = Config.fromfile(osp.join(ROOT, 'configs', 'retina_patch.py'))
    r18 = Config.fromfile(osp.join(ROOT, 'configs', 'retina_patch_r18.py'))
    assert r18.model.backbone.depth == 18
    assert r18.model.neck.in_channels == [64, 128, 256, 512]
    r18.model.backbone = base.model.backbone
    r18.model.neck = base.model.neck
    assert r18.model.to_dict() == base.model.to_dict()
    assert r18.train_dataloader.to_dict() == base.train_dataloader.to_dict()


def test_phase_configs():
    patch = Config.fromfile(osp.join(ROOT, 'configs', 'retina_patch.py'))
    full = Config.fromfile(osp.join(ROOT, 'configs', 'retina_full.py'))
    resized = Config.fromfile(osp.join(ROOT, 'configs', 'retina_resized.py'))
    wrapper = patch.train_dataloader.dataset
    assert (wrapper.type, wrapper.pos_times, wrapper.neg_times) == (
        'MassRepeatDataset', 5, 2)
    crop = [t for t in wrapper.dataset.pipeline
            if t.type == 'MassPreservingRandomCrop']
    assert crop and tuple(crop[0].crop_size) == (1024, 1024)
    assert patch.model.backbone.depth == 50
    assert full.load_from == 'work_dirs/retina_patch'
    assert [h.type for h in full.custom_hooks] == ['FreezeBackboneHook']
    assert not any(t.type == 'Resize'
                   for t in full.train_dataloader.dataset.pipeline)
    assert full.model.data_preprocessor.pad_size_divisor == 32
    resize = [t for t in resized.train_dataloader.dataset.pipeline
              if t.type == 'Resize']
    assert resize and tuple(resize[0].scale) == (2300, 1700)
    for cfg in (patch, full, resized):
        assert cfg.default_hooks.checkpoint.save_best == 'coco/bbox_mAP_50'
        assert cfg.default_hooks.checkpoint.rule == 'greater'
