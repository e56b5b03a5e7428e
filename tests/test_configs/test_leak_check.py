"""No artefact of held-out data reaches training or model selection: every
config passes check_config_leaks, configs that break the rules are caught,
and StatsSplitCheckHook stops a run whose statistics come from another
split."""
import glob
import json
import os.path as osp
import shutil
from types import SimpleNamespace

import pytest
from mmengine.config import Config

import mmdet_inbreast  # noqa: F401  (registers the hook)
from mmdet_inbreast.datasets.splits import write_split
from mmdet_inbreast.datasets.stats import compute_split_stats
from mmdet_inbreast.engine.hooks import StatsSplitCheckHook
from mmdet_inbreast.utils import set_data_root
from mmdet_inbreast.utils.errors import InputError
from mmdet_inbreast.utils.leak_check import (check_config_leaks,
                                             dataset_split,
                                             normalize_stats_files)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p and not osp.basename(p).startswith('_')
    # Study files (configs/studies/) list runs; they are not mmdet configs.
    and osp.sep + 'studies' + osp.sep not in p)


def test_configs_found():
    # Variants and demo configs are included in the sweep below.
    rel = {osp.relpath(p, ROOT) for p in CONFIGS}
    assert 'configs/variants/retina_patch_split8-2.py' in rel
    assert 'configs/demo/retina_demo_patch.py' in rel
    assert len(rel) >= 29


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_no_leak(path):
    cfg = Config.fromfile(path)
    assert check_config_leaks(cfg) == []
    # The checks actually looked at something.
    assert dataset_split(cfg, 'train_dataloader')
    assert normalize_stats_files(cfg, 'train_dataloader')
    # Training runs check their statistics files when they start.
    if 'train_dataloader' in cfg:
        hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
        assert 'StatsSplitCheckHook' in hooks, (
            f'{path} sets custom_hooks without StatsSplitCheckHook')


def write_variant(tmp_path, body):
    """A config that inherits configs/retina_patch.py, with ``body``."""
    path = tmp_path / 'variant.py'
    path.write_text(f"_base_ = '{ROOT}/configs/retina_patch.py'\n" + body)
    return Config.fromfile(str(path))


def test_catches_selection_on_test(tmp_path):
    """The seed's split variants validated on test with save_best on."""
    cfg = write_variant(tmp_path, """
val_dataloader = dict(dataset=dict(ann_file='splits/ratio8-2/test.txt'))
test_dataloader = dict(dataset=dict(ann_file='splits/ratio8-2/test.txt'))
""")
    problems = check_config_leaks(cfg)
    assert len(problems) == 1
    assert problems[0].startswith(
        f'{tmp_path}/variant.py: the best checkpoint (coco/bbox_mAP_50) is '
        'chosen on data/INbreast Release 1.0/splits/ratio8-2/test.txt, '
        'which is also the test split')
    # Without save_best nothing is selected on test: no problem.
    cfg.default_hooks.checkpoint.save_best = None
    assert check_config_leaks(cfg) == []


def test_catches_other_splits_statistics(tmp_path):
    """A ratio split trained with the statistics of splits/train.txt."""
    cfg = write_variant(tmp_path, """
train_dataloader = dict(
    dataset=dict(dataset=dict(ann_file='splits/ratio8-2/train.txt')))
""")
    problems = check_config_leaks(cfg)
    own = 'data/INbreast Release 1.0/splits/ratio8-2/train.stats.json'
    assert problems and all(own in p for p in problems)
    assert problems[0].endswith(f'set stats_file to {own}')
    assert problems == [
        f'{tmp_path}/variant.py: stats_file, train_dataloader '
        'ZeroIgnoringNormalize, val_dataloader ZeroIgnoringNormalize, '
        'test_dataloader ZeroIgnoringNormalize read data/INbreast Release '
        '1.0/splits/train.stats.json, not the statistics of the training '
        'split data/INbreast Release 1.0/splits/ratio8-2/train.txt '
        f'({own}); set stats_file to {own}']


def test_catches_old_stats_name():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'retina_patch.py'))
    set_data_root(cfg, stats_file='data/INbreast Release 1.0/splits/'
                  'train_stats.json')
    problems = check_config_leaks(cfg)
    assert len(problems) == 1
    assert 'train_stats.json, not the statistics of the training split' \
        in problems[0]


# ------------------------------------------------------ the training check
@pytest.fixture
def release(synthetic_release, tmp_path):
    """A release copy with train/val/test splits; val's statistics
    written over train's (what the old compute_stats did)."""
    src, images = synthetic_release
    root = tmp_path / 'INbreast Release 1.0'
    shutil.copytree(src, root)
    keys = [im.file_name for im in images]
    for name, part in (('train', keys[:12]), ('val', keys[12:17]),
                       ('test', keys[17:])):
        write_split(str(root / 'splits' / f'{name}.txt'), part)
    return root


class Logger:

    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)

    warning = info


def fake_runner(cfg):
    return SimpleNamespace(cfg=cfg, logger=Logger())


def test_hook_stops_on_another_splits_statistics(release):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'retina_patch.py'))
    set_data_root(cfg, str(release))
    val_stats, _ = compute_split_stats(str(release), 'splits/val.txt')
    train_stats = release / 'splits' / 'train.stats.json'
    shutil.copy(val_stats, train_stats)
    hook = StatsSplitCheckHook()
    with pytest.raises(InputError) as e:
        hook.before_train(fake_runner(cfg))
    msg = str(e.value)
    train_split = release / 'splits' / 'train.txt'
    assert (f'{train_stats}: computed on splits/val.txt, not on the training '
            f'split {train_split}') in msg
    assert (f'python tools/compute_stats.py "{release}" --split '
            'splits/train.txt') in msg

    # The fix the message gives makes the check pass.
    compute_split_stats(str(release), 'splits/train.txt')
    runner = fake_runner(cfg)
    hook.before_train(runner)
    assert runner.logger.lines == [
        'StatsSplitCheckHook: statistics belong to the training split; best '
        'checkpoint not chosen on test']
    # Editing the split afterwards invalidates the statistics again.
    with open(train_split, 'a') as f:
        f.write('# edited\n')
    with pytest.raises(InputError, match='sha256 differs'):
        hook.before_train(fake_runner(cfg))


def test_hook_disabled_says_so(release):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'retina_patch.py'))
    set_data_root(cfg, str(release))
    runner = fake_runner(cfg)
    StatsSplitCheckHook(enabled=False).before_train(runner)
    assert 'disabled' in runner.logger.lines[0]


@pytest.mark.slow
def test_runner_from_cfg_stops(release, tmp_path):
    """Through mmengine's Runner.from_cfg, as any mmdet user starts a run:
    the base config's custom_hooks bring the check."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo',
                                   'retina_demo_patch.py'))
    set_data_root(cfg, str(release))
    cfg.work_dir = str(tmp_path / 'work')
    val_stats, _ = compute_split_stats(str(release), 'splits/val.txt')
    shutil.copy(val_stats, release / 'splits' / 'train.stats.json')
    runner = Runner.from_cfg(cfg)
    assert 'StatsSplitCheckHook' in [type(h).__name__ for h in runner.hooks]
    # What runner.train() calls before the first iteration.
    with pytest.raises(InputError, match='computed on splits/val.txt, not on '
                       'the training split'):
        runner.call_hook('before_train')
    stats = json.loads((release / 'splits' / 'train.stats.json').read_text())
    assert stats['split_file'] == 'splits/val.txt'
