"""Variants differ from their base only in what they vary (flattened
config dicts compared key by key), and the split-ratio variants' commands
write the splits and statistics they read, with val inside train."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import flatten
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
VARIANTS = CONFIGS / 'variants'

FOCAL = [(3.5, 0.95), (5.0, 0.95), (6.5, 0.95), (5.0, 0.999), (5.0, 0.9999)]
RATIOS = [(8, 2), (7, 3), (6, 4), (5, 5)]
BACKBONE = ('model.backbone.depth', 'model.backbone.init_cfg.checkpoint',
            'model.neck.in_channels')
# variant -> (base, key prefixes it may change)
DERIVED = {
    **{f'retina_{phase}_r{d}.py': (f'retina_{phase}.py', BACKBONE)
       for phase in ('patch', 'resized') for d in (18, 34, 101)},
    **{f'retina_full_r{d}.py': ('retina_full.py', BACKBONE + ('load_from', ))
       for d in (18, 34, 101)},
    **{f'retina_patch_anchors{n}.py':
       ('retina_patch.py', ('model.bbox_head.anchor_generator.', ))
       for n in (9, 15)},
    'retina_patch_syncbn.py': ('retina_patch.py', (
        'model.backbone.norm_cfg.type', 'model.backbone.norm_eval',
        'env_cfg.cudnn_benchmark')),
    'retina_patch_cached.py': ('retina_patch.py', (
        'cache_dir', 'patch_pipeline.0.cache_dir',
        'train_dataloader.dataset.dataset.pipeline.0.cache_dir',
        'env_cfg.cudnn_benchmark')),
}


def flat(path):
    return flatten(Config.fromfile(str(path)).to_dict())


def diff(variant, base):
    keys = set(variant) | set(base)
    return {k: variant.get(k) for k in keys if variant.get(k) != base.get(k)}


def fmt(v):
    return f'{v:g}'


@pytest.fixture(scope='module')
def patch():
    return flat(CONFIGS / 'retina_patch.py')


def test_the_grid_is_complete():
    names = sorted(p.name for p in VARIANTS.glob('*.py'))
    expected = sorted(
        [f'retina_patch_gamma{fmt(g)}_alpha{fmt(a)}.py' for g, a in FOCAL] +
        [f'retina_patch_split{a}-{b}.py' for a, b in RATIOS])
    assert names == expected


@pytest.mark.parametrize('name', sorted(DERIVED))
def test_derived_configs_change_only_what_they_name(name):
    base, allowed = DERIVED[name]
    changed = diff(flat(CONFIGS / name), flat(CONFIGS / base))
    assert changed, f'{name} changes nothing'
    stray = [k for k in changed if not k.startswith(allowed)]
    assert stray == [], f'{name} also changes {stray}'


@pytest.mark.parametrize('gamma,alpha', FOCAL)
def test_focal_variants(patch, gamma, alpha):
    path = VARIANTS / f'retina_patch_gamma{fmt(gamma)}_alpha{fmt(alpha)}.py'
    assert diff(flat(path), patch) == {
        'model.bbox_head.loss_cls.gamma': gamma,
        'model.bbox_head.loss_cls.alpha': alpha,
    }


@pytest.mark.parametrize('train,test', RATIOS)
def test_split_variants(patch, train, test):
    """Only the splits and their statistics change: the three loaders read
    splits/ratioA-B/{train,val,test}.txt and every normalisation reads
    splits/ratioA-B/train.stats.json."""
    tag = f'ratio{train}-{test}'
    changed = diff(flat(VARIANTS / f'retina_patch_split{train}-{test}.py'),
                   patch)
    root = 'data/INbreast Release 1.0/'
    stats = f'{root}splits/{tag}/train.stats.json'
    assert {k: v for k, v in changed.items() if k.endswith('stats_file')
            } == {k: stats for k in changed if k.endswith('stats_file')}
    assert {k: v for k, v in changed.items() if k.endswith('ann_file')} == {
        'train_dataloader.dataset.dataset.ann_file': f'splits/{tag}/train.txt',
        'val_dataloader.dataset.ann_file': f'splits/{tag}/val.txt',
        'test_dataloader.dataset.ann_file': f'splits/{tag}/test.txt',
    }
    others = [k for k in changed
              if not k.endswith(('stats_file', 'ann_file')) and k not in (
                  'split_dir', )]
    assert others == []
    assert 'train_dataloader.dataset.dataset.pipeline.4.stats_file' in changed


def _supports_val_fraction() -> bool:
    result = subprocess.run(
        [sys.executable, 'tools/split_patients.py', '--help'], cwd=REPO,
        capture_output=True, text=True, timeout=120)
    return '--val-fraction' in result.stdout


@pytest.mark.slow
def test_split_commands_write_what_the_config_reads(synthetic_release,
                                                    tmp_path):
    """Run the commands in retina_patch_split8-2.py's comment on a synthetic
    release: they write the three splits (patients never shared, val
    patients taken from the training portion) and the statistics, and the
    config then passes the training-start check."""
    import shutil

    from mmdet_inbreast.datasets.release import read_split_file, scan_release
    from mmdet_inbreast.utils import set_data_root
    from mmdet_inbreast.utils.leak_check import (check_config_leaks,
                                                 dataset_split)
    if not _supports_val_fraction():
        pytest.skip('tools/split_patients.py has no --val-fraction yet')
    release, _ = synthetic_release
    root = tmp_path / 'INbreast Release 1.0'
    shutil.copytree(release, root)
    path = VARIANTS / 'retina_patch_split8-2.py'
    commands = [line.lstrip('# ').strip()
                for line in path.read_text().splitlines()
                if re.match(r'#\s+python tools/(split_patients|compute_stats)',
                            line)]
    assert len(commands) == 2
    for command in commands:
        args = shlex.split(command.replace('data/INbreast Release 1.0',
                                           str(root)))
        result = subprocess.run([sys.executable] + args[1:], cwd=REPO,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    cfg = Config.fromfile(str(path))
    set_data_root(cfg, str(root))
    assert check_config_leaks(cfg, check_files=True) == []
    records, _ = scan_release(str(root))
    patient = {r.file_name: r.patient_id for r in records}
    parts = {name: read_split_file(dataset_split(cfg, f'{name}_dataloader'))
             for name in ('train', 'val', 'test')}
    patients = {n: {patient[k] for k in keys} for n, keys in parts.items()}
    assert all(patients.values())
    assert not patients['train'] & patients['val']
    assert not patients['train'] & patients['test']
    assert not patients['val'] & patients['test']
    assert sorted(sum(parts.values(), [])) == sorted(patient)
    # 8:2 train:test, val carved from the training portion.
    n = len(patient)
    assert len(parts['test']) < len(parts['train']) + len(parts['val'])
    assert len(parts['val']) < len(parts['train'])
    assert len(parts['test']) <= 0.5 * n
