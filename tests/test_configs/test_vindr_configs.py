"""configs/vindr/*: load, build on a synthetic VinDr-Mammo release, and
run a few training iterations."""
import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import mmdet_inbreast  # noqa: F401
from mmdet_inbreast.datasets.synthetic_vindr import make_synthetic_vindr
from mmdet_inbreast.datasets.vindr_release.splits import \
    write_vindr_splits_and_stats
from mmdet_inbreast.utils import set_data_root

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'vindr', 'retina_patch_vindr.py')
#: The configs that train on VinDr-Mammo: phase 1, and its demo scale.
VINDR_CONFIGS = [CONFIG, osp.join(ROOT, 'configs', 'demo',
                                  'retina_demo_patch_vindr.py')]


@pytest.fixture(scope='module')
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp('vindr_cfg')
    images = make_synthetic_vindr(str(out), num_studies=10, scale=0.125,
                                  seed=2, finding_fraction=0.5)
    root = str(out / 'vindr-mammo')
    parts = write_vindr_splits_and_stats(root)
    return root, images, parts


def test_splits_are_study_grouped_from_training(release):
    root, images, parts = release
    by_id = {im.image_id: im for im in images}
    train = {by_id[k].study_id for k in parts['train']}
    val = {by_id[k].study_id for k in parts['val']}
    assert train and val and not train & val
    assert {by_id[k].split for k in parts['train'] + parts['val']} == {
        'training'}
    assert len(parts['train']) + len(parts['val']) == sum(
        1 for im in images if im.split == 'training')
    stats = json.load(open(osp.join(root, 'splits', 'train.stats.json')))
    assert stats['split_file'] == 'splits/train.txt'
    assert stats['num_images'] == len(parts['train'])
    assert 1000 < stats['mean'] < 2500 and stats['std'] > 0


def _cfg(root, config=CONFIG):
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None  # no downloads here
    set_data_root(cfg, root)
    return cfg


@pytest.mark.parametrize('config', VINDR_CONFIGS,
                         ids=lambda p: osp.relpath(p, ROOT))
def test_config_builds(release, config):
    from mmdet.registry import DATASETS, MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    root, images, parts = release
    cfg = _cfg(root, config)
    assert cfg.custom_imports['imports'] == ['mmdet_inbreast']
    norms = [t for t in cfg.train_dataloader.dataset.dataset.pipeline
             if t['type'] == 'ZeroIgnoringNormalize']
    assert norms[0]['stats_file'] == osp.join(root, 'splits',
                                              'train.stats.json')
    model = MODELS.build(cfg.model)
    lengths = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = DATASETS.build(cfg[loader].dataset)
        lengths[loader] = len(ds)
        sample = ds[0]
        batch = model.data_preprocessor(pseudo_collate([sample]), False)
        assert batch['inputs'].shape[1] == 3
    inner = DATASETS.build(cfg.train_dataloader.dataset.dataset)
    assert len(inner) == len(parts['train'])
    assert lengths['val_dataloader'] == len(parts['val'])
    assert lengths['test_dataloader'] == sum(1 for im in images
                                             if im.split == 'test')


@pytest.mark.slow
def test_config_trains_a_few_iterations(release, tmp_path):
    from mmengine.runner import Runner
    root, _, _ = release
    cfg = _cfg(root)
    demo = Config.fromfile(osp.join(ROOT, 'configs', 'demo',
                                    '_demo_settings.py'))
    cfg.merge_from_dict(dict(model=demo.demo_model))
    cfg.optim_wrapper = demo.demo_optim_wrapper
    cfg.optim_wrapper.pop('_delete_', None)
    inner = cfg.train_dataloader.dataset.dataset
    for t in inner.pipeline:
        if t['type'] == 'MassPreservingRandomCrop':
            t.update(crop_size=(128, 128), tissue_stride=4)
    cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                persistent_workers=False)
    for loader in ('val_dataloader', 'test_dataloader'):
        cfg[loader].update(num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3,
                         val_interval=3)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=3,
                                        by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False)
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(osp.join(str(tmp_path), 'iter_3.pth'))
    # Validated after the last iteration (the official split's val part).
    hub = runner.message_hub
    for key in ('coco/bbox_mAP_50', 'froc/CPM'):
        assert 0.0 <= hub.get_scalar(f'val/{key}').current() <= 1.0


@pytest.fixture(scope='module')
def inbreast(synthetic_release, tmp_path_factory):
    """The shared synthetic INbreast release with its splits and stats."""
    import shutil
    from mmdet_inbreast.apis.demo import write_splits_and_stats
    src, _ = synthetic_release
    dst = str(tmp_path_factory.mktemp('inb') / 'INbreast Release 1.0')
    shutil.copytree(src, dst)
    write_splits_and_stats(dst)
    return dst


def _move(node, old: str, new: str):
    """Every string under ``node`` that starts with ``old`` re-rooted."""
    if isinstance(node, dict):
        return {k: _move(v, old, new) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_move(v, old, new) for v in node)
    if isinstance(node, str) and node.startswith(old):
        return osp.join(new, node[len(old):])
    return node


def _stats_of(pipeline):
    (path, ) = [t['stats_file'] for t in pipeline
                if t['type'] == 'ZeroIgnoringNormalize']
    return path, json.load(open(path))


@pytest.mark.parametrize('name,trained_on', [
    ('retina_full_test_vindr', 'inbreast'),
    ('retina_patch_vindr_test_inbreast', 'vindr')])
def test_external_validation_normalises_with_training_statistics(
        release, inbreast, name, trained_on):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    vindr_root = release[0]
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'vindr', f'{name}.py'))
    test = _move(_move(cfg.test_dataloader.dataset.to_dict(),
                       'data/vindr-mammo/', vindr_root),
                 'data/INbreast Release 1.0/', inbreast)
    stats_path, stats = _stats_of(test['pipeline'])
    own = {'inbreast': inbreast, 'vindr': vindr_root}[trained_on]
    assert stats_path.startswith(own)
    ds = DATASETS.build(test)
    tested_on = vindr_root if trained_on == 'inbreast' else inbreast
    assert ds.data_root.rstrip('/') == tested_on.rstrip('/')
    assert len(ds) > 0
    sample = ds[0]
    assert sample['data_samples'].metainfo['background_value'] == \
        pytest.approx(-stats['mean'] / stats['std'])
    if trained_on == 'inbreast':  # the log line of BaseMammoDataset
        assert ds.describe_normalisation().endswith(f'from {stats_path}')


def test_inbreast_from_vindr_config(inbreast):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'vindr',
                                   'retina_patch_from_vindr.py'))
    base = Config.fromfile(osp.join(ROOT, 'configs', 'retina_patch.py'))
    assert cfg.load_from == 'workdir://work_dirs/retina_patch_vindr'
    assert cfg.model.backbone.init_cfg is None
    # Everything but the initialisation is INbreast phase 1.
    assert cfg.train_dataloader.to_dict() == base.train_dataloader.to_dict()
    assert cfg.stats_file == base.stats_file
    set_data_root(cfg, inbreast)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert ds.dataset.__class__.__name__ == 'INbreastDataset' and len(ds)
