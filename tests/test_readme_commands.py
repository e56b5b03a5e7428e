"""Every shell command of README.md, run in README order on a small
synthetic release, in a fresh folder that holds links to ``tools/`` and
``configs/``: what a user types, from the repository root.

:data:`PLANS` says, for each command, what is added so that it runs in
seconds on 2 CPU cores (``--cfg-options`` that shrink the crops, image sizes
and epochs and switch off the ImageNet download) and which placeholders
(``CKPT``, ``path/to/dicoms``) stand for which file; or why the command is
not run here. A README command without a plan fails the test: a command
added to the README is run here from then on.
"""
from __future__ import annotations

import glob
import os
import os.path as osp
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Applied to every training run: no ImageNet download, one epoch, loaders
#: in the main process.
FAST = ['model.backbone.init_cfg=None', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1'] + [
            f'{loader}.{key}' for loader in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')
            for key in ('num_workers=0', 'persistent_workers=False')]
#: Phase 1 crops of 128 x 128 instead of 1024 x 1024.
SMALL_PATCH = ['train_dataloader.dataset.dataset.pipeline.2.crop_size='
               '(128,128)']
#: The resized baseline at the synthetic images' own size.
SMALL_RESIZE = ['train_dataloader.dataset.pipeline.2.scale=(256,208)',
                'val_dataloader.dataset.pipeline.1.scale=(256,208)',
                'test_dataloader.dataset.pipeline.1.scale=(256,208)']
#: The checkpoint of the one-epoch phase-2 run.
FULL_CKPT = 'work_dirs/retina_full/epoch_1.pth'


@dataclass
class Plan:
    """How one README command is run.

    Args:
        cfg_options: Appended as ``--cfg-options ...``.
        args: Appended as they are.
        subs: ``{text in the command: replacement}``.
        skip: Why the command is not run here (it is still required to
            have a plan).
        creates: Glob patterns (relative to the folder) that must match a
            file after the command.
    """
    cfg_options: list = field(default_factory=list)
    args: list = field(default_factory=list)
    subs: dict = field(default_factory=dict)
    skip: str = ''
    creates: list = field(default_factory=list)


PLANS = {
    'make demo': Plan(skip='the demo study (20 minutes); the study code '
                      'runs shrunken in tests/test_study'),
    'make test': Plan(skip='this suite'),
    'make test-fast': Plan(skip='part of this suite'),
    # Data.
    'python tools/make_synthetic_inbreast.py data --num-patients 115 '
    '--scale 1.0 --seed 0': Plan(
        subs={'--num-patients 115 --scale 1.0': '--num-patients 8 --scale '
              '0.0625'},
        creates=['data/INbreast Release 1.0/AllDICOMs/*.dcm']),
    'python tools/make_synthetic_inbreast.py data --layout vindr '
    '--num-patients 20 --scale 0.0625': Plan(
        subs={'--num-patients 20': '--num-patients 8'},
        creates=['data/vindr-mammo/breast-level_annotations.csv']),
    'python tools/split_patients.py data/vindr-mammo --ratios 0.8 0.2 '
    '--names train val': Plan(creates=['data/vindr-mammo/splits/train.txt']),
    'python tools/compute_stats.py data/vindr-mammo --split '
    'splits/train.txt': Plan(
        creates=['data/vindr-mammo/splits/train.stats.json']),
    'python tools/train.py configs/vindr/retina_patch_vindr.py': Plan(
        cfg_options=FAST + SMALL_PATCH,
        creates=['work_dirs/retina_patch_vindr/epoch_1.pth']),
    'python tools/split_patients.py "$R" --ratios 0.7 0.1 0.2 --seed 0': Plan(
        creates=['data/INbreast Release 1.0/splits/test.txt']),
    'python tools/compute_stats.py "$R" --split splits/train.txt': Plan(
        creates=['data/INbreast Release 1.0/splits/train.stats.json']),
    'python tools/train.py configs/vindr/retina_patch_from_vindr.py': Plan(
        cfg_options=FAST + SMALL_PATCH,
        creates=['work_dirs/retina_patch_from_vindr/epoch_1.pth']),
    'python tools/train.py configs/retina_patch.py --data-root "$R"': Plan(
        cfg_options=FAST + SMALL_PATCH,
        creates=['work_dirs/retina_patch/epoch_1.pth']),
    'python tools/train.py configs/retina_full.py --data-root "$R"': Plan(
        cfg_options=FAST, creates=[FULL_CKPT]),
    'python tools/train.py configs/retina_resized.py --data-root "$R"': Plan(
        cfg_options=FAST + SMALL_RESIZE,
        creates=['work_dirs/retina_resized/epoch_1.pth']),
    'python tools/test.py configs/vindr/retina_full_test_vindr.py CKPT': Plan(
        subs={'CKPT': FULL_CKPT}),
    'python tools/test.py configs/retina_full.py '
    'work_dirs/retina_full/epoch_12.pth --data-root "$R" --show-dir vis':
        Plan(subs={'work_dirs/retina_full/epoch_12.pth': FULL_CKPT},
             creates=['work_dirs/retina_full/*/vis/*.png',
                      'work_dirs/retina_full/test/froc.froc.json']),
    'python tools/infer.py configs/retina_full.py CKPT path/to/dicoms --out '
    'predictions --score-thr 0.3': Plan(
        subs={'CKPT': FULL_CKPT, 'path/to/dicoms': '"$R/AllDICOMs"'},
        creates=['predictions/*.dcm.json', 'predictions/*.dcm.png']),
    # More tools.
    'python tools/sweep.py configs/variants/retina_patch_gamma*.py '
    '--work-root work_dirs/gamma --data-root "$R"': Plan(
        args=['--dry-run']),  # five R50 trainings: printed, not run
    'python tools/plot_history.py work_dirs/retina_patch work_dirs/'
    'retina_full --out history': Plan(creates=['history*']),
    'python tools/plot_froc.py work_dirs/*/test/froc.froc.json --out '
    'froc.png': Plan(creates=['froc.png']),
    'python tools/visualize.py configs/retina_full.py CKPT --split test '
    '--out pictures --data-root "$R"': Plan(
        subs={'CKPT': FULL_CKPT}, creates=['pictures/*.png']),
    'python tools/inbreast_to_coco.py "$R" --split splits/test.txt --out '
    'test_coco.json --png-dir png16': Plan(
        creates=['test_coco.json', 'png16/*.png']),
    'python tools/optimize_anchors.py --config configs/retina_patch.py '
    '--data-root "$R" --out-dir work_dirs/anchors9 --with-stride': Plan(
        creates=['work_dirs/anchors9/*']),
    'python tools/cache_images.py "$R" --split splits/train.txt '
    '--cache-dir data/inbreast_cache': Plan(
        creates=['data/inbreast_cache/*']),
    'bash tools/dist_train.sh configs/retina_patch_fast.py 8 --data-root '
    '"$R"': Plan(skip='8 GPUs, bfloat16 (GPU-only); tools/dist_train.sh '
                 'runs on 2 CPU processes in tests/test_tools/'
                 'test_dist_train.py'),
    'python tools/study.py configs/studies/vindr_pretrain.py --data-root '
    '"$R" --work-root work_dirs/study_vindr_pretrain': Plan(
        skip='5 folds x 4 R50 trainings; tools/study.py runs a shrunken '
             'study in tests/test_study'),
    # Studies.
    'python tools/study.py configs/studies/seed_two_phase.py --data-root '
    '"$R" --work-root work_dirs/study_two_phase': Plan(
        skip='5 folds x 3 R50 trainings; tools/study.py runs a shrunken '
             'study in tests/test_study'),
}


def readme_commands(text: str) -> list:
    """The commands of the ``shell`` blocks of ``text``, in order: a
    backslash continues a line, ``# ...`` comments are dropped and spaces
    collapsed; ``NAME=value`` lines are returned as they are."""
    commands = []
    for block in re.findall(r'```shell\n(.*?)```', text, flags=re.S):
        for line in block.replace('\\\n', ' ').splitlines():
            line = re.sub(r'(^|\s)#.*$', '', line).strip()
            if line:
                commands.append(re.sub(r'\s+', ' ', line))
    return commands


def test_readme_commands_are_parsed():
    commands = readme_commands(
        'x\n```shell\nR="a b"\npython t.py "$R" \\\n    --x 1   # c\n'
        '# only a comment\n```\n```python\nnot = 1\n```\n')
    assert commands == ['R="a b"', 'python t.py "$R" --x 1']


def test_every_readme_command_has_a_plan():
    commands = [c for c in readme_commands((REPO / 'README.md').read_text())
                if not re.match(r'^[A-Z_]+=', c)]
    missing = [c for c in commands if c not in PLANS]
    assert not missing, ('README commands without a plan in '
                         f'tests/test_readme_commands.py PLANS: {missing}')
    stale = [c for c in PLANS if c not in commands]
    assert not stale, f'plans of commands no longer in the README: {stale}'


def _script(command: str, plan: Plan, assignments: list) -> str:
    for old, new in plan.subs.items():
        assert old in command, (old, command)
        command = command.replace(old, new)
    extra = list(plan.args)
    if plan.cfg_options:
        extra += ['--cfg-options'] + plan.cfg_options
    return '\n'.join(assignments + [
        'set -e', command + ''.join(f" '{a}'" for a in extra)])


@pytest.mark.slow
def test_readme_commands_run(tmp_path):
    for name in ('tools', 'configs'):
        os.symlink(REPO / name, tmp_path / name)
    env = dict(os.environ, PATH=osp.dirname(sys.executable) + os.pathsep +
               os.environ.get('PATH', ''), MPLBACKEND='Agg')
    assignments = []
    for command in readme_commands((REPO / 'README.md').read_text()):
        if re.match(r'^[A-Z_]+=', command):
            assignments.append(command)
            continue
        plan = PLANS[command]
        if plan.skip:
            continue
        proc = subprocess.run(
            ['bash', '-c', _script(command, plan, assignments)],
            cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=900)
        assert proc.returncode == 0, (
            f'README command failed: {command}\n' + proc.stdout[-2500:] +
            proc.stderr[-2500:])
        for pattern in plan.creates:
            assert glob.glob(str(tmp_path / pattern)), (
                f'README command {command!r} wrote nothing at {pattern}')
