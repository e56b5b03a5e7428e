"""The variant configs of the seed's grids: each loads, and differs from
``configs/retina_patch.py`` in exactly what it varies (flattened config
dicts compared key by key)."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import flatten
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
VARIANTS = REPO / 'configs' / 'variants'

FOCAL = [(3.5, 0.95), (5.0, 0.95), (6.5, 0.95), (5.0, 0.999), (5.0, 0.9999)]
RATIOS = [(8, 2), (7, 3), (6, 4), (5, 5)]


@pytest.fixture(scope='module')
def base():
    return flatten(Config.fromfile(str(REPO / 'configs' /
                                       'retina_patch.py')).to_dict())


def diff(variant, base):
    keys = set(variant) | set(base)
    return {k: variant.get(k) for k in keys if variant.get(k) != base.get(k)}


def fmt(v):
    return f'{v:g}'


def test_the_grid_is_complete():
    names = sorted(p.name for p in VARIANTS.glob('*.py'))
    expected = sorted(
        [f'retina_patch_gamma{fmt(g)}_alpha{fmt(a)}.py' for g, a in FOCAL] +
        [f'retina_patch_split{a}-{b}.py' for a, b in RATIOS])
    assert names == expected


@pytest.mark.parametrize('gamma,alpha', FOCAL)
def test_focal_variants(base, gamma, alpha):
    path = VARIANTS / f'retina_patch_gamma{fmt(gamma)}_alpha{fmt(alpha)}.py'
    cfg = Config.fromfile(str(path))
    assert diff(flatten(cfg.to_dict()), base) == {
        'model.bbox_head.loss_cls.gamma': gamma,
        'model.bbox_head.loss_cls.alpha': alpha,
    }
    assert isinstance(cfg.model.bbox_head.loss_cls.gamma, float)
    assert "_base_ = '../retina_patch.py'" in path.read_text()


@pytest.mark.parametrize('train,test', RATIOS)
def test_split_variants(base, train, test):
    tag = f'ratio{train}-{test}'
    path = VARIANTS / f'retina_patch_split{train}-{test}.py'
    cfg = Config.fromfile(str(path))
    assert diff(flatten(cfg.to_dict()), base) == {
        'train_dataloader.dataset.dataset.ann_file': f'splits/{tag}/train.txt',
        'val_dataloader.dataset.ann_file': f'splits/{tag}/test.txt',
        'test_dataloader.dataset.ann_file': f'splits/{tag}/test.txt',
    }
    # The wrapper (MassRepeatDataset) is kept around the INbreastDataset.
    assert cfg.train_dataloader.dataset.type == 'MassRepeatDataset'
    # The documented command names the matching ratios and folder.
    command = next(line for line in path.read_text().splitlines()
                   if 'split_patients.py' in line)
    assert f'--ratios 0.{train} 0.{test} --names train test' in command
    assert command.rstrip().endswith(f'splits/{tag}"')


def test_split_command_writes_the_files(synthetic_release, tmp_path):
    """Run the command documented in the 8:2 config on a synthetic release:
    it writes the files that config reads."""
    import shutil
    release, _ = synthetic_release
    root = tmp_path / 'INbreast Release 1.0'
    shutil.copytree(release, root)
    text = (VARIANTS / 'retina_patch_split8-2.py').read_text()
    line = next(line for line in text.splitlines()
                if 'split_patients.py' in line).lstrip('# ').strip()
    args = shlex.split(line.replace('data/INbreast Release 1.0', str(root)))
    assert args[:2] == ['python', 'tools/split_patients.py']
    result = subprocess.run([sys.executable] + args[1:], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    cfg = Config.fromfile(str(VARIANTS / 'retina_patch_split8-2.py'))
    train = root / cfg.train_dataloader.dataset.dataset.ann_file
    test = root / cfg.test_dataloader.dataset.ann_file
    keys = [set(re.findall(r'^\d{8}', p.read_text(), re.M))
            for p in (train, test)]
    assert keys[0] and keys[1] and not keys[0] & keys[1]
    assert len(keys[0]) > len(keys[1])
