"""What the configs must do, on a synthetic release: every config builds its
model and datasets, the patch config's training pipeline keeps every mass
whole, and the full config's backbone stays frozen while its head learns.
(The leak check over every config is tests/test_configs/test_leak_check.py;
variants against their bases are tests/test_configs/test_variant_configs.py.)
"""
import glob
import os.path as osp
import re
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import mmdet_inbreast  # noqa: F401
from mmdet_inbreast.datasets import read_split_file, scan_release
from mmdet_inbreast.datasets.splits import split_by_ratios, write_split
from mmdet_inbreast.datasets.stats import compute_split_stats
from mmdet_inbreast.utils import set_data_root
from mmdet_inbreast.utils.leak_check import check_config_leaks, dataset_split

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p and not osp.basename(p).startswith('_')
    # Study files (configs/studies/) list runs; they are not mmdet configs.
    and osp.sep + 'studies' + osp.sep not in p
    # VinDr-Mammo configs build on a VinDr release: test_vindr_configs.py.
    and osp.join('configs', 'vindr') not in p
    and "'../vindr/retina_patch_vindr.py'" not in open(p).read())


def load(path, release):
    """Config ``path`` pointed at ``release``; no downloads."""
    cfg = Config.fromfile(osp.join(ROOT, path))
    set_data_root(cfg, release)
    if cfg.model.backbone.get('init_cfg'):
        cfg.model.backbone.init_cfg = None
    return cfg


@pytest.fixture(scope='module')
def release(synthetic_release, tmp_path_factory):
    """The synthetic release with, in every split folder a config reads
    (splits/ and the ratio variants' folders), patient-grouped
    train/val/test files and the training split's statistics."""
    src, _ = synthetic_release
    dst = str(tmp_path_factory.mktemp('cfg') / 'INbreast Release 1.0')
    shutil.copytree(src, dst)
    records, _ = scan_release(dst)
    parts = split_by_ratios(records, (0.6, 0.2, 0.2), seed=0)
    # splits/ and the split-ratio variants' splits/ratioA-B/ (a test in
    # test_configs/test_variant_configs.py checks those are their folders).
    folders = [osp.join(dst, 'splits')] + [
        osp.join(dst, 'splits', 'ratio' + m.group(1)) for m in (
            re.search(r'_split(\d+-\d+)\.py$', p) for p in CONFIGS) if m]
    for folder in folders:
        for name, keys in zip(('train', 'val', 'test'), parts):
            write_split(osp.join(folder, f'{name}.txt'), keys)
        compute_split_stats(dst, osp.join(folder, 'train.txt'))
    return dst


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds(path, release):
    """Model and the three datasets build; a sample reaches the backbone
    with 3 channels and the pipeline's background value; the statistics
    the run would normalise with pass the training check."""
    from mmdet.registry import DATASETS, MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = load(path, release)
    assert check_config_leaks(cfg, check_files=True) == []
    num_classes = len(cfg.get('classes', ('mass', )))  # malignancy: 2
    assert cfg.model.bbox_head.num_classes == num_classes
    model = MODELS.build(cfg.model)
    assert model.bbox_head.num_classes == num_classes
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = DATASETS.build(cfg[loader].dataset)
        assert len(ds) > 0
        sample = ds[0]
        background = sample['data_samples'].metainfo['background_value']
        batch = model.data_preprocessor(pseudo_collate([sample]), False)
        assert batch['inputs'].shape[1] == 3
        # The model does not normalise again: raw 0 pixels arrive at the
        # backbone as the pipeline's background value.
        assert batch['inputs'].min().item() == pytest.approx(background,
                                                             rel=1e-5)


def test_patch_pipeline_keeps_every_mass_whole(release, synthetic_release):
    """retina_patch.py's training set, with a crop smaller than the images
    (the synthetic ones are smaller than 1024): every sample of a positive
    image holds at least one mass, and every mass it trains on is an
    original box moved by the crop offset (times the shrink scale, then
    flipped), never a clipped piece; cut masses are only ignored."""
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    _, images = synthetic_release
    truth = {im.file_name: np.array(im.mass_boxes, dtype=np.float64)
             .reshape(-1, 4) for im in images}
    cfg = load('configs/retina_patch.py', release)
    inner = cfg.train_dataloader.dataset.dataset
    crop = next(t for t in inner.pipeline
                if t.type == 'MassPreservingRandomCrop')
    crop.crop_size = (96, 96)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    np.random.seed(0)
    positives = 0
    for idx in range(len(ds)):
        out = ds[idx]
        meta = out['data_samples'].metainfo
        boxes = out['data_samples'].gt_instances.bboxes.numpy()
        assert out['inputs'].shape[1:] == (96, 96)
        original = truth[meta['file_name']]
        if not len(original):
            assert len(boxes) == 0
            continue
        positives += 1
        assert len(boxes) >= 1
        sx, sy = meta.get('scale_factor', (1.0, 1.0))
        x0, y0 = meta['crop_offset']
        expected = (original - [x0, y0, x0, y0]) * [sx, sy, sx, sy]
        if meta['flip']:  # RandomFlip after the crop
            assert meta['flip_direction'] == 'horizontal'
            expected[:, [0, 2]] = 96 - expected[:, [2, 0]]
        for box in boxes:
            err = np.abs(expected - box).max(axis=1)
            assert err.min() < 0.02, (meta['file_name'], box, expected)
    train = read_split_file(dataset_split(cfg, 'train_dataloader'))
    assert positives == 5 * sum(1 for k in train if len(truth[k])) > 0


@pytest.mark.slow
def test_full_config_backbone_stays_frozen(release):
    """Phase 2 (demo model, retina_full.py's hooks and optimiser): after
    training steps the backbone's weights and BatchNorm statistics are
    bit-identical, the neck and head moved."""
    from mmdet.registry import DATASETS, HOOKS, MODELS
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = load('configs/demo/retina_demo_full.py', release)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    runner = SimpleNamespace(model=model,
                             logger=SimpleNamespace(info=lambda m: None))
    for hook in cfg.custom_hooks:
        if hook.type == 'FreezeBackboneHook':
            HOOKS.build(hook).before_train(runner)
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    for step in range(2):
        batch = model.data_preprocessor(
            pseudo_collate([ds[2 * step], ds[2 * step + 1]]), True)
        losses = model(**batch, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim.update_params(loss)
    after = model.state_dict()
    backbone = [k for k in before if k.startswith('backbone.')]
    assert any('running_mean' in k for k in backbone)
    for k in backbone:
        assert torch.equal(before[k], after[k]), k
    for prefix in ('neck.', 'bbox_head.'):
        assert any(not torch.equal(before[k], after[k])
                   for k in before if k.startswith(prefix)), prefix


def test_every_config_is_seeded():
    """Without randomness.seed mmengine draws a new seed per run; every
    config fixes one, so a config's initial weights are the same on every
    run."""
    import torch
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.runner import set_random_seed
    register_all_modules(init_default_scope=True)
    paths = CONFIGS + sorted(glob.glob(osp.join(ROOT, 'configs', 'vindr',
                                                '*.py')))
    for path in paths:
        seed = Config.fromfile(path).get('randomness', {}).get('seed')
        assert isinstance(seed, int), path
    cfg = Config.fromfile(osp.join(ROOT, 'configs/demo/retina_demo_patch.py'))
    weights = []
    for _ in range(2):
        set_random_seed(cfg.randomness.seed)
        weights.append(MODELS.build(cfg.model).state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    set_random_seed(cfg.randomness.seed + 1)
    other = MODELS.build(cfg.model).state_dict()
    assert not all(torch.equal(weights[0][k], other[k]) for k in other)
